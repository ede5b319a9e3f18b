//! `dledger-chaos`: the fault campaign (issue 10).
//!
//! * `dledger-chaos run [--smoke] [--duration 600] [--seed N] [--groups 2] [--faults kill,pause,..]
//!   [--hold-max 30] [--work-dir DIR] [--keep]`: real nameservers and broker groups in network
//!   namespaces (root), a workload on our client and the `compat/` clients, a seeded nemesis,
//!   then the checker; exit 0 when nothing was found, 1 on a violation, 2 when the run could
//!   not start. Prints the report and the seed; keeps the run's directory unless it passed.
//! * `dledger-chaos check HISTORY`: judges a recorded history file again.
//!
//! Thin on purpose: flags, logging, a runtime, then [`dledger_broker::chaos::harness`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use dledger_broker::chaos::harness::nemesis::FaultKind;
use dledger_broker::chaos::harness::{self, Options};
use dledger_broker::chaos::{CheckConfig, History, Report};

#[derive(Parser, Debug)]
#[command(
    name = "dledger-chaos",
    version,
    about = "Fault campaign: nemesis, workload and checker"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a campaign (needs root).
    Run(RunArgs),
    /// Judge a recorded history file.
    Check { history: PathBuf },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The smoke run: a fixed list of ten faults on group 1 (ignores --duration and --faults).
    #[arg(long)]
    smoke: bool,
    /// Seconds of faults.
    #[arg(long, default_value_t = 300)]
    duration: u64,
    /// Seed of the nemesis's choices (default: from the clock; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Broker groups behind the same nameservers.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=9))]
    groups: u64,
    /// Comma-separated faults to choose from (default: all).
    #[arg(long, value_delimiter = ',')]
    faults: Vec<FaultKind>,
    /// Longest pause, partition or full disk, in seconds.
    #[arg(long, default_value_t = 30)]
    hold_max: u64,
    /// Where the binaries are (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The run's directory (default: `/tmp/dledger-chaos/SEED`).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the run's directory even when the run passed.
    #[arg(long)]
    keep: bool,
    /// Each node's disk (a tmpfs), MiB. Deletion is off, so it must hold the whole run: about
    /// 1 MiB per minute of faults (the default fits an hour and a half).
    #[arg(long, default_value_t = 160)]
    disk_mib: u64,
    /// Internal: this is the inner process, inside the namespaces of run TAG.
    #[arg(long, hide = true)]
    inside: Option<String>,
}

fn options(args: &RunArgs) -> Options {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    });
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_default()
    });
    Options {
        seed,
        duration: Duration::from_secs(args.duration),
        groups: usize::try_from(args.groups).unwrap_or(1),
        faults: if args.faults.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            args.faults.clone()
        },
        smoke: args.smoke,
        // The smoke run keeps holds short: it must fit in about three minutes.
        hold_max: Duration::from_secs(if args.smoke {
            args.hold_max.clamp(1, 6)
        } else {
            args.hold_max.max(1)
        }),
        bin_dir,
        repo: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        work_dir: args
            .work_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("/tmp/dledger-chaos/{seed}"))),
        keep: args.keep,
        disk_bytes: args.disk_mib.max(16) << 20,
    }
}

/// The inner process's flags: the options with the seed and directories fixed.
fn inner_args(opts: &Options) -> Vec<String> {
    let faults: Vec<&str> = opts.faults.iter().map(|f| f.name()).collect();
    let mut args: Vec<String> = vec![
        "run".into(),
        format!("--seed={}", opts.seed),
        format!("--duration={}", opts.duration.as_secs()),
        format!("--groups={}", opts.groups),
        format!("--faults={}", faults.join(",")),
        format!("--hold-max={}", opts.hold_max.as_secs()),
        format!("--bin-dir={}", opts.bin_dir.display()),
        format!("--work-dir={}", opts.work_dir.display()),
        format!("--disk-mib={}", opts.disk_bytes >> 20),
    ];
    args.extend(opts.smoke.then(|| "--smoke".to_owned()));
    args.extend(opts.keep.then(|| "--keep".to_owned()));
    args
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,dledger_broker::client=error")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    match Args::parse().command {
        Command::Check { history } => match History::read(&history) {
            Ok(history) => {
                let report = Report::new(&history, &CheckConfig::default());
                println!("{}", report.markdown());
                ExitCode::from(u8::from(report.verdict().is_err()))
            }
            Err(e) => {
                eprintln!("dledger-chaos: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => {
            let opts = options(&args);
            match &args.inside {
                None => harness::run_outer(&opts, inner_args(&opts)),
                Some(tag) => match tokio::runtime::Runtime::new() {
                    Ok(rt) => rt.block_on(harness::run_inner(opts, tag)),
                    Err(e) => {
                        eprintln!("dledger-chaos: runtime: {e}");
                        ExitCode::from(2)
                    }
                },
            }
        }
    }
}
