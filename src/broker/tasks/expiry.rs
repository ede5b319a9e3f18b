//! Clients not heard from for 120 s (Java's channel expiry) are dropped, checked every 10 s;
//! the groups they left are told to rebalance.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::broker::server::{Broker, lock};

const TIMEOUT: Duration = Duration::from_secs(120);
const CHECK: Duration = Duration::from_secs(10);

pub(super) async fn run(broker: Arc<Broker>, cancel: CancellationToken) {
    super::every(CHECK, &cancel, || async {
        let changed = lock(&broker.clients).expire(Instant::now(), TIMEOUT);
        broker.notify_groups(&changed).await;
    })
    .await;
}
