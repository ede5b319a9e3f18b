//! Consumer retries, dead letters and delay levels with the real third-party clients of the
//! compatibility suite (issue 6; remoting.md §4.2 steps 5 and 9, §5.7), against the real
//! binaries with a short `messageDelayLevel`. The scripts (`compat/alions_retry.js`,
//! `compat/pyrocketmq_retry.py`, see compat/README.md) check what the client sees: a listener
//! that fails for the odd keys gets each of them again after the delay of level
//! `3 + reconsumeTimes` (no sooner, not much later), with the original topic and message id and
//! a growing reconsumeTimes, exactly `1 + max` times; the even keys exactly once; delayed
//! messages (levels 3 and 4) no sooner than their delay after the send ack and within 1 s of
//! due. This file then checks with `mqadmin` that exactly the failing messages are in
//! `%DLQ%<group>` and that the DLQ is advertised write-only (perm 2), as RocketMQ does.
//!
//! ali-ons sends `maxReconsumeTimes` in CONSUMER_SEND_MSG_BACK (the group keeps the default
//! 16); the C++ client cannot, so its group's `retryMaxTimes` is set with `mqadmin
//! updateSubGroup -r`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::cluster::Cluster;

/// Level n = n-th entry: retries use levels 3 (2 s) and 4 (3 s), the dead letter would be 5;
/// the delay phase uses 3 and 4.
const DELAY_TABLE: &str = "1s 1s 2s 3s 2s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";
const MAX_RECONSUME: u32 = 2;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start(nodes: u64) -> Cluster {
    Cluster::start_with(1, nodes, &format!("messageDelayLevel={DELAY_TABLE}\n"))
}

fn mqadmin(ns: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .args(["-n", ns])
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a retry script to completion (bounded) and returns its JSON summary; panics with the
/// summary, the tail of its stderr and where the broker logs are unless it passed.
pub(crate) fn run_script(
    program: &str,
    args: &[String],
    cluster: &Cluster,
    group: &str,
) -> serde_json::Value {
    let home = cluster.dir.path().join(format!("home-{group}"));
    std::fs::create_dir_all(&home).unwrap();
    let started = Instant::now();
    let output = Command::new("timeout")
        .arg("75")
        .arg(program)
        .args(args)
        .env("HOME", &home)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    let line = out.lines().last().unwrap_or_default();
    println!("{line}");
    println!("({program} ran {:.1} s)", started.elapsed().as_secs_f64());
    let tail: Vec<&str> = err.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{line}\n--- stderr ---\n{}\n--- broker logs under {} ---",
        output.status,
        tail.join("\n"),
        cluster.dir.path().display()
    );
    serde_json::from_str(line).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {line}"))
}

/// `%DLQ%<group>` holds exactly the failing messages: its one queue's max offset is their
/// number, each failing key is found there once and a succeeding key not at all; the route
/// says perm 2 (write-only: nobody consumes a dead-letter queue by default).
fn check_dlq(cluster: &Cluster, group: &str, summary: &serde_json::Value) {
    let ns = cluster.namesrv_addr();
    let dlq = format!("%DLQ%{group}");
    let expected = summary["dlq_expected"].as_u64().unwrap();
    let failing: Vec<String> = summary["failing_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(failing.len() as u64, expected);

    // topicStatus: one row per queue, `broker qid min max last-updated`.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (rows, text) = loop {
        let o = mqadmin(&ns, &["topicStatus", "-t", &dlq]);
        let text = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
        let rows: Vec<Vec<String>> = stdout(&o)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect();
        let max: u64 = rows
            .iter()
            .filter_map(|r| r.get(3)?.parse::<u64>().ok())
            .sum();
        if (o.status.success() && max == expected) || Instant::now() > deadline {
            break (rows, text);
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        rows.len(),
        1,
        "{dlq} should have exactly one queue:\n{text}"
    );
    assert_eq!(
        rows[0][3].parse::<u64>().ok(),
        Some(expected),
        "{dlq} max offset should be the number of failing messages ({expected}):\n{text}\n\
         broker logs under {}",
        cluster.dir.path().display()
    );

    let found = |key: &str| -> usize {
        let o = mqadmin(&ns, &["queryMsgByKey", "-t", &dlq, "-k", key]);
        assert!(o.status.success(), "queryMsgByKey {dlq} {key}: {o:?}");
        stdout(&o)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count()
    };
    for key in &failing {
        assert_eq!(found(key), 1, "{key} should be in {dlq} exactly once");
    }
    assert_eq!(
        found("key-0"),
        0,
        "key-0 succeeded, it must not be in {dlq}"
    );

    let o = mqadmin(&ns, &["topicRoute", "-t", &dlq]);
    let route: serde_json::Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("topicRoute {dlq} is not JSON ({e}): {o:?}"));
    let perm = route["queueDatas"][0]["perm"].as_i64();
    assert_eq!(
        perm,
        Some(2),
        "{dlq} must be advertised write-only (RocketMQ PermName: 2 = write, 4 = read), route:\n{route:#}"
    );
}

fn common_args(cluster: &Cluster, topic: &str, group: &str) -> Vec<String> {
    [
        "--namesrv",
        &cluster.namesrv_addr(),
        "--topic",
        topic,
        "--delay-topic",
        &format!("{topic}D"),
        "--group",
        group,
        "--max-reconsume",
        &MAX_RECONSUME.to_string(),
        "--delay-table",
        DELAY_TABLE,
        "--delay-levels",
        "3,4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn alions(nodes: u64, topic: &str) {
    assert!(
        repo().join("compat/node_modules/ali-ons").exists(),
        "ali-ons is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    let cluster = start(nodes);
    cluster.create_topic(topic, 4).await;
    cluster.create_topic(&format!("{topic}D"), 4).await;
    let group = format!("{topic}G");
    let mut args = vec![
        repo()
            .join("compat/alions_retry.js")
            .to_string_lossy()
            .into_owned(),
    ];
    args.extend(common_args(&cluster, topic, &group));
    let summary = run_script("node", &args, &cluster, &group);
    check_dlq(&cluster, &group, &summary);
}

async fn pyrocketmq(nodes: u64, topic: &str) {
    let python = repo().join("compat/.venv/bin/python");
    assert!(
        python.exists(),
        "the rocketmq wheel is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    let cluster = start(nodes);
    cluster.create_topic(topic, 4).await;
    cluster.create_topic(&format!("{topic}D"), 4).await;
    let group = format!("{topic}G");
    // The C++ client sends no maxReconsumeTimes: the group's retryMaxTimes decides.
    let o = mqadmin(
        &cluster.namesrv_addr(),
        &[
            "updateSubGroup",
            "-c",
            "TestCluster",
            "-g",
            &group,
            "-r",
            &MAX_RECONSUME.to_string(),
        ],
    );
    assert!(o.status.success(), "updateSubGroup: {o:?}");
    let mut args = vec![
        repo()
            .join("compat/pyrocketmq_retry.py")
            .to_string_lossy()
            .into_owned(),
        "--messages".into(),
        "8".into(),
    ];
    args.extend(common_args(&cluster, topic, &group));
    let summary = run_script(python.to_str().unwrap(), &args, &cluster, &group);
    check_dlq(&cluster, &group, &summary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_retries_dead_letters_and_delays_on_a_one_node_group() {
    alions(1, "RetryAliOne").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_retries_dead_letters_and_delays_on_a_three_node_group() {
    alions(3, "RetryAliThree").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpp_based_python_client_retries_dead_letters_and_delays_on_a_one_node_group() {
    pyrocketmq(1, "RetryPyOne").await;
}
