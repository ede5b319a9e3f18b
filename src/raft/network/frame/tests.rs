use bytes::{BufMut, Bytes, BytesMut};
use openraft::EntryPayload;
use openraft::entry::RaftEntry;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::type_config::alias::VoteOf;
use rand::{Rng, SeedableRng};

use super::{FrameError, MAX_FRAME, MessageType, decode, decode_payload, encode, read_frame};
use crate::raft::types::{LogEntry, Proposal, ProposalKind, TypeConfig, log_id};

fn sample_append() -> AppendEntriesRequest<TypeConfig> {
    let entry = LogEntry::new(
        log_id(3, 7),
        EntryPayload::Normal(Proposal {
            kind: ProposalKind::Message,
            body: Bytes::from_static(b"hello broker"),
        }),
    );
    AppendEntriesRequest {
        vote: VoteOf::<TypeConfig>::new(3, 1),
        prev_log_id: Some(log_id(3, 6)),
        entries: vec![entry, LogEntry::new(log_id(3, 8), EntryPayload::Blank)],
        leader_commit: Some(log_id(2, 5)),
    }
}

#[test]
fn frame_round_trips_an_append_request() {
    let req = sample_append();
    let bytes = encode(MessageType::AppendEntries, 42, &req).expect("encodes");
    let mut buf = BytesMut::from(&bytes[..]);
    let frame = decode(&mut buf).expect("valid").expect("complete");
    assert!(buf.is_empty());
    assert_eq!(frame.kind, MessageType::AppendEntries);
    assert_eq!(frame.request_id, 42);
    let back: AppendEntriesRequest<TypeConfig> = decode_payload(&frame.payload).expect("decodes");
    assert_eq!(back.vote, req.vote);
    assert_eq!(back.prev_log_id, req.prev_log_id);
    assert_eq!(back.entries, req.entries);
    assert_eq!(back.leader_commit, req.leader_commit);
}

#[test]
fn two_frames_in_one_buffer_decode_in_order() {
    let vote = VoteRequest::<TypeConfig>::new(VoteOf::<TypeConfig>::new(4, 2), Some(log_id(3, 9)));
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&encode(MessageType::Vote, 1, &vote).expect("encodes"));
    buf.extend_from_slice(&encode(MessageType::HelloOk, 2, &()).expect("encodes"));
    let first = decode(&mut buf).expect("valid").expect("complete");
    let second = decode(&mut buf).expect("valid").expect("complete");
    assert_eq!((first.kind, first.request_id), (MessageType::Vote, 1));
    assert_eq!((second.kind, second.request_id), (MessageType::HelloOk, 2));
    assert!(second.payload.is_empty());
    let back: VoteRequest<TypeConfig> = decode_payload(&first.payload).expect("decodes");
    assert_eq!(back.vote, vote.vote);
    assert_eq!(decode(&mut buf).expect("valid"), None);
}

#[test]
fn every_truncation_needs_more_bytes() {
    let bytes = encode(MessageType::AppendEntries, 9, &sample_append()).expect("encodes");
    for cut in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(
            decode(&mut buf).expect("a prefix is not an error"),
            None,
            "cut {cut}"
        );
        assert_eq!(buf.len(), cut, "nothing consumed at cut {cut}");
    }
}

#[test]
fn oversized_length_is_refused_before_allocating() {
    let mut buf = BytesMut::new();
    buf.put_u32((MAX_FRAME + 1) as u32);
    let capacity = buf.capacity();
    assert!(matches!(decode(&mut buf), Err(FrameError::TooLarge { .. })));
    assert_eq!(
        buf.capacity(),
        capacity,
        "no reservation for a refused frame"
    );
    let mut buf = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
    assert!(matches!(decode(&mut buf), Err(FrameError::TooLarge { .. })));
}

#[test]
fn short_length_and_unknown_type_are_malformed() {
    let mut buf = BytesMut::from(&[0, 0, 0, 3, 16, 0, 0][..]);
    assert!(matches!(
        decode(&mut buf),
        Err(FrameError::TooShort { len: 3 })
    ));
    let mut buf = BytesMut::from(&[0, 0, 0, 9, 99][..]);
    assert!(matches!(decode(&mut buf), Err(FrameError::UnknownType(99))));
}

#[test]
fn garbage_payloads_are_errors_not_panics() {
    assert!(decode_payload::<AppendEntriesRequest<TypeConfig>>(&[0xff; 40]).is_err());
    let hello = encode(MessageType::Hello, 0, &"x").expect("encodes");
    let mut payload = hello[13..].to_vec();
    payload.push(0);
    assert!(decode_payload::<String>(&payload).is_err(), "trailing byte");
}

#[test]
fn random_bytes_never_panic_the_decoder() {
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..2_000 {
        let len = rng.random_range(0..64);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) && bytes.len() >= 5 {
            // A plausible header makes the decoder reach the payload.
            let body = (bytes.len() - 4) as u32;
            bytes[..4].copy_from_slice(&body.to_be_bytes());
            bytes[4] = [1, 2, 3, 16, 17, 18, 19, 20][rng.random_range(0..8)];
        }
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(frame)) = decode(&mut buf) {
            let _ = decode_payload::<AppendEntriesRequest<TypeConfig>>(&frame.payload);
            let _ = decode_payload::<VoteRequest<TypeConfig>>(&frame.payload);
            let _ = decode_payload::<String>(&frame.payload);
        }
    }
}

#[tokio::test]
async fn read_frame_reports_a_torn_tail_and_a_clean_end() {
    let bytes = encode(MessageType::Vote, 5, &"ok").expect("encodes");
    let mut reader = &bytes[..];
    let mut buf = BytesMut::new();
    let frame = read_frame(&mut reader, &mut buf).await.expect("valid");
    assert_eq!(frame.map(|f| f.request_id), Some(5));
    assert!(matches!(read_frame(&mut reader, &mut buf).await, Ok(None)));

    let mut torn = &bytes[..bytes.len() - 1];
    let mut buf = BytesMut::new();
    assert!(matches!(
        read_frame(&mut torn, &mut buf).await,
        Err(FrameError::Truncated { .. })
    ));
}
