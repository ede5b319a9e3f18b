//! The leader's coalesced consumer offsets, proposed every `flushIntervalConsumeQueue` (at
//! least 100 ms); see `broker::consumer_offsets` for why they are coalesced.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::broker::server::Broker;

pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let period = Duration::from_millis(broker.config().flush_interval_consume_queue_ms.max(100));
    super::every(period, &cancel, || broker.flush_offsets()).await;
}
