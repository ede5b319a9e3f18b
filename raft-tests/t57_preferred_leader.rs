//! `preferredLeaderId` with real processes: a three-node group whose config prefers node 3
//! hands leadership to it once it has caught up, again after it was killed (kill -9) and
//! restarted, and nothing acknowledged on the way is lost.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use dledger_broker::client::Message;

use crate::checker::wait_new_master;
use crate::cluster::Cluster;
use crate::t65_delay_retry::{consumer, producer, receive};

const PREFERRED: u64 = 3;

/// Waits until every nameserver names `id` master.
async fn wait_master_is(cluster: &Cluster, id: u64, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let master = cluster.wait_master(within).await;
        if master == id {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "node {id} did not become master within {within:?} (master: {master})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_goes_back_to_the_preferred_member_once_it_has_caught_up() {
    let mut cluster = Cluster::start_with(1, 3, "preferredLeaderId=n3\n");
    let took = wait_master_is(&cluster, PREFERRED, Duration::from_secs(30)).await;
    println!("node {PREFERRED} leads {took:?} after start");
    cluster.create_topic("T57", 2).await;

    let producer = producer(&cluster, "T57P");
    let mut acked = BTreeSet::new();
    let send = async |round: &str, n: usize, acked: &mut BTreeSet<String>| {
        for i in 0..n {
            let m = Message::new("T57", format!("{round}-{i}"));
            acked.insert(producer.send(m).await.unwrap().msg_id);
        }
    };
    send("before", 20, &mut acked).await;

    cluster.kill_broker(PREFERRED);
    let interim = wait_new_master(&cluster, PREFERRED, Duration::from_secs(10)).await;
    send("interim", 20, &mut acked).await;
    cluster.start_broker(PREFERRED);
    let took = wait_master_is(&cluster, PREFERRED, Duration::from_secs(30)).await;
    println!(
        "node {interim} led meanwhile; node {PREFERRED} leads again {took:?} after its restart"
    );
    send("after", 20, &mut acked).await;
    producer.shutdown().await;

    let mut reader = consumer(&cluster, "T57C", "T57").await;
    let got = receive(&mut reader, acked.len(), Duration::from_secs(20)).await;
    reader.shutdown().await;
    let read: BTreeSet<String> = got.iter().map(|(_, m)| m.msg_id().to_string()).collect();
    let lost: Vec<_> = acked.difference(&read).collect();
    assert!(lost.is_empty(), "acknowledged messages lost: {lost:?}");
}
