//! The project's client library against the real binaries: the producer sends through the
//! nameserver's route, the pull consumer reads everything back in per-queue order, commits, and
//! a restarted consumer of the same group resumes after what was committed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dledger_broker::client::{
    Admin, ConsumeFrom, ConsumerConfig, Message, Producer, ProducerConfig, PullConsumer,
};
use dledger_broker::message::TopicConfig;

use crate::cluster::Cluster;

const TOPIC: &str = "T35";

async fn consume(cluster: &Cluster, group: &str, want: usize) -> Vec<(i32, i64, String)> {
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), group, TOPIC);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_secs(1);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < deadline {
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            got.push((
                m.queue_id(),
                m.queue_offset(),
                String::from_utf8_lossy(m.body()).into_owned(),
            ));
        }
    }
    consumer.commit().await.unwrap();
    consumer.shutdown().await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_library_produces_consumes_and_resumes_against_a_three_node_group() {
    let cluster = Cluster::start(1, 3);
    cluster.wait_master(Duration::from_secs(20)).await;
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let topic = TopicConfig {
        topic_name: TOPIC.into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        ..TopicConfig::default()
    };
    let created = admin
        .create_topic_in_cluster("TestCluster", &topic)
        .await
        .unwrap();
    assert_eq!(created.len(), 1, "one master");
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.topic_route(TOPIC).await.is_err() {
        assert!(Instant::now() < deadline, "no route for {TOPIC}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let producer =
        Producer::new(ProducerConfig::new(cluster.namesrv_addr().as_str(), "T35P")).unwrap();
    producer.start().unwrap();
    let mut sent = BTreeMap::new();
    for i in 0..100 {
        let r = producer
            .send(
                Message::new(TOPIC, format!("m{i}"))
                    .with_tags("TagA")
                    .with_key(format!("k{i}")),
            )
            .await
            .unwrap();
        sent.insert((r.queue.queue_id, r.queue_offset), format!("m{i}"));
    }

    let got = consume(&cluster, "T35G", 100).await;
    assert_eq!(got.len(), 100, "consumed {} of 100", got.len());
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for (queue, offset, body) in &got {
        assert_eq!(
            sent.get(&(*queue, *offset)),
            Some(body),
            "queue {queue} offset {offset}"
        );
        if let Some(prev) = last.insert(*queue, *offset) {
            assert!(prev < *offset, "queue {queue} went from {prev} to {offset}");
        }
    }

    for i in 100..110 {
        let sent = producer
            .send(Message::new(TOPIC, format!("m{i}")))
            .await
            .unwrap();
        // The broker names the Raft term of the entry that stored the message.
        assert!(sent.raft_term.is_some_and(|t| t >= 1), "{sent:?}");
    }
    // Committed offsets are replicated every flushIntervalConsumeQueue; the same group resumes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = consume(&cluster, "T35G", 10).await;
    let bodies: Vec<&str> = again.iter().map(|(_, _, b)| b.as_str()).collect();
    assert_eq!(again.len(), 10, "resumed with {bodies:?}");
    assert!(
        bodies.iter().all(|b| b[1..].parse::<u32>().unwrap() >= 100),
        "{bodies:?}"
    );
    producer.shutdown().await;
}
