//! The leader's coalesced consumer offsets, proposed every `flushIntervalConsumeQueue` (at
//! least 100 ms); see `broker::consumer_offsets` for why they are coalesced.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::broker::server::{Broker, lock};

pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let period = Duration::from_millis(broker.config().flush_interval_consume_queue_ms.max(100));
    super::every(period, &cancel, || flush_offsets(&broker)).await;
}

/// Proposes whatever consumer offsets are pending (leader only); a failed proposal puts them
/// back for the next round.
pub async fn flush_offsets(broker: &Broker) {
    let Some(term) = broker.leader_term() else {
        return;
    };
    let _ordered = broker.offset_proposals.lock().await;
    let Some(commit) = lock(&broker.offsets).take(term) else {
        return;
    };
    if let Err(e) = broker.propose_offsets(&commit).await {
        tracing::debug!(%e, "consumer offsets not committed yet");
        lock(&broker.offsets).restore(term, commit);
    }
}
