//! Header tests: every header round trips, required keys are reported by name, values parse
//! leniently, the V2 send header converts both ways.

use std::fmt::Debug;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::remoting::code::RequestCode;
use crate::remoting::command::{ExtFields, RemotingCommand};

fn fields(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn round_trips<H: CommandHeader + PartialEq + Debug>(header: H) {
    let map = header.to_fields();
    assert_eq!(H::from_fields(&map).as_ref(), Ok(&header), "{map:?}");
}

fn send_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: -1,
        sys_flag: 0x301,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some("TAGS\u{1}A\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(true),
        bname: Some("broker-a".into()),
    }
}

#[test]
fn every_header_round_trips_through_its_fields() {
    round_trips(send_header());
    round_trips(SendMessageRequestHeaderV2(send_header()));
    round_trips(SendMessageResponseHeader {
        msg_id: "7F00000100002A9F0000000000000116".into(),
        queue_id: 3,
        queue_offset: 99,
        transaction_id: None,
        msg_region: Some("DefaultRegion".into()),
        trace_on: Some(true),
        raft_term: Some(7),
    });
    round_trips(PullMessageRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 1,
        queue_offset: i64::MAX,
        max_msg_nums: 32,
        sys_flag: 6,
        commit_offset: -1,
        suspend_timeout_millis: 15_000,
        subscription: Some("TagA || TagB".into()),
        sub_version: 1_700_000_000_000,
        expression_type: Some("TAG".into()),
        bname: None,
        max_msg_bytes: Some(262_144),
    });
    round_trips(PullMessageResponseHeader {
        next_begin_offset: 5,
        min_offset: 0,
        max_offset: 5,
        suggest_which_broker_id: 0,
    });
    round_trips(RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "127.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        compressed: Some(false),
        body_crc32: Some(0x7FFF_FFFF),
        raft_term: Some(7),
    });
    round_trips(RegisterBrokerResponseHeader::default());
    round_trips(RegisterBrokerResponseHeader {
        ha_server_addr: Some("h:1".into()),
        master_addr: Some("m:2".into()),
    });
    round_trips(UnRegisterBrokerRequestHeader {
        broker_name: "b".into(),
        broker_addr: "a:1".into(),
        cluster_name: "c".into(),
        broker_id: 2,
    });
    round_trips(GetRouteInfoRequestHeader {
        topic: "T".into(),
        accept_standard_json_only: Some(true),
    });
    round_trips(QueryConsumerOffsetRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 0,
    });
    round_trips(QueryConsumerOffsetResponseHeader { offset: 7 });
    round_trips(UpdateConsumerOffsetRequestHeader {
        consumer_group: "cg".into(),
        topic: "T".into(),
        queue_id: 2,
        commit_offset: -1,
    });
    round_trips(GetMaxOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
    });
    round_trips(GetMaxOffsetResponseHeader { offset: 10 });
    round_trips(GetMinOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
    });
    round_trips(GetMinOffsetResponseHeader { offset: 0 });
    round_trips(SearchOffsetRequestHeader {
        topic: "T".into(),
        queue_id: 1,
        timestamp: 1_700_000_000_000,
    });
    round_trips(SearchOffsetResponseHeader { offset: 3 });
    round_trips(GetConsumerListByGroupRequestHeader {
        consumer_group: "cg".into(),
    });
    round_trips(NotifyConsumerIdsChangedRequestHeader {
        consumer_group: "cg".into(),
    });
    round_trips(CreateTopicRequestHeader {
        topic: "T".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 8,
        write_queue_nums: 8,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: None,
        order: false,
    });
    round_trips(DeleteTopicRequestHeader {
        topic: "T".into(),
        cluster_name: Some("DefaultCluster".into()),
    });
}

#[test]
fn optional_fields_are_written_only_when_set() {
    let header = RegisterBrokerResponseHeader::default();
    assert!(header.to_fields().is_empty());
    let map = DeleteTopicRequestHeader {
        topic: "T".into(),
        cluster_name: None,
    }
    .to_fields();
    assert_eq!(map, fields(&[("topic", "T")]));
}

#[test]
fn a_missing_required_field_is_reported_by_its_java_name() {
    let mut map = PullMessageResponseHeader::default().to_fields();
    map.remove("suggestWhichBrokerId");
    let err = PullMessageResponseHeader::from_fields(&map).unwrap_err();
    assert_eq!(
        err,
        HeaderError::Missing {
            field: "suggestWhichBrokerId"
        }
    );
    assert_eq!(
        err.to_string(),
        "the custom field <suggestWhichBrokerId> is null"
    );
    let err =
        QueryConsumerOffsetRequestHeader::from_fields(&fields(&[("topic", "T"), ("queueId", "1")]))
            .unwrap_err();
    assert_eq!(err.field(), "consumerGroup");
}

#[test]
fn an_unparsable_value_is_reported_with_field_and_text() {
    let err =
        GetMaxOffsetRequestHeader::from_fields(&fields(&[("topic", "T"), ("queueId", "two")]))
            .unwrap_err();
    assert_eq!(
        err,
        HeaderError::Invalid {
            field: "queueId",
            value: "two".into(),
            expected: "an i32",
        }
    );
    let too_big = GetMaxOffsetRequestHeader::from_fields(&fields(&[
        ("topic", "T"),
        ("queueId", "2147483648"),
    ]));
    assert_eq!(too_big.unwrap_err().field(), "queueId");
    let empty = GetMaxOffsetRequestHeader::from_fields(&fields(&[("topic", "T"), ("queueId", "")]));
    assert_eq!(empty.unwrap_err().field(), "queueId");
}

#[test]
fn numbers_and_booleans_parse_leniently_and_unknown_keys_are_ignored() {
    let parse = |queue_id: &str| {
        GetMaxOffsetRequestHeader::from_fields(&fields(&[
            ("topic", "T"),
            ("queueId", queue_id),
            ("bname", "broker-a"),
            ("lo", "true"),
        ]))
        .map(|h| h.queue_id)
    };
    assert_eq!(parse("3"), Ok(3));
    assert_eq!(parse(" 3 "), Ok(3));
    assert_eq!(parse("+3"), Ok(3));
    assert_eq!(parse("3.0"), Ok(3));
    assert_eq!(parse("-1"), Ok(-1));
    assert!(parse("3.5").is_err());
    let order = |text: &str| {
        let mut map = CreateTopicRequestHeader::default().to_fields();
        map.insert("order".into(), text.into());
        CreateTopicRequestHeader::from_fields(&map).map(|h| h.order)
    };
    assert_eq!(order("true"), Ok(true));
    assert_eq!(order("TRUE"), Ok(true));
    assert_eq!(order("1"), Ok(true), "the C++ client's booleans");
    assert_eq!(order("0"), Ok(false));
    assert_eq!(order("false"), Ok(false));
    assert_eq!(order("yes"), Ok(false), "Java's Boolean.parseBoolean");
}

#[test]
fn the_v2_send_header_converts_both_ways() {
    // What ali-ons sends (after the JSON decoder turned its numbers into text).
    let short = fields(&[
        ("a", "pg"),
        ("b", "TopicTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "2"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", "TAGS\u{1}A\u{2}"),
        ("j", "0"),
        ("k", "false"),
    ]);
    let v1: SendMessageRequestHeader = SendMessageRequestHeaderV2::from_fields(&short)
        .unwrap()
        .into();
    assert_eq!(v1.producer_group, "pg");
    assert_eq!(v1.queue_id, 2);
    assert_eq!(v1.born_timestamp, 1_700_000_000_000);
    assert_eq!(v1.unit_mode, Some(false));
    assert_eq!(v1.max_reconsume_times, None);
    assert_eq!(SendMessageRequestHeaderV2(v1.clone()).to_fields(), short);
    let long = v1.to_fields();
    assert_eq!(long.get("producerGroup").map(String::as_str), Some("pg"));
    assert!(long.keys().all(|k| k.len() > 1));

    let full = SendMessageRequestHeaderV2(send_header()).to_fields();
    let keys: Vec<&str> = full.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "m", "n"
        ]
    );
}

#[test]
fn a_v2_error_names_the_short_and_the_long_key() {
    let mut short = SendMessageRequestHeaderV2(send_header()).to_fields();
    short.remove("e");
    let err = SendMessageRequestHeaderV2::from_fields(&short).unwrap_err();
    assert_eq!(
        err,
        HeaderError::Missing {
            field: "e (queueId)"
        }
    );
    short.insert("e".into(), "x".into());
    let err = SendMessageRequestHeaderV2::from_fields(&short).unwrap_err();
    assert_eq!(err.field(), "e (queueId)");
}

#[test]
fn the_send_header_form_follows_the_request_code() {
    let header = send_header();
    for (code, v2) in [
        (RequestCode::SendMessage, false),
        (RequestCode::SendMessageV2, true),
        (RequestCode::SendBatchMessage, true),
        (RequestCode::SendReplyMessage, false),
        (RequestCode::SendReplyMessageV2, true),
    ] {
        let ext = if v2 {
            SendMessageRequestHeaderV2(header.clone()).to_fields()
        } else {
            header.to_fields()
        };
        let cmd = RemotingCommand::request(code, ext, bytes::Bytes::new());
        assert_eq!(
            SendMessageRequestHeader::from_command(&cmd),
            Ok(header.clone()),
            "{code}"
        );
    }
}

#[test]
fn random_send_headers_round_trip_in_both_forms() {
    let seed = std::env::var("REMOTING_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("send_header_round_trip: REMOTING_PROPTEST_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let text = |rng: &mut StdRng| -> String {
        (0..rng.random_range(0..10))
            .map(|_| char::from(rng.random_range(b' '..=b'~')))
            .collect()
    };
    for _ in 0..500 {
        let header = SendMessageRequestHeader {
            producer_group: text(&mut rng),
            topic: text(&mut rng),
            default_topic: text(&mut rng),
            default_topic_queue_nums: rng.random(),
            queue_id: rng.random(),
            sys_flag: rng.random(),
            born_timestamp: rng.random(),
            flag: rng.random(),
            properties: rng.random_bool(0.5).then(|| text(&mut rng)),
            reconsume_times: rng.random_bool(0.5).then(|| rng.random()),
            unit_mode: rng.random_bool(0.5).then(|| rng.random()),
            max_reconsume_times: rng.random_bool(0.5).then(|| rng.random()),
            batch: rng.random_bool(0.5).then(|| rng.random()),
            bname: rng.random_bool(0.5).then(|| text(&mut rng)),
        };
        round_trips(header.clone());
        round_trips(SendMessageRequestHeaderV2(header));
    }
}
