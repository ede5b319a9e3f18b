//! Failover drills (issue 5): two nameservers, a three-node group, a steady producer through
//! the project's client, and five times: kill -9 the master, time until both nameservers name a
//! new one (< 2 s), time until the next acknowledged send, restart the killed node and wait
//! until it is registered as a slave and has caught up. Then the shared checker
//! ([`crate::checker::check`]) reads everything back and asserts nothing acknowledged was lost
//! and every replica holds the same committed bytes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dledger_broker::client::Admin;
use dledger_broker::message::TopicConfig;

use crate::checker::{
    acked_count, check, spawn_producer, wait_ack_after, wait_caught_up, wait_new_master, wait_slave,
};
use crate::cluster::Cluster;

const TOPIC: &str = "T55";
const DRILLS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_kill_nine_drills_under_a_steady_producer_lose_nothing_acknowledged() {
    let test_start = Instant::now();
    let mut cluster = Cluster::start(2, 3);
    cluster.wait_master(Duration::from_secs(20)).await;
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let topic = TopicConfig {
        topic_name: TOPIC.into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        ..TopicConfig::default()
    };
    admin
        .create_topic_in_cluster("TestCluster", &topic)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.topic_route(TOPIC).await.is_err() {
        assert!(Instant::now() < deadline, "no route for {TOPIC}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let producer = spawn_producer(cluster.namesrv_addr(), TOPIC, stop.clone(), log.clone());
    wait_ack_after(&log, test_start, None, Duration::from_secs(10)).await;

    let mut timings = Vec::new();
    for drill in 1..=DRILLS {
        let old = cluster.wait_master(Duration::from_secs(10)).await;
        // Let some sends land on this master before it dies.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let old_addr = cluster.broker_addr(old);
        let killed = Instant::now();
        cluster.kill_broker(old);
        let new = wait_new_master(&cluster, old, Duration::from_secs(10)).await;
        let to_master = killed.elapsed();
        let to_ack = wait_ack_after(&log, killed, Some(old_addr), Duration::from_secs(15))
            .await
            .duration_since(killed);
        let restarted = Instant::now();
        tokio::task::block_in_place(|| cluster.start_broker(old));
        wait_slave(&cluster, old, Duration::from_secs(15)).await;
        let applied = wait_caught_up(&cluster, new, Duration::from_secs(15)).await;
        let to_slave = restarted.elapsed();
        println!(
            "drill {drill}: killed node {old}, node {new} master in both nameservers after \
             {to_master:?}; first acked send after {to_ack:?}; node {old} back as a caught-up \
             slave (applied >= {applied}) {to_slave:?} after restart; acked so far {}",
            acked_count(&log)
        );
        timings.push((to_master, to_ack, to_slave));
        assert!(
            to_master < Duration::from_secs(2),
            "drill {drill}: new master after {to_master:?}"
        );
    }

    stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(15), producer)
        .await
        .expect("the producer did not stop")
        .unwrap();
    let attempts = log.lock().unwrap().clone();
    let report = check(&cluster, TOPIC, &attempts).await;
    let sorted = |mut v: Vec<Duration>| {
        v.sort();
        (v[v.len() / 2], v[v.len() - 1])
    };
    let (m_med, m_max) = sorted(timings.iter().map(|t| t.0).collect());
    let (a_med, a_max) = sorted(timings.iter().map(|t| t.1).collect());
    println!(
        "summary: {DRILLS} drills; new master median {m_med:?} max {m_max:?}; first acked send \
         median {a_med:?} max {a_max:?}; {report}; total {:?}",
        test_start.elapsed()
    );
}
