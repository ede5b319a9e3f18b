//! A rolling restart under load (issue 5, graceful shutdown): a steady producer through the
//! project's client while each node of a three-node group in turn gets SIGTERM, exits cleanly,
//! restarts and catches up — the followers first, the master last, as an operator would. No
//! send may fail: a stopping master hands leadership to a caught-up follower and finishes the
//! requests in hand before it goes. The shared checker then reads everything back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checker::{
    Outcome, acked_count, check, spawn_producer, wait_ack_after, wait_caught_up, wait_slave,
};
use crate::cluster::Cluster;

const TOPIC: &str = "T56";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_a_steady_producer_fails_no_send() {
    let test_start = Instant::now();
    let mut cluster = Cluster::start(2, 3);
    cluster.create_topic(TOPIC, 4).await;

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let producer = spawn_producer(cluster.namesrv_addr(), TOPIC, stop.clone(), log.clone());
    wait_ack_after(&log, test_start, None, Duration::from_secs(10)).await;

    let master = cluster.wait_master(Duration::from_secs(10)).await;
    let mut order: Vec<u64> = cluster
        .ports
        .keys()
        .copied()
        .filter(|id| *id != master)
        .collect();
    order.push(master);
    for id in order {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stopping = Instant::now();
        tokio::task::block_in_place(|| cluster.stop_broker(id, Duration::from_secs(15)));
        let stopped = stopping.elapsed();
        let now_master = cluster.wait_master(Duration::from_secs(10)).await;
        assert_ne!(now_master, id, "node {id} is gone but still named master");
        let restarted = Instant::now();
        tokio::task::block_in_place(|| cluster.start_broker(id));
        wait_slave(&cluster, id, Duration::from_secs(15)).await;
        let applied = wait_caught_up(&cluster, now_master, Duration::from_secs(15)).await;
        let ack = wait_ack_after(&log, restarted, None, Duration::from_secs(10)).await;
        println!(
            "node {id}{}: exited {stopped:?} after SIGTERM; master now node {now_master}; back \
             as a caught-up slave (applied >= {applied}) {:?} after restart, sends acked after \
             it {:?} later; acked so far {}",
            if id == master { " (master)" } else { "" },
            restarted.elapsed(),
            ack.duration_since(restarted),
            acked_count(&log)
        );
    }

    stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(15), producer)
        .await
        .expect("the producer did not stop")
        .unwrap();
    let attempts = log.lock().unwrap().clone();
    let failed: Vec<_> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Unknown(e) => Some((a.seq, e.clone())),
            Outcome::Ok { .. } => None,
        })
        .collect();
    let report = check(&cluster, TOPIC, &attempts).await;
    println!(
        "rolling restart: {report}; total {:?}",
        test_start.elapsed()
    );
    assert!(
        failed.is_empty(),
        "sends failed during the rolling restart: {failed:?}"
    );
}
