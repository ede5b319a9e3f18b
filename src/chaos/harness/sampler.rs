//! The observers: every 200 ms each nameserver's entry for each group (recorded when it
//! changes), and every 300 ms each node's Raft role and term (recorded when they change).
//! A server that does not answer is simply not sampled that round.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chaos::history::{Role, RouteSample, TermSample};

use super::nodes::{Layout, broker_group};
use super::probe;
use super::recorder::Recorder;

/// Starts both samplers; they run until `stop` turns true.
pub fn start(
    layout: &Layout,
    rec: &Arc<Recorder>,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(routes(layout.clone(), rec.clone(), stop.clone())),
        tokio::spawn(terms(layout.clone(), rec.clone(), stop.clone())),
    ]
}

async fn routes(layout: Layout, rec: Arc<Recorder>, stop: watch::Receiver<bool>) {
    let mut last: BTreeMap<(String, String), Vec<(u64, String)>> = BTreeMap::new();
    while !*stop.borrow() {
        for ns in layout.namesrvs() {
            let Some(mut groups) = probe::groups(&ns).await else {
                continue;
            };
            for g in 1..=layout.groups() {
                let name = broker_group(g);
                let brokers = groups.remove(&name).unwrap_or_default();
                if last.get(&(ns.clone(), name.clone())) != Some(&brokers) {
                    last.insert((ns.clone(), name.clone()), brokers.clone());
                    rec.record(RouteSample {
                        time_ms: rec.now_ms(),
                        namesrv: ns.clone(),
                        broker_group: name,
                        brokers,
                    });
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn role(text: &str) -> Option<Role> {
    match text {
        "Leader" => Some(Role::Leader),
        "Follower" => Some(Role::Follower),
        "Candidate" => Some(Role::Candidate),
        "Learner" => Some(Role::Learner),
        _ => None,
    }
}

async fn terms(layout: Layout, rec: Arc<Recorder>, stop: watch::Receiver<bool>) {
    let mut last: BTreeMap<String, (u64, Role)> = BTreeMap::new();
    while !*stop.borrow() {
        for id in layout.nodes() {
            let Some(table) = probe::runtime(&layout.broker_addr(id)).await else {
                continue;
            };
            let (Some(term), Some(role)) = (
                probe::number(&table, "raftTerm"),
                table.get("raftRole").and_then(|r| role(r)),
            ) else {
                continue;
            };
            if last.insert(id.to_string(), (term, role)) != Some((term, role)) {
                rec.record(TermSample {
                    time_ms: rec.now_ms(),
                    broker_group: id.broker_group(),
                    node: id.to_string(),
                    term,
                    role,
                });
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
