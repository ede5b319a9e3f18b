use super::*;

/// A body as Java 4.9's `AsyncTraceDispatcher` writes it for one send and its consumption:
/// three records, each ended by 0x02 (`SubAfter` of a non-cloud client with time and group).
const JAVA_BODY: &str = "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}PG\u{1}TopicTest\u{1}\
7F0000010B5C18B4AAC27E2A1F3E0000\u{1}TagA\u{1}k1 k2\u{1}127.0.0.1:10911\u{1}5\u{1}12\u{1}0\u{1}\
7F00000100002A9F000000000000A1B2\u{1}true\u{2}\
SubBefore\u{1}1700000000100\u{1}DefaultRegion\u{1}CG\u{1}REQ1\u{1}\
7F0000010B5C18B4AAC27E2A1F3E0000\u{1}0\u{1}k1 k2\u{2}\
SubAfter\u{1}REQ1\u{1}7F0000010B5C18B4AAC27E2A1F3E0000\u{1}3\u{1}true\u{1}k1 k2\u{1}0\u{1}\
1700000000103\u{1}CG\u{2}";

fn decoded(body: &str) -> Vec<TraceRecord> {
    decode_records(body)
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn a_java_trace_body_decodes_into_its_pub_and_sub_records() {
    let records = decoded(JAVA_BODY);
    assert_eq!(records.len(), 3);
    let publish = &records[0];
    assert_eq!(publish.trace_type, Some(TraceType::Pub));
    assert_eq!(publish.timestamp, 1_700_000_000_000);
    assert_eq!(
        (publish.group_name.as_str(), publish.topic.as_str()),
        ("PG", "TopicTest")
    );
    assert_eq!(publish.msg_id, "7F0000010B5C18B4AAC27E2A1F3E0000");
    assert_eq!(
        (publish.tags.as_str(), publish.keys.as_str()),
        ("TagA", "k1 k2")
    );
    assert_eq!(publish.store_host, "127.0.0.1:10911");
    assert_eq!(
        (publish.body_length, publish.cost_time_ms, publish.msg_type),
        (5, 12, 0)
    );
    assert_eq!(publish.offset_msg_id, "7F00000100002A9F000000000000A1B2");
    assert!(publish.success);
    assert_eq!(records[1].trace_type, Some(TraceType::SubBefore));
    assert_eq!(records[1].request_id, "REQ1");
    let after = &records[2];
    assert_eq!(after.trace_type, Some(TraceType::SubAfter));
    assert_eq!((after.cost_time_ms, after.success), (3, true));
    assert_eq!(
        (after.timestamp, after.group_name.as_str()),
        (1_700_000_000_103, "CG")
    );
}

#[test]
fn records_encode_back_to_javas_bytes() {
    let encoded: String = decoded(JAVA_BODY).iter().map(encode_record).collect();
    assert_eq!(encoded, JAVA_BODY);
}

#[test]
fn older_records_decode_as_java_reads_them() {
    // 13 fields: no offset msgId; a SubAfter of a cloud client: no time and group.
    let old = "Pub\u{1}1\u{1}R\u{1}PG\u{1}T\u{1}ID\u{1}\u{1}\u{1}h:1\u{1}0\u{1}1\u{1}3\u{1}false\u{2}\
               SubAfter\u{1}REQ\u{1}ID\u{1}4\u{1}false\u{1}\u{1}1\u{1}";
    let records = decoded(old);
    assert_eq!(records.len(), 2);
    assert!(!records[0].success && records[0].offset_msg_id.is_empty());
    assert_eq!(records[0].msg_type, MSG_TYPE_DELAY);
    assert_eq!(
        (
            records[1].context_code,
            records[1].timestamp,
            records[1].success
        ),
        (1, 0, false)
    );
}

#[test]
fn a_trace_message_is_keyed_by_msg_id_and_the_traced_keys() {
    let record = &decoded(JAVA_BODY)[0];
    assert_eq!(
        record_keys(record),
        ["7F0000010B5C18B4AAC27E2A1F3E0000", "k1", "k2"]
    );
}

#[test]
fn bad_records_are_errors_and_the_rest_still_decode() {
    let body =
        "Nope\u{1}1\u{2}Pub\u{1}x\u{2}SubBefore\u{1}1\u{1}R\u{1}G\u{1}Q\u{1}ID\u{1}oops\u{1}k\u{2}";
    let results = decode_records(body);
    assert!(matches!(&results[0], Err(TraceError::UnknownType(t)) if t == "Nope"));
    assert!(matches!(
        results[1],
        Err(TraceError::TooShort { needed: 12, .. })
    ));
    assert!(matches!(
        results[2],
        Err(TraceError::NotANumber { index: 6, .. })
    ));
    let mut all = JAVA_BODY.to_owned();
    all.insert_str(0, "garbage\u{2}");
    assert_eq!(decode_records(&all).iter().filter(|r| r.is_ok()).count(), 3);
}

#[test]
fn random_bodies_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    println!("seed {seed:#x}");
    let alphabet = [
        '\u{1}', '\u{2}', 'P', 'u', 'b', '1', '-', 'S', 't', 'r', 'e', ' ',
    ];
    for _ in 0..2000 {
        let mut body = String::new();
        for _ in 0..(seed % 80) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            body.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        for record in decode_records(&body).into_iter().flatten() {
            assert!(record.trace_type.is_some());
        }
        seed = seed.wrapping_add(0x632B_E59B_D9B4_E019);
    }
}
