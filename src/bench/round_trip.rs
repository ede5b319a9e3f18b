//! A broker request that needs no replication, one in flight: GET_MAX_OFFSET to the master of
//! the benchmark topic, through the project's client. Its latency is what the client, the
//! remoting layer and one loopback round trip cost; a one-in-flight send's latency minus this is
//! what Raft replication, commit and apply add. [`super::ratios`] prints it under the table.

use std::time::{Duration, Instant};

use crate::client::Admin;

use super::BenchError;
use super::latency::Latency;
use super::summary::Summary;

/// Sends GET_MAX_OFFSET for queue 0 of `topic` to its master, back to back for `duration`.
pub async fn measure(
    namesrv: &str,
    topic: &str,
    duration: Duration,
) -> Result<Summary, BenchError> {
    let admin = Admin::new(namesrv.to_string())?;
    let route = admin.topic_route(topic).await?;
    let master = route
        .broker_datas
        .iter()
        .find_map(|group| group.broker_addrs.get(&0).cloned())
        .ok_or_else(|| BenchError::Failed(format!("topic {topic} has no master in its route")))?;
    // One unmeasured call opens the connection.
    admin.max_offset(&master, topic, 0).await?;
    let mut latency = Latency::new();
    let started = Instant::now();
    while started.elapsed() < duration {
        let sent = Instant::now();
        admin.max_offset(&master, topic, 0).await?;
        latency.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    Ok(Summary {
        messages: latency.count(),
        requests: latency.count(),
        failed: 0,
        elapsed: started.elapsed(),
        latency,
    })
}
