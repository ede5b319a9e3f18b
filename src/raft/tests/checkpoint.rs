//! The state machine's checkpoint may be taken by the periodic loop and by shutdown at the same
//! moment (an aborted loop task does not stop a checkpoint already running on a blocking
//! thread): concurrent checkpoints must all succeed and leave a readable `sm-meta`.

use std::sync::Arc;

use crate::raft::state_machine::SmShared;
use crate::store::{MessageStore, MessageStoreOptions};

#[test]
fn concurrent_checkpoints_all_succeed_and_leave_a_readable_meta_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 64 * 1024))
            .expect("store opens"),
    );
    let shared = SmShared::open(store.clone(), dir.path()).expect("state machine opens");
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || (0..50).map(|_| shared.checkpoint()).collect::<Vec<_>>())
        })
        .collect();
    for writer in writers {
        for result in writer.join().expect("writer thread") {
            result.expect("checkpoint succeeds while others run");
        }
    }
    drop(shared);
    SmShared::open(store, dir.path()).expect("sm-meta reads back after concurrent writes");
}
