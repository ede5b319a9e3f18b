//! The sending side: [`PeerNetwork`] (openraft's network factory) and [`PeerClient`], one TCP
//! connection to one peer.
//!
//! A client connects lazily (TCP_NODELAY), says [`Hello`] and waits for `HelloOk`, then runs one
//! request at a time on the connection, matched by request id. The factory hands out separate
//! clients, hence separate connections, for replication, for heartbeats and votes, and for
//! snapshots, so a vote is never stuck behind a large append. After a failed connect the client
//! refuses to dial again for a short, growing delay. It never retries a request itself: openraft
//! decides that from the error kind. The server side is [`super::server`]; bytes are
//! [`super::frame`].

use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;
use openraft::errors::{
    Fatal, NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::type_config::alias::VoteOf;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::auth::{self, Challenge, PeerSecret, Proof};
use super::faults::NetworkFaults;
use super::frame::{self, Frame, FrameError, MessageType, PayloadError};
use super::rpc::{Hello, Reply, Snapshot, SnapshotRequest};
use crate::raft::types::{PeerNode, SnapshotBytes, TypeConfig};

/// Longest wait for a TCP connect plus handshake, whatever the RPC budget.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Reconnect delay after the first failed connect; doubles per failure up to the maximum.
const RECONNECT_MIN: Duration = Duration::from_millis(20);
const RECONNECT_MAX: Duration = Duration::from_secs(1);

/// openraft's network factory for one node of one broker group.
#[derive(Debug, Clone)]
pub(crate) struct PeerNetwork {
    self_id: u64,
    group: String,
    faults: NetworkFaults,
    secret: Option<PeerSecret>,
}

impl PeerNetwork {
    pub(crate) fn new(self_id: u64, group: impl Into<String>, faults: NetworkFaults) -> Self {
        PeerNetwork {
            self_id,
            group: group.into(),
            faults,
            secret: None,
        }
    }

    /// This network, proving the group's secret to every peer and requiring their proof.
    pub(crate) fn with_secret(mut self, secret: Option<PeerSecret>) -> Self {
        self.secret = secret;
        self
    }

    /// A client of `target` at `node.addr`; it connects on first use.
    pub(crate) fn client(&self, target: u64, node: &PeerNode, channel: Channel) -> PeerClient {
        PeerClient {
            self_id: self.self_id,
            target,
            addr: node.addr.clone(),
            group: self.group.clone(),
            channel,
            faults: self.faults.clone(),
            secret: self.secret.clone(),
            conn: None,
            next_request_id: 1,
            reconnect_delay: RECONNECT_MIN,
            dial_not_before: None,
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &PeerNode) -> PeerClient {
        self.client(target, node, Channel::Replication)
    }

    async fn new_heartbeat_client(&mut self, target: u64, node: &PeerNode) -> PeerClient {
        self.client(target, node, Channel::Heartbeat)
    }

    async fn new_snapshot_client(&mut self, target: u64, node: &PeerNode) -> PeerClient {
        self.client(target, node, Channel::Snapshot)
    }
}

/// Which traffic a client's connection carries; only logged, the connections are independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Replication,
    Heartbeat,
    Snapshot,
}

/// Why one call to a peer failed. Mapped to openraft's error kinds in [`ClientError::rpc`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("link {from}->{to} is blocked by fault injection")]
    Blocked { from: u64, to: u64 },
    #[error("reply {from}->{to} dropped by fault injection")]
    ReplyDropped { from: u64, to: u64 },
    #[error("{addr}: not redialing for another {wait:?} after a failed connect")]
    Backoff { addr: String, wait: Duration },
    #[error("{addr}: connect failed: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr}: no connection within {CONNECT_TIMEOUT:?}")]
    ConnectTimeout { addr: String },
    #[error("{addr}: handshake refused: {reason}")]
    Refused { addr: String, reason: String },
    #[error("peer {target} rejected the request: {reason}")]
    Rejected { target: u64, reason: String },
    #[error("peer {target} raft failed: {source}")]
    Remote {
        target: u64,
        source: Fatal<TypeConfig>,
    },
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("connection closed by the peer")]
    Closed,
    #[error("unexpected reply {kind:?} #{id} to request #{expected}")]
    Unexpected {
        kind: MessageType,
        id: u64,
        expected: u64,
    },
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

impl ClientError {
    /// Unreachable makes openraft back off; Network retries at once (a stale connection to a
    /// restarted peer fails once, the next call redials); Timeout is a slow peer.
    pub(crate) fn rpc(self, action: RPCTypes, id: u64, target: u64) -> RPCError<TypeConfig> {
        match self {
            ClientError::Timeout(timeout) => RPCError::Timeout(Timeout {
                action,
                id,
                target,
                timeout,
            }),
            ClientError::Closed | ClientError::Frame(_) | ClientError::Unexpected { .. } => {
                RPCError::Network(NetworkError::new(&self))
            }
            _ => RPCError::Unreachable(Unreachable::new(&self)),
        }
    }

    fn streaming(self, id: u64, target: u64) -> StreamingError<TypeConfig> {
        match self.rpc(RPCTypes::InstallSnapshot, id, target) {
            RPCError::Timeout(e) => StreamingError::Timeout(e),
            RPCError::Network(e) => StreamingError::Network(e),
            RPCError::Unreachable(e) => StreamingError::Unreachable(e),
            RPCError::RemoteError(e) => match e.source {},
        }
    }
}

struct Connection {
    stream: TcpStream,
    buf: BytesMut,
}

impl Connection {
    async fn round_trip(&mut self, request: &[u8]) -> Result<Frame, ClientError> {
        self.stream
            .write_all(request)
            .await
            .map_err(FrameError::from)?;
        frame::read_frame(&mut self.stream, &mut self.buf)
            .await?
            .ok_or(ClientError::Closed)
    }
}

/// One peer connection; see the module docs.
pub(crate) struct PeerClient {
    self_id: u64,
    target: u64,
    addr: String,
    group: String,
    channel: Channel,
    faults: NetworkFaults,
    secret: Option<PeerSecret>,
    /// Taken out for the length of a call: a call dropped half way drops its connection too,
    /// so a late reply can never be read as the answer to the next request.
    conn: Option<Connection>,
    next_request_id: u64,
    reconnect_delay: Duration,
    dial_not_before: Option<Instant>,
}

impl PeerClient {
    /// Sends one request and waits for its reply, within `budget`.
    async fn call<Req, Resp>(
        &mut self,
        kind: MessageType,
        req: &Req,
        budget: Duration,
    ) -> Result<Resp, ClientError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let (from, to) = (self.self_id, self.target);
        if self.faults.is_blocked(from, to) {
            return Err(ClientError::Blocked { from, to });
        }
        let deadline = Instant::now() + budget;
        let id = self.next_request_id;
        self.next_request_id += 1;
        let request = frame::encode(kind, id, req)?;
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.connect(deadline).await?,
        };
        let reply = tokio::time::timeout_at(deadline, conn.round_trip(&request))
            .await
            .map_err(|_| ClientError::Timeout(budget))??;
        if self.faults.is_blocked(to, from) {
            return Err(ClientError::ReplyDropped { from: to, to: from });
        }
        if reply.request_id != id || (reply.kind != kind && reply.kind != MessageType::Error) {
            return Err(ClientError::Unexpected {
                kind: reply.kind,
                id: reply.request_id,
                expected: id,
            });
        }
        // A well-formed reply to our request: the connection is in step, keep it.
        self.conn = Some(conn);
        if reply.kind == MessageType::Error {
            let reason = frame::decode_payload::<String>(&reply.payload)?;
            return Err(ClientError::Rejected { target: to, reason });
        }
        frame::decode_payload::<Reply<Resp>>(&reply.payload)?
            .map_err(|source| ClientError::Remote { target: to, source })
    }

    /// Dials and shakes hands, unless a recent failure asks to wait.
    async fn connect(&mut self, deadline: Instant) -> Result<Connection, ClientError> {
        let now = Instant::now();
        if let Some(at) = self.dial_not_before
            && now < at
        {
            return Err(ClientError::Backoff {
                addr: self.addr.clone(),
                wait: at - now,
            });
        }
        let limit = deadline.min(now + CONNECT_TIMEOUT);
        let result = match tokio::time::timeout_at(limit, self.dial()).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::ConnectTimeout {
                addr: self.addr.clone(),
            }),
        };
        match &result {
            Ok(_) => {
                self.reconnect_delay = RECONNECT_MIN;
                self.dial_not_before = None;
                tracing::debug!(peer = self.target, addr = %self.addr, channel = ?self.channel, "raft peer connected");
            }
            Err(err) => {
                self.dial_not_before = Some(Instant::now() + self.reconnect_delay);
                self.reconnect_delay = (self.reconnect_delay * 2).min(RECONNECT_MAX);
                tracing::debug!(peer = self.target, channel = ?self.channel, error = %err, "raft peer connect failed");
            }
        }
        result
    }

    async fn dial(&self) -> Result<Connection, ClientError> {
        let stream =
            TcpStream::connect(&self.addr)
                .await
                .map_err(|source| ClientError::Connect {
                    addr: self.addr.clone(),
                    source,
                })?;
        stream
            .set_nodelay(true)
            .map_err(|source| ClientError::Connect {
                addr: self.addr.clone(),
                source,
            })?;
        let mut conn = Connection {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        };
        let hello = Hello {
            group: self.group.clone(),
            from: self.self_id,
            to: self.target,
        };
        let reply = conn
            .round_trip(&frame::encode(MessageType::Hello, 0, &hello)?)
            .await;
        let refused = |reason: String| ClientError::Refused {
            addr: self.addr.clone(),
            reason,
        };
        match reply {
            Ok(f) if f.kind == MessageType::HelloOk => match &self.secret {
                None => Ok(conn),
                Some(_) => Err(refused(
                    "it did not authenticate (is dLegerPeerSecret set there?)".into(),
                )),
            },
            Ok(f) if f.kind == MessageType::AuthChallenge => {
                let Some(secret) = &self.secret else {
                    return Err(refused(
                        "it requires the group's secret: dLegerPeerSecret is not set here".into(),
                    ));
                };
                self.prove(conn, secret, &hello, &f).await.map_err(refused)
            }
            Ok(f) if f.kind == MessageType::Error => Err(refused(
                frame::decode_payload::<String>(&f.payload)
                    .unwrap_or_else(|e| format!("unreadable reason: {e}")),
            )),
            Ok(f) => Err(refused(format!("answered {:?} to Hello", f.kind))),
            Err(e) => Err(refused(e.to_string())),
        }
    }

    /// Answers the server's challenge and checks the server's own proof in its `HelloOk`.
    async fn prove(
        &self,
        mut conn: Connection,
        secret: &PeerSecret,
        hello: &Hello,
        challenge: &Frame,
    ) -> Result<Connection, String> {
        let challenge: Challenge =
            frame::decode_payload(&challenge.payload).map_err(|e| format!("bad challenge: {e}"))?;
        let proof = Proof {
            mac: secret.client_proof(hello, &challenge.nonce),
            nonce: auth::nonce().map_err(|e| format!("no random nonce: {e}"))?,
        };
        let request =
            frame::encode(MessageType::AuthProof, 0, &proof).map_err(|e| e.to_string())?;
        let reply = conn.round_trip(&request).await.map_err(|e| e.to_string())?;
        match reply.kind {
            MessageType::HelloOk => {
                let server_proof: Vec<u8> = frame::decode_payload(&reply.payload)
                    .map_err(|e| format!("bad server proof: {e}"))?;
                if secret.check_server(hello, &proof.nonce, &server_proof) {
                    Ok(conn)
                } else {
                    Err("its proof is wrong: its dLegerPeerSecret differs".into())
                }
            }
            MessageType::Error => Err(frame::decode_payload::<String>(&reply.payload)
                .unwrap_or_else(|e| format!("unreadable reason: {e}"))),
            other => Err(format!("answered {other:?} to the proof")),
        }
    }

    /// [`Self::call`] with openraft's error kinds and the RPC budget (`soft_ttl`: openraft may
    /// drop the call at `hard_ttl`, so the timeout must fire first).
    async fn rpc<Req, Resp>(
        &mut self,
        kind: MessageType,
        action: RPCTypes,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let (id, target) = (self.self_id, self.target);
        self.call(kind, req, option.soft_ttl())
            .await
            .map_err(|e| e.rpc(action, id, target))
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotBytes;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(
            MessageType::AppendEntries,
            RPCTypes::AppendEntries,
            &rpc,
            &option,
        )
        .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(MessageType::Vote, RPCTypes::Vote, &rpc, &option)
            .await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(MessageType::PreVote, RPCTypes::Vote, &rpc, &option)
            .await
    }

    async fn full_snapshot(
        &mut self,
        vote: VoteOf<TypeConfig>,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let (id, target) = (self.self_id, self.target);
        let req = SnapshotRequest::new(vote, snapshot);
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            reply = self.call(MessageType::FullSnapshot, &req, option.soft_ttl()) => {
                reply.map_err(|e| e.streaming(id, target))
            }
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(
            MessageType::TransferLeader,
            RPCTypes::TransferLeader,
            &req,
            &option,
        )
        .await
    }
}
