//! What rides in frame payloads above the framing: the handshake, the snapshot request and the
//! reply envelope; and [`RaftRpc`], the seam through which the server reaches `Raft`.
//!
//! Requests are openraft's own serde types; each reply is a [`Reply`], so a failure of the remote
//! `Raft` (stopped, storage error) travels back as itself. The server ([`super::server`]) calls
//! a [`RaftRpc`]; production passes `openraft::Raft`, tests pass a fake. Nothing here does IO.

use std::future::Future;

use bytes::Bytes;
use openraft::Raft;
use openraft::errors::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::storage::RaftStateMachine;
use openraft::type_config::alias::{SnapshotMetaOf, SnapshotOf, VoteOf};
use serde::{Deserialize, Serialize};

use crate::raft::types::{SnapshotBytes, TypeConfig};

/// The first frame of every connection: who calls, and whom it means to reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hello {
    /// The broker group (`dLegerGroup`) both ends must serve.
    pub(crate) group: String,
    pub(crate) from: u64,
    pub(crate) to: u64,
}

/// A whole (thin) snapshot in one frame.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SnapshotRequest {
    pub(crate) vote: VoteOf<TypeConfig>,
    pub(crate) meta: SnapshotMetaOf<TypeConfig>,
    /// Carried as bytes (one length, then raw), not as a sequence of `u8`.
    pub(crate) data: Bytes,
}

impl SnapshotRequest {
    pub(crate) fn new(vote: VoteOf<TypeConfig>, snapshot: Snapshot<TypeConfig>) -> Self {
        SnapshotRequest {
            vote,
            meta: snapshot.meta,
            data: Bytes::from(snapshot.snapshot),
        }
    }

    pub(crate) fn into_parts(self) -> (VoteOf<TypeConfig>, Snapshot<TypeConfig>) {
        let snapshot = SnapshotOf::<TypeConfig, SnapshotBytes> {
            meta: self.meta,
            snapshot: Vec::from(self.data),
        };
        (self.vote, snapshot)
    }
}

/// A full snapshot of this type configuration.
pub(crate) type Snapshot<C> = SnapshotOf<C, SnapshotBytes>;

/// The payload of every RPC reply: the handler's answer, or the fatal error of the remote `Raft`.
pub(crate) type Reply<T> = Result<T, Fatal<TypeConfig>>;

/// The receiving side of the five peer RPCs, as `openraft::Raft` offers them.
pub(crate) trait RaftRpc: Clone + Send + Sync + 'static {
    fn append_entries(
        &self,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> impl Future<Output = Reply<AppendEntriesResponse<TypeConfig>>> + Send;

    fn vote(
        &self,
        rpc: VoteRequest<TypeConfig>,
    ) -> impl Future<Output = Reply<VoteResponse<TypeConfig>>> + Send;

    fn pre_vote(
        &self,
        rpc: VoteRequest<TypeConfig>,
    ) -> impl Future<Output = Reply<VoteResponse<TypeConfig>>> + Send;

    fn install_full_snapshot(
        &self,
        vote: VoteOf<TypeConfig>,
        snapshot: Snapshot<TypeConfig>,
    ) -> impl Future<Output = Reply<SnapshotResponse<TypeConfig>>> + Send;

    fn transfer_leader(
        &self,
        req: TransferLeaderRequest<TypeConfig>,
    ) -> impl Future<Output = Reply<TransferLeaderResponse<TypeConfig>>> + Send;
}

/// `RaftError<C>` has no API error to carry (`Infallible`): only its fatal part remains.
fn fatal(err: RaftError<TypeConfig>) -> Fatal<TypeConfig> {
    match err {
        RaftError::APIError(never) => match never {},
        RaftError::Fatal(fatal) => fatal,
    }
}

impl<SM> RaftRpc for Raft<TypeConfig, SM>
where
    SM: RaftStateMachine<TypeConfig, SnapshotData = SnapshotBytes>,
{
    async fn append_entries(
        &self,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Reply<AppendEntriesResponse<TypeConfig>> {
        Raft::append_entries(self, rpc).await.map_err(fatal)
    }

    async fn vote(&self, rpc: VoteRequest<TypeConfig>) -> Reply<VoteResponse<TypeConfig>> {
        Raft::vote(self, rpc).await.map_err(fatal)
    }

    async fn pre_vote(&self, rpc: VoteRequest<TypeConfig>) -> Reply<VoteResponse<TypeConfig>> {
        Raft::pre_vote(self, rpc).await.map_err(fatal)
    }

    async fn install_full_snapshot(
        &self,
        vote: VoteOf<TypeConfig>,
        snapshot: Snapshot<TypeConfig>,
    ) -> Reply<SnapshotResponse<TypeConfig>> {
        Raft::install_full_snapshot(self, vote, snapshot).await
    }

    async fn transfer_leader(
        &self,
        req: TransferLeaderRequest<TypeConfig>,
    ) -> Reply<TransferLeaderResponse<TypeConfig>> {
        Raft::handle_transfer_leader(self, req).await
    }
}
