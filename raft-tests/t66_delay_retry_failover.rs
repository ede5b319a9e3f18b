//! A leader kill in the middle of delays and retries (issue 6), with real processes: a
//! three-node group, delayed messages sent over two seconds and handed-back messages on either
//! side of a kill -9 of the leader (then restarted). Afterwards: every acknowledged delayed
//! message was delivered, none before its delay, and no schedule-queue entry was delivered twice
//! (each delivery names its entry in SCHEDULE_SOURCE); every acknowledged hand-back came back
//! from the retry topic, at most once more than the hand-backs whose answer was lost; and
//! `mqadmin consumerProgress` shows the same offsets after a second leader kill.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dledger_broker::client::Message;

use crate::checker::{applied_all, wait_new_master};
use crate::cluster::Cluster;
use crate::t60_mqadmin::{mqadmin_until, rows};
use crate::t65_delay_retry::{LEVELS, consumer, producer, receive};

/// Delayed messages sent, one every [`SEND_GAP`].
const DELAYED: usize = 40;
const SEND_GAP: Duration = Duration::from_millis(50);
/// Messages handed back, half before the kill and half after.
const HANDED_BACK: usize = 20;
const DELAY: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_kill_amid_delays_and_retries_loses_nothing_and_repeats_no_delivery() {
    let mut cluster = Cluster::start_with(1, 3, LEVELS);
    cluster.create_topic("T66Delay", 2).await;
    cluster.create_topic("T66Retry", 2).await;

    // Messages to hand back, consumed once before anything is killed.
    let plain = producer(&cluster, "T66P");
    for i in 0..HANDED_BACK {
        plain
            .send(Message::new("T66Retry", format!("r{i}")).with_key(format!("r{i}")))
            .await
            .unwrap();
    }
    plain.shutdown().await;
    let mut first = consumer(&cluster, "T66G", "T66Retry").await;
    let to_hand_back = receive(&mut first, HANDED_BACK, Duration::from_secs(15)).await;
    assert_eq!(to_hand_back.len(), HANDED_BACK);

    // Delayed messages, sent steadily from another task while the leader dies.
    let delayed = producer(&cluster, "T66DP");
    let sender = tokio::spawn(async move {
        let mut acked: BTreeSet<String> = BTreeSet::new();
        let mut unknown = 0;
        for i in 0..DELAYED {
            let mut m = Message::new("T66Delay", format!("d{i}")).with_key(format!("d{i}"));
            m.delay_level = Some(2);
            match delayed.send(m).await {
                Ok(r) => {
                    acked.insert(r.msg_id);
                }
                Err(_) => unknown += 1,
            }
            tokio::time::sleep(SEND_GAP).await;
        }
        delayed.shutdown().await;
        (acked, unknown)
    });

    // Half the hand-backs, then kill the leader while the first delays come due.
    let mut handed: BTreeMap<String, u32> = BTreeMap::new();
    for (_, m) in &to_hand_back[..HANDED_BACK / 2] {
        first.send_back(m, 0, Some(3)).await.unwrap();
        handed.insert(m.msg_id().to_string(), 1);
    }
    tokio::time::sleep(DELAY + Duration::from_millis(300)).await;
    let old = cluster.wait_master(Duration::from_secs(5)).await;
    cluster.kill_broker(old);
    let new = wait_new_master(&cluster, old, Duration::from_secs(10)).await;
    println!("killed leader {old}; node {new} took over");

    // The other half after the kill: a hand-back whose answer is lost is tried again, and
    // each try may have been stored.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (_, m) in &to_hand_back[HANDED_BACK / 2..] {
        let tries = handed.entry(m.msg_id().to_string()).or_insert(0);
        loop {
            *tries += 1;
            match first.send_back(m, 0, Some(3)).await {
                Ok(()) => break,
                Err(e) => {
                    assert!(Instant::now() < deadline, "hand-back kept failing: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    first.shutdown().await;
    cluster.start_broker(old);
    let (acked, unknown_sends) = sender.await.unwrap();

    // Every acknowledged delayed message arrives once per schedule entry, never early.
    let mut reader = consumer(&cluster, "T66DelayC", "T66Delay").await;
    let got = receive(
        &mut reader,
        acked.len() + unknown_sends,
        Duration::from_secs(30),
    )
    .await;
    let extra = receive(&mut reader, 1, Duration::from_secs(2)).await;
    reader.shutdown().await;
    let mut per_entry: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, m) in got.iter().chain(&extra) {
        let source = m
            .property("SCHEDULE_SOURCE")
            .expect("a delivered delayed message names its schedule entry")
            .to_string();
        *per_entry.entry(source).or_default() += 1;
        *per_id.entry(m.msg_id()).or_default() += 1;
        let born = m.stored.born_timestamp;
        assert!(
            m.stored.store_timestamp >= born + DELAY.as_millis() as i64,
            "{} delivered {} ms after it was born: early",
            m.msg_id(),
            m.stored.store_timestamp - born
        );
    }
    let repeated: Vec<_> = per_entry.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "schedule entries delivered twice: {repeated:?}"
    );
    for id in &acked {
        assert!(
            per_id.contains_key(id.as_str()),
            "acknowledged delayed message {id} lost"
        );
    }
    let producer_retries = per_id.values().filter(|n| **n > 1).count();
    println!(
        "delayed: {} acknowledged, {unknown_sends} unknown, {} delivered, {} delivered twice \
         (separate schedule entries: the producer retried a send whose answer was lost)",
        acked.len(),
        got.len() + extra.len(),
        producer_retries
    );

    // Every hand-back comes back from the retry topic; extra copies only from lost answers.
    let mut retries = consumer(&cluster, "T66G", "%RETRY%T66G").await;
    let came = receive(&mut retries, HANDED_BACK, Duration::from_secs(30)).await;
    let extra = receive(&mut retries, 1, Duration::from_secs(2)).await;
    retries.shutdown().await;
    let mut per_origin: BTreeMap<String, u32> = BTreeMap::new();
    for (_, m) in came.iter().chain(&extra) {
        assert_eq!(m.topic(), "T66Retry");
        assert_eq!(m.stored.reconsume_times, 1);
        *per_origin.entry(m.msg_id().to_string()).or_default() += 1;
    }
    for (id, tries) in &handed {
        let n = per_origin.get(id).copied().unwrap_or(0);
        assert!(n >= 1, "hand-back of {id} lost");
        assert!(
            n <= *tries,
            "{id} came back {n} times for {tries} hand-backs"
        );
    }
    assert_eq!(
        per_origin.len(),
        HANDED_BACK,
        "nothing came back that was not handed back"
    );

    // The replicas converge.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let all = applied_all(&cluster).await;
        if all[0].is_some() && all.iter().all(|a| *a == all[0]) {
            break;
        }
        assert!(Instant::now() < deadline, "applied indexes differ: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // consumerProgress reads the replicated offsets: the same rows whichever node is master.
    let ns = cluster.namesrv_addr();
    let args = ["consumerProgress", "-g", "T66DelayC", "-t", "T66Delay"];
    let settled = |out: &str| {
        let rows = rows(out);
        !rows.is_empty() && rows.iter().filter(|r| r.len() >= 6).all(|r| r[3] == r[4])
    };
    let before = mqadmin_until(&ns, &args, Duration::from_secs(20), settled);
    let master = cluster.wait_master(Duration::from_secs(5)).await;
    cluster.kill_broker(master);
    let after_master = wait_new_master(&cluster, master, Duration::from_secs(10)).await;
    let after = mqadmin_until(&ns, &args, Duration::from_secs(20), settled);
    let queue_rows = |out: &str| -> Vec<Vec<String>> {
        rows(out)
            .into_iter()
            .filter(|r| r.len() >= 6)
            .map(|r| r[..6].iter().map(|c| (*c).to_owned()).collect())
            .collect()
    };
    assert_eq!(
        queue_rows(&before),
        queue_rows(&after),
        "consumerProgress differs after node {after_master} took over from {master}:\n{before}\n{after}"
    );
}
