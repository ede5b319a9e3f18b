//! Pull consumer: "averagely" allocation, polling in order, offset moved, tag filtering,
//! start offsets, commits, rebalancing on NOTIFY_CONSUMER_IDS_CHANGED, broadcasting.

use std::time::Duration;

use super::bounded;
use super::fake::{FakeBroker, FakeNameServer, Running, route, run};
use crate::client::consumer::config::heartbeat_body;
use crate::client::{
    ConsumeFrom, ConsumerConfig, Message, MessageModel, MessageQueue, Producer, ProducerConfig,
    PullConsumer, Subscription, allocate_averagely,
};
use crate::message::body::heartbeat::parse_heartbeat;
use crate::remoting::RequestCode;

fn queues(n: i32) -> Vec<MessageQueue> {
    (0..n)
        .map(|queue_id| MessageQueue {
            topic: "T".into(),
            broker_name: if queue_id % 2 == 0 { "b" } else { "a" }.into(),
            queue_id: queue_id / 2,
        })
        .collect()
}

fn ids(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[test]
fn averagely_gives_contiguous_blocks_extra_queues_first() {
    let qs = queues(8); // sorted: a:0..3, b:0..3
    let mut sorted = qs.clone();
    sorted.sort();
    let cids = ids(&["c3", "c1", "c2"]);
    let c1 = allocate_averagely(&qs, &cids, "c1");
    let c2 = allocate_averagely(&qs, &cids, "c2");
    let c3 = allocate_averagely(&qs, &cids, "c3");
    assert_eq!(c1, sorted[0..3].to_vec());
    assert_eq!(c2, sorted[3..6].to_vec());
    assert_eq!(c3, sorted[6..8].to_vec());
}

#[test]
fn averagely_with_one_consumer_takes_everything_and_a_stranger_nothing() {
    let qs = queues(5);
    assert_eq!(allocate_averagely(&qs, &ids(&["me"]), "me").len(), 5);
    assert!(allocate_averagely(&qs, &ids(&["other"]), "me").is_empty());
    assert!(allocate_averagely(&[], &ids(&["me"]), "me").is_empty());
}

#[test]
fn averagely_with_more_consumers_than_queues_leaves_the_last_ones_idle() {
    let qs = queues(2);
    let cids = ids(&["a", "b", "c", "d"]);
    let got: Vec<usize> = ["a", "b", "c", "d"]
        .iter()
        .map(|me| allocate_averagely(&qs, &cids, me).len())
        .collect();
    assert_eq!(got, vec![1, 1, 0, 0]);
    let first = allocate_averagely(&qs, &cids, "a");
    let second = allocate_averagely(&qs, &cids, "b");
    assert_ne!(first, second);
}

#[test]
fn averagely_covers_every_queue_exactly_once() {
    for n in 0..12 {
        for m in 1..6 {
            let qs = queues(n);
            let names: Vec<String> = (0..m).map(|i| format!("c{i}")).collect();
            let mut all: Vec<MessageQueue> = names
                .iter()
                .flat_map(|me| allocate_averagely(&qs, &names, me))
                .collect();
            all.sort();
            let mut expected = qs.clone();
            expected.sort();
            assert_eq!(all, expected, "n={n} m={m}");
        }
    }
}

#[test]
fn the_heartbeat_body_reads_back_through_the_brokers_parser() {
    let mut config = ConsumerConfig::new("127.0.0.1:9876", "cg", "T");
    config.expression = "TagA||TagB".into();
    let sub = Subscription::parse(&config.expression);
    let body = heartbeat_body("127.0.0.1@1#0", &config, &sub, 42);
    let hb = parse_heartbeat(&body).unwrap();
    assert_eq!(hb.client_id, "127.0.0.1@1#0");
    let consumer = &hb.consumers[0];
    assert_eq!(consumer.group, "cg");
    assert_eq!(consumer.consume_type, "CONSUME_ACTIVELY");
    assert_eq!(consumer.message_model, "CLUSTERING");
    assert_eq!(consumer.subscriptions[0].expression, "TagA || TagB");
    assert_eq!(consumer.subscriptions[0].sub_version, 42);
}

/// A nameserver routing `T` to one fake broker `a` with `n` queues.
async fn cluster(n: i32) -> (Running<FakeNameServer>, Running<FakeBroker>) {
    let broker = run(FakeBroker::default()).await;
    let ns = run(FakeNameServer::default()).await;
    ns.handler.set_route("T", &route(&[("a", &broker.addr, n)]));
    (ns, broker)
}

fn config(ns: &str, from: ConsumeFrom) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(ns, "cg", "T");
    config.from_where = from;
    config.suspend_timeout = Duration::from_millis(200);
    config.pull_error_delay = Duration::from_millis(50);
    config
}

fn tagged(tag: &str) -> String {
    format!("TAGS\u{1}{tag}")
}

fn bodies(messages: &[crate::client::MessageExt]) -> Vec<String> {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect()
}

#[tokio::test]
async fn a_consumer_polls_in_order_commits_and_unregisters() {
    bounded(async {
        let (ns, broker) = cluster(1).await;
        for i in 0..5 {
            broker
                .handler
                .append("T", 0, format!("m{i}").as_bytes(), &tagged("A"));
        }
        let mut consumer = PullConsumer::new(config(&ns.addr, ConsumeFrom::First)).unwrap();
        consumer.start().await.unwrap();
        let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(bodies(&got), ["m0", "m1", "m2", "m3", "m4"]);
        let offsets: Vec<i64> = got.iter().map(|m| m.queue_offset()).collect();
        assert_eq!(offsets, [0, 1, 2, 3, 4]);
        assert_eq!(got[0].broker_name(), "a");
        assert_eq!(got[0].offset_msg_id.len(), 32);
        assert_eq!(got[0].property("MAX_OFFSET"), Some("5"));
        assert!(
            consumer
                .poll(Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        consumer.commit().await.unwrap();
        assert_eq!(
            broker.handler.state().offset_updates.last(),
            Some(&("T".into(), 0, 5))
        );
        let pull = broker
            .handler
            .state()
            .requests
            .iter()
            .find(|r| r.request_code() == RequestCode::PullMessage)
            .cloned()
            .unwrap();
        assert_eq!(pull.ext_fields["sysFlag"], "6", "SUSPEND | SUBSCRIPTION");
        consumer.shutdown().await;
        assert!(
            broker
                .handler
                .codes()
                .contains(&RequestCode::UnregisterClient)
        );
        assert!(broker.handler.state().members["cg"].is_empty());
    })
    .await;
}

#[tokio::test]
async fn an_offset_moved_answer_resets_the_queue_and_stores_the_new_offset() {
    bounded(async {
        let (ns, broker) = cluster(1).await;
        for i in 0..5 {
            broker
                .handler
                .append("T", 0, format!("m{i}").as_bytes(), &tagged("A"));
        }
        {
            let mut state = broker.handler.state();
            state.min_offsets.insert(("T".into(), 0), 3);
            state.offsets.insert(("cg".into(), "T".into(), 0), 1);
        }
        let mut consumer = PullConsumer::new(config(&ns.addr, ConsumeFrom::First)).unwrap();
        consumer.start().await.unwrap();
        let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(bodies(&got), ["m3", "m4"]);
        let updates = broker.handler.state().offset_updates.clone();
        assert_eq!(updates.first(), Some(&("T".into(), 0, 3)));
    })
    .await;
}

#[tokio::test]
async fn messages_with_unsubscribed_tags_are_dropped_but_skipped_over() {
    bounded(async {
        let (ns, broker) = cluster(1).await;
        broker.handler.append("T", 0, b"a1", &tagged("A"));
        broker.handler.append("T", 0, b"b1", &tagged("B"));
        broker.handler.append("T", 0, b"none", "");
        broker.handler.append("T", 0, b"a2", &tagged("A"));
        let mut cfg = config(&ns.addr, ConsumeFrom::First);
        cfg.expression = "A || C".into();
        let mut consumer = PullConsumer::new(cfg).unwrap();
        consumer.start().await.unwrap();
        let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(bodies(&got), ["a1", "a2"]);
        consumer.commit().await.unwrap();
        assert_eq!(
            broker.handler.state().offset_updates.last(),
            Some(&("T".into(), 0, 4))
        );
    })
    .await;
}

#[tokio::test]
async fn a_new_group_from_last_starts_at_the_max_offset() {
    bounded(async {
        let (ns, broker) = cluster(1).await;
        for i in 0..3 {
            broker
                .handler
                .append("T", 0, format!("old{i}").as_bytes(), "");
        }
        let mut consumer = PullConsumer::new(config(&ns.addr, ConsumeFrom::Last)).unwrap();
        consumer.start().await.unwrap();
        assert!(
            consumer
                .poll(Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        broker.handler.append("T", 0, b"new", "");
        let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(bodies(&got), ["new"]);
        assert!(broker.handler.codes().contains(&RequestCode::GetMaxOffset));
    })
    .await;
}

#[tokio::test]
async fn a_second_member_triggers_a_notify_and_the_queues_are_split() {
    bounded(async {
        let (ns, _broker) = cluster(4).await;
        let mut first = PullConsumer::new(config(&ns.addr, ConsumeFrom::First)).unwrap();
        first.start().await.unwrap();
        assert_eq!(first.assigned_queues().len(), 4);
        let mut second = PullConsumer::new(config(&ns.addr, ConsumeFrom::First)).unwrap();
        second.start().await.unwrap();
        assert_eq!(second.assigned_queues().len(), 2);
        // The notification reaches the first consumer's listener; poll acts on it.
        for _ in 0..20 {
            first.poll(Duration::from_millis(100)).await.unwrap();
            if first.assigned_queues().len() == 2 {
                break;
            }
        }
        let mut all = first.assigned_queues();
        all.extend(second.assigned_queues());
        all.sort();
        all.dedup();
        assert_eq!((first.assigned_queues().len(), all.len()), (2, 4));
        second.shutdown().await;
        first.rebalance().await.unwrap();
        assert_eq!(first.assigned_queues().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn broadcasting_members_each_read_every_queue_and_keep_offsets_locally() {
    bounded(async {
        let (ns, broker) = cluster(2).await;
        broker.handler.append("T", 1, b"x", "");
        let mut cfg = config(&ns.addr, ConsumeFrom::First);
        cfg.message_model = MessageModel::Broadcasting;
        let mut one = PullConsumer::new(cfg.clone()).unwrap();
        let mut two = PullConsumer::new(cfg).unwrap();
        one.start().await.unwrap();
        two.start().await.unwrap();
        for consumer in [&mut one, &mut two] {
            assert_eq!(consumer.assigned_queues().len(), 2);
            let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
            assert_eq!(bodies(&got), ["x"]);
            consumer.commit().await.unwrap();
        }
        assert!(broker.handler.state().offset_updates.is_empty());
    })
    .await;
}

#[tokio::test]
async fn what_a_producer_sends_a_consumer_polls() {
    bounded(async {
        let (ns, _broker) = cluster(2).await;
        let producer = Producer::new(ProducerConfig::new(ns.addr.as_str(), "pg")).unwrap();
        producer.start().unwrap();
        for i in 0..4 {
            producer
                .send(Message::new("T", format!("p{i}")))
                .await
                .unwrap();
        }
        let mut consumer = PullConsumer::new(config(&ns.addr, ConsumeFrom::First)).unwrap();
        consumer.start().await.unwrap();
        let mut got = Vec::new();
        for _ in 0..10 {
            got.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
            if got.len() >= 4 {
                break;
            }
        }
        let mut names = bodies(&got);
        names.sort();
        assert_eq!(names, ["p0", "p1", "p2", "p3"]);
        assert!(got.iter().all(|m| m.msg_id().len() == 32));
    })
    .await;
}
