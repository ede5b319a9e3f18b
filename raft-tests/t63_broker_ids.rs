//! Broker ids as Java's DLedger mode gives them: a group numbered `n0..n2` (RocketMQ's own
//! sample configs) lists three distinct brokerIds in `mqadmin clusterList`, the leader as 0
//! and each follower as its node number + 1.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::t60_mqadmin::{mqadmin_until, rows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_numbered_from_n0_lists_three_distinct_ids_and_one_master() {
    let cluster = Cluster::start_ids(1, 0..=2, "", Vec::new());
    let master = cluster.wait_master(Duration::from_secs(30)).await;
    let ns = cluster.namesrv_addr();

    let out = mqadmin_until(&ns, &["clusterList"], Duration::from_secs(30), |out| {
        rows(out).len() == 3
    });
    let table = rows(&out);
    let ids: BTreeSet<&str> = table.iter().map(|r| r[2]).collect();
    assert_eq!(ids.len(), 3, "three distinct BIDs:\n{out}");
    assert_eq!(
        table.iter().filter(|r| r[2] == "0").count(),
        1,
        "one master:\n{out}"
    );
    for row in &table {
        let addr = row[3];
        let node = (0..=2)
            .find(|&n| cluster.broker_addr(n).to_string() == addr)
            .unwrap_or_else(|| panic!("{addr} is no node of the group:\n{out}"));
        let expected = if node == master { 0 } else { node + 1 };
        assert_eq!(row[2], expected.to_string(), "node n{node}:\n{out}");
    }
}
