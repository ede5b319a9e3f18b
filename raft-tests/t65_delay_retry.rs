//! Delay levels, consumer retries and dead letters with the project's client, against real
//! processes (issue 6): a delayed message arrives no sooner than its level and within 1 s
//! after; a message handed back comes again from `%RETRY%<group>` with its first topic and id,
//! one more reconsume each time, and after the maximum it lands in the write-only
//! `%DLQ%<group>`. With a three-node group, a leader kill in the middle of delays and retries
//! loses nothing, delivers nothing early and delivers no delayed message twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use dledger_broker::client::{
    ConsumeFrom, ConsumerConfig, Message, MessageExt, Producer, ProducerConfig, PullConsumer,
};
use dledger_broker::remoting::header::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;

/// Level 1 = 1 s, level 2 = 2 s, level 3 (the first retry) = 1 s, the rest 1 s.
pub(crate) const LEVELS: &str =
    "messageDelayLevel=1s 2s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\n";

/// Slack for scheduling on a loaded 2-core machine, on top of the 1 s the issue allows.
const LATE_SLACK: Duration = Duration::from_millis(500);

pub(crate) fn producer(cluster: &Cluster, group: &str) -> Producer {
    let mut config = ProducerConfig::new(cluster.namesrv_addr().as_str(), group);
    config.retries = 2;
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    producer
}

pub(crate) async fn consumer(cluster: &Cluster, group: &str, topic: &str) -> PullConsumer {
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), group, topic);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_millis(500);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    consumer
}

/// Polls until `want` messages came or `within` passed; each with the instant it arrived.
pub(crate) async fn receive(
    consumer: &mut PullConsumer,
    want: usize,
    within: Duration,
) -> Vec<(Instant, MessageExt)> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        for m in consumer.poll(Duration::from_millis(200)).await.unwrap() {
            got.push((Instant::now(), m));
        }
    }
    got
}

async fn max_offset(cluster: &Cluster, node: u64, topic: &str) -> i64 {
    let client = RemotingClient::new(
        cluster.broker_addr(node).to_string(),
        ClientConfig::default(),
    );
    let header = GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id: 0,
    };
    let req = RemotingCommand::request(
        RequestCode::GetMaxOffset,
        Default::default(),
        Default::default(),
    )
    .with_header(&header);
    let resp = client.invoke(req, Duration::from_secs(5)).await.unwrap();
    client.close().await;
    assert_eq!(
        resp.response_code(),
        ResponseCode::Success,
        "{:?}",
        resp.remark
    );
    resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_message_arrives_no_sooner_than_its_level_and_within_a_second_after() {
    let cluster = Cluster::start_with(1, 1, LEVELS);
    cluster.create_topic("T65Delay", 2).await;
    let producer = producer(&cluster, "T65DelayP");
    let mut reader = consumer(&cluster, "T65DelayC", "T65Delay").await;

    let mut sent: BTreeMap<String, (Instant, Instant)> = BTreeMap::new();
    for i in 0..10 {
        let mut message =
            Message::new("T65Delay", format!("delayed-{i}")).with_key(format!("d{i}"));
        message.delay_level = Some(2);
        let start = Instant::now();
        let result = producer.send(message).await.unwrap();
        sent.insert(result.msg_id, (start, Instant::now()));
    }
    // An undelayed message is not held back behind them.
    producer
        .send(Message::new("T65Delay", "now").with_key("now"))
        .await
        .unwrap();

    let got = receive(&mut reader, 11, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 11, "every message arrives");
    let first = &got[0].1;
    assert_eq!(first.body(), b"now", "the undelayed one comes first");
    let delay = Duration::from_secs(2);
    for (arrived, m) in &got[1..] {
        let (start, acked) = sent[m.msg_id()];
        assert!(
            *arrived >= start + delay,
            "{} arrived {:?} after its send began: early",
            m.msg_id(),
            *arrived - start
        );
        assert!(
            *arrived <= acked + delay + Duration::from_secs(1) + LATE_SLACK,
            "{} arrived {:?} after its ack: more than 1 s late",
            m.msg_id(),
            *arrived - acked
        );
        assert_eq!(m.topic(), "T65Delay");
        assert!(
            m.property("DELAY").is_none(),
            "DELAY is removed on delivery"
        );
    }
    let ids: BTreeSet<&str> = got[1..].iter().map(|(_, m)| m.msg_id()).collect();
    assert_eq!(ids.len(), 10, "each delayed message exactly once");
    reader.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handed_back_messages_are_retried_then_dead_lettered() {
    let cluster = Cluster::start_with(1, 1, LEVELS);
    cluster.create_topic("T65Retry", 2).await;
    let producer = producer(&cluster, "T65RetryP");
    let mut ids = BTreeSet::new();
    for i in 0..4 {
        let r = producer
            .send(Message::new("T65Retry", format!("retry-{i}")).with_key(format!("r{i}")))
            .await
            .unwrap();
        ids.insert(r.msg_id);
    }
    producer.shutdown().await;

    // First delivery: hand every message back (at most 2 re-consumes).
    let mut first = consumer(&cluster, "T65RetryG", "T65Retry").await;
    let got = receive(&mut first, 4, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 4);
    let mut handed_back = Instant::now();
    for (_, m) in &got {
        assert_eq!(m.stored.reconsume_times, 0);
        first.send_back(m, 0, Some(2)).await.unwrap();
    }
    first.shutdown().await;

    // Two retries come from %RETRY%T65RetryG, each after level 3 + reconsumeTimes (1 s here).
    let mut retries = consumer(&cluster, "T65RetryG", "%RETRY%T65RetryG").await;
    for round in 1..=2 {
        let got = receive(&mut retries, 4, Duration::from_secs(10)).await;
        assert_eq!(got.len(), 4, "retry round {round}");
        for (arrived, m) in &got {
            assert!(
                *arrived >= handed_back + Duration::from_secs(1),
                "retry round {round} came early"
            );
            assert_eq!(m.topic(), "T65Retry", "the first topic is given back");
            assert!(ids.contains(m.msg_id()), "the first id is kept");
            assert_eq!(m.stored.reconsume_times, round);
            assert_eq!(m.property("RETRY_TOPIC"), Some("T65Retry"));
        }
        handed_back = Instant::now();
        for (_, m) in &got {
            retries.send_back(m, 0, Some(2)).await.unwrap();
        }
    }
    // The maximum is reached: nothing more comes; all four are in the dead-letter queue.
    let late = receive(&mut retries, 1, Duration::from_secs(3)).await;
    assert!(late.is_empty(), "retried past the maximum: {late:?}");
    retries.shutdown().await;
    assert_eq!(max_offset(&cluster, 1, "%DLQ%T65RetryG").await, 4);

    // The dead-letter topic is write-only: consumers cannot pull it.
    let mut dlq = consumer(&cluster, "T65RetryDlq", "%DLQ%T65RetryG").await;
    let nothing = receive(&mut dlq, 1, Duration::from_secs(2)).await;
    assert!(nothing.is_empty(), "a dead letter was consumable");
    dlq.shutdown().await;
}
