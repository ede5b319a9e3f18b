//! The fault campaign's harness (issue 10): real nameservers and broker groups in network
//! namespaces, a workload on our client and the third-party ones, a seeded nemesis, and at the
//! end the checker of [`crate::chaos`] on everything recorded. `dledger-chaos run` is the
//! entry; `scripts/chaos.sh` builds and calls it.
//!
//! A run is two processes. The outer one (root) creates the namespaces and the nodes' small
//! disks, starts the inner one inside the workload's namespace (so the harness reaches the
//! servers only through the campaign's own network), and removes everything it made when the
//! inner one ends, also on failure, SIGTERM or Ctrl-C.
//!
//! | file | owns |
//! | --- | --- |
//! | [`net`] | namespaces, the bridge, partitions as blackhole routes |
//! | [`disk`] | the nodes' tmpfs disks: fill, free, corrupt, tear |
//! | [`nodes`] | configs and processes: start, kill, pause, stop |
//! | [`probe`] | one-shot questions to nameservers and brokers |
//! | [`recorder`] | the run's clock and history file |
//! | [`workload`] | our producers and consumers; committed offsets |
//! | [`compat`] | the ali-ons and Python producers as child processes |
//! | [`sampler`] | routes and Raft roles over time |
//! | [`nemesis`] | the faults: choice, injection, undoing, recovery |
//! | [`finale`] | healing, convergence, final read, replica summaries |

pub mod compat;
pub mod disk;
pub mod finale;
pub mod nemesis;
pub mod net;
pub mod nodes;
pub mod probe;
pub mod recorder;
pub mod sampler;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::chaos::history::RunInfo;
use crate::chaos::{CheckConfig, Report};
use crate::client::Admin;
use crate::message::TopicConfig;

use nemesis::{FaultKind, Nemesis};
use net::Network;
use nodes::{CLUSTER, Layout, NodeId, Nodes};
use recorder::Recorder;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// How long the nemesis keeps injecting faults (ignored by the smoke run's fixed list).
    pub duration: Duration,
    /// Broker groups (1 or 2; at most 9).
    pub groups: usize,
    /// The faults to choose from.
    pub faults: Vec<FaultKind>,
    /// The smoke run: the fixed list of [`FaultKind::SMOKE`] on group 1 (and a leader kill
    /// on group 2 when there is one).
    pub smoke: bool,
    /// Longest hold of a pause, partition or full disk.
    pub hold_max: Duration,
    /// Where `dledger-broker` and `mqnamesrv` are.
    pub bin_dir: PathBuf,
    /// The repository (for `compat/`).
    pub repo: PathBuf,
    /// The run's directory: configs, logs, disks, the history and the report.
    pub work_dir: PathBuf,
    /// Keep the run's directory even when the run passed.
    pub keep: bool,
    /// Size of each node's tmpfs disk, bytes. With deletion off it must hold the whole run's
    /// messages: about 1 MiB per minute of the workload per group.
    pub disk_bytes: u64,
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The outer process: network and disks, the inner process, cleanup.
pub fn run_outer(opts: &Options, inner_args: Vec<String>) -> ExitCode {
    if !is_root() {
        eprintln!("dledger-chaos: needs root (network namespaces, tmpfs mounts)");
        return ExitCode::from(2);
    }
    let tag = (std::process::id() % 100_000).to_string();
    let net = Network::plan(&tag, opts.groups);
    let layout = Layout {
        bin_dir: opts.bin_dir.clone(),
        work_dir: opts.work_dir.clone(),
        net: net.clone(),
    };
    if let Err(e) = std::fs::create_dir_all(opts.work_dir.join("logs")) {
        eprintln!("dledger-chaos: {}: {e}", opts.work_dir.display());
        return ExitCode::from(2);
    }
    let code = match prepare(&layout, opts.disk_bytes) {
        Ok(()) => run_inner_process(&net, &tag, inner_args),
        Err(e) => {
            eprintln!("dledger-chaos: setup failed: {e}");
            2
        }
    };
    net.destroy();
    for id in layout.nodes() {
        disk::unmount(&layout.disk(id));
    }
    if code == 0 && !opts.keep {
        let _ = std::fs::remove_dir_all(&opts.work_dir);
    } else {
        eprintln!(
            "dledger-chaos: run directory kept: {}",
            opts.work_dir.display()
        );
    }
    ExitCode::from(code)
}

fn prepare(layout: &Layout, disk_bytes: u64) -> Result<(), String> {
    layout.net.create()?;
    for id in layout.nodes() {
        disk::mount(&layout.disk(id), disk_bytes)?;
    }
    Ok(())
}

/// Runs this binary again inside the workload's namespace; forwards SIGTERM and Ctrl-C.
fn run_inner_process(net: &Network, tag: &str, args: Vec<String>) -> u8 {
    let Ok(exe) = std::env::current_exe() else {
        return 2;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return 2;
    };
    rt.block_on(async {
        let spawned = tokio::process::Command::new("ip")
            .args(["netns", "exec", &net.client.ns])
            .arg(&exe)
            .args(args)
            .args(["--inside", tag])
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                eprintln!("dledger-chaos: cannot start the run: {e}");
                return 2;
            }
        };
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return 2;
        };
        let status = tokio::select! {
            status = child.wait() => status.ok(),
            _ = tokio::signal::ctrl_c() => None,
            _ = term.recv() => None,
        };
        let status = match status {
            Some(status) => Some(status),
            None => {
                eprintln!("dledger-chaos: interrupted; stopping the run");
                if let Some(pid) = child.id() {
                    let _ = std::process::Command::new("kill")
                        .args(["-TERM", &pid.to_string()])
                        .status();
                }
                tokio::time::timeout(Duration::from_secs(30), child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
        };
        status
            .and_then(|s| s.code())
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1)
    })
}

/// The inner process: the run itself. Exit 0 when the checker and the harness found nothing,
/// 1 when they did, 2 when the run could not start.
pub async fn run_inner(opts: Options, tag: &str) -> ExitCode {
    let layout = Layout {
        bin_dir: opts.bin_dir.clone(),
        work_dir: opts.work_dir.clone(),
        net: Network::plan(tag, opts.groups),
    };
    let rec = match Recorder::create(&opts.work_dir.join("history.jsonl")) {
        Ok(rec) => Arc::new(rec),
        Err(e) => {
            eprintln!("dledger-chaos: history file: {e}");
            return ExitCode::from(2);
        }
    };
    let faults: Vec<&str> = opts.faults.iter().map(|f| f.name()).collect();
    rec.record(RunInfo {
        seed: Some(opts.seed),
        note: Some(format!(
            "groups {}, {}, faults {}, hold up to {:?}",
            opts.groups,
            if opts.smoke {
                "smoke list".to_owned()
            } else {
                format!("{:?} of faults", opts.duration)
            },
            faults.join(","),
            opts.hold_max
        )),
    });
    let mut nodes = Nodes::new(layout.clone());
    if let Err(e) = start_cluster(&mut nodes).await {
        eprintln!("dledger-chaos: the cluster did not start: {e}");
        return ExitCode::from(2);
    }
    let namesrvs = layout.namesrv_list();
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = sampler::start(&layout, &rec, &stop);
    tasks.extend(workload::start(&namesrvs, &rec, &stop));
    let (compat_tasks, missing) = compat::start(
        &opts.repo,
        &namesrvs,
        &opts.work_dir.join("logs"),
        &rec,
        &stop,
    );
    tasks.extend(compat_tasks);
    for m in &missing {
        println!("dledger-chaos: third-party producer not installed, left out: {m}");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut nemesis = Nemesis::new(nodes, rec.clone(), opts.seed, opts.hold_max);
    let started = Instant::now();
    if opts.smoke {
        for kind in FaultKind::SMOKE {
            nemesis.inject(kind, 1).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        if opts.groups > 1 {
            nemesis.inject(FaultKind::Kill, 2).await;
        }
    } else {
        while started.elapsed() < opts.duration && !opts.faults.is_empty() {
            let kind = opts.faults[nemesis.rng().below(opts.faults.len() as u64) as usize];
            let group = 1 + nemesis.rng().below(opts.groups as u64) as usize;
            nemesis.inject(kind, group).await;
            let quiet = nemesis
                .rng()
                .between(Duration::from_secs(1), Duration::from_secs(5));
            tokio::time::sleep(quiet).await;
        }
    }
    let faulted = started.elapsed();

    // Heal, let the workload see the healthy cluster, stop it, converge, read, summarise.
    let _ = layout.net.heal();
    nemesis.check_unexpected_exits();
    for g in 1..=layout.groups() {
        if nemesis.recover(g, Duration::from_secs(60)).await.is_none() {
            nemesis
                .findings
                .push(format!("group {g} not whole 60 s after the last fault"));
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    for g in 1..=layout.groups() {
        finale::converge(&layout, g, Duration::from_secs(60)).await;
    }
    for topic in [workload::TOPIC, workload::ORDER_TOPIC, compat::PYTHON_TOPIC] {
        let (stall, cap) = (Duration::from_secs(30), Duration::from_secs(20 * 60));
        if let Err(e) = finale::final_read(&namesrvs, topic, &rec, stall, cap).await {
            nemesis.findings.push(e);
        }
    }
    let mut exits: BTreeMap<NodeId, Option<String>> = BTreeMap::new();
    for id in layout.nodes() {
        let running = nemesis.nodes.running(id);
        exits.insert(
            id,
            (!running).then(|| {
                nemesis
                    .nodes
                    .exit_reason(id)
                    .unwrap_or("not running")
                    .to_owned()
            }),
        );
    }
    for g in 1..=layout.groups() {
        let topics = [workload::TOPIC, workload::ORDER_TOPIC, compat::PYTHON_TOPIC];
        finale::summarize(&layout, g, &topics, &exits, &rec).await;
    }
    nemesis.nodes.kill_all();

    let history = rec.history();
    let report = Report::new(&history, &CheckConfig::default());
    let mut text = report.markdown();
    let _ = writeln!(
        text,
        "\n## The run\n\nSeed {}, {} group(s), faults for {:.0} s.",
        opts.seed,
        opts.groups,
        faulted.as_secs_f64()
    );
    for m in &missing {
        let _ = writeln!(text, "- left out: {m}");
    }
    let _ = writeln!(
        text,
        "\n| fault | group | whole again after (s) |\n| --- | --- | ---: |"
    );
    for (kind, group, secs) in &nemesis.recoveries {
        let secs = secs.map_or("not within 60".to_owned(), |s| format!("{s:.1}"));
        let _ = writeln!(text, "| {kind} | {group} | {secs} |");
    }
    if !nemesis.findings.is_empty() {
        let _ = writeln!(text, "\n## Harness findings\n");
        for f in &nemesis.findings {
            let _ = writeln!(text, "- {f}");
        }
    }
    let _ = std::fs::write(opts.work_dir.join("report.md"), &text);
    println!("{text}");
    let passed = report.verdict().is_ok() && nemesis.findings.is_empty();
    println!(
        "dledger-chaos: {} (seed {}; history and logs in {})",
        if passed { "PASSED" } else { "FAILED" },
        opts.seed,
        opts.work_dir.display()
    );
    ExitCode::from(if passed { 0 } else { 1 })
}

/// Starts both nameservers and every node, waits for a master of every group, creates the
/// workload's topics.
async fn start_cluster(nodes: &mut Nodes) -> Result<(), String> {
    nodes.start_namesrvs()?;
    for id in nodes.layout.nodes() {
        nodes.start(id)?;
    }
    let layout = nodes.layout.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    for g in 1..=layout.groups() {
        while probe::agreed_master(&layout, g).await.is_none() {
            if Instant::now() > deadline {
                return Err(format!("no master of group {g} within 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let admin = Admin::new(layout.namesrv_list().as_str()).map_err(|e| e.to_string())?;
    for (topic, queues) in [(workload::TOPIC, 4), (workload::ORDER_TOPIC, 4)] {
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        };
        admin
            .create_topic_in_cluster(CLUSTER, &config)
            .await
            .map_err(|e| format!("{topic}: {e}"))?;
    }
    let master = probe::agreed_master(&layout, 1)
        .await
        .ok_or("no master of group 1")?;
    let config = TopicConfig {
        topic_name: compat::PYTHON_TOPIC.to_owned(),
        read_queue_nums: 1,
        write_queue_nums: 1,
        ..TopicConfig::default()
    };
    admin
        .create_topic(&master, &config)
        .await
        .map_err(|e| format!("{}: {e}", compat::PYTHON_TOPIC))?;
    // Routes reach the nameservers with the next registration.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}
