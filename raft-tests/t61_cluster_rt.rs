//! The real `mqadmin clusterRT` against a real nameserver and three-node broker group: it sends
//! to the topic named after the broker group (advertised writable by every broker) and prints
//! one row per group per round; `-p true` prints tlog lines; an unknown `-c` fails. Every run of
//! the tool is bounded by `timeout 60`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::cluster::Cluster;

/// Runs `mqadmin args...` against `ns`, bounded to 60 s; returns (success, stdout, stderr).
fn mqadmin(ns: &str, args: &[&str]) -> (bool, String, String) {
    let o: Output = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .env("NAMESRV_ADDR", ns)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Data rows of the table, split on whitespace.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_rt_prints_a_row_per_group_per_round() {
    let cluster = Cluster::start(1, 3);
    cluster.wait_master(Duration::from_secs(30)).await;
    let ns = cluster.namesrv_addr();

    tracing::info!("two rounds of 10 sends each; retried until the route is there");
    let args = [
        "clusterRT",
        "-a",
        "10",
        "-s",
        "64",
        "-i",
        "1",
        "--rounds",
        "2",
        "-c",
        "TestCluster",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = loop {
        let (ok, out, err) = mqadmin(&ns, &args);
        if ok
            && rows(&out)
                .iter()
                .all(|r| r.get(3).is_some_and(|s| s == "10"))
        {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "clusterRT did not send 10 of 10 within 60 s\nstdout:\n{out}\nstderr:\n{err}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let header = out.lines().next().unwrap();
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        columns,
        [
            "#Cluster Name",
            "#Broker Name",
            "#RT",
            "#successCount",
            "#failCount"
        ],
        "{out}"
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 2, "one group, two rounds:\n{out}");
    for row in &rows {
        assert_eq!(row[..2], ["TestCluster", "RaftNode00"], "{out}");
        let rt: f64 = row[2].parse().unwrap();
        assert!(rt > 0.0 && rt < 10_000.0, "RT {rt} ms\n{out}");
        assert_eq!(row[3..], ["10", "0"], "{out}");
    }

    tracing::info!("-p true: time|room|cluster|broker|rt");
    let (ok, out, err) = mqadmin(
        &ns,
        &[
            "clusterRT",
            "-a",
            "3",
            "-p",
            "true",
            "-m",
            "room1",
            "--rounds",
            "1",
        ],
    );
    assert!(ok, "{err}");
    let fields: Vec<&str> = out.trim_end().split('|').collect();
    assert_eq!(fields.len(), 5, "{out}");
    assert_eq!(
        fields[1..4],
        ["room1", "TestCluster", "RaftNode00"],
        "{out}"
    );
    assert_eq!(fields[0].len(), "yyyy-MM-dd HH:mm:ss".len(), "{out}");
    assert!(fields[4].parse::<f64>().is_ok(), "{out}");

    tracing::info!("an unknown cluster is an error naming it");
    let (ok, _, err) = mqadmin(&ns, &["clusterRT", "-c", "NoSuchCluster", "--rounds", "1"]);
    assert!(!ok);
    assert!(err.contains("NoSuchCluster"), "{err}");
}
