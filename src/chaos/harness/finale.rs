//! The end of a run, after the nemesis stopped: everything healed and started, the workload
//! stopped, replicas given time to converge; then the final read (every queue of every
//! workload topic from offset 0 with a fresh group), each replica's summary (its commitlog
//! length and a digest of those bytes read from its files, each queue's max offset as the node
//! itself answers) and each node's state. All of it goes into the history for the checker.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::chaos::history::{NodeStatus, QueueMax, ReplicaSummary};
use crate::client::{Admin, ConsumeFrom, ConsumerConfig, PullConsumer};

use super::nodes::{Layout, NodeId};
use super::probe;
use super::recorder::Recorder;
use super::workload::consumed;

/// Waits until every node of `group` has applied the same index and holds a commitlog of the
/// same length; returns the last tables seen (one per node that answered).
pub async fn converge(
    layout: &Layout,
    group: usize,
    within: Duration,
) -> BTreeMap<NodeId, BTreeMap<String, String>> {
    let deadline = Instant::now() + within;
    loop {
        let mut tables = BTreeMap::new();
        for id in layout.nodes().into_iter().filter(|n| n.group == group) {
            if let Some(t) = probe::runtime(&layout.broker_addr(id)).await {
                tables.insert(id, t);
            }
        }
        let same = |key: &str| {
            let values: Vec<Option<u64>> = tables.values().map(|t| probe::number(t, key)).collect();
            values.first().is_some_and(Option::is_some) && values.windows(2).all(|w| w[0] == w[1])
        };
        if (tables.len() == 3 && same("raftApplied") && same("commitLogMaxOffset"))
            || Instant::now() >= deadline
        {
            return tables;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Reads every queue of `topic` from offset 0 to its max offset with a fresh group and records
/// each message as a final read; says what it could not read. It gives up when nothing new
/// arrived for `stall` (a group that stopped serving), or after `cap` in all: an hour of
/// faults leaves over half a million messages, which a loaded machine reads in minutes, so a
/// fixed budget would end a healthy read early (it did, once, at 90 s).
pub async fn final_read(
    namesrvs: &str,
    topic: &str,
    rec: &Recorder,
    stall: Duration,
    cap: Duration,
) -> Result<usize, String> {
    let admin = Admin::new(namesrvs).map_err(|e| e.to_string())?;
    let maxes = admin
        .topic_max_offsets(topic)
        .await
        .map_err(|e| format!("{topic}: max offsets: {e}"))?;
    if maxes.is_empty() {
        // No queue to read is never a pass: the route or every master was unreachable.
        return Err(format!(
            "{topic}: no queue to read (no route or no master answered)"
        ));
    }
    let group = format!("ChaosFinal-{topic}");
    let mut config = ConsumerConfig::new(namesrvs, group.clone(), topic);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_millis(500);
    let mut consumer = PullConsumer::new(config).map_err(|e| e.to_string())?;
    consumer
        .start()
        .await
        .map_err(|e| format!("{topic}: final reader: {e}"))?;
    let started = Instant::now();
    let mut last_progress = started;
    let mut read = 0;
    let done = |consumer: &PullConsumer| {
        let at = consumer.positions();
        maxes
            .iter()
            .all(|(q, max)| at.get(q).copied().flatten().is_some_and(|p| p >= *max))
    };
    while !done(&consumer) && last_progress.elapsed() < stall && started.elapsed() < cap {
        if let Ok(messages) = consumer.poll(Duration::from_millis(500)).await {
            let now = rec.now_ms();
            for m in &messages {
                rec.record(consumed(&group, "final", m, now, false, true));
            }
            if !messages.is_empty() {
                last_progress = Instant::now();
            }
            read += messages.len();
        }
    }
    let finished = done(&consumer);
    consumer.shutdown().await;
    if finished {
        Ok(read)
    } else {
        Err(format!(
            "{topic}: final read incomplete after {:?} (nothing new for {:?} or the cap {cap:?} reached): {read} read, max offsets {maxes:?}",
            started.elapsed(),
            last_progress.elapsed()
        ))
    }
}

/// 64-bit FNV-1a of the first `len` bytes of the commitlog under `store`, read from its
/// segment files (named by their start offset); an error says what does not fit.
fn commitlog_digest(store: &Path, len: u64) -> Result<String, String> {
    let dir = store.join("commitlog");
    let mut segments: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| {
            let path = e.ok()?.path();
            Some((path.file_name()?.to_str()?.parse().ok()?, path))
        })
        .collect();
    segments.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut at = segments.first().map_or(0, |(s, _)| *s);
    let first = at;
    for (start, path) in segments {
        if at >= len {
            break;
        }
        if start != at {
            return Err(format!(
                "{}: starts at {start}, expected {at}",
                path.display()
            ));
        }
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let take = usize::try_from((len - at).min(bytes.len() as u64)).unwrap_or(0);
        for b in &bytes[..take] {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        at += bytes.len() as u64;
    }
    if at < len {
        return Err(format!(
            "{}: holds {at} bytes, the node reports {len}",
            dir.display()
        ));
    }
    Ok(format!("{first}..{len}:{hash:016x}"))
}

/// Records each node's replica summary and state for `group`.
pub async fn summarize(
    layout: &Layout,
    group: usize,
    topics: &[&str],
    running: &BTreeMap<NodeId, Option<String>>,
    rec: &Recorder,
) {
    let tables = converge(layout, group, Duration::from_secs(1)).await;
    let leader_applied = tables
        .values()
        .filter_map(|t| probe::number(t, "raftApplied"))
        .max()
        .unwrap_or(0);
    let admin = Admin::with_timeout(layout.namesrv_list().as_str(), Duration::from_secs(2)).ok();
    for id in layout.nodes().into_iter().filter(|n| n.group == group) {
        let exit = running.get(&id).cloned().flatten();
        let Some(table) = tables.get(&id) else {
            rec.record(NodeStatus {
                broker_group: id.broker_group(),
                node: id.to_string(),
                running: exit.is_none(),
                caught_up: false,
                reason: Some(exit.unwrap_or_else(|| "runs but does not answer".to_owned())),
            });
            continue;
        };
        let applied = probe::number(table, "raftApplied").unwrap_or(0);
        let len = probe::number(table, "commitLogMaxOffset").unwrap_or(0);
        let digest =
            commitlog_digest(&layout.store(id), len).unwrap_or_else(|e| format!("unreadable: {e}"));
        let mut queues = Vec::new();
        if let Some(admin) = &admin {
            for topic in topics {
                let Ok(route) = admin.topic_route(topic).await else {
                    continue;
                };
                let count = route
                    .queue_datas
                    .iter()
                    .find(|q| q.broker_name == id.broker_group())
                    .map_or(0, |q| q.read_queue_nums);
                for queue_id in 0..count {
                    let max = admin
                        .max_offset(&layout.broker_addr(id), topic, queue_id)
                        .await
                        .unwrap_or(-1);
                    queues.push(QueueMax {
                        topic: (*topic).to_owned(),
                        queue_id,
                        max_offset: max,
                    });
                }
            }
        }
        rec.record(ReplicaSummary {
            broker_group: id.broker_group(),
            node: id.to_string(),
            last_applied: applied,
            common_index: len,
            digest,
            queues,
        });
        let caught_up = applied == leader_applied;
        rec.record(NodeStatus {
            broker_group: id.broker_group(),
            node: id.to_string(),
            running: true,
            caught_up,
            reason: (!caught_up)
                .then(|| format!("applied {applied}, the group's highest {leader_applied}")),
        });
    }
}
