//! Fault figures, the markdown summary and the verdict.

use super::{N1, N2, acked, clean, final_read, is_final_read_of, route, without};
use crate::chaos::check::CheckConfig;
use crate::chaos::history::{FaultMarker, History, Phase, SendOutcome};
use crate::chaos::report::Report;
use crate::chaos::violation::Violation;
use crate::message::offset_msg_id;

/// The clean history, then: master n1 killed at 1000 ms; a send stored by n1 answers at 1010
/// (in flight at the kill); n2 is named by the nameservers at 1700 and 1800; sends resume at
/// 2100 and are answered every 100 ms until 3000, when the workload stops.
fn failover() -> History {
    let mut h = clean();
    h.push(FaultMarker {
        time_ms: 1000,
        phase: Phase::Start,
        fault: 1,
        kind: "kill".into(),
        target: "n1 (master)".into(),
        broker_group: Some("g1".into()),
        addr: Some(N1.into()),
    });
    let mut late = acked("p1", "late", 1, 3, 1005);
    if let SendOutcome::Ok {
        offset_msg_id: id, ..
    } = &mut late.outcome
    {
        let addr = N1.parse().expect("a socket address");
        *id = Some(offset_msg_id(addr, 777));
    }
    h.push(late);
    h.push(final_read("late", 1, 3, 5000));
    h.push(route(1100, "ns1", N1));
    h.push(route(1100, "ns2", N1));
    h.push(route(1700, "ns1", N2));
    h.push(route(1800, "ns2", N2));
    for (i, start) in (2095..3000).step_by(100).enumerate() {
        let key = format!("after{i}");
        h.push(acked("p1", &key, 0, 3 + i as i64, start));
        h.push(final_read(&key, 0, 3 + i as i64, 5001 + i as u64));
    }
    h.push(FaultMarker {
        time_ms: 1200,
        phase: Phase::End,
        fault: 1,
        kind: "kill".into(),
        target: "n1 (master)".into(),
        broker_group: Some("g1".into()),
        addr: Some(N1.into()),
    });
    h
}

#[test]
fn a_fault_is_measured_from_the_history() {
    let report = Report::new(&failover(), &CheckConfig::default());
    assert_eq!(report.verdict(), Ok(()));
    let [fault] = &report.faults[..] else {
        panic!("{:?}", report.faults);
    };
    assert_eq!(fault.new_master, Some((800, N2.to_owned())));
    // The answer n1 gave 10 ms after the kill does not count once n2 took over.
    assert_eq!(fault.first_ack, Some(1100));
    // Window 1000..=min(1200 + 30 s, last send 3000): one pause longer than 1 s, 1010 -> 2100.
    assert_eq!(fault.unavailable_ms, 1090);
}

#[test]
fn the_markdown_summary_has_every_check_fault_and_violation() {
    let h = without(failover(), |e| is_final_read_of(e, "k3"));
    let report = Report::new(&h, &CheckConfig::default());
    let text = report.markdown();
    // A lost message also leaves a hole in its queue.
    assert!(
        text.starts_with("## Chaos checker: FAIL (2 violations), seed 7\n"),
        "{text}"
    );
    assert!(text.contains("| acknowledged sends lost | 1 | sends 21, acknowledged 21, acknowledged and read back 20,"), "{text}");
    assert!(
        text.contains("| one master per group | 0 | route samples 8,"),
        "{text}"
    );
    assert!(
        text.contains(
            "| 1 | kill | n1 (master) | g1 | 1000 | 200 | 800 (127.0.0.1:10921) | 1100 | 1.1 |"
        ),
        "{text}"
    );
    assert!(text.contains("| ours | 21 | 21 | 0 | 0 |"), "{text}");
    assert!(text.contains("\n- lost: k3 (T) acknowledged to p1 at 35 ms at g1/T/q1@1, absent from the final read\n"), "{text}");
    assert!(
        text.contains("\n- gap: offsets 1..2 of g1/T/q1 missing from the final read\n"),
        "{text}"
    );
    let Err(all) = report.verdict() else {
        panic!("{text}");
    };
    assert!(
        matches!(&all[..], [Violation::Lost { key, .. }, Violation::OffsetGap { .. }] if key == "k3"),
        "{all:?}"
    );
    println!("{text}");
}
