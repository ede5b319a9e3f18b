//! The orderly consumer against the fake broker (which keeps locks by the broker's rules): only
//! locked queues are pulled, a queue held by another member is picked up once released, and
//! shutdown commits before it unlocks.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::bounded;
use super::fake::{FakeBroker, FakeNameServer, Running, route, run};
use crate::client::{ConsumeFrom, ConsumerConfig, MessageQueue, PullConsumer};
use crate::message::body::lock::QueueKey;
use crate::remoting::RequestCode;

async fn cluster() -> (Running<FakeNameServer>, Running<FakeBroker>) {
    let broker = run(FakeBroker::default()).await;
    let ns = run(FakeNameServer::default()).await;
    ns.handler.set_route("T", &route(&[("a", &broker.addr, 2)]));
    for queue_id in 0..2 {
        for i in 0..3 {
            let body = format!("q{queue_id}m{i}");
            broker.handler.append("T", queue_id, body.as_bytes(), "");
        }
    }
    (ns, broker)
}

fn key(queue_id: i32) -> BTreeSet<QueueKey> {
    BTreeSet::from([QueueKey {
        topic: "T".into(),
        broker_name: "a".into(),
        queue_id,
    }])
}

fn orderly(ns: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(ns, "cg", "T");
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_millis(100);
    config.orderly = true;
    config.lock_retry_interval = Duration::from_millis(100);
    config
}

async fn poll_for(consumer: &mut PullConsumer, within: Duration) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while Instant::now() < deadline {
        let batch = consumer.poll(Duration::from_millis(200)).await.unwrap();
        let queues: BTreeSet<i32> = batch.iter().map(|m| m.queue_id()).collect();
        assert!(queues.len() <= 1, "one poll, one queue: {queues:?}");
        got.extend(batch.iter().map(|m| (m.queue_id(), m.queue_offset())));
    }
    got
}

#[tokio::test]
async fn an_orderly_consumer_pulls_only_the_queues_it_holds_and_unlocks_after_committing() {
    bounded(async {
        let (ns, broker) = cluster().await;
        let now = Instant::now();
        assert_eq!(
            broker
                .handler
                .state()
                .locks
                .lock("cg", "other", &key(1), now),
            key(1)
        );

        let mut consumer = PullConsumer::new(orderly(&ns.addr)).unwrap();
        consumer.start().await.unwrap();
        let got = poll_for(&mut consumer, Duration::from_millis(800)).await;
        assert_eq!(got, [(0, 0), (0, 1), (0, 2)], "queue 1 is another member's");
        let q0 = MessageQueue {
            topic: "T".into(),
            broker_name: "a".into(),
            queue_id: 0,
        };
        assert_eq!(consumer.locked_queues(), [q0]);

        broker.handler.state().locks.unlock("cg", "other", &key(1));
        let got = poll_for(&mut consumer, Duration::from_millis(800)).await;
        assert_eq!(got, [(1, 0), (1, 1), (1, 2)], "picked up once released");
        assert_eq!(consumer.locked_queues().len(), 2);

        consumer.shutdown().await;
        let codes = broker.handler.codes();
        let last_commit = codes
            .iter()
            .rposition(|c| *c == RequestCode::UpdateConsumerOffset)
            .expect("a final commit");
        let unlock = codes
            .iter()
            .rposition(|c| *c == RequestCode::UnlockBatchMq)
            .expect("an unlock");
        assert!(
            last_commit < unlock,
            "committed before unlocking: {codes:?}"
        );
        let both: BTreeSet<QueueKey> = key(0).union(&key(1)).cloned().collect();
        let now = Instant::now();
        assert_eq!(
            broker.handler.state().locks.lock("cg", "next", &both, now),
            both,
            "everything released at shutdown"
        );
    })
    .await;
}

#[tokio::test]
async fn a_consumer_that_is_not_orderly_never_locks() {
    bounded(async {
        let (ns, broker) = cluster().await;
        let mut config = orderly(&ns.addr);
        config.orderly = false;
        let mut consumer = PullConsumer::new(config).unwrap();
        consumer.start().await.unwrap();
        let got = poll_for(&mut consumer, Duration::from_millis(500)).await;
        assert_eq!(got.len(), 6);
        consumer.shutdown().await;
        let codes = broker.handler.codes();
        assert!(
            !codes.contains(&RequestCode::LockBatchMq)
                && !codes.contains(&RequestCode::UnlockBatchMq)
        );
    })
    .await;
}
