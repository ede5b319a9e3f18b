//! openraft's log-storage conformance suite, run on the commitlog-backed log store and state
//! machine (each case gets a fresh store in a temp dir, with small segments so purges and
//! truncations cross segment boundaries).

use std::sync::Arc;

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};

use crate::raft::log_store::{Durability, LogStore};
use crate::raft::state_machine::{SmShared, StateMachine};
use crate::raft::types::TypeConfig;
use crate::store::{MessageStore, MessageStoreOptions};

struct CommitLogBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for CommitLogBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 64 * 1024))
                .expect("store opens"),
        );
        let shared = SmShared::open(store.clone(), dir.path()).expect("state machine opens");
        Ok((
            dir,
            LogStore::new(store, Durability::Sync),
            StateMachine::new(shared),
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commitlog_passes_openraft_storage_conformance_suite() {
    Suite::test_all(CommitLogBuilder)
        .await
        .expect("conformance suite");
}
