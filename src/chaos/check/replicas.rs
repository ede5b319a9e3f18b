//! The end state. Replicas: every node of a group digested its committed commitlog at the same
//! index, got the same digest, and has the same max offset for every queue (a queue one node
//! has and another lacks differs too). Nodes: every node is running and caught up; one that is
//! not is a violation that carries the reason the harness recorded (or says none was), and a
//! node with a replica summary but no final status is one too. When a node appears twice, its
//! last record counts.

use std::collections::{BTreeMap, BTreeSet};

use super::{Check, CheckResult};
use crate::chaos::history::{Event, History, NodeStatus, ReplicaSummary};
use crate::chaos::violation::Violation;

fn summaries(history: &History) -> BTreeMap<&str, BTreeMap<&str, &ReplicaSummary>> {
    let mut groups: BTreeMap<&str, BTreeMap<&str, &ReplicaSummary>> = BTreeMap::new();
    for event in &history.events {
        if let Event::Replica(r) = event {
            groups
                .entry(&r.broker_group)
                .or_default()
                .insert(&r.node, r);
        }
    }
    groups
}

pub(super) fn replicas(history: &History) -> CheckResult {
    let mut result = CheckResult::new(Check::Replicas);
    let groups = summaries(history);
    let (mut nodes, mut queues) = (0, 0);
    for (group, replicas) in &groups {
        nodes += replicas.len();
        let indexes: BTreeSet<u64> = replicas.values().map(|r| r.common_index).collect();
        let digests: BTreeSet<&str> = replicas.values().map(|r| r.digest.as_str()).collect();
        if indexes.len() > 1 {
            result.violations.push(Violation::ReplicaIndexDiffers {
                broker_group: (*group).to_owned(),
                indexes: replicas
                    .iter()
                    .map(|(n, r)| ((*n).to_owned(), r.common_index))
                    .collect(),
            });
        } else if digests.len() > 1 {
            result.violations.push(Violation::ReplicaDigestDiffers {
                broker_group: (*group).to_owned(),
                index: indexes.first().copied().unwrap_or_default(),
                digests: replicas
                    .iter()
                    .map(|(n, r)| ((*n).to_owned(), r.digest.clone()))
                    .collect(),
            });
        }
        // (topic, queue) -> node -> max offset
        let mut maxes: BTreeMap<(&str, i32), BTreeMap<&str, i64>> = BTreeMap::new();
        for (node, r) in replicas {
            for q in &r.queues {
                maxes
                    .entry((&q.topic, q.queue_id))
                    .or_default()
                    .insert(node, q.max_offset);
            }
        }
        queues += maxes.len();
        for ((topic, queue_id), per_node) in &maxes {
            let values: BTreeSet<Option<i64>> =
                replicas.keys().map(|n| per_node.get(n).copied()).collect();
            if values.len() > 1 {
                result.violations.push(Violation::ReplicaQueueDiffers {
                    broker_group: (*group).to_owned(),
                    topic: (*topic).to_owned(),
                    queue_id: *queue_id,
                    offsets: replicas
                        .keys()
                        .map(|n| ((*n).to_owned(), per_node.get(n).copied()))
                        .collect(),
                });
            }
        }
    }
    result.count("groups", groups.len());
    result.count("replicas compared", nodes);
    result.count("queues compared", queues);
    result
}

pub(super) fn nodes(history: &History) -> CheckResult {
    let mut result = CheckResult::new(Check::Nodes);
    let mut status: BTreeMap<(&str, &str), &NodeStatus> = BTreeMap::new();
    for event in &history.events {
        if let Event::Node(n) = event {
            status.insert((&n.broker_group, &n.node), n);
        }
    }
    let mut healthy = 0;
    for n in status.values() {
        if n.running && n.caught_up {
            healthy += 1;
        } else {
            result.violations.push(Violation::NodeDown {
                broker_group: n.broker_group.clone(),
                node: n.node.clone(),
                running: n.running,
                caught_up: n.caught_up,
                reason: n.reason.clone(),
            });
        }
    }
    for (group, replicas) in summaries(history) {
        for node in replicas.keys() {
            if !status.contains_key(&(group, node)) {
                result.violations.push(Violation::NodeStatusMissing {
                    broker_group: group.to_owned(),
                    node: (*node).to_owned(),
                });
            }
        }
    }
    result.count("nodes", status.len());
    result.count("running and caught up", healthy);
    result
}
