//! The third-party producers of `compat/` in the workload: `alions_chaos.js` (ali-ons) and
//! `pyrocketmq_chaos.py` (the C++-based PyPI client), each a child process that prints one
//! history `send` line per call with Unix-epoch times. Their lines are re-stamped on the run's
//! clock and recorded. The Python client does not say where a message went, so its topic
//! lives on group 1 only with a single queue, which makes its queue known. A client that is
//! not installed (`scripts/compat-install.sh`) is left out with a note, never faked.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chaos::history::Event;

use super::nodes::broker_group;
use super::recorder::Recorder;

/// The topic of the ali-ons producer (on every group).
pub const ALIONS_TOPIC: &str = "ChaosT";
/// The Python producer's topic: one queue, on group 1 only.
pub const PYTHON_TOPIC: &str = "ChaosPy";

/// A third-party producer the workload can run.
struct Script {
    client: &'static str,
    program: PathBuf,
    script: PathBuf,
    topic: &'static str,
}

fn scripts(repo: &Path) -> (Vec<Script>, Vec<String>) {
    let compat = repo.join("compat");
    let mut found = Vec::new();
    let mut missing = Vec::new();
    if compat.join("node_modules/ali-ons").is_dir() {
        found.push(Script {
            client: "ali-ons",
            program: PathBuf::from("node"),
            script: compat.join("alions_chaos.js"),
            topic: ALIONS_TOPIC,
        });
    } else {
        missing.push("ali-ons (compat/node_modules/ali-ons missing)".to_owned());
    }
    let python = compat.join(".venv/bin/python");
    if python.is_file() {
        found.push(Script {
            client: "python",
            program: python,
            script: compat.join("pyrocketmq_chaos.py"),
            topic: PYTHON_TOPIC,
        });
    } else {
        missing.push("python (compat/.venv missing)".to_owned());
    }
    (found, missing)
}

/// Starts every installed third-party producer; returns their tasks and what is missing.
/// Each stops (SIGTERM, then at most 10 s) when `stop` turns true.
pub fn start(
    repo: &Path,
    namesrvs: &str,
    log_dir: &Path,
    rec: &Arc<Recorder>,
    stop: &watch::Receiver<bool>,
) -> (Vec<JoinHandle<()>>, Vec<String>) {
    let (found, missing) = scripts(repo);
    let tasks = found
        .into_iter()
        .map(|s| {
            tokio::spawn(run(
                s,
                namesrvs.to_owned(),
                log_dir.to_owned(),
                rec.clone(),
                stop.clone(),
            ))
        })
        .collect();
    (tasks, missing)
}

async fn run(
    s: Script,
    namesrvs: String,
    log_dir: PathBuf,
    rec: Arc<Recorder>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(stderr) = std::fs::File::create(log_dir.join(format!("{}.log", s.client))) else {
        return;
    };
    let spawned = tokio::process::Command::new(&s.program)
        .arg(&s.script)
        .args([
            "--namesrv",
            &namesrvs,
            "--topic",
            s.topic,
            "--client",
            s.client,
        ])
        .args(["--group", &format!("{}-P", s.client), "--duration", "86400"])
        .args(["--interval-ms", "40"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = spawned else {
        return;
    };
    let Some(stdout) = child.stdout.take() else {
        return;
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut stopping = false;
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) => record(&s, &line, &rec),
                _ => break,
            },
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if let Some(pid) = child.id() {
                    let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
                }
            }
            () = tokio::time::sleep(Duration::from_secs(10)), if stopping => break,
        }
    }
    let _ = child.kill().await;
}

/// Records one line of a producer's output; lines that are not sends are skipped (they go
/// to the client's log through stderr anyway). The Python client's acknowledgements get their
/// group and queue here, the only ones its topic has.
fn record(s: &Script, line: &str, rec: &Recorder) {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    if s.topic == PYTHON_TOPIC
        && let Some(outcome) = value.get_mut("outcome").and_then(|o| o.as_object_mut())
        && outcome.get("status").and_then(|v| v.as_str()) == Some("ok")
    {
        outcome.insert("broker_group".into(), broker_group(1).into());
        outcome.insert("queue_id".into(), 0.into());
    }
    let Ok(Event::Send(mut send)) = serde_json::from_value::<Event>(value) else {
        return;
    };
    send.start_ms = rec.from_unix_ms(send.start_ms);
    send.end_ms = rec.from_unix_ms(send.end_ms);
    rec.record(send);
}
