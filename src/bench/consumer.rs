//! `mqbench consumer`: pulls from the latest offsets with the project's [`PullConsumer`] and
//! prints RocketMQ's consumer line every report interval: Consume TPS with born-to-consume (B2C)
//! and store-to-consume (S2C) delays, then `[Complete] Consume Total`.

use std::time::{Duration, Instant};

use crate::client::{ConsumeFrom, ConsumerConfig, Credentials, PullConsumer};

use super::BenchError;
use super::latency::Latency;

/// What to consume and for how long.
#[derive(Clone, Debug)]
pub struct ConsumerOptions {
    pub namesrv: String,
    pub topic: String,
    pub group: String,
    /// How long to run (zero: until Ctrl-C kills the process).
    pub duration: Duration,
    pub report_interval: Duration,
    /// Keys to sign every request with (brokers with `aclEnable=true`).
    pub credentials: Option<Credentials>,
}

/// Runs the consumer benchmark, printing a line every report interval.
pub async fn run(options: ConsumerOptions) -> Result<(), BenchError> {
    println!(
        "topic: {}, group: {}, namesrv: {}",
        options.topic, options.group, options.namesrv
    );
    let mut config = ConsumerConfig::new(options.namesrv.as_str(), &options.group, &options.topic);
    config.from_where = ConsumeFrom::Last;
    config.credentials = options.credentials.clone();
    let mut consumer = PullConsumer::new(config)?;
    consumer.start().await?;
    let started = Instant::now();
    let mut last_report = Instant::now();
    let interval = options.report_interval.max(Duration::from_millis(100));
    let (mut in_window, mut total) = (0u64, 0u64);
    let (mut b2c, mut s2c) = (Latency::new(), Latency::new());
    loop {
        if !options.duration.is_zero() && started.elapsed() >= options.duration {
            break;
        }
        let batch = consumer.poll(Duration::from_millis(200)).await?;
        let now = super::now_millis() as i64;
        for m in &batch {
            b2c.record(u64::try_from(now - m.stored.born_timestamp).unwrap_or(0) * 1000);
            s2c.record(u64::try_from(now - m.stored.store_timestamp).unwrap_or(0) * 1000);
        }
        in_window += batch.len() as u64;
        total += batch.len() as u64;
        if last_report.elapsed() >= interval {
            println!(
                "Current Time: {} | Consume TPS: {:.0} | AVG(B2C) RT(ms): {:.3} | AVG(S2C) RT(ms): {:.3} | MAX(B2C) RT(ms): {:.0} | MAX(S2C) RT(ms): {:.0} | Consume Fail: 0",
                super::now_millis(),
                in_window as f64 / last_report.elapsed().as_secs_f64(),
                b2c.mean_ms(),
                s2c.mean_ms(),
                b2c.max_ms(),
                s2c.max_ms(),
            );
            (in_window, b2c, s2c) = (0, Latency::new(), Latency::new());
            last_report = Instant::now();
            if let Err(e) = consumer.commit().await {
                tracing::warn!(%e, "offset commit failed");
            }
        }
    }
    println!("[Complete] Consume Total: {total}");
    consumer.shutdown().await;
    Ok(())
}
