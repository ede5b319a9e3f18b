//! Codec unit tests: round trips, hand-built frames from remoting.md, truncation, limits and
//! the leniency rules of each header serialization.

use bytes::{BufMut, Bytes, BytesMut};

use super::*;
use crate::remoting::code::{LanguageCode, RequestCode, ResponseCode};
use crate::remoting::command::ExtFields;

fn fields(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sample(serialize_type: SerializeType) -> RemotingCommand {
    RemotingCommand {
        code: RequestCode::SendMessageV2.as_i32(),
        language: LanguageCode::Rust,
        version: 474,
        opaque: 42,
        flag: 2,
        remark: Some("héllo \"quoted\" \\ 中".into()),
        ext_fields: fields(&[
            ("a", "pg"),
            ("b", "TopicTest"),
            ("e", "-1"),
            ("i", "TAGS\u{1}A\u{2}"),
        ]),
        body: Bytes::from_static(b"\x00\x01body\xff"),
        serialize_type,
    }
}

/// A frame around a raw header, as a peer would send it.
fn frame(serialize_type: u8, header: &[u8], body: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u32((4 + header.len() + body.len()) as u32);
    buf.put_u32((u32::from(serialize_type) << 24) | header.len() as u32);
    buf.extend_from_slice(header);
    buf.extend_from_slice(body);
    buf
}

fn decode_json(header: &str) -> Result<RemotingCommand, DecodeError> {
    let mut buf = frame(0, header.as_bytes(), b"");
    decode(&mut buf).map(|cmd| cmd.expect("whole frame"))
}

#[test]
fn json_commands_round_trip_with_every_field() {
    let cmd = sample(SerializeType::Json);
    let mut buf = BytesMut::new();
    encode(&cmd, &mut buf).unwrap();
    assert_eq!(buf[4], 0, "type byte");
    assert_eq!(decode(&mut buf).unwrap(), Some(cmd));
    assert!(buf.is_empty());
}

#[test]
fn binary_commands_round_trip_with_every_field() {
    let cmd = sample(SerializeType::RocketMq);
    let mut buf = BytesMut::new();
    encode(&cmd, &mut buf).unwrap();
    assert_eq!(buf[4], 1, "type byte");
    assert_eq!(decode(&mut buf).unwrap(), Some(cmd));
    assert!(buf.is_empty());
}

#[test]
fn json_output_has_javas_members_in_javas_order() {
    let req = RemotingCommand {
        opaque: 7,
        ..RemotingCommand::request(
            RequestCode::GetRouteinfoByTopic,
            ExtFields::new(),
            Bytes::new(),
        )
    };
    let resp = RemotingCommand::response_to(&req, ResponseCode::Success, None)
        .with_header(&crate::remoting::header::GetMaxOffsetResponseHeader { offset: 12 });
    let bytes = FrameCodec::default().encode_to_bytes(&resp).unwrap();
    let header = std::str::from_utf8(&bytes[8..]).unwrap();
    assert_eq!(
        header,
        r#"{"code":0,"extFields":{"offset":"12"},"flag":1,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":407}"#
    );
    let no_fields = RemotingCommand::response_to(&req, ResponseCode::SystemError, Some("x".into()));
    let bytes = FrameCodec::default().encode_to_bytes(&no_fields).unwrap();
    let header = std::str::from_utf8(&bytes[8..]).unwrap();
    assert!(header.contains(r#""extFields":{}"#), "{header}");
    assert!(header.contains(r#""remark":"x""#), "{header}");
}

#[test]
fn the_reference_json_example_decodes() {
    // remoting.md §1.3.1, with the elided members filled in.
    let cmd = decode_json(
        r#"{"code":310,"extFields":{"a":"pg","b":"TopicTest"},"flag":0,"language":"JAVA",
            "opaque":42,"remark":"...","serializeTypeCurrentRPC":"JSON","version":407}"#,
    )
    .unwrap();
    assert_eq!(cmd.request_code(), RequestCode::SendMessageV2);
    assert_eq!(cmd.ext_fields, fields(&[("a", "pg"), ("b", "TopicTest")]));
    assert_eq!((cmd.opaque, cmd.flag, cmd.version), (42, 0, 407));
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!(cmd.remark.as_deref(), Some("..."));
}

#[test]
fn an_ali_ons_style_header_with_raw_numbers_and_booleans_decodes() {
    // ali-ons: no remark, no serializeTypeCurrentRPC, JSON numbers and booleans in extFields.
    let cmd = decode_json(
        r#"{"code":11,"extFields":{"queueId":2,"k":false,"commitOffset":-1,"big":1.5e3,
            "nested":{"x":[1,"y"]},"gone":null},"flag":0,"language":"JAVA","opaque":1,"version":121}"#,
    )
    .unwrap();
    assert_eq!(
        cmd.ext_fields,
        fields(&[
            ("queueId", "2"),
            ("k", "false"),
            ("commitOffset", "-1"),
            ("big", "1500.0"),
            ("nested", r#"{"x":[1,"y"]}"#),
        ])
    );
    assert_eq!(cmd.remark, None);
    assert_eq!(cmd.version, 121);
}

#[test]
fn json_members_may_be_missing_numeric_strings_or_integral_floats() {
    let cmd = decode_json(r#"{"code":"105"}"#).unwrap();
    assert_eq!(cmd.code, 105);
    assert_eq!((cmd.opaque, cmd.flag, cmd.version), (0, 0, 0));
    assert_eq!(cmd.language, LanguageCode::Java);
    assert!(cmd.ext_fields.is_empty());

    let cmd = decode_json(
        r#"{"code":34.0,"opaque":" +9 ","flag":null,"remark":null,"extFields":null,"unknown":[1]}"#,
    )
    .unwrap();
    assert_eq!((cmd.code, cmd.opaque, cmd.flag), (34, 9, 0));
    assert_eq!(cmd.remark, None);
}

#[test]
fn json_language_may_be_a_name_a_number_or_unknown() {
    let lang = |json: &str| decode_json(json).unwrap().language;
    assert_eq!(lang(r#"{"language":"CPP"}"#), LanguageCode::Cpp);
    assert_eq!(lang(r#"{"language":12}"#), LanguageCode::Rust);
    assert_eq!(lang(r#"{"language":"9"}"#), LanguageCode::Go);
    assert_eq!(lang(r#"{"language":99}"#), LanguageCode::Unknown(99));
    assert_eq!(lang(r#"{"language":"COBOL"}"#), LanguageCode::Other);
}

#[test]
fn an_unknown_language_number_round_trips_through_json_as_a_number() {
    let cmd = RemotingCommand {
        language: LanguageCode::Unknown(99),
        ..RemotingCommand::default()
    };
    let mut buf = BytesMut::new();
    encode(&cmd, &mut buf).unwrap();
    assert!(
        std::str::from_utf8(&buf[8..])
            .unwrap()
            .contains(r#""language":99"#)
    );
    assert_eq!(decode(&mut buf).unwrap(), Some(cmd));
}

#[test]
fn json_headers_that_are_not_objects_or_have_wrong_types_are_errors_naming_the_member() {
    assert!(matches!(
        decode_json("[1,2]"),
        Err(DecodeError::JsonField {
            field: "header",
            ..
        })
    ));
    assert!(matches!(
        decode_json("{\"code\":"),
        Err(DecodeError::Json(_))
    ));
    assert!(matches!(decode_json(""), Err(DecodeError::Json(_))));
    assert!(matches!(
        decode_json(r#"{"code":{}}"#),
        Err(DecodeError::JsonField { field: "code", .. })
    ));
    assert!(matches!(
        decode_json(r#"{"opaque":4294967296}"#),
        Err(DecodeError::JsonField {
            field: "opaque",
            ..
        })
    ));
    assert!(matches!(
        decode_json(r#"{"flag":"x"}"#),
        Err(DecodeError::JsonField { field: "flag", .. })
    ));
    assert!(matches!(
        decode_json(r#"{"extFields":[1]}"#),
        Err(DecodeError::JsonField {
            field: "extFields",
            ..
        })
    ));
    assert!(matches!(
        decode_json(r#"{"remark":{}}"#),
        Err(DecodeError::JsonField {
            field: "remark",
            ..
        })
    ));
}

#[test]
fn json_headers_with_invalid_utf8_decode_lossily() {
    let mut buf = frame(0, b"{\"remark\":\"a\xffb\"}", b"");
    let cmd = decode(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.remark.as_deref(), Some("a\u{fffd}b"));
}

/// A binary header per remoting.md §1.3.2, built field by field.
fn binary_header(remark: &[u8], entries: &[(&[u8], &[u8])]) -> BytesMut {
    let mut h = BytesMut::new();
    h.put_i16(310); // code
    h.put_i8(12); // language RUST
    h.put_i16(474); // version
    h.put_i32(5); // opaque
    h.put_i32(0); // flag
    h.put_i32(remark.len() as i32);
    h.extend_from_slice(remark);
    let mut ext = BytesMut::new();
    for (k, v) in entries {
        ext.put_i16(k.len() as i16);
        ext.extend_from_slice(k);
        ext.put_i32(v.len() as i32);
        ext.extend_from_slice(v);
    }
    h.put_i32(ext.len() as i32);
    h.extend_from_slice(&ext);
    h
}

#[test]
fn a_binary_header_built_from_the_reference_layout_decodes() {
    let header = binary_header(
        b"",
        &[
            (b"a", b"pg"),
            (b"b", b"T"),
            (b"empty", b""),
            (b"", b"x"),
            (b"a", b"last"),
        ],
    );
    let mut buf = frame(1, &header, b"BODY");
    let cmd = decode(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.request_code(), RequestCode::SendMessageV2);
    assert_eq!(cmd.language, LanguageCode::Rust);
    assert_eq!((cmd.version, cmd.opaque, cmd.flag), (474, 5, 0));
    assert_eq!(cmd.remark, None, "zero-length remark is absent");
    assert_eq!(
        cmd.ext_fields,
        fields(&[("a", "last"), ("b", "T")]),
        "empty keys/values dropped, last wins"
    );
    assert_eq!(cmd.body, Bytes::from_static(b"BODY"));
    assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
}

#[test]
fn binary_headers_sign_extend_code_and_version_and_ignore_trailing_bytes() {
    let mut header = BytesMut::new();
    header.put_i16(-2);
    header.put_i8(-1);
    header.put_i16(-3);
    header.put_i32(1);
    header.put_i32(1);
    header.put_i32(0);
    header.put_i32(0);
    header.extend_from_slice(b"trailing");
    let mut buf = frame(1, &header, b"");
    let cmd = decode(&mut buf).unwrap().unwrap();
    assert_eq!((cmd.code, cmd.version), (-2, -3));
    assert_eq!(cmd.language, LanguageCode::Unknown(-1));
}

#[test]
fn binary_headers_with_bad_lengths_are_errors_naming_the_field() {
    let err = |header: &[u8]| {
        let mut buf = frame(1, header, b"");
        match decode(&mut buf) {
            Err(DecodeError::Binary { field, .. }) => field,
            other => panic!("expected a binary header error, got {other:?}"),
        }
    };
    let full = binary_header(b"rm", &[(b"key", b"value")]);
    // Cut inside the fixed part, the remark, the ext length and an entry.
    assert_eq!(err(&full[..1]), "code");
    assert_eq!(err(&full[..10]), "flag");
    assert_eq!(err(&full[..15]), "remark_len");
    assert_eq!(err(&full[..18]), "remark");
    assert_eq!(err(&full[..21]), "ext_len");
    assert_eq!(err(&full[..25]), "ext map");
    let mut negative_remark = BytesMut::from(&full[..]);
    negative_remark[13..17].copy_from_slice(&(-1i32).to_be_bytes());
    assert_eq!(err(&negative_remark), "remark_len");
    // An entry whose value length runs past ext_len.
    let mut overrun = binary_header(b"", &[(b"k", b"v")]);
    let len_at = overrun.len() - 5;
    overrun[len_at..len_at + 4].copy_from_slice(&100i32.to_be_bytes());
    assert_eq!(err(&overrun), "ext value");
    let mut negative_key = binary_header(b"", &[(b"k", b"v")]);
    let key_at = negative_key.len() - 8;
    negative_key[key_at..key_at + 2].copy_from_slice(&(-5i16).to_be_bytes());
    assert_eq!(err(&negative_key), "ext key_len");
}

#[test]
fn binary_encoding_refuses_codes_that_do_not_fit_i16_but_json_carries_them() {
    let pop = RemotingCommand {
        code: 200_050,
        ..RemotingCommand::default()
    };
    let mut buf = BytesMut::from(&b"keep"[..]);
    let binary = pop.clone().with_serialize_type(SerializeType::RocketMq);
    assert!(matches!(
        encode(&binary, &mut buf),
        Err(EncodeError::OutOfRange { field: "code", .. })
    ));
    assert_eq!(
        &buf[..],
        b"keep",
        "a failed encode leaves the buffer as it was"
    );
    let version = RemotingCommand {
        version: 40_000,
        serialize_type: SerializeType::RocketMq,
        ..RemotingCommand::default()
    };
    assert!(matches!(
        encode(&version, &mut buf),
        Err(EncodeError::OutOfRange {
            field: "version",
            ..
        })
    ));
    let mut buf = BytesMut::new();
    encode(&pop, &mut buf).unwrap();
    assert_eq!(decode(&mut buf).unwrap().unwrap().code, 200_050);
}

#[test]
fn binary_encoding_drops_empty_values_and_writes_an_empty_remark_as_absent() {
    let cmd = RemotingCommand {
        remark: Some(String::new()),
        ext_fields: fields(&[("k", ""), ("x", "y")]),
        serialize_type: SerializeType::RocketMq,
        ..RemotingCommand::default()
    };
    let mut buf = BytesMut::new();
    encode(&cmd, &mut buf).unwrap();
    let back = decode(&mut buf).unwrap().unwrap();
    assert_eq!(back.remark, None);
    assert_eq!(back.ext_fields, fields(&[("x", "y")]));
}

#[test]
fn every_truncation_of_a_frame_needs_more_bytes_and_leaves_the_buffer_alone() {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let whole = FrameCodec::default()
            .encode_to_bytes(&sample(serialize_type))
            .unwrap();
        for cut in 0..whole.len() {
            let mut buf = BytesMut::from(&whole[..cut]);
            assert!(
                decode(&mut buf).unwrap().is_none(),
                "{serialize_type:?} cut at {cut}"
            );
            assert_eq!(&buf[..], &whole[..cut]);
        }
    }
}

#[test]
fn frames_back_to_back_decode_one_at_a_time() {
    let a = sample(SerializeType::Json);
    let b = RemotingCommand {
        opaque: 43,
        body: Bytes::new(),
        ..sample(SerializeType::RocketMq)
    };
    let mut buf = BytesMut::new();
    encode(&a, &mut buf).unwrap();
    encode(&b, &mut buf).unwrap();
    buf.extend_from_slice(&[0, 0]); // the start of a third
    assert_eq!(decode(&mut buf).unwrap(), Some(a));
    assert_eq!(decode(&mut buf).unwrap(), Some(b));
    assert_eq!(decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 2);
}

#[test]
fn an_oversized_header_is_rejected_from_the_prefix_before_it_arrives() {
    let header_length = DEFAULT_MAX_HEADER + 1;
    let mut buf = BytesMut::new();
    buf.put_u32((4 + header_length) as u32);
    buf.put_u32(header_length as u32); // JSON, u24 length
    assert!(matches!(
        decode(&mut buf),
        Err(DecodeError::HeaderTooLarge {
            max: DEFAULT_MAX_HEADER,
            ..
        })
    ));
    // At the limit it waits for the bytes, as any frame does.
    let mut at_limit = BytesMut::new();
    at_limit.put_u32((4 + DEFAULT_MAX_HEADER) as u32);
    at_limit.put_u32(DEFAULT_MAX_HEADER as u32);
    assert!(decode(&mut at_limit).unwrap().is_none());
    let small = FrameCodec::default().with_max_header(16);
    let mut big = BytesMut::new();
    big.put_u32(4 + 17);
    big.put_u32(17);
    assert!(matches!(
        small.decode(&mut big),
        Err(DecodeError::HeaderTooLarge { max: 16, .. })
    ));
}

#[test]
fn an_oversized_length_is_rejected_from_the_prefix_without_growing_the_buffer() {
    let mut buf = BytesMut::with_capacity(16);
    buf.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    let capacity = buf.capacity();
    assert!(matches!(
        decode(&mut buf),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    assert_eq!(buf.capacity(), capacity);
    // Exactly at Java's limit is fine (prefix included); one more byte is not.
    let mut at_limit = BytesMut::new();
    at_limit.put_u32((DEFAULT_MAX_FRAME - 4) as u32);
    assert!(decode(&mut at_limit).unwrap().is_none());
    let mut over = BytesMut::new();
    over.put_u32((DEFAULT_MAX_FRAME - 3) as u32);
    assert!(matches!(
        decode(&mut over),
        Err(DecodeError::FrameTooLarge { .. })
    ));
}

#[test]
fn short_frames_bad_type_bytes_and_overlong_headers_are_errors() {
    let mut short = BytesMut::from(&[0u8, 0, 0, 3][..]);
    assert!(matches!(
        decode(&mut short),
        Err(DecodeError::FrameTooShort { total_length: 3 })
    ));
    let mut bad_type = frame(2, b"{}", b"");
    assert!(matches!(
        decode(&mut bad_type),
        Err(DecodeError::UnknownSerializeType(2))
    ));
    let mut overlong = BytesMut::new();
    overlong.put_u32(10);
    overlong.put_u32(7); // 7 > 10 - 4
    assert!(matches!(
        decode(&mut overlong),
        Err(DecodeError::HeaderTooLong { .. })
    ));
    // Garbage that looks like HTTP is rejected from its first bytes.
    let mut http = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
    assert!(decode(&mut http).is_err());
}

#[test]
fn a_configured_limit_applies_to_both_directions() {
    let codec = FrameCodec::new(1024);
    let big = RemotingCommand::default().with_body(vec![7u8; 2000]);
    let mut buf = BytesMut::new();
    assert!(matches!(
        codec.encode(&big, &mut buf),
        Err(EncodeError::FrameTooLarge { .. })
    ));
    assert!(buf.is_empty());
    encode(&big, &mut buf).unwrap();
    assert!(matches!(
        codec.decode(&mut buf),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    assert!(FrameCodec::default().decode(&mut buf).unwrap().is_some());
}
