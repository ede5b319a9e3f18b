//! The receiving side: accepts peer connections and hands each request to the local `Raft`.
//!
//! One task per connection. The first frame must be a [`Hello`] naming this group, this node
//! and a configured peer as the caller; anything else gets an error frame and the connection
//! is closed. With a group secret, the caller must then prove it holds it (`auth`): a wrong or
//! missing proof gets an error frame, the connection is closed and logged as a warning with
//! the caller's address. Every request must come from the node it names (the leader of an append or a
//! snapshot, the candidate of a vote): a forged one is answered with an error frame and never
//! reaches openraft. After that, requests on a
//! connection are handled strictly in order, each by the matching [`RaftRpc`] method, and the
//! reply (the `Raft` result, fatal errors included) is written back with the request's id. A
//! request whose payload does not decode gets an error frame and the connection lives; a bad
//! frame closes it. Requests from a peer that [`NetworkFaults`] blocks are dropped by closing the
//! connection. No input panics. The sending side is [`super::client`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use openraft::Raft;
use openraft::storage::RaftStateMachine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::auth::{self, Challenge, PeerSecret, Proof};
use super::faults::NetworkFaults;
use super::frame::{self, Frame, FrameError, MessageType};
use super::rpc::{Hello, RaftRpc, SnapshotRequest};
use crate::raft::state_machine::check_snapshot;
use crate::raft::types::{SnapshotBytes, TypeConfig};
use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use openraft::type_config::alias::VoteOf;

/// A peer must say hello this soon after connecting.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// After shutdown, connections get this long to finish the request in hand.
const DRAIN_DEADLINE: Duration = Duration::from_secs(5);
/// A peer that does not take a reply within this long is dropped (it stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves raft peer RPCs on `listener` for `raft` until `cancel` fires. Never returns an error: connection failures are logged and end that connection.
pub(crate) async fn serve<SM>(
    listener: TcpListener,
    raft: Raft<TypeConfig, SM>,
    peers: PeerIds,
    faults: NetworkFaults,
    cancel: CancellationToken,
) where
    SM: RaftStateMachine<TypeConfig, SnapshotData = SnapshotBytes>,
{
    serve_rpc(listener, raft, peers, faults, cancel).await;
}

/// Who may talk to this node: its group, its own id and the ids of its configured peers, and
/// the group's secret they must prove they hold (`dLegerPeerSecret`), when one is set.
#[derive(Debug, Clone)]
pub(crate) struct PeerIds {
    pub(crate) group: String,
    pub(crate) self_id: u64,
    pub(crate) peers: Vec<u64>,
    pub(crate) secret: Option<PeerSecret>,
}

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("no Hello within {HANDSHAKE_TIMEOUT:?}")]
    HandshakeTimeout,
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("node {from} failed authentication: {reason}")]
    Unauthenticated { from: u64, reason: String },
    #[error("peer took no reply within {WRITE_TIMEOUT:?}")]
    WriteTimeout,
    #[error("peer {from} is blocked by fault injection")]
    Blocked { from: u64 },
    #[error(transparent)]
    Frame(#[from] FrameError),
}

struct Context {
    group: String,
    self_id: u64,
    peers: Vec<u64>,
    secret: Option<PeerSecret>,
    faults: NetworkFaults,
}

/// [`serve`] over any [`RaftRpc`]: the seam the tests use.
pub(crate) async fn serve_rpc<R: RaftRpc>(
    listener: TcpListener,
    raft: R,
    ids: PeerIds,
    faults: NetworkFaults,
    cancel: CancellationToken,
) {
    let self_id = ids.self_id;
    let ctx = Arc::new(Context {
        group: ids.group,
        self_id,
        peers: ids.peers,
        secret: ids.secret,
        faults,
    });
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let task = connection(stream, peer, raft.clone(), ctx.clone(), cancel.clone());
                    conns.spawn(task);
                }
                Err(err) => {
                    tracing::warn!(node = self_id, error = %err, "raft peer accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
            Some(done) = conns.join_next(), if !conns.is_empty() => log_join(done),
        }
    }
    drop(listener);
    let drain = async {
        while let Some(done) = conns.join_next().await {
            log_join(done);
        }
    };
    if tokio::time::timeout(DRAIN_DEADLINE, drain).await.is_err() {
        tracing::warn!(
            node = self_id,
            "raft peer connections still busy at the drain deadline"
        );
        conns.abort_all();
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done
        && err.is_panic()
    {
        tracing::error!(error = %err, "raft peer connection task panicked");
    }
}

async fn connection<R: RaftRpc>(
    stream: TcpStream,
    peer: SocketAddr,
    raft: R,
    ctx: Arc<Context>,
    cancel: CancellationToken,
) {
    match run_connection(stream, &raft, &ctx, cancel).await {
        Ok(()) => {}
        Err(err @ ConnectionError::Unauthenticated { .. }) => {
            tracing::warn!(node = ctx.self_id, %peer, error = %err, "raft peer connection refused");
        }
        Err(err) => {
            tracing::info!(node = ctx.self_id, %peer, error = %err, "raft peer connection closed");
        }
    }
}

async fn run_connection<R: RaftRpc>(
    mut stream: TcpStream,
    raft: &R,
    ctx: &Context,
    cancel: CancellationToken,
) -> Result<(), ConnectionError> {
    // Only latency suffers if this fails.
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let hello = tokio::time::timeout(HANDSHAKE_TIMEOUT, frame::read_frame(&mut stream, &mut buf))
        .await
        .map_err(|_| ConnectionError::HandshakeTimeout)??;
    let Some(hello) = hello else {
        return Ok(());
    };
    let caller = match check_hello(ctx, &hello) {
        Ok(caller) => caller,
        Err(reason) => {
            // Best effort: the peer may already be gone.
            let reply = frame::encode(MessageType::Error, hello.request_id, &reason)?;
            let _ = stream.write_all(&reply).await;
            return Err(ConnectionError::Refused(reason));
        }
    };
    let from = caller.from;
    if ctx.faults.is_blocked(from, ctx.self_id) {
        return Err(ConnectionError::Blocked { from });
    }
    let accept = match &ctx.secret {
        None => frame::encode(MessageType::HelloOk, hello.request_id, &())?,
        Some(secret) => {
            match authenticate(&mut stream, &mut buf, secret, &caller, hello.request_id).await? {
                Ok(server_proof) => {
                    frame::encode(MessageType::HelloOk, hello.request_id, &server_proof)?
                }
                Err(reason) => {
                    let reply = frame::encode(MessageType::Error, hello.request_id, &reason)?;
                    let _ = stream.write_all(&reply).await;
                    return Err(ConnectionError::Unauthenticated { from, reason });
                }
            }
        }
    };
    stream.write_all(&accept).await.map_err(FrameError::from)?;
    loop {
        let request = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            request = frame::read_frame(&mut stream, &mut buf) => match request? {
                Some(request) => request,
                None => return Ok(()),
            },
        };
        if ctx.faults.is_blocked(from, ctx.self_id) {
            return Err(ConnectionError::Blocked { from });
        }
        let reply = dispatch(raft, &request, from).await?;
        tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&reply))
            .await
            .map_err(|_| ConnectionError::WriteTimeout)?
            .map_err(FrameError::from)?;
    }
}

/// Challenges `caller` and checks its proof of the group's secret: `Ok(Ok(the server's own
/// proof))` when it holds it, `Ok(Err(why not))` when it does not, `Err` when the connection
/// failed meanwhile.
async fn authenticate(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    secret: &PeerSecret,
    caller: &Hello,
    request_id: u64,
) -> Result<Result<Vec<u8>, String>, ConnectionError> {
    let challenge = Challenge {
        nonce: auth::nonce().map_err(FrameError::from)?,
    };
    let frame = frame::encode(MessageType::AuthChallenge, request_id, &challenge)?;
    stream.write_all(&frame).await.map_err(FrameError::from)?;
    let answer = tokio::time::timeout(HANDSHAKE_TIMEOUT, frame::read_frame(stream, buf))
        .await
        .map_err(|_| ConnectionError::HandshakeTimeout)??;
    let Some(answer) = answer else {
        return Ok(Err("closed instead of answering the challenge".into()));
    };
    if answer.kind != MessageType::AuthProof {
        return Ok(Err(format!(
            "answered {:?} to the challenge (is dLegerPeerSecret set there?)",
            answer.kind
        )));
    }
    let proof: Proof = match frame::decode_payload(&answer.payload) {
        Ok(proof) => proof,
        Err(e) => return Ok(Err(format!("bad proof: {e}"))),
    };
    if !secret.check_client(caller, &challenge.nonce, &proof.mac) {
        return Ok(Err("wrong proof: its dLegerPeerSecret differs".into()));
    }
    Ok(Ok(secret.server_proof(caller, &proof.nonce)))
}

/// The caller's hello if `hello` is a handshake meant for this node, else the reason why not.
fn check_hello(ctx: &Context, hello: &Frame) -> Result<Hello, String> {
    if hello.kind != MessageType::Hello {
        return Err(format!("expected Hello, got {:?}", hello.kind));
    }
    let h: Hello = frame::decode_payload(&hello.payload).map_err(|e| format!("bad Hello: {e}"))?;
    if h.group != ctx.group {
        return Err(format!(
            "group mismatch: this node serves {:?}, the caller wants {:?}",
            ctx.group, h.group
        ));
    }
    if h.to != ctx.self_id {
        return Err(format!(
            "wrong node: this is node {}, the caller wants node {}",
            ctx.self_id, h.to
        ));
    }
    if h.from == ctx.self_id || !ctx.peers.contains(&h.from) {
        return Err(format!(
            "node {} is not a peer of node {} (peers: {:?})",
            h.from, ctx.self_id, ctx.peers
        ));
    }
    Ok(h)
}

/// The node a vote names: the leader (appends, snapshots, transfers) or the candidate.
fn voter_of(vote: &VoteOf<TypeConfig>) -> u64 {
    vote.leader_id().voted_for
}

/// `Ok` if `claimed` (who the request says sent it) is the connection's peer.
fn sent_by(claimed: u64, from: u64, what: &str) -> Result<(), String> {
    if claimed == from {
        Ok(())
    } else {
        Err(format!(
            "{what} in the name of node {claimed} on node {from}'s connection: refused"
        ))
    }
}

/// Runs one request from peer `from` and encodes its reply frame.
async fn dispatch<R: RaftRpc>(raft: &R, request: &Frame, from: u64) -> Result<Vec<u8>, FrameError> {
    match request.kind {
        MessageType::AppendEntries => {
            answer(
                request,
                |rpc: &AppendEntriesRequest<TypeConfig>| {
                    sent_by(voter_of(&rpc.vote), from, "an append")
                },
                |rpc| raft.append_entries(rpc),
            )
            .await
        }
        MessageType::Vote | MessageType::PreVote => {
            let check = |rpc: &VoteRequest<TypeConfig>| {
                sent_by(voter_of(&rpc.vote), from, "a vote request")
            };
            if request.kind == MessageType::Vote {
                answer(request, check, |rpc| raft.vote(rpc)).await
            } else {
                answer(request, check, |rpc| raft.pre_vote(rpc)).await
            }
        }
        MessageType::FullSnapshot => {
            answer(
                request,
                |req: &SnapshotRequest| {
                    sent_by(voter_of(&req.vote), from, "a snapshot")?;
                    check_snapshot(&req.meta, &req.data)
                },
                |req: SnapshotRequest| {
                    let (vote, snapshot) = req.into_parts();
                    raft.install_full_snapshot(vote, snapshot)
                },
            )
            .await
        }
        MessageType::TransferLeader => {
            answer(
                request,
                |req: &TransferLeaderRequest<TypeConfig>| {
                    sent_by(voter_of(req.from_leader()), from, "a leadership transfer")
                },
                |req| raft.transfer_leader(req),
            )
            .await
        }
        kind @ (MessageType::Hello
        | MessageType::HelloOk
        | MessageType::Error
        | MessageType::AuthChallenge
        | MessageType::AuthProof) => {
            let reason = format!("{kind:?} is not a request");
            frame::encode(MessageType::Error, request.request_id, &reason)
        }
    }
}

/// Decodes the request, `check`s it, runs `handle`, encodes the reply; a request that does
/// not decode or fails its check is answered with an error frame (the connection lives).
async fn answer<Req, Resp, C, F, Fut>(
    request: &Frame,
    check: C,
    handle: F,
) -> Result<Vec<u8>, FrameError>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    C: FnOnce(&Req) -> Result<(), String>,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = Resp>,
{
    let refused = |reason: String| frame::encode(MessageType::Error, request.request_id, &reason);
    match frame::decode_payload::<Req>(&request.payload) {
        Ok(req) => match check(&req) {
            Ok(()) => frame::encode(request.kind, request.request_id, &handle(req).await),
            Err(reason) => {
                tracing::warn!(kind = ?request.kind, %reason, "raft peer request refused");
                refused(reason)
            }
        },
        Err(err) => refused(format!("bad {:?} request: {err}", request.kind)),
    }
}
