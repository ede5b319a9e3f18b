//! Test harness: a fake `Raft` behind the [`RaftRpc`] seam, a loopback server, and a
//! hand-driven connection for the bytes a real client never sends.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use openraft::errors::{Fatal, RPCError};
use openraft::network::{RPCOption, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::VoteOf;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::super::frame::{self, Frame, MessageType};
use super::super::rpc::{Hello, Reply, Snapshot};
use super::super::{
    Channel, NetworkFaults, PeerClient, PeerIds, PeerNetwork, PeerSecret, RaftRpc, serve_rpc,
};
use crate::raft::types::{PeerNode, TypeConfig, log_id};

pub(super) const GROUP: &str = "broker-a";
pub(super) const WAIT: Duration = Duration::from_secs(5);

/// Answers like a healthy follower; records what it was asked.
#[derive(Clone, Default)]
pub(super) struct FakeRaft(pub(super) Arc<FakeState>);

#[derive(Default)]
pub(super) struct FakeState {
    calls: Mutex<Vec<&'static str>>,
    pub(super) stopped: AtomicBool,
    pub(super) append_delay_ms: AtomicU64,
    pub(super) vote_delay_ms: AtomicU64,
    pub(super) snapshot_len: AtomicUsize,
}

impl FakeRaft {
    fn record(&self, call: &'static str) -> Reply<()> {
        self.0.calls.lock().expect("test lock").push(call);
        match self.0.stopped.load(Ordering::SeqCst) {
            true => Err(Fatal::Stopped),
            false => Ok(()),
        }
    }

    pub(super) fn calls(&self) -> Vec<&'static str> {
        self.0.calls.lock().expect("test lock").clone()
    }
}

impl RaftRpc for FakeRaft {
    async fn append_entries(
        &self,
        _rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Reply<AppendEntriesResponse<TypeConfig>> {
        // Recorded on arrival, so a test can tell that the call is in progress.
        let arrived = self.record("append");
        let delay = self.0.append_delay_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        arrived.map(|()| AppendEntriesResponse::Success)
    }

    async fn vote(&self, rpc: VoteRequest<TypeConfig>) -> Reply<VoteResponse<TypeConfig>> {
        let delay = self.0.vote_delay_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        self.record("vote")
            .map(|()| VoteResponse::new(rpc.vote, None, true))
    }

    async fn pre_vote(&self, rpc: VoteRequest<TypeConfig>) -> Reply<VoteResponse<TypeConfig>> {
        self.record("pre_vote")
            .map(|()| VoteResponse::new(rpc.vote, None, false))
    }

    async fn install_full_snapshot(
        &self,
        vote: VoteOf<TypeConfig>,
        snapshot: Snapshot<TypeConfig>,
    ) -> Reply<SnapshotResponse<TypeConfig>> {
        self.0
            .snapshot_len
            .store(snapshot.snapshot.len(), Ordering::SeqCst);
        self.record("snapshot")
            .map(|()| SnapshotResponse::new(vote))
    }

    async fn transfer_leader(
        &self,
        _req: TransferLeaderRequest<TypeConfig>,
    ) -> Reply<TransferLeaderResponse<TypeConfig>> {
        self.record("transfer").map(|()| Ok(()))
    }
}

pub(super) struct Server {
    pub(super) addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub(super) async fn start(node: u64, raft: FakeRaft, faults: &NetworkFaults, addr: &str) -> Server {
    start_with_secret(node, raft, faults, addr, None).await
}

/// [`start`] requiring callers to prove `secret`.
pub(super) async fn start_with_secret(
    node: u64,
    raft: FakeRaft,
    faults: &NetworkFaults,
    addr: &str,
    secret: Option<&str>,
) -> Server {
    let listener = TcpListener::bind(addr).await.expect("bind loopback");
    let addr = listener.local_addr().expect("bound address");
    let stop = CancellationToken::new();
    let ids = PeerIds {
        group: GROUP.into(),
        self_id: node,
        peers: vec![1, 2, 3],
        secret: secret.map(PeerSecret::new),
    };
    let serve = serve_rpc(listener, raft, ids, faults.clone(), stop.clone());
    Server {
        addr,
        stop,
        task: tokio::spawn(serve),
    }
}

impl Server {
    pub(super) async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("serve stops after shutdown")
            .expect("serve does not panic");
    }
}

pub(super) fn client(
    group: &str,
    from: u64,
    to: u64,
    addr: SocketAddr,
    faults: &NetworkFaults,
) -> PeerClient {
    let node = PeerNode {
        addr: addr.to_string(),
    };
    PeerNetwork::new(from, group, faults.clone()).client(to, &node, Channel::Heartbeat)
}

/// [`client`] proving `secret`.
pub(super) fn client_with_secret(
    from: u64,
    to: u64,
    addr: SocketAddr,
    faults: &NetworkFaults,
    secret: Option<&str>,
) -> PeerClient {
    let node = PeerNode {
        addr: addr.to_string(),
    };
    PeerNetwork::new(from, GROUP, faults.clone())
        .with_secret(secret.map(PeerSecret::new))
        .client(to, &node, Channel::Heartbeat)
}

pub(super) fn option() -> RPCOption {
    RPCOption::new(Duration::from_secs(2))
}

pub(super) fn vote_request() -> VoteRequest<TypeConfig> {
    VoteRequest::new(VoteOf::<TypeConfig>::new(5, 1), Some(log_id(4, 10)))
}

pub(super) async fn vote(
    c: &mut PeerClient,
) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
    RaftNetworkV2::vote(c, vote_request(), option()).await
}

pub(super) fn is_unreachable<T>(r: &Result<T, RPCError<TypeConfig>>, needle: &str) -> bool {
    matches!(r, Err(e @ RPCError::Unreachable(_)) if e.to_string().contains(needle))
}

/// A hand-driven connection, for what the client never sends.
pub(super) struct Raw {
    pub(super) stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub(super) async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Raw {
            stream,
            buf: BytesMut::new(),
        }
    }

    pub(super) async fn send(
        &mut self,
        kind: MessageType,
        id: u64,
        msg: &(impl serde::Serialize + ?Sized),
    ) {
        let bytes = frame::encode(kind, id, msg).expect("encodes");
        self.stream.write_all(&bytes).await.expect("write");
    }

    pub(super) async fn hello(&mut self, from: u64, to: u64) -> Option<Frame> {
        let group = GROUP.to_string();
        self.send(MessageType::Hello, 0, &Hello { group, from, to })
            .await;
        self.recv().await
    }

    /// The next frame, or `None` once the server has closed (or reset) the connection.
    pub(super) async fn recv(&mut self) -> Option<Frame> {
        let read = frame::read_frame(&mut self.stream, &mut self.buf);
        tokio::time::timeout(WAIT, read)
            .await
            .expect("server answers or closes")
            .unwrap_or_default()
    }
}
