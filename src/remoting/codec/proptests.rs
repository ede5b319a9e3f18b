//! Property tests with a seeded `rand` loop: the frame decoder and both header decoders never
//! panic on random or mutated bytes, and random commands survive encode → decode in both
//! serializations, whole or fed in random chunks. Set `REMOTING_PROPTEST_SEED` to replay a seed.

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::remoting::code::LanguageCode;
use crate::remoting::command::ExtFields;

const CASES: usize = 2_000;

fn rng(test: &str) -> StdRng {
    let seed = std::env::var("REMOTING_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    println!("{test}: REMOTING_PROPTEST_SEED={seed}");
    StdRng::seed_from_u64(seed)
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; rng.random_range(0..=max)];
    rng.fill(&mut bytes[..]);
    bytes
}

fn random_string(rng: &mut StdRng, max: usize) -> String {
    const PIECES: &[&str] = &[
        "a", "Z", "0", " ", "\"", "\\", "\u{1}", "\u{2}", "\n", "é", "中", "😀", "{", "}",
        "%RETRY%",
    ];
    (0..rng.random_range(0..=max))
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

fn random_command(rng: &mut StdRng, serialize_type: SerializeType) -> RemotingCommand {
    let binary = serialize_type == SerializeType::RocketMq;
    let mut ext_fields = ExtFields::new();
    for _ in 0..rng.random_range(0..8) {
        let key = random_string(rng, 6);
        let value = random_string(rng, 12);
        // The binary header cannot carry empty keys or values (Java reads them as null).
        if binary && (key.is_empty() || value.is_empty()) {
            continue;
        }
        ext_fields.insert(key, value);
    }
    let remark = if rng.random_bool(0.5) {
        Some(random_string(rng, 20)).filter(|r| !binary || !r.is_empty())
    } else {
        None
    };
    let (code, version, language) = if binary {
        (
            i32::from(rng.random::<i16>()),
            i32::from(rng.random::<i16>()),
            LanguageCode::from_i32(i32::from(rng.random::<i8>())),
        )
    } else {
        (
            rng.random(),
            rng.random(),
            LanguageCode::from_i32(rng.random_range(-5..20)),
        )
    };
    RemotingCommand {
        code,
        language,
        version,
        opaque: rng.random(),
        flag: rng.random(),
        remark,
        ext_fields,
        body: Bytes::from(random_bytes(rng, 64)),
        serialize_type,
    }
}

#[test]
fn the_frame_decoder_never_panics_on_random_bytes() {
    let mut rng = rng("frame_random");
    let codec = FrameCodec::new(4096);
    for _ in 0..CASES {
        let mut buf = BytesMut::from(&random_bytes(&mut rng, 300)[..]);
        // Half the cases get a plausible prefix so the header decoders are reached.
        if rng.random_bool(0.5) && buf.len() >= 8 {
            let total = (buf.len() - 4) as u32;
            buf[..4].copy_from_slice(&total.to_be_bytes());
            let header_len = rng.random_range(0..=total - 4);
            let word = (u32::from(rng.random_range(0u8..2)) << 24) | header_len;
            buf[4..8].copy_from_slice(&word.to_be_bytes());
        }
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }
}

#[test]
fn the_json_header_decoder_never_panics_on_random_or_mangled_json() {
    let mut rng = rng("json_random");
    let cmd = random_command(&mut rng, SerializeType::Json).with_body(Bytes::new());
    let valid =
        String::from_utf8(FrameCodec::default().encode_to_bytes(&cmd).unwrap()[8..].to_vec())
            .unwrap();
    for _ in 0..CASES {
        let _ = json::decode(&random_bytes(&mut rng, 200));
        let mut mangled = valid.clone().into_bytes();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..mangled.len());
            mangled[at] = *b"{}[]\":,0-9.e nul"
                .get(rng.random_range(0..17))
                .unwrap_or(&b'x');
        }
        let _ = json::decode(&mangled);
    }
}

#[test]
fn the_binary_header_decoder_never_panics_on_random_or_mangled_bytes() {
    let mut rng = rng("binary_random");
    for _ in 0..CASES {
        let _ = binary::decode(&random_bytes(&mut rng, 200));
        let cmd = random_command(&mut rng, SerializeType::RocketMq);
        let mut valid = FrameCodec::default().encode_to_bytes(&cmd).unwrap()[8..].to_vec();
        let header_len = valid.len() - cmd.body.len();
        valid.truncate(header_len);
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..valid.len());
            valid[at] = rng.random();
        }
        let _ = binary::decode(&valid);
    }
}

#[test]
fn random_commands_round_trip_in_both_serializations() {
    let mut rng = rng("round_trip");
    for _ in 0..CASES {
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let cmd = random_command(&mut rng, serialize_type);
            let mut buf = BytesMut::new();
            encode(&cmd, &mut buf).unwrap();
            assert_eq!(decode(&mut buf).unwrap(), Some(cmd));
            assert!(buf.is_empty());
        }
    }
}

#[test]
fn a_stream_fed_in_random_chunks_yields_the_same_commands() {
    let mut rng = rng("chunks");
    for _ in 0..CASES / 10 {
        let commands: Vec<RemotingCommand> = (0..rng.random_range(1..6))
            .map(|_| {
                let t = if rng.random_bool(0.5) {
                    SerializeType::Json
                } else {
                    SerializeType::RocketMq
                };
                random_command(&mut rng, t)
            })
            .collect();
        let mut wire = BytesMut::new();
        for cmd in &commands {
            encode(cmd, &mut wire).unwrap();
        }
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        while !wire.is_empty() {
            let n = rng.random_range(1..=wire.len().min(40));
            buf.extend_from_slice(&wire.split_to(n));
            while let Some(cmd) = decode(&mut buf).unwrap() {
                decoded.push(cmd);
            }
        }
        assert_eq!(decoded, commands);
        assert!(buf.is_empty());
    }
}
