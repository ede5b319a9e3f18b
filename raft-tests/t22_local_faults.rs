//! Faults local to one node, with real processes: a follower that cannot place a committed
//! message (its consume-queue directory cannot be created) must not skip it. Its apply fails,
//! its raft core stops, and the process exits non-zero saying why, so a supervisor restarts
//! it; the other two keep acknowledging; once the cause is gone a restart brings it back with
//! every message at the same queue offsets.

use std::fs;
use std::time::Duration;

use dledger_broker::client::{Admin, Message, Producer, ProducerConfig};

use crate::cluster::Cluster;

const TOPIC: &str = "T22";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_cannot_apply_stops_and_rejoins_whole_after_a_restart() {
    let mut cluster = Cluster::start(1, 3);
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    cluster.create_topic(TOPIC, 1).await;
    let follower = (1..=3).find(|&id| id != master).unwrap();
    let queues = cluster
        .dir
        .path()
        .join(format!("node{follower}"))
        .join("consumequeue");
    fs::create_dir_all(&queues).unwrap();
    let blocker = queues.join(TOPIC);
    fs::write(&blocker, b"a file where the topic's directory goes").unwrap();

    let mut config = ProducerConfig::new(cluster.namesrv_addr().as_str(), "T22P");
    config.send_timeout = Duration::from_secs(5);
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    for i in 0..20 {
        producer
            .send(Message::new(TOPIC, format!("m{i}")))
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }

    let mut stopped = cluster
        .brokers
        .get_mut(&follower)
        .and_then(Option::take)
        .unwrap();
    let status = stopped.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(!status.success(), "{status:?}");
    let stderr = stopped.stderr();
    assert!(stderr.contains("raft core stopped"), "{stderr}");
    drop(stopped);

    // The other two go on.
    for i in 20..30 {
        producer
            .send(Message::new(TOPIC, format!("m{i}")))
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}"));
    }
    producer.shutdown().await;

    fs::remove_file(&blocker).unwrap();
    cluster.start_broker(follower);
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let addr = cluster.broker_addr(follower).to_string();
    let master_addr = cluster.broker_addr(master).to_string();
    assert_eq!(admin.max_offset(&master_addr, TOPIC, 0).await.unwrap(), 30);
    let mut caught_up = false;
    for _ in 0..100 {
        if admin.max_offset(&addr, TOPIC, 0).await.ok() == Some(30) {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(caught_up, "the restarted follower has every message");
    assert_eq!(admin.min_offset(&addr, TOPIC, 0).await.unwrap(), 0);
}
