//! Seeded random runs of registrations, unregistrations, expiry, connection closes and topic
//! commands, checked after every step against a small model: never two masters or two places for
//! one address, every listed address alive, every listed topic routable, no panic.
//! Rerun a failure with `NAMESRV_MODEL_SEED=<seed>`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{addrs, register, table};
use crate::message::body::{JsonBody, TopicRouteData};
use crate::namesrv::{ConnectionId, RouteTable};

const GROUPS: [&str; 2] = ["RaftNode00", "RaftNode01"];
const NODES: u64 = 3;
const TIMEOUT_MS: u64 = 120_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Master,
    Slave(u64),
    /// Claimed id 0, then another address did: alive but listed nowhere.
    Displaced,
}

#[derive(Debug, Clone)]
struct Live {
    last_ms: u64,
    conn: u64,
    version: i64,
    role: Role,
}

/// What the table should hold, per address of node `n` (1..=3) of group `g`.
#[derive(Debug, Default)]
struct Model {
    live: BTreeMap<String, Live>,
    master: BTreeMap<usize, String>,
}

fn addr(g: usize, n: u64) -> String {
    format!("10.0.{g}.{n}:10911")
}

/// The group of an address made by [`addr`]: its third octet.
fn group_of(address: &str) -> usize {
    address.split('.').nth(2).unwrap().parse().unwrap()
}

impl Model {
    fn remove(&mut self, address: &str) {
        self.live.remove(address);
        let g = group_of(address);
        if self.master.get(&g).is_some_and(|m| m == address) {
            self.master.remove(&g);
        }
    }

    fn expected_addrs(&self, g: usize) -> Vec<(u64, String)> {
        let mut out: Vec<(u64, String)> = self
            .master
            .get(&g)
            .map(|m| (0, m.clone()))
            .into_iter()
            .collect();
        for (a, live) in &self.live {
            if let (true, Role::Slave(n)) = (group_of(a) == g, live.role) {
                out.push((n, a.clone()));
            }
        }
        out.sort();
        out
    }
}

/// One random step applied to both the table and the model.
fn step(
    rng: &mut StdRng,
    rt: &mut RouteTable,
    model: &mut Model,
    now: &mut u64,
    conns: &mut [u64],
    next_conn: &mut u64,
) -> String {
    *now += rng.random_range(0..40_000);
    let g = rng.random_range(0..GROUPS.len());
    let n = rng.random_range(1..=NODES);
    let node = (g * NODES as usize) + n as usize - 1;
    let a = addr(g, n);
    match rng.random_range(0..100) {
        0..=49 => {
            if rng.random_bool(0.1) {
                *next_conn += 1;
                conns[node] = *next_conn;
            }
            let leader = rng.random_bool(0.35);
            let version = rng.random_range(1..=2);
            let topics = table(version, &[("T", 6, 4), (GROUPS[g], 1, 1), ("TBW102", 7, 8)]);
            rt.register_broker(register(
                GROUPS[g],
                &a,
                if leader { 0 } else { n },
                conns[node],
                *now,
                topics,
            ));
            let role = if leader {
                if let Some(old) = model.master.insert(g, a.clone()).filter(|old| *old != a)
                    && let Some(l) = model.live.get_mut(&old)
                {
                    l.role = Role::Displaced;
                }
                Role::Master
            } else {
                if model.master.get(&g) == Some(&a) {
                    model.master.remove(&g);
                }
                Role::Slave(n)
            };
            model.live.insert(
                a.clone(),
                Live {
                    last_ms: *now,
                    conn: conns[node],
                    version,
                    role,
                },
            );
            format!(
                "register {a} leader={leader} conn={} v{version}",
                conns[node]
            )
        }
        50..=59 => {
            rt.unregister_broker(&a);
            model.remove(&a);
            format!("unregister {a}")
        }
        60..=74 => {
            let removed = rt.expire(*now, TIMEOUT_MS);
            let due: Vec<String> = model
                .live
                .iter()
                .filter(|(_, l)| *now - l.last_ms > TIMEOUT_MS)
                .map(|(a, _)| a.clone())
                .collect();
            due.iter().for_each(|a| model.remove(a));
            assert_eq!(removed, due, "expired at {now}");
            format!("expire at {now}")
        }
        75..=84 => {
            let conn = rng.random_range(0..=*next_conn);
            let closed = rt.connection_closed(ConnectionId(conn));
            let due: Vec<String> = model
                .live
                .iter()
                .filter(|(_, l)| l.conn == conn)
                .map(|(a, _)| a.clone())
                .collect();
            due.iter().for_each(|a| model.remove(a));
            assert_eq!(closed, due, "closed connection {conn}");
            format!("close connection {conn}")
        }
        85..=91 => {
            let version = table(rng.random_range(1..=2), &[]).data_version;
            let answer = rt.query_data_version(&a, &version, *now);
            let stored = model.live.get_mut(&a);
            assert_eq!(
                answer.changed,
                stored.as_ref().is_none_or(|l| l.version != version.counter)
            );
            if let Some(l) = stored.filter(|l| l.version == version.counter) {
                l.last_ms = l.last_ms.max(*now);
            }
            format!("query version {a} v{}", version.counter)
        }
        92..=95 => {
            rt.wipe_write_perm(GROUPS[g]);
            rt.add_write_perm(GROUPS[1 - g]);
            format!("wipe {} add {}", GROUPS[g], GROUPS[1 - g])
        }
        _ => {
            let cluster = rng.random_bool(0.5).then_some(super::CLUSTER);
            rt.delete_topic("T", cluster);
            format!("delete T on {cluster:?}")
        }
    }
}

fn check(rt: &RouteTable, model: &Model) {
    let live: Vec<&str> = rt.live_addrs().collect();
    let expected_live: Vec<&str> = model.live.keys().map(String::as_str).collect();
    assert_eq!(live, expected_live, "live addresses");
    let info = rt.cluster_info();
    let mut places = BTreeSet::new();
    for (g, name) in GROUPS.iter().enumerate() {
        assert_eq!(
            addrs(rt, name),
            model.expected_addrs(g),
            "brokerAddrs of {name}"
        );
    }
    for (name, group) in &info.broker_addr_table {
        assert!(!group.broker_addrs.is_empty(), "{name} listed empty");
        assert!(
            info.cluster_addr_table[&group.cluster].contains(name),
            "{name} not in its cluster"
        );
        for a in group.broker_addrs.values() {
            assert!(places.insert(a.clone()), "{a} listed twice");
            assert!(model.live.contains_key(a), "{a} listed but not alive");
        }
    }
    for names in info.cluster_addr_table.values() {
        assert!(
            names.iter().all(|n| info.broker_addr_table.contains_key(n)),
            "cluster lists a missing group"
        );
    }
    for topic in rt.all_topics().topic_list {
        let route = rt
            .route_for_topic(&topic)
            .unwrap_or_else(|| panic!("{topic} listed without a route"));
        let names: BTreeSet<&str> = route
            .broker_datas
            .iter()
            .map(|b| b.broker_name.as_str())
            .collect();
        assert_eq!(
            names.len(),
            route.broker_datas.len(),
            "{topic}: a group listed twice"
        );
        for b in &route.broker_datas {
            let g = GROUPS.iter().position(|n| *n == b.broker_name).unwrap();
            assert_eq!(
                b.master_addr(),
                model.master.get(&g).map(String::as_str),
                "{topic}: master of {}",
                b.broker_name
            );
        }
        assert_eq!(TopicRouteData::decode(&route.encode()).unwrap(), route);
    }
}

#[test]
fn random_operations_never_leave_two_masters_or_a_dead_address_listed() {
    let seed = std::env::var("NAMESRV_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("NAMESRV_MODEL_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut masters_seen = 0;
    for run in 0..30 {
        let mut rt = RouteTable::new();
        let mut model = Model::default();
        let (mut now, mut next_conn) = (0, GROUPS.len() as u64 * NODES);
        let mut conns: Vec<u64> = (1..=next_conn).collect();
        let mut history = Vec::new();
        for _ in 0..300 {
            let what = step(
                &mut rng,
                &mut rt,
                &mut model,
                &mut now,
                &mut conns,
                &mut next_conn,
            );
            history.push(what);
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&rt, &model)));
            if outcome.is_err() {
                let tail = history.len().saturating_sub(12);
                panic!(
                    "seed {seed}, run {run}: invariant broken after:\n{}",
                    history[tail..].join("\n")
                );
            }
            masters_seen += model.master.len();
        }
    }
    assert!(masters_seen > 0, "the run never had a master");
}
