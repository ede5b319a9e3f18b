//! `mqbench producer|consumer|probe`: RocketMQ's benchmark tools with their report lines, and
//! the replication skeleton the broker is judged against.
//!
//! * `mqbench producer -n 127.0.0.1:9876 [-t BenchmarkTest] [-w 64] [-s 128] [-b 1] [-q 0]
//!   [--duration 0] [-k] [--ri 1000]`: `-w` concurrent senders, one request of `-b` messages in
//!   flight each; RocketMQ's line every `--ri` ms with P50/P99/P99.9 RT and MiB/s appended, then
//!   `[Complete]`.
//! * `mqbench consumer -n .. [-t] [-g benchmark_consumer] [--duration]`: Consume TPS with
//!   born-to-consume and store-to-consume delays.
//! * `mqbench probe [-s 1024] [--duration 5] [--sync] [-n 127.0.0.1:9876 [-t BenchmarkTest]
//!   [--rounds 3]]`: the skeleton (client → leader → two followers, mmap appends, loopback),
//!   batched (32 per request, 16 in flight) and one in flight; with `-n`, the same shapes against
//!   the broker in the same run and a table of broker / skeleton ratios.
//!
//! Thin on purpose: flags, logging, a runtime, then [`dledger_broker::bench`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use dledger_broker::admin_cli::signing::AclKeys;
use dledger_broker::bench::consumer::{self, ConsumerOptions};
use dledger_broker::bench::probe::{self, ProbeOptions, Shape};
use dledger_broker::bench::producer::{self, ProducerOptions};
use dledger_broker::bench::{BenchError, ratios, round_trip};
use dledger_broker::client::Credentials;

#[derive(Parser, Debug)]
#[command(
    name = "mqbench",
    version,
    about = "Producer and consumer benchmarks with RocketMQ's report lines, and the replication skeleton"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// `--accessKey` / `--secretKey` (brokers with aclEnable=true), on every subcommand.
    #[command(flatten)]
    keys: AclKeys,
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
        /// Send every message in a transaction (half message, then END_TRANSACTION commit).
        #[arg(long)]
        transaction: bool,
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
    /// The replication skeleton (performance.md §2.3), alone or next to the broker (-n).
    Probe {
        /// Message size in bytes.
        #[arg(short = 's', long, default_value_t = 1024)]
        size: usize,
        /// Measured seconds per run.
        #[arg(long, default_value_t = 5)]
        duration: u64,
        /// Unmeasured seconds before each run.
        #[arg(long, default_value_t = 1)]
        warmup: u64,
        /// msync every append before it counts (compare with a SYNC_FLUSH broker).
        #[arg(long)]
        sync: bool,
        /// Directory for the skeleton's files (default: the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Segment file size per node, MiB.
        #[arg(long, default_value_t = 1024)]
        segment_mib: u64,
        /// Nameserver of a running broker group: also measure the broker and print ratios.
        #[arg(short = 'n', long)]
        namesrv: Option<String>,
        /// Topic for the broker runs.
        #[arg(short = 't', long, default_value = "BenchmarkTest")]
        topic: String,
        /// Skeleton/broker rounds (the table reports the median ratio).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

fn namesrv(arg: Option<String>) -> Result<String, BenchError> {
    arg.or_else(|| std::env::var("NAMESRV_ADDR").ok())
        .ok_or_else(|| {
            BenchError::Failed("no nameserver: pass -n host:port or set NAMESRV_ADDR".into())
        })
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
    let credentials = match args.keys.credentials() {
        Ok(credentials) => credentials,
        Err(e) => {
            eprintln!("mqbench: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(execute(args.command, credentials)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::from(1)
        }
    }
}

async fn execute(command: Command, credentials: Option<Credentials>) -> Result<(), BenchError> {
    match command {
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
            transaction,
        } => {
            let options = ProducerOptions {
                namesrv: namesrv(n)?,
                topic,
                threads: threads.max(1),
                size,
                batch: batch.max(1),
                count,
                duration: Duration::from_secs(duration),
                warmup: Duration::ZERO,
                keys,
                report_interval: Some(Duration::from_millis(report_interval)),
                transaction,
                credentials,
            };
            println!(
                "topic: {}, threads: {}, messageSize: {}, batchSize: {}, count: {}, duration: {}s, keys: {}, namesrv: {}",
                options.topic,
                options.threads,
                size,
                options.batch,
                count,
                duration,
                keys,
                options.namesrv
            );
            producer::run(options).await.map(drop)
        }
        Command::Consumer {
            namesrv: n,
            topic,
            group,
            duration,
            report_interval,
        } => {
            consumer::run(ConsumerOptions {
                namesrv: namesrv(n)?,
                topic,
                group,
                duration: Duration::from_secs(duration),
                report_interval: Duration::from_millis(report_interval),
                credentials,
            })
            .await
        }
        Command::Probe {
            size,
            duration,
            warmup,
            sync,
            dir,
            segment_mib,
            namesrv: n,
            topic,
            rounds,
        } => {
            let probe_options = ProbeOptions {
                dir: dir.unwrap_or_else(std::env::temp_dir),
                segment_size: segment_mib.max(1) << 20,
                sync,
                warmup: Duration::from_secs(warmup),
                duration: Duration::from_secs(duration.max(1)),
            };
            println!(
                "probe: {size} B messages, 3 replicas (majority 2), {} flush, {duration} s measured after {warmup} s warm-up, files under {}",
                if sync {
                    "msync per append"
                } else {
                    "page cache"
                },
                probe_options.dir.display()
            );
            match n.or_else(|| std::env::var("NAMESRV_ADDR").ok()) {
                None => probe_alone(&probe_options, size).await,
                Some(namesrv) => {
                    let broker = ProducerOptions {
                        namesrv,
                        topic,
                        threads: 1,
                        size,
                        batch: 1,
                        count: 0,
                        duration: probe_options.duration,
                        warmup: probe_options.warmup,
                        keys: false,
                        report_interval: None,
                        transaction: false,
                        credentials,
                    };
                    let done = ratios::run(&probe_options, &broker, rounds).await?;
                    print!("{}", ratios::table(&done, size));
                    let unreplicated =
                        round_trip::measure(&broker.namesrv, &broker.topic, Duration::from_secs(2))
                            .await?;
                    println!(
                        "diagnostic: broker request without replication (GET_MAX_OFFSET to the master, one in flight): {}",
                        unreplicated.line()
                    );
                    Ok(())
                }
            }
        }
    }
}

async fn probe_alone(options: &ProbeOptions, size: usize) -> Result<(), BenchError> {
    for (name, shape) in [
        (
            "batched (32 per request, 16 in flight)",
            Shape::batched(size),
        ),
        ("one in flight", Shape::one_in_flight(size)),
    ] {
        let options = options.clone();
        let summary = tokio::task::spawn_blocking(move || probe::run(&options, shape))
            .await
            .map_err(|e| BenchError::Failed(format!("the probe task failed: {e}")))??;
        println!("skeleton {name}: {}", summary.line());
    }
    Ok(())
}
