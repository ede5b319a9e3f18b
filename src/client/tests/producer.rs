//! Producer: round-robin over the queues of two brokers, retries on another broker, batch
//! bodies the broker's parser reads back, UNIQ_KEY ids, sharding keys, errors.

use std::collections::BTreeSet;
use std::time::Duration;

use super::bounded;
use super::fake::{FakeBroker, FakeNameServer, Running, dead_addr, route, run};
use crate::client::message::UniqKeys;
use crate::client::{
    ClientError, Message, MessageQueue, Producer, ProducerConfig, SendStatus, queue_for_key,
};
use crate::message::batch::parse_batch;
use crate::message::property;
use crate::remoting::header::SendMessageRequestHeader;
use crate::remoting::{RequestCode, ResponseCode};

/// A nameserver routing topic `T` to brokers `a` and `b` (or the given addresses), 2 queues
/// each, and a started producer.
async fn producer_for(a: &str, b: &str) -> (Running<FakeNameServer>, Producer) {
    let ns = run(FakeNameServer::default()).await;
    ns.handler
        .set_route("T", &route(&[("b", b, 2), ("a", a, 2)]));
    let mut config = ProducerConfig::new(ns.addr.as_str(), "pg");
    config.send_timeout = Duration::from_secs(2);
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    (ns, producer)
}

#[tokio::test]
async fn sends_go_round_robin_over_every_queue_of_both_brokers() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let mut queues = Vec::new();
        for i in 0..8 {
            let result = producer
                .send(Message::new("T", format!("m{i}")))
                .await
                .unwrap();
            assert_eq!(result.status, SendStatus::SendOk);
            assert_eq!(result.msg_id.len(), 32);
            assert_eq!(result.offset_msg_id.len(), 32);
            queues.push((result.queue.broker_name, result.queue.queue_id));
        }
        // Sorted by broker name: a:0, a:1, b:0, b:1, then again.
        let expected: Vec<_> = [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
            .iter()
            .cycle()
            .take(8)
            .map(|(n, q)| (n.to_string(), *q))
            .collect();
        assert_eq!(queues, expected);
        assert_eq!(a.handler.sends(), 4);
        assert!(a.handler.codes().contains(&RequestCode::SendMessageV2));
        producer.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_send_refused_with_service_not_available_is_retried_on_the_other_broker() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        a.handler.state().send_failure =
            Some((ResponseCode::ServiceNotAvailable, "not leader".into()));
        let (ns, producer) = producer_for(&a.addr, &b.addr).await;
        for i in 0..4 {
            let result = producer
                .send(Message::new("T", format!("m{i}")))
                .await
                .unwrap();
            assert_eq!(result.queue.broker_name, "b");
        }
        assert!(a.handler.sends() > 0, "broker a was tried");
        // Each failure marked the route stale, so it was fetched again.
        let route_fetches = ns.handler.requests.lock().unwrap().len();
        assert!(route_fetches >= 2, "{route_fetches}");
    })
    .await;
}

#[tokio::test]
async fn a_down_broker_is_skipped_for_the_other_one() {
    bounded(async {
        let b = run(FakeBroker::default()).await;
        let dead = dead_addr().await;
        let (_ns, producer) = producer_for(&dead, &b.addr).await;
        for i in 0..3 {
            let result = producer
                .send(Message::new("T", format!("m{i}")))
                .await
                .unwrap();
            assert_eq!(result.queue.broker_name, "b");
        }
    })
    .await;
}

#[tokio::test]
async fn when_every_attempt_fails_the_error_names_the_code_and_remark() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        for broker in [&a, &b] {
            broker.handler.state().send_failure =
                Some((ResponseCode::ServiceNotAvailable, "disk full".into()));
        }
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let err = producer.send(Message::new("T", "x")).await.unwrap_err();
        assert!(matches!(
            err,
            ClientError::RetriesExhausted { attempts: 3, .. }
        ));
        assert_eq!(err.response_code(), Some(ResponseCode::ServiceNotAvailable));
        let text = err.to_string();
        assert!(
            text.contains("SERVICE_NOT_AVAILABLE") && text.contains("disk full"),
            "{text}"
        );
        let attempts = a.handler.sends() + b.handler.sends();
        assert_eq!(attempts, 3);
    })
    .await;
}

#[tokio::test]
async fn a_message_illegal_answer_is_not_retried() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        for broker in [&a, &b] {
            broker.handler.state().send_failure =
                Some((ResponseCode::MessageIllegal, "too big".into()));
        }
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let err = producer.send(Message::new("T", "x")).await.unwrap_err();
        assert_eq!(err.response_code(), Some(ResponseCode::MessageIllegal));
        assert_eq!(a.handler.sends() + b.handler.sends(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_v2_header_carries_tags_keys_and_the_uniq_key() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let msg = Message::new("T", "hello")
            .with_tags("TagA")
            .with_key("k1")
            .with_key("k2")
            .with_property("color", "red");
        let result = producer.send(msg).await.unwrap();
        let req = a.handler.first_send();
        let header = SendMessageRequestHeader::from_command(&req).unwrap();
        assert!(req.ext_fields.contains_key("b"), "V2 one-letter keys");
        assert_eq!(header.producer_group, "pg");
        assert_eq!(header.queue_id, 0);
        assert_eq!(header.default_topic, "TBW102");
        let props = crate::message::parse_properties(header.properties.unwrap().as_bytes());
        assert_eq!(props[property::TAGS], "TagA");
        assert_eq!(props[property::KEYS], "k1 k2");
        assert_eq!(props["color"], "red");
        assert_eq!(props[property::UNIQ_KEY], result.msg_id);
        assert_eq!(&req.body[..], b"hello");
    })
    .await;
}

#[tokio::test]
async fn a_batch_body_round_trips_through_the_brokers_parser() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let batch: Vec<Message> = (0..3)
            .map(|i| Message::new("T", format!("body-{i}")).with_tags(format!("t{i}")))
            .collect();
        let result = producer.send_batch(batch).await.unwrap();
        assert_eq!(result.msg_id.split(',').count(), 3);
        assert_eq!(result.offset_msg_id.split(',').count(), 3);
        assert_eq!(result.queue_offset, 0);
        let req = a.handler.first_send();
        assert_eq!(req.request_code(), RequestCode::SendBatchMessage);
        assert_eq!(req.ext_fields.get("m").map(String::as_str), Some("true"));
        let items = parse_batch(&req.body).unwrap();
        assert_eq!(items.len(), 3);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(item.body, format!("body-{i}").into_bytes());
            assert_eq!(item.properties[property::TAGS], format!("t{i}"));
            let id = &item.properties[property::UNIQ_KEY];
            assert_eq!(result.msg_id.split(',').nth(i), Some(id.as_str()));
        }
        let mixed = vec![Message::new("T", "x"), Message::new("U", "y")];
        assert!(matches!(
            producer.send_batch(mixed).await,
            Err(ClientError::InvalidMessage(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn one_sharding_key_always_picks_one_queue() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        let (_ns, producer) = producer_for(&a.addr, &b.addr).await;
        let mut queues = BTreeSet::new();
        for i in 0..5 {
            let r = producer
                .send_orderly(Message::new("T", format!("{i}")), "order-42")
                .await;
            queues.insert(r.unwrap().queue);
        }
        assert_eq!(queues.len(), 1);
        assert_eq!(queue_for_key("order-42", 4), queue_for_key("order-42", 4));
        assert!((0..100).all(|i| queue_for_key(&format!("k{i}"), 3) < 3));
        let target = MessageQueue {
            topic: "T".into(),
            broker_name: "b".into(),
            queue_id: 1,
        };
        let r = producer
            .send_to_queue(Message::new("T", "q"), &target)
            .await;
        assert_eq!(r.unwrap().queue, target);
        producer
            .send_oneway(Message::new("T", "fire"))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn sending_before_start_or_to_an_unknown_topic_fails_clearly() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        let producer = Producer::new(ProducerConfig::new(ns.addr.as_str(), "pg")).unwrap();
        let err = producer.send(Message::new("T", "x")).await.unwrap_err();
        assert!(matches!(err, ClientError::NotRunning(_)));
        producer.start().unwrap();
        let err = producer
            .send(Message::new("Missing", "x"))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::TopicNotExist { .. }), "{err:?}");
    })
    .await;
}

#[test]
fn uniq_keys_are_32_uppercase_hex_and_distinct() {
    let keys: BTreeSet<String> = (0..1000).map(|_| UniqKeys::global().next()).collect();
    assert_eq!(keys.len(), 1000);
    for key in &keys {
        assert_eq!(key.len(), 32);
        assert!(
            key.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        );
    }
}
