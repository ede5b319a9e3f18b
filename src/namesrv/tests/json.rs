//! The fastjson pre-pass: bare integer keys are quoted, nothing else is touched.

use std::borrow::Cow;

use crate::namesrv::json::{decode_lenient, quote_bare_integer_keys};
use crate::namesrv::{BodyError, BrokerData, ClusterInfo, JsonBody};

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
