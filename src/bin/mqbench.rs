//! `mqbench producer|consumer`: RocketMQ's benchmark tools, with their report lines.
//!
//! `mqbench producer -n 127.0.0.1:9876 [-t BenchmarkTest] [-w 64] [-s 1024] [-b 1] [-q 0]
//! [--duration 0] [-k] [-ri 1000]` sends with `-w` concurrent senders (each one request in
//! flight; `-b` messages per batch request) and prints RocketMQ's line every `-ri` ms, with our
//! fields appended (`P50/P99/P99.9 RT(ms)`, `Send MiB/s`), then a `[Complete]` line.
//! `mqbench consumer -n .. [-t] [-g benchmark_consumer] [--duration]` pulls from the latest
//! offsets and prints Consume TPS with born-to-consume (B2C) and store-to-consume (S2C) times.
//! Latencies go into a bounded histogram (1 µs buckets below 1 ms, 1% precision above).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use dledger_broker::client::{
    ConsumeFrom, ConsumerConfig, Message, Producer, ProducerConfig, PullConsumer,
};

#[derive(Parser, Debug)]
#[command(
    name = "mqbench",
    version,
    about = "Producer and consumer benchmarks with RocketMQ's report lines"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send messages as fast as the senders can.
    Producer {
        /// Nameserver addresses (`host:port;host:port`); NAMESRV_ADDR otherwise.
        #[arg(short = 'n', long)]
        namesrv: Option<String>,
        #[arg(short = 't', long, default_value = "BenchmarkTest")]
        topic: String,
        /// Concurrent senders (requests in flight).
        #[arg(short = 'w', long, default_value_t = 64)]
        threads: usize,
        /// Message body size in bytes.
        #[arg(short = 's', long, default_value_t = 128)]
        size: usize,
        /// Messages per request (SEND_BATCH_MESSAGE when above 1).
        #[arg(short = 'b', long, default_value_t = 1)]
        batch: usize,
        /// Messages to send in all (0: until --duration or Ctrl-C).
        #[arg(short = 'q', long, default_value_t = 0)]
        count: u64,
        /// Seconds to run (0: until --count or Ctrl-C).
        #[arg(long, default_value_t = 0)]
        duration: u64,
        /// Set a key on every message.
        #[arg(short = 'k', long)]
        keys: bool,
        /// Report interval, ms.
        #[arg(long = "ri", default_value_t = 1000)]
        report_interval: u64,
    },
    /// Consume from the latest offsets and report consume rates and delays.
    Consumer {
        #[arg(short = 'n', long)]
        namesrv: Option<String>,
        #[arg(short = 't', long, default_value = "BenchmarkTest")]
        topic: String,
        #[arg(short = 'g', long, default_value = "benchmark_consumer")]
        group: String,
        #[arg(long, default_value_t = 0)]
        duration: u64,
        #[arg(long = "ri", default_value_t = 1000)]
        report_interval: u64,
    },
}

/// A latency histogram in microseconds with bounded memory.
#[derive(Clone)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: u64,
    max: u64,
}

impl Histogram {
    const LINEAR: u64 = 1000;

    fn new() -> Histogram {
        Histogram {
            buckets: vec![0; Self::LINEAR as usize + 2000],
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    /// Bucket of a value: exact below 1 ms, then about 1% wide.
    fn bucket(us: u64) -> usize {
        if us < Self::LINEAR {
            us as usize
        } else {
            let i = ((us as f64 / Self::LINEAR as f64).ln() / 1.01f64.ln()) as usize;
            (Self::LINEAR as usize + i).min(Self::LINEAR as usize + 1999)
        }
    }

    fn value(bucket: usize) -> u64 {
        if bucket < Self::LINEAR as usize {
            bucket as u64
        } else {
            (Self::LINEAR as f64 * 1.01f64.powi((bucket - Self::LINEAR as usize) as i32)) as u64
        }
    }

    fn record(&mut self, us: u64) {
        self.buckets[Self::bucket(us)] += 1;
        self.count += 1;
        self.sum += us;
        self.max = self.max.max(us);
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((self.count as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value(i).min(self.max) as f64 / 1000.0;
            }
        }
        self.max as f64 / 1000.0
    }

    fn avg_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64 / 1000.0
        }
    }
}

fn now_text() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{ms}")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn namesrv(arg: Option<String>) -> Result<String, String> {
    arg.or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .ok_or_else(|| "no nameserver: pass -n host:port or set NAMESRV_ADDR".to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqbench: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match args.command {
            Command::Producer {
                namesrv: n,
                topic,
                threads,
                size,
                batch,
                count,
                duration,
                keys,
                report_interval,
            } => {
                producer(
                    namesrv(n)?,
                    topic,
                    threads.max(1),
                    size,
                    batch.max(1),
                    count,
                    duration,
                    keys,
                    report_interval,
                )
                .await
            }
            Command::Consumer {
                namesrv: n,
                topic,
                group,
                duration,
                report_interval,
            } => consumer(namesrv(n)?, topic, group, duration, report_interval).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::from(1)
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per benchmark option"
)]
async fn producer(
    namesrv: String,
    topic: String,
    threads: usize,
    size: usize,
    batch: usize,
    count: u64,
    duration: u64,
    keys: bool,
    report_interval: u64,
) -> Result<(), String> {
    println!(
        "topic: {topic}, threads: {threads}, messageSize: {size}, batchSize: {batch}, count: {count}, duration: {duration}s, keys: {keys}, namesrv: {namesrv}"
    );
    let producer = Arc::new(
        Producer::new(ProducerConfig::new(namesrv.as_str(), "benchmark_producer"))
            .map_err(|e| e.to_string())?,
    );
    producer.start().map_err(|e| e.to_string())?;
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let window = Arc::new(Mutex::new(Histogram::new()));
    let total = Arc::new(Mutex::new(Histogram::new()));
    let body = vec![b'a'; size];
    let started = Instant::now();
    let deadline = (duration > 0).then(|| started + Duration::from_secs(duration));
    let mut workers = Vec::new();
    for _ in 0..threads {
        let (producer, sent, failed, stop, window, total, body, topic) = (
            producer.clone(),
            sent.clone(),
            failed.clone(),
            stop.clone(),
            window.clone(),
            total.clone(),
            body.clone(),
            topic.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                let first = sent.fetch_add(batch as u64, Ordering::Relaxed);
                if count > 0 && first >= count {
                    return;
                }
                let make = |i: u64| {
                    let m = Message::new(topic.as_str(), body.clone());
                    if keys {
                        m.with_key(format!("bench-{i}"))
                    } else {
                        m
                    }
                };
                let t = Instant::now();
                let result = if batch == 1 {
                    producer.send(make(first)).await.map(drop)
                } else {
                    producer
                        .send_batch((0..batch as u64).map(|i| make(first + i)).collect())
                        .await
                        .map(drop)
                };
                let us = t.elapsed().as_micros() as u64;
                match result {
                    Ok(()) => {
                        lock(&window).record(us);
                        lock(&total).record(us);
                    }
                    Err(e) => {
                        failed.fetch_add(batch as u64, Ordering::Relaxed);
                        tracing::warn!(%e, "send failed");
                    }
                }
            }
        }));
    }
    let reporter = {
        let (stop, window, failed) = (stop.clone(), window.clone(), failed.clone());
        let size = size as f64;
        tokio::spawn(async move {
            let interval = Duration::from_millis(report_interval.max(100));
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(interval).await;
                let h = std::mem::replace(&mut *lock(&window), Histogram::new());
                let secs = interval.as_secs_f64();
                let requests_per_s = h.count as f64 / secs;
                println!(
                    "Current Time: {} | Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:.3} | Send Failed: {} | Response Failed: 0 | P50 RT(ms): {:.3} | P99 RT(ms): {:.3} | P99.9 RT(ms): {:.3} | Send MiB/s: {:.1}",
                    now_text(),
                    requests_per_s * batch as f64,
                    h.max as f64 / 1000.0,
                    h.avg_ms(),
                    failed.load(Ordering::Relaxed),
                    h.percentile_ms(0.5),
                    h.percentile_ms(0.99),
                    h.percentile_ms(0.999),
                    requests_per_s * batch as f64 * size / (1024.0 * 1024.0),
                );
            }
        })
    };
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut all = futures_util::future::join_all(workers);
    tokio::select! {
        _ = &mut all => {}
        _ = &mut ctrl_c => { stop.store(true, Ordering::Relaxed); }
    }
    stop.store(true, Ordering::Relaxed);
    reporter.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let h = lock(&total).clone();
    let messages = h.count * batch as u64;
    println!(
        "[Complete] Send Total: {} | Send TPS: {:.0} | Max RT(ms): {:.3} | Average RT(ms): {:.3} | Send Failed: {} | Response Failed: 0 | P50 RT(ms): {:.3} | P99 RT(ms): {:.3} | P99.9 RT(ms): {:.3} | Send MiB/s: {:.1}",
        messages,
        messages as f64 / elapsed,
        h.max as f64 / 1000.0,
        h.avg_ms(),
        failed.load(Ordering::Relaxed),
        h.percentile_ms(0.5),
        h.percentile_ms(0.99),
        h.percentile_ms(0.999),
        messages as f64 * size as f64 / elapsed / (1024.0 * 1024.0),
    );
    producer.shutdown().await;
    Ok(())
}

async fn consumer(
    namesrv: String,
    topic: String,
    group: String,
    duration: u64,
    report_interval: u64,
) -> Result<(), String> {
    println!("topic: {topic}, group: {group}, namesrv: {namesrv}");
    let mut config = ConsumerConfig::new(namesrv.as_str(), &group, &topic);
    config.from_where = ConsumeFrom::Last;
    let mut consumer = PullConsumer::new(config).map_err(|e| e.to_string())?;
    consumer.start().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut last_report = Instant::now();
    let interval = Duration::from_millis(report_interval.max(100));
    let (mut n, mut total) = (0u64, 0u64);
    let (mut b2c, mut s2c) = (Histogram::new(), Histogram::new());
    loop {
        if duration > 0 && started.elapsed() >= Duration::from_secs(duration) {
            break;
        }
        let batch = consumer
            .poll(Duration::from_millis(200))
            .await
            .map_err(|e| e.to_string())?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        for m in &batch {
            b2c.record(u64::try_from(now - m.stored.born_timestamp).unwrap_or(0) * 1000);
            s2c.record(u64::try_from(now - m.stored.store_timestamp).unwrap_or(0) * 1000);
        }
        n += batch.len() as u64;
        total += batch.len() as u64;
        if last_report.elapsed() >= interval {
            println!(
                "Current Time: {} | Consume TPS: {:.0} | AVG(B2C) RT(ms): {:.3} | AVG(S2C) RT(ms): {:.3} | MAX(B2C) RT(ms): {:.0} | MAX(S2C) RT(ms): {:.0} | Consume Fail: 0",
                now_text(),
                n as f64 / last_report.elapsed().as_secs_f64(),
                b2c.avg_ms(),
                s2c.avg_ms(),
                b2c.max as f64 / 1000.0,
                s2c.max as f64 / 1000.0,
            );
            (n, b2c, s2c) = (0, Histogram::new(), Histogram::new());
            last_report = Instant::now();
            let _ = consumer.commit().await;
        }
    }
    println!("[Complete] Consume Total: {total}");
    consumer.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    #[test]
    fn percentiles_come_from_the_recorded_distribution() {
        let mut h = Histogram::new();
        for us in 1..=10_000u64 {
            h.record(us);
        }
        assert!(
            (h.percentile_ms(0.5) - 5.0).abs() < 0.1,
            "{}",
            h.percentile_ms(0.5)
        );
        assert!(
            (h.percentile_ms(0.99) - 9.9).abs() < 0.15,
            "{}",
            h.percentile_ms(0.99)
        );
        assert_eq!(h.max, 10_000);
        assert!((h.avg_ms() - 5.0005).abs() < 0.001);
        assert_eq!(Histogram::new().percentile_ms(0.5), 0.0);
    }
}
