//! Compatibility with real third-party RocketMQ clients, against the real binaries: the npm
//! `ali-ons` 3.12.0 (pure JavaScript, the strictest decoder) and the PyPI `rocketmq` 0.4.4
//! (the bundled C++ client), each against a one-node and a three-node group. The scenario
//! (`compat/*_scenario.*`): produce 200 tagged, keyed messages; consume them all with a fresh
//! group from the first offset, checking bodies, tags, keys and per-queue order; stop; produce
//! 50 more; the restarted consumer gets exactly those 50.
//!
//! `scripts/test.sh` installs both clients first (`scripts/compat-install.sh`); a missing
//! install fails these tests with the reason, it never skips them.

use std::path::PathBuf;
use std::process::Command;

use crate::cluster::Cluster;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs one scenario program to completion (bounded) and asserts it passed.
pub(crate) fn run_scenario(
    program: &str,
    args: &[&str],
    cluster: &Cluster,
    topic: &str,
    group: &str,
) {
    let home = cluster.dir.path().join(format!("home-{group}"));
    std::fs::create_dir_all(&home).unwrap();
    let namesrv = cluster.namesrv_addr();
    let output = Command::new("timeout")
        .arg("180")
        .arg(program)
        .args(args)
        .args(["--namesrv", &namesrv, "--topic", topic, "--group", group])
        .env("HOME", &home)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().last().unwrap_or_default();
    println!("{summary}");
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{summary}\n--- stderr ---\n{}\n--- broker logs under {} ---",
        output.status,
        stderr
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
        cluster.dir.path().display()
    );
}

fn alions(cluster: &Cluster, topic: &str, group: &str) {
    let script = repo().join("compat/alions_scenario.js");
    assert!(
        repo().join("compat/node_modules/ali-ons").exists(),
        "ali-ons is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    run_scenario("node", &[script.to_str().unwrap()], cluster, topic, group);
}

fn pyrocketmq(cluster: &Cluster, topic: &str, group: &str) {
    let python = repo().join("compat/.venv/bin/python");
    assert!(
        python.exists(),
        "the rocketmq wheel is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    let script = repo().join("compat/pyrocketmq_scenario.py");
    run_scenario(
        python.to_str().unwrap(),
        &[script.to_str().unwrap()],
        cluster,
        topic,
        group,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_produces_and_consumes_on_a_one_node_group() {
    let cluster = Cluster::start(1, 1);
    cluster.create_topic("CompatAliOne", 4).await;
    alions(&cluster, "CompatAliOne", "CompatAliOneG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_produces_and_consumes_on_a_three_node_group() {
    let cluster = Cluster::start(1, 3);
    cluster.create_topic("CompatAliThree", 4).await;
    alions(&cluster, "CompatAliThree", "CompatAliThreeG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpp_based_python_client_produces_and_consumes_on_a_one_node_group() {
    let cluster = Cluster::start(1, 1);
    cluster.create_topic("CompatPyOne", 4).await;
    pyrocketmq(&cluster, "CompatPyOne", "CompatPyOneG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cpp_based_python_client_produces_and_consumes_on_a_three_node_group() {
    let cluster = Cluster::start(1, 3);
    cluster.create_topic("CompatPyThree", 4).await;
    pyrocketmq(&cluster, "CompatPyThree", "CompatPyThreeG");
}
