//! The broker-side views: `clusterList` and `raftStatus` rows and tables, `brokerStatus` and
//! `getBrokerConfig` lines.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::message::body::ClusterInfo;

/// One `clusterList` row: one broker address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRow {
    pub cluster: String,
    pub broker_name: String,
    /// 0 = master; others are node numbers.
    pub broker_id: u64,
    pub addr: String,
    /// `brokerVersionDesc` from the runtime info, `-` when the broker did not answer.
    pub version: String,
}

/// One `raftStatus` row, from a broker's runtime info (`-` for what it did not say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RaftRow {
    pub broker_name: String,
    pub addr: String,
    /// `Leader`, `Follower`, `Candidate`, `Learner`, or `UNREACHABLE`.
    pub role: String,
    pub term: String,
    pub leader: String,
    pub last_index: String,
    pub committed: String,
    pub applied: String,
}

impl RaftRow {
    /// The row of a broker whose runtime info is `table`.
    pub fn from_table(broker_name: &str, addr: &str, table: &BTreeMap<String, String>) -> Self {
        let get = |k: &str| table.get(k).cloned().unwrap_or_else(|| "-".into());
        RaftRow {
            broker_name: broker_name.to_owned(),
            addr: addr.to_owned(),
            role: get("raftRole"),
            term: get("raftTerm"),
            leader: get("raftLeader"),
            last_index: get("raftLastLogIndex"),
            committed: get("raftCommitted"),
            applied: get("raftApplied"),
        }
    }

    /// The row of a broker that did not answer.
    pub fn unreachable(broker_name: &str, addr: &str) -> Self {
        let dash = || "-".to_owned();
        RaftRow {
            broker_name: broker_name.to_owned(),
            addr: addr.to_owned(),
            role: "UNREACHABLE".into(),
            term: dash(),
            leader: dash(),
            last_index: dash(),
            committed: dash(),
            applied: dash(),
        }
    }
}

/// `(cluster, broker name, broker id, addr)` of every broker address, sorted, the way
/// `clusterList` walks them.
pub fn cluster_addrs(info: &ClusterInfo) -> Vec<(String, String, u64, String)> {
    let mut out = Vec::new();
    for (cluster, names) in &info.cluster_addr_table {
        for name in names {
            let Some(data) = info.broker_addr_table.get(name) else {
                continue;
            };
            for (id, addr) in &data.broker_addrs {
                out.push((cluster.clone(), name.clone(), *id, addr.clone()));
            }
        }
    }
    out
}

/// `clusterList`'s table (4.9's columns; statistics we do not keep are `-`).
pub fn cluster_table(rows: &[ClusterRow]) -> String {
    let line = |c: &str, b: &str, id: &str, a: &str, v: &str, rest: [&str; 5]| {
        format!(
            "{c:<16}  {b:<22}  {id:<4}  {a:<22} {v:<16} {:>19} {:>19} {:>10} {:>5} {:>6}\n",
            rest[0], rest[1], rest[2], rest[3], rest[4]
        )
    };
    let mut out = line(
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        [
            "#InTPS(LOAD)",
            "#OutTPS(LOAD)",
            "#PCWait(ms)",
            "#Hour",
            "#SPACE",
        ],
    );
    for r in rows {
        out.push_str(&line(
            &r.cluster,
            &r.broker_name,
            &r.broker_id.to_string(),
            &r.addr,
            &r.version,
            ["-", "-", "-", "-", "-"],
        ));
    }
    out
}

/// `raftStatus`'s table.
pub fn raft_table(rows: &[RaftRow]) -> String {
    let line = |c: [&str; 8]| {
        format!(
            "{:<22}  {:<22}  {:<11}  {:>6}  {:>7}  {:>12}  {:>12}  {:>12}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
        )
    };
    let mut out = line([
        "#Broker Name",
        "#Addr",
        "#Role",
        "#Term",
        "#Leader",
        "#LastIndex",
        "#Committed",
        "#Applied",
    ]);
    for r in rows {
        out.push_str(&line([
            &r.broker_name,
            &r.addr,
            &r.role,
            &r.term,
            &r.leader,
            &r.last_index,
            &r.committed,
            &r.applied,
        ]));
    }
    out
}

/// `brokerStatus`: one `%-32s: %s` line per runtime key, sorted by key.
pub fn status_lines(table: &BTreeMap<String, String>) -> String {
    table
        .iter()
        .map(|(k, v)| format!("{k:<32}: {v}\n"))
        .collect()
}

/// `getBrokerConfig`: Java's banner, then one `%-50s=  %s` line per `key=value` line of the
/// properties text (comments and blank lines skipped).
pub fn config_lines(addr: &str, properties: &str) -> String {
    let mut out = format!("============{addr}============\n");
    for line in properties.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => out.push_str(&format!("{:<50}=  {}\n", k.trim(), v.trim())),
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out
}
