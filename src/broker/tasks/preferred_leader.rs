//! `preferredLeaderId` (DLedger's key, e.g. `n1`): while another member leads, the leader
//! hands leadership to the preferred member once it has caught up (its matched index is the
//! leader's last log index), so after a failover and a restart leadership goes back where the
//! operator placed it. Only a caught-up member is asked, so the hand-over costs no more than a
//! graceful shutdown's; a transfer that does not take is tried again no sooner than
//! [`BACKOFF`] later, so a preferred member that cannot win never makes the group flap.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::broker::server::{Broker, lock};

/// How often the leader looks.
const CHECK: Duration = Duration::from_millis(200);
/// Leadership stays put this long after this node starts leading or after a hand-over try.
pub const BACKOFF: Duration = Duration::from_secs(5);

/// The preferred member's raft node id, if the config names one.
fn preferred_node(broker: &Broker) -> Option<u64> {
    let id = broker.config.preferred_leader_id.as_deref()?;
    broker
        .config
        .peers()
        .iter()
        .find(|peer| peer.id == id)
        .map(|peer| peer.node_id)
}

/// Runs until cancelled; does nothing without `preferredLeaderId`.
pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let Some(preferred) = preferred_node(&broker) else {
        return;
    };
    if preferred == broker.node.id() {
        return;
    }
    let progress = Mutex::new(Progress {
        leading_since: None,
        next_try: Instant::now(),
    });
    super::every(CHECK, &cancel, || async {
        if !broker.is_leader() {
            lock(&progress).leading_since = None;
            return;
        }
        let due = {
            let mut p = lock(&progress);
            let since = *p.leading_since.get_or_insert_with(Instant::now);
            since.elapsed() >= BACKOFF && Instant::now() >= p.next_try
        };
        if !due {
            return;
        }
        let status = broker.node.status();
        let matched = status.matched.get(&preferred).copied().flatten();
        if status.last_log_index.is_none() || matched != status.last_log_index {
            return;
        }
        lock(&progress).next_try = Instant::now() + BACKOFF;
        tracing::info!(preferred, "handing leadership to the preferred leader");
        if let Err(e) = broker.node.transfer_leadership(preferred).await {
            tracing::warn!(%e, preferred, "leadership transfer to the preferred leader failed");
        }
    })
    .await;
}

/// Since when this node leads, and when it may try a handover again.
struct Progress {
    leading_since: Option<Instant>,
    next_try: Instant,
}
