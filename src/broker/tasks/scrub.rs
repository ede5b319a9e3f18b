//! The broker's scrubbing task: runs [`crate::store::scrub`] over the commitlog shortly after
//! start and then once a day, in a blocking thread at a bounded rate. Damage it finds stops the
//! node: the marker is written and the reason goes to the binary, which leaves the group and
//! exits non-zero; the next start refuses until an operator acts (see the store module).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::broker::server::Broker;
use crate::store::StoreError;
use crate::store::scrub::{scrub, write_marker};

/// Read rate of a pass: far below what a disk gives, so sends and pulls do not notice.
const RATE: u64 = 64 << 20;
/// Pause before the first pass, so a starting node catches up first.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(1);
const EVERY: Duration = Duration::from_secs(24 * 3600);

/// Scrubs until cancelled; sends the reason on `found` when damage stops the node.
pub(super) async fn run(
    broker: Arc<Broker>,
    cancel: CancellationToken,
    found: oneshot::Sender<String>,
) {
    let store = broker.node().store().clone();
    let root = broker.config().store_path_root_dir.clone();
    let mut wait = FIRST_PASS_AFTER;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = cancel.cancelled() => return,
        }
        wait = EVERY;
        let stop = Arc::new(AtomicBool::new(false));
        let pass = {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::task::spawn_blocking(move || {
                scrub(store.commitlog(), RATE, &|| !stop.load(Ordering::Relaxed))
            })
        };
        let outcome = tokio::select! {
            outcome = pass => outcome,
            () = cancel.cancelled() => {
                stop.store(true, Ordering::Relaxed);
                return;
            }
        };
        match outcome {
            Ok(Ok(done)) => {
                tracing::info!(
                    records = done.records,
                    bytes = done.bytes,
                    "commitlog scrubbed clean"
                );
            }
            Ok(Err(e @ StoreError::Corrupt { .. })) => {
                let reason = e.to_string();
                tracing::error!(%reason, "the scrub found committed data damaged; stopping this node");
                if let Err(io) = write_marker(&root, &reason) {
                    tracing::error!(%io, "could not leave the corrupt-store marker");
                }
                let _ = found.send(reason);
                return;
            }
            Ok(Err(e)) => tracing::warn!(%e, "scrub pass stopped; the next one retries"),
            Err(e) => tracing::warn!(%e, "scrub pass failed; the next one retries"),
        }
    }
}
