//! Samples the broker's statistics every second ([`crate::broker::stats::BrokerStats::tick`]):
//! the first sample at start, as Java's samplers start at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::broker::server::{Broker, now_ms};
use crate::store::local_hour;

const PERIOD: Duration = Duration::from_secs(1);

pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    let tick = || broker.stats.tick(now_ms(), local_hour(SystemTime::now()));
    tick();
    super::every(PERIOD, &cancel, || async { tick() }).await;
}
