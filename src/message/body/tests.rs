//! The fastjson pre-pass: bare integer keys are quoted, nothing else is touched.

use std::borrow::Cow;

use super::{
    BodyError, BrokerData, ClusterInfo, JsonBody, decode_lenient, quote_bare_integer_keys,
};

fn quoted(text: &str) -> String {
    quote_bare_integer_keys(text).into_owned()
}

#[test]
fn bare_integer_keys_are_quoted() {
    assert_eq!(
        quoted(r#"{0:"127.0.0.1:10911",1:"127.0.0.1:10921"}"#),
        r#"{"0":"127.0.0.1:10911","1":"127.0.0.1:10921"}"#
    );
}

#[test]
fn standard_json_is_returned_borrowed() {
    let text = r#"{"0":"a","list":[1,2,{"3":4}],"n":-5}"#;
    assert!(matches!(quote_bare_integer_keys(text), Cow::Borrowed(_)));
}

#[test]
fn numbers_inside_strings_are_left_alone() {
    let text = r#"{"remark":"{0:1,2:3}","k":"a,7:b"}"#;
    assert_eq!(quoted(text), text);
}

#[test]
fn escaped_quotes_do_not_end_a_string_early() {
    // The first string contains `\",0:` which must stay; the key after the string ending in a
    // backslash escape must be quoted.
    let text = r#"{"a\",0:\"":"x\\",1:"y"}"#;
    assert_eq!(quoted(text), r#"{"a\",0:\"":"x\\","1":"y"}"#);
    let value: serde_json::Value = serde_json::from_str(&quoted(text)).unwrap();
    assert_eq!(value["a\",0:\""], "x\\");
    assert_eq!(value["1"], "y");
}

#[test]
fn nested_objects_and_objects_inside_arrays_are_quoted() {
    assert_eq!(
        quoted(r#"{"t@g":{0:5,12:{3:[{4:"x"}]}}}"#),
        r#"{"t@g":{"0":5,"12":{"3":[{"4":"x"}]}}}"#
    );
}

#[test]
fn array_elements_and_values_are_not_keys() {
    let text = r#"{"a":[0,1,-2],"b":3,"c":[[4],{"d":5}]}"#;
    assert_eq!(quoted(text), text);
}

#[test]
fn negative_keys_and_whitespace_around_the_colon_are_handled() {
    assert_eq!(
        quoted("{ -1 : \"x\" ,\n\t7\n:\"y\"}"),
        "{ \"-1\" : \"x\" ,\n\t\"7\"\n:\"y\"}"
    );
}

#[test]
fn non_integer_bare_tokens_are_left_for_the_parser() {
    for text in [
        r#"{1.5:"x"}"#,
        r#"{-:"x"}"#,
        r#"{abc:"x"}"#,
        r#"{12ab:"x"}"#,
    ] {
        assert!(
            serde_json::from_str::<serde_json::Value>(&quoted(text)).is_err(),
            "{text}"
        );
    }
}

#[test]
fn unterminated_and_unicode_input_does_not_panic() {
    for text in [
        "{\"abc",
        "{0",
        "{0:",
        "{\"\\",
        "{\"é\":{1:\"ü\"}}",
        "}}]]{[",
        "-",
        "{-",
    ] {
        let _ = quote_bare_integer_keys(text);
    }
    assert_eq!(quoted("{\"é\":{1:\"ü\"}}"), "{\"é\":{\"1\":\"ü\"}}");
}

#[test]
fn fastjson_broker_data_parses() {
    let body = br#"{"brokerAddrs":{0:"127.0.0.1:10911",2:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}"#;
    let data = BrokerData::decode(body).unwrap();
    assert_eq!(data.master_addr(), Some("127.0.0.1:10911"));
    assert_eq!(data.broker_addrs[&2], "127.0.0.1:10921");
    assert!(!data.enable_acting_master);
}

#[test]
fn fastjson_cluster_info_from_the_protocol_notes_parses() {
    let body = br#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a",
                                "cluster":"DefaultCluster"}},
 "clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
    let info = ClusterInfo::decode(body).unwrap();
    assert_eq!(
        info.broker_addr_table["broker-a"].broker_addrs[&0],
        "127.0.0.1:10911"
    );
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
}

#[test]
fn malformed_bodies_are_errors_not_panics() {
    assert!(matches!(
        BrokerData::decode(b"{0:"),
        Err(BodyError::Json(_))
    ));
    assert!(matches!(
        BrokerData::decode(b"\xff{0:1}"),
        Err(BodyError::NotUtf8(_))
    ));
    assert!(decode_lenient::<BrokerData>(b"").is_err());
    assert!(BrokerData::decode(br#"{"brokerAddrs":{"x":"a"}}"#).is_err());
}

/// fastjson's form of `value`: integer-like object keys written bare.
fn fastjson(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = if k.parse::<i64>().is_ok() {
                        k.clone()
                    } else {
                        serde_json::to_string(k).unwrap()
                    };
                    format!("{key}:{}", fastjson(v))
                })
                .collect();
            format!("{{{}}}", members.join(","))
        }
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(fastjson).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// A random JSON tree whose keys and strings are chosen to look like keys, numbers and escapes.
fn random_value(rng: &mut rand::rngs::StdRng, depth: u32) -> serde_json::Value {
    use rand::Rng;
    use serde_json::Value;
    const WORDS: &[&str] = &[
        "0", "-1", "17", "a", "0:1", "{2:3}", "\"", "\\", "x\\\"y", ",4:", "é", " 5 ",
    ];
    let word = |rng: &mut rand::rngs::StdRng| WORDS[rng.random_range(0..WORDS.len())].to_string();
    match if depth == 0 {
        rng.random_range(0..3)
    } else {
        rng.random_range(0..5)
    } {
        0 => Value::from(rng.random_range(-100..100)),
        1 => Value::from(word(rng)),
        2 => Value::Bool(rng.random()),
        3 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..4))
                .map(|_| (word(rng), random_value(rng, depth - 1)))
                .collect(),
        ),
    }
}

#[test]
fn random_fastjson_text_quotes_back_to_the_same_value_and_random_bytes_never_panic() {
    use rand::{Rng, SeedableRng};
    let seed = std::env::var("NAMESRV_JSON_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("NAMESRV_JSON_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..2000 {
        let value = random_value(&mut rng, 4);
        let text = fastjson(&value);
        let back: serde_json::Value = serde_json::from_str(&quoted(&text))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {text}"));
        assert_eq!(back, value, "seed {seed}: {text}");
        let standard = value.to_string();
        assert_eq!(
            quoted(&standard),
            standard,
            "seed {seed}: standard JSON changed"
        );
        // Truncated or corrupted text: no panic, whatever the answer.
        let mut bytes = text.into_bytes();
        bytes.truncate(rng.random_range(0..=bytes.len()));
        if !bytes.is_empty() && rng.random_bool(0.5) {
            let i = rng.random_range(0..bytes.len());
            bytes[i] = rng.random();
        }
        let _ = BrokerData::decode(&bytes);
        let _ = ClusterInfo::decode(&bytes);
        let _ = crate::message::body::RegisterBrokerBody::decode(&bytes);
    }
}
