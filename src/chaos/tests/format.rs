//! The JSON-lines file: round trip, leniency, errors that name the line.

use super::{clean, unknown};
use crate::chaos::history::{
    Event, FaultMarker, History, HistoryError, Phase, ProducerKind, SendOutcome,
};

fn every_kind() -> History {
    let mut h = clean();
    let mut orderly = unknown("py1", "u1", 700);
    orderly.producer = ProducerKind::Python;
    orderly.sharding_key = Some("order-2".into());
    orderly.retries = 2;
    h.push(orderly);
    let mut failed = unknown("ali1", "f1", 710);
    failed.producer = ProducerKind::AliOns;
    failed.outcome = SendOutcome::Failed {
        reason: "SERVICE_NOT_AVAILABLE\tbroker busy \"now\"".into(),
    };
    h.push(failed);
    h.push(FaultMarker {
        time_ms: 720,
        phase: Phase::Start,
        fault: 1,
        kind: "pause".into(),
        target: "n1".into(),
        broker_group: Some("g1".into()),
        addr: Some(super::N1.into()),
    });
    h
}

#[test]
fn a_history_round_trips_through_its_text_form() {
    let h = every_kind();
    let text = h.to_text();
    assert_eq!(text.lines().count(), h.events.len());
    assert_eq!(History::parse(&text).unwrap(), h);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    h.write(&path).unwrap();
    assert_eq!(History::read(&path).unwrap(), h);
    assert_eq!(h.seed(), Some(7));
}

#[test]
fn a_malformed_line_is_an_error_naming_its_line() {
    let good = every_kind().to_text();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, "");
    lines.insert(3, "# a comment");
    lines.insert(4, r#"{"event":"send","client":"p1","producer":"ours","topic":"T","start_ms":1,"end_ms":2,"outcome":{"status":"ok","broker_group":"g1","queue_id":0,"queue_offset":0}}"#);
    let err = History::parse(&lines.join("\n")).unwrap_err();
    let HistoryError::BadLine { line, reason, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(*line, 5);
    assert!(reason.contains("missing field `key`"), "{reason}");
    assert!(err.to_string().starts_with("history line 5: "), "{err}");

    for (text, what) in [
        (
            r#"{"event":"teleport","time_ms":1}"#,
            "unknown variant `teleport`",
        ),
        (r#"{"event":"route","time_ms":"soon"}"#, "invalid type"),
        ("send p1 k1 T", "expected value"),
        (r#"{"event":"node","broker_group":"g1""#, "EOF"),
    ] {
        let err = History::parse(&format!("# header\n{text}\n")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("history line 2: "), "{message}");
        assert!(message.contains(what), "{message}");
    }
    let err = History::read(std::path::Path::new("/nonexistent/history.jsonl")).unwrap_err();
    assert!(matches!(err, HistoryError::Io { .. }), "{err}");
}

#[test]
fn unknown_members_blank_lines_and_missing_optional_members_are_accepted() {
    let text = "\r\n  # recorded by hand\n\
        {\"event\":\"consumed\",\"consumer_group\":\"C\",\"client\":\"c1\",\"topic\":\"T\",\
         \"broker_group\":\"g1\",\"queue_id\":0,\"queue_offset\":0,\"key\":\"k0\",\
         \"time_ms\":5,\"tags\":\"TagA\"}\r\n\n\
        {\"event\":\"node\",\"broker_group\":\"g1\",\"node\":\"n1\",\"running\":true,\"caught_up\":true}\n\
        {\"event\":\"run\"}";
    let h = History::parse(text).unwrap();
    assert_eq!(h.events.len(), 3);
    let Event::Consumed(c) = &h.events[0] else {
        panic!("{:?}", h.events[0]);
    };
    assert!(!c.final_read && !c.orderly && c.phys_offset.is_none());
    assert_eq!(h.seed(), None);
    // Left-out members are also left out when written.
    assert!(!h.to_text().contains("final_read"));
}

#[test]
fn the_example_in_the_module_docs_parses() {
    let source = include_str!("../history.rs");
    let example: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .skip_while(|l| *l != "```text")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    assert_eq!(example.len(), 7, "{example:?}");
    let h = History::parse(&example.join("\n")).unwrap();
    assert_eq!(h.events.len(), 6);
    assert_eq!(h.seed(), Some(42));
}
