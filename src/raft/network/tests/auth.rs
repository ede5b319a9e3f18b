//! Peer authentication with `dLegerPeerSecret` over real loopback TCP: peers holding the
//! secret talk; a forged peer (a wrong secret, no secret, a made-up proof, an unknown `from`)
//! is refused before openraft sees anything, and a server without the secret is not trusted
//! by a client that has one.

use super::super::NetworkFaults;
use super::super::auth::{Challenge, Proof};
use super::super::frame::{self, MessageType};
use super::harness::{FakeRaft, Raw, client_with_secret, is_unreachable, start_with_secret, vote};

const SECRET: &str = "group-secret-1";

#[tokio::test]
async fn peers_holding_the_secret_talk() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start_with_secret(2, raft.clone(), &faults, "127.0.0.1:0", Some(SECRET)).await;
    let mut c = client_with_secret(1, 2, server.addr, &faults, Some(SECRET));
    assert!(vote(&mut c).await.expect("vote").vote_granted);
    assert!(vote(&mut c).await.expect("same connection").vote_granted);
    assert_eq!(raft.calls(), ["vote", "vote"]);
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_refused_before_openraft() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start_with_secret(2, raft.clone(), &faults, "127.0.0.1:0", Some(SECRET)).await;
    let mut wrong = client_with_secret(1, 2, server.addr, &faults, Some("other-secret"));
    let r = vote(&mut wrong).await;
    assert!(is_unreachable(&r, "dLegerPeerSecret differs"), "{r:?}");
    let mut none = client_with_secret(1, 2, server.addr, &faults, None);
    let r = vote(&mut none).await;
    assert!(
        is_unreachable(&r, "dLegerPeerSecret is not set here"),
        "{r:?}"
    );
    assert!(raft.calls().is_empty(), "nothing reached openraft");
    server.stop().await;
}

#[tokio::test]
async fn a_client_with_the_secret_does_not_trust_a_server_without_it() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let open = start_with_secret(2, raft.clone(), &faults, "127.0.0.1:0", None).await;
    let mut c = client_with_secret(1, 2, open.addr, &faults, Some(SECRET));
    let r = vote(&mut c).await;
    assert!(is_unreachable(&r, "did not authenticate"), "{r:?}");
    assert!(raft.calls().is_empty());
    open.stop().await;
}

#[tokio::test]
async fn a_forged_peer_is_closed_after_a_made_up_proof_or_a_skipped_challenge() {
    let (faults, raft) = (NetworkFaults::new(), FakeRaft::default());
    let server = start_with_secret(2, raft.clone(), &faults, "127.0.0.1:0", Some(SECRET)).await;

    let mut forged = Raw::connect(server.addr).await;
    let challenge = forged.hello(1, 2).await.expect("a challenge");
    assert_eq!(challenge.kind, MessageType::AuthChallenge);
    let challenge: Challenge = frame::decode_payload(&challenge.payload).expect("challenge");
    let made_up = Proof {
        mac: vec![0u8; 32],
        nonce: challenge.nonce,
    };
    forged.send(MessageType::AuthProof, 0, &made_up).await;
    let refused = forged.recv().await.expect("an error frame");
    assert_eq!(refused.kind, MessageType::Error);
    assert!(
        forged.recv().await.is_none(),
        "then the connection is closed"
    );

    let mut skipper = Raw::connect(server.addr).await;
    let challenge = skipper.hello(1, 2).await.expect("a challenge");
    assert_eq!(challenge.kind, MessageType::AuthChallenge);
    let vote_frame =
        frame::encode(MessageType::Vote, 1, &super::harness::vote_request()).expect("encodes");
    tokio::io::AsyncWriteExt::write_all(&mut skipper.stream, &vote_frame)
        .await
        .expect("write");
    let refused = skipper.recv().await.expect("an error frame");
    assert_eq!(refused.kind, MessageType::Error);
    assert!(
        skipper.recv().await.is_none(),
        "then the connection is closed"
    );

    let mut stranger = Raw::connect(server.addr).await;
    let refused = stranger.hello(7, 2).await.expect("an error frame");
    assert_eq!(
        refused.kind,
        MessageType::Error,
        "an unknown from is refused first"
    );

    assert!(raft.calls().is_empty(), "nothing reached openraft");
    server.stop().await;
}
