use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::properties::PROPERTY_SEPARATOR;
use super::*;

fn seed() -> u64 {
    let seed = std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("seed {seed} (rerun with TEST_SEED={seed})");
    seed
}

fn sample() -> MessageToStore {
    let mut properties = Properties::new();
    properties.insert(property::TAGS.into(), "TagA".into());
    properties.insert(property::KEYS.into(), "order-1  order-2".into());
    properties.insert(
        property::UNIQ_KEY.into(),
        "C0000202445AAC4C820C691AB47B0000".into(),
    );
    MessageToStore {
        queue_id: 3,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0x116,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.7:51234".parse().unwrap(),
        store_timestamp: 1_700_000_000_123,
        store_host: "127.0.0.1:10911".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: b"hello".to_vec(),
        topic: "TopicTest".into(),
        properties,
    }
}

fn random_message(rng: &mut StdRng) -> MessageToStore {
    let host = |rng: &mut StdRng| -> SocketAddr {
        if rng.random_bool(0.3) {
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(rng.random::<u128>())),
                rng.random(),
            )
        } else {
            SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(rng.random::<u32>())),
                rng.random(),
            )
        }
    };
    let word = |rng: &mut StdRng, max: usize| -> String {
        let len = rng.random_range(1..=max);
        (0..len)
            .map(|_| char::from(rng.random_range(b' '..=b'~')))
            .collect()
    };
    let mut properties = Properties::new();
    for _ in 0..rng.random_range(0..5) {
        let name = word(rng, 12);
        properties.insert(name, word(rng, 30));
    }
    let born_host = host(rng);
    let store_host = host(rng);
    let mut sys_flag = rng.random::<i32>() & !(SYSFLAG_BORNHOST_V6 | SYSFLAG_STOREHOST_V6);
    if born_host.is_ipv6() {
        sys_flag |= SYSFLAG_BORNHOST_V6;
    }
    if store_host.is_ipv6() {
        sys_flag |= SYSFLAG_STOREHOST_V6;
    }
    let body_len = rng.random_range(0..200);
    MessageToStore {
        queue_id: rng.random(),
        flag: rng.random(),
        queue_offset: rng.random(),
        physical_offset: rng.random(),
        sys_flag,
        born_timestamp: rng.random(),
        born_host,
        store_timestamp: rng.random(),
        store_host,
        reconsume_times: rng.random(),
        prepared_transaction_offset: rng.random(),
        body: (0..body_len).map(|_| rng.random()).collect(),
        topic: word(rng, MAX_TOPIC_LEN),
        properties,
    }
}

#[test]
fn an_ipv4_message_has_the_documented_size_and_offsets() {
    let msg = sample();
    let bytes = encode_message(&msg).unwrap();
    let props = encode_properties(&msg.properties).unwrap();
    assert_eq!(bytes.len(), 91 + 5 + 9 + props.len());
    assert_eq!(&bytes[0..4], &(bytes.len() as i32).to_be_bytes());
    assert_eq!(&bytes[4..8], &MAGIC_V1.to_be_bytes());
    assert_eq!(&bytes[8..12], &body_crc(b"hello").to_be_bytes());
    assert_eq!(&bytes[28..36], &0x116u64.to_be_bytes());
    assert_eq!(&bytes[64..68], &[127, 0, 0, 1]);
    assert_eq!(&bytes[84..88], &5i32.to_be_bytes());
    assert_eq!(&bytes[88..93], b"hello");
    assert_eq!(bytes[93], 9);
    assert!(!props.ends_with(&[PROPERTY_SEPARATOR]));
}

#[test]
fn decode_returns_what_encode_wrote() {
    let msg = sample();
    let bytes = encode_message(&msg).unwrap();
    let (stored, len) = decode_message(&bytes).unwrap();
    assert_eq!(len, bytes.len());
    assert_eq!(stored.total_size as usize, bytes.len());
    assert_eq!(stored.magic, MAGIC_V1);
    assert_eq!(stored.body_crc, body_crc(&msg.body));
    assert_eq!(stored.message, msg);
    assert_eq!(stored.message.tags(), Some("TagA"));
}

#[test]
fn random_messages_round_trip() {
    let mut rng = StdRng::seed_from_u64(seed());
    for _ in 0..2000 {
        let msg = random_message(&mut rng);
        let bytes = encode_message(&msg).unwrap();
        let (stored, len) = decode_message(&bytes).unwrap();
        assert_eq!(len, bytes.len());
        assert_eq!(stored.message, msg);
    }
}

#[test]
fn stored_properties_are_the_decoded_ones_and_bad_bytes_are_errors() {
    let mut rng = StdRng::seed_from_u64(seed());
    for _ in 0..500 {
        let mut msg = random_message(&mut rng);
        if rng.random_bool(0.3) {
            msg.born_host = "[::1]:4000".parse().unwrap();
            msg.store_host = "[2001:db8::1]:10911".parse().unwrap();
        }
        let bytes = encode_message(&msg).unwrap();
        assert_eq!(stored_properties(&bytes), Ok(msg.properties.clone()));
        for cut in [0, 4, 40, bytes.len() / 2, bytes.len() - 1] {
            assert!(stored_properties(&bytes[..cut]).is_err());
        }
        let mut mutated = bytes.clone();
        let i = rng.random_range(0..mutated.len());
        mutated[i] = rng.random();
        let _ = stored_properties(&mutated);
    }
}

#[test]
fn ipv6_hosts_set_the_sysflag_bits_and_take_twenty_bytes() {
    let mut msg = sample();
    msg.born_host = "[::1]:4000".parse().unwrap();
    msg.store_host = "[2001:db8::1]:10911".parse().unwrap();
    let bytes = encode_message(&msg).unwrap();
    assert_eq!(bytes.len(), encode_message(&sample()).unwrap().len() + 24);
    let (stored, _) = decode_message(&bytes).unwrap();
    assert_eq!(
        stored.message.sys_flag,
        SYSFLAG_BORNHOST_V6 | SYSFLAG_STOREHOST_V6
    );
    assert_eq!(stored.message.store_host, msg.store_host);
    assert_eq!(stored.message.born_host, msg.born_host);
}

#[test]
fn decode_never_panics_on_random_bytes_or_truncations() {
    let mut rng = StdRng::seed_from_u64(seed());
    for _ in 0..300 {
        let bytes = encode_message(&random_message(&mut rng)).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_message(&bytes[..cut]).is_err());
        }
        for _ in 0..50 {
            let mut mutated = bytes.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..mutated.len());
                mutated[i] = rng.random();
            }
            let _ = decode_message(&mutated);
            let _ = walk_messages(&mutated).count();
        }
    }
    for _ in 0..5000 {
        let len: i32 = rng.random_range(0..300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if len >= 8 && rng.random_bool(0.5) {
            bytes[0..4].copy_from_slice(&len.to_be_bytes());
            bytes[4..8].copy_from_slice(&MAGIC_V1.to_be_bytes());
        }
        let _ = decode_message(&bytes);
        let _ = walk_messages(&bytes).count();
    }
}

#[test]
fn fields_that_do_not_add_up_to_totalsize_are_refused() {
    let mut bytes = encode_message(&sample()).unwrap();
    bytes.push(0);
    let len = bytes.len() as i32;
    bytes[0..4].copy_from_slice(&len.to_be_bytes());
    assert!(matches!(
        decode_message(&bytes),
        Err(MessageError::LengthMismatch { .. })
    ));
}

#[test]
fn properties_parse_like_java() {
    let parsed = parse_properties(b"A\x011\x02\x02B\x01\x02\x01x\x02C\x012\x01z\x02A\x013\x02");
    let expected: Properties = [("A", "3"), ("C", "2\x01z")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(parsed, expected);
    assert_eq!(
        parse_properties(b"TAGS\x01a"),
        parse_properties(b"TAGS\x01a\x02")
    );
}

#[test]
fn unencodable_properties_and_topics_are_refused() {
    let mut msg = sample();
    msg.properties.insert("EMPTY".into(), String::new());
    assert!(matches!(
        encode_message(&msg),
        Err(MessageError::BadProperty { .. })
    ));
    let mut msg = sample();
    msg.properties.insert("X".into(), "a\u{2}b".into());
    assert!(encode_message(&msg).is_err());
    let mut msg = sample();
    msg.topic = "T".repeat(128);
    assert!(matches!(
        encode_message(&msg),
        Err(MessageError::TooLong { .. })
    ));
}

#[test]
fn walk_finds_messages_back_to_back_and_stops_at_a_bad_size() {
    let a = encode_message(&sample()).unwrap();
    let mut other = sample();
    other.body = vec![7; 1000];
    let b = encode_message(&other).unwrap();
    let mut body = [a.clone(), b.clone()].concat();
    let found: Vec<_> = walk_messages(&body).collect::<Result<_, _>>().unwrap();
    assert_eq!(found, vec![(0, a.len()), (a.len(), b.len())]);

    body.extend_from_slice(&[0, 0, 0, 3, 1, 2, 3]);
    let results: Vec<_> = walk_messages(&body).collect();
    assert_eq!(results.len(), 3);
    assert!(matches!(results[2], Err(MessageError::BadTotalSize { .. })));
}

#[test]
fn tags_code_is_java_string_hash_code() {
    assert_eq!(tags_code("TagA"), 2_598_919);
    assert_eq!(tags_code("*"), 42);
    assert_eq!(tags_code(""), 0);
    // U+1F600 is the surrogate pair D83D DE00: 31 * 0xD83D + 0xDE00.
    assert_eq!(tags_code("\u{1F600}"), 31 * 0xD83D + 0xDE00);
    // Wraps like Java's int and is sign-extended: "polygenelubricants".hashCode() == i32::MIN.
    assert_eq!(tags_code("polygenelubricants"), i64::from(i32::MIN));
}

#[test]
fn keys_split_on_spaces_and_skip_empty_pieces() {
    let msg = sample();
    let keys: Vec<_> = message_keys(&msg.properties).collect();
    assert_eq!(keys, vec!["order-1", "order-2"]);
    assert_eq!(message_keys(&Properties::new()).count(), 0);
}

#[test]
fn stamping_writes_the_offsets_that_decode_reads() {
    let mut bytes = encode_message(&sample()).unwrap();
    stamp_u64(&mut bytes, QUEUE_OFFSET_POS, 42).unwrap();
    stamp_u64(&mut bytes, PHYSICAL_OFFSET_POS, 4096).unwrap();
    let (stored, _) = decode_message(&bytes).unwrap();
    assert_eq!(stored.message.queue_offset, 42);
    assert_eq!(stored.message.physical_offset, 4096);
    assert!(stamp_u64(&mut bytes[..30], PHYSICAL_OFFSET_POS, 1).is_err());
}

#[test]
fn offset_msg_ids_match_the_protocol_example_and_parse_back() {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let id = offset_msg_id(host, 0x116);
    assert_eq!(id, "7F00000100002A9F0000000000000116");
    assert_eq!(parse_offset_msg_id(&id).unwrap(), (host, 0x116));
    assert_eq!(
        parse_offset_msg_id(&id.to_lowercase()).unwrap(),
        (host, 0x116)
    );

    let v6: SocketAddr = "[2001:db8::5]:10911".parse().unwrap();
    let id = offset_msg_id(v6, u64::MAX);
    assert_eq!(id.len(), 56);
    assert_eq!(parse_offset_msg_id(&id).unwrap(), (v6, u64::MAX));

    assert!(parse_offset_msg_id("7F000001").is_err());
    assert!(parse_offset_msg_id("ZZ00000100002A9F0000000000000116").is_err());
    assert!(parse_offset_msg_id("7F000001FFFFFFFF0000000000000116").is_err());
}
