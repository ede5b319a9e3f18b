//! `mqbench producer`: sends through the project's [`Producer`] with `threads` concurrent
//! senders (one request in flight each, `batch` messages per request) and prints RocketMQ's
//! benchmark line every report interval (our fields appended: P50/P99/P99.9 RT, Send MiB/s),
//! then a `[Complete]` line. [`run`] also returns a [`Summary`] so the probe's ratio table can
//! put the broker next to the replication skeleton.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::client::{
    Credentials, LocalTransactionState, Message, Producer, ProducerConfig, TransactionProducer,
};

use super::BenchError;
use super::latency::Latency;
use super::summary::Summary;

/// What to send and for how long.
#[derive(Clone, Debug)]
pub struct ProducerOptions {
    /// Nameserver addresses (`host:port;host:port`).
    pub namesrv: String,
    pub topic: String,
    /// Concurrent senders, each with one request in flight.
    pub threads: usize,
    /// Message body size, bytes.
    pub size: usize,
    /// Messages per request (SEND_BATCH_MESSAGE above 1).
    pub batch: usize,
    /// Messages to send in all (0: until `duration` or Ctrl-C).
    pub count: u64,
    /// How long to measure (zero: until `count` or Ctrl-C).
    pub duration: Duration,
    /// Sent but not measured, before `duration` starts.
    pub warmup: Duration,
    /// Set a key on every message.
    pub keys: bool,
    /// Print a report line this often; `None` prints nothing (the ratio table's runs).
    pub report_interval: Option<Duration>,
    /// Send each message in a transaction (a half message, then END_TRANSACTION commit, both
    /// inside the measured time), as Java's `TransactionProducer` benchmark does. Not with
    /// batches.
    pub transaction: bool,
    /// Keys to sign every request with (brokers with `aclEnable=true`).
    pub credentials: Option<Credentials>,
}

/// The producer the senders share.
enum Sender {
    Plain(Producer),
    Transactional(TransactionProducer),
}

/// Counters shared by the senders and the reporter.
struct Shared {
    issued: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
    /// Latencies since the last report line.
    window: Mutex<Latency>,
    /// Latencies of requests sent after the warm-up.
    measured: Mutex<Latency>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the benchmark; prints report lines and a `[Complete]` line when `report_interval` is set.
pub async fn run(options: ProducerOptions) -> Result<Summary, BenchError> {
    if options.transaction && options.batch > 1 {
        return Err(BenchError::Failed(
            "transactional messages are sent one per request (--batch 1)".into(),
        ));
    }
    let mut config = ProducerConfig::new(options.namesrv.as_str(), "benchmark_producer");
    config.credentials = options.credentials.clone();
    let producer = Arc::new(if options.transaction {
        // Every transaction is committed at once; a check (none is expected) commits too.
        let t = TransactionProducer::new(config, |_| LocalTransactionState::Commit)?;
        t.start()?;
        Sender::Transactional(t)
    } else {
        let p = Producer::new(config)?;
        p.start()?;
        Sender::Plain(p)
    });
    let shared = Arc::new(Shared {
        issued: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        window: Mutex::new(Latency::new()),
        measured: Mutex::new(Latency::new()),
    });
    let body = vec![b'a'; options.size];
    let measure_from = Instant::now() + options.warmup;
    let deadline = (!options.duration.is_zero()).then(|| measure_from + options.duration);
    let mut workers = Vec::new();
    for _ in 0..options.threads.max(1) {
        let (producer, shared, body, options) = (
            producer.clone(),
            shared.clone(),
            body.clone(),
            options.clone(),
        );
        workers.push(tokio::spawn(async move {
            send_until_done(&producer, &shared, &body, &options, measure_from, deadline).await;
        }));
    }
    let reporter = options.report_interval.map(|interval| {
        let (shared, batch, size) = (shared.clone(), options.batch.max(1), options.size);
        tokio::spawn(async move { report_every(interval, &shared, batch, size).await })
    });
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut all = futures_util::future::join_all(workers);
    tokio::select! {
        _ = &mut all => {}
        _ = &mut ctrl_c => { shared.stop.store(true, Ordering::Relaxed); all.await; }
    }
    shared.stop.store(true, Ordering::Relaxed);
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    let latency = locked(&shared.measured).clone();
    let batch = options.batch.max(1) as u64;
    let summary = Summary {
        messages: latency.count() * batch,
        requests: latency.count(),
        failed: shared.failed.load(Ordering::Relaxed),
        elapsed,
        latency,
    };
    if options.report_interval.is_some() {
        println!("{}", complete_line(&summary, options.size));
    }
    match producer.as_ref() {
        Sender::Plain(p) => p.shutdown().await,
        Sender::Transactional(t) => t.shutdown().await,
    }
    Ok(summary)
}

/// One sender: requests back to back until the deadline, the count or a stop.
async fn send_until_done(
    producer: &Sender,
    shared: &Shared,
    body: &[u8],
    options: &ProducerOptions,
    measure_from: Instant,
    deadline: Option<Instant>,
) {
    let batch = options.batch.max(1);
    loop {
        if shared.stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        let first = shared.issued.fetch_add(batch as u64, Ordering::Relaxed);
        if options.count > 0 && first >= options.count {
            return;
        }
        let make = |i: u64| {
            let message = Message::new(options.topic.as_str(), body.to_vec());
            if options.keys {
                message.with_key(format!("bench-{i}"))
            } else {
                message
            }
        };
        let started = Instant::now();
        let result = match producer {
            Sender::Transactional(t) => t
                .send_in_transaction(make(first), |_| LocalTransactionState::Commit)
                .await
                .map(drop),
            Sender::Plain(p) if batch == 1 => p.send(make(first)).await.map(drop),
            Sender::Plain(p) => {
                let messages = (0..batch as u64).map(|i| make(first + i)).collect();
                p.send_batch(messages).await.map(drop)
            }
        };
        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => {
                locked(&shared.window).record(us);
                if started >= measure_from && deadline.is_none_or(|d| Instant::now() <= d) {
                    locked(&shared.measured).record(us);
                }
            }
            Err(e) => {
                shared.failed.fetch_add(batch as u64, Ordering::Relaxed);
                tracing::warn!(%e, "send failed");
            }
        }
    }
}

async fn report_every(interval: Duration, shared: &Shared, batch: usize, size: usize) {
    let interval = interval.max(Duration::from_millis(100));
    while !shared.stop.load(Ordering::Relaxed) {
        tokio::time::sleep(interval).await;
        let window = std::mem::take(&mut *locked(&shared.window));
        let msgs_per_sec = window.count() as f64 * batch as f64 / interval.as_secs_f64();
        println!(
            "Current Time: {} | Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:.3} | Send Failed: {} | Response Failed: 0 | P50 RT(ms): {:.3} | P99 RT(ms): {:.3} | P99.9 RT(ms): {:.3} | Send MiB/s: {:.1}",
            super::now_millis(),
            msgs_per_sec,
            window.max_ms(),
            window.mean_ms(),
            shared.failed.load(Ordering::Relaxed),
            window.quantile_ms(0.5),
            window.quantile_ms(0.99),
            window.quantile_ms(0.999),
            msgs_per_sec * size as f64 / (1024.0 * 1024.0),
        );
    }
}

/// RocketMQ's closing line, with our fields appended.
fn complete_line(summary: &Summary, size: usize) -> String {
    let latency = &summary.latency;
    format!(
        "[Complete] Send Total: {} | Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:.3} | Send Failed: {} | Response Failed: 0 | P50 RT(ms): {:.3} | P99 RT(ms): {:.3} | P99.9 RT(ms): {:.3} | Send MiB/s: {:.1}",
        summary.messages,
        summary.msgs_per_sec(),
        latency.max_ms(),
        latency.mean_ms(),
        summary.failed,
        latency.quantile_ms(0.5),
        latency.quantile_ms(0.99),
        latency.quantile_ms(0.999),
        summary.mib_per_sec(size),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Latency, Summary, complete_line};

    #[test]
    fn the_complete_line_keeps_rocketmq_fields_first() {
        let mut latency = Latency::new();
        latency.record(2000);
        let summary = Summary {
            messages: 1024,
            requests: 1,
            failed: 0,
            elapsed: Duration::from_secs(1),
            latency,
        };
        let line = complete_line(&summary, 1024);
        assert!(
            line.starts_with("[Complete] Send Total: 1024 | Send TPS: 1024 | Max RT(ms): 2.000"),
            "{line}"
        );
        assert!(
            line.ends_with(
                "P50 RT(ms): 2.000 | P99 RT(ms): 2.000 | P99.9 RT(ms): 2.000 | Send MiB/s: 1.0"
            ),
            "{line}"
        );
    }
}
