//! The workload on the project's own client: a sync producer (one message at a time, two
//! retries on another broker, as Java's producer does), an orderly producer (sharding keys,
//! no retries), a batch producer, a clustering consumer group committing offsets, an orderly
//! consumer and a broadcast consumer, and a sampler of the group's committed offsets. Every
//! send call and every message handed over is recorded; nothing is judged here.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chaos::history::{CommittedOffset, Consumed, ProducerKind, SendAttempt, SendOutcome};
use crate::client::{
    Admin, ClientError, ConsumeFrom, ConsumerConfig, Message, MessageExt, MessageModel, Producer,
    ProducerConfig, PullConsumer, SendResult,
};

use super::recorder::Recorder;

/// The workload's topics: sends of the sync and batch producers, of the orderly producer.
pub const TOPIC: &str = "ChaosT";
pub const ORDER_TOPIC: &str = "ChaosOrder";
/// The clustering group on [`TOPIC`] whose committed offsets are checked.
pub const GROUP: &str = "ChaosC";
const ORDER_GROUP: &str = "ChaosOrderC";
const BROADCAST_GROUP: &str = "ChaosB";
/// Sharding keys of the orderly producer.
const SHARDING_KEYS: usize = 8;

/// The outcome of one call as the history records it.
fn outcome_of(result: &Result<SendResult, ClientError>, index: usize) -> (SendOutcome, u32) {
    match result {
        Ok(r) => (
            SendOutcome::Ok {
                broker_group: r.queue.broker_name.clone(),
                queue_id: r.queue.queue_id,
                queue_offset: r.queue_offset + i64::try_from(index).unwrap_or(0),
                offset_msg_id: r.offset_msg_id.split(',').nth(index).map(str::to_owned),
                phys_offset: None,
                term: r.raft_term,
            },
            r.attempt.saturating_sub(1),
        ),
        // No error the client reports proves the message was not stored by some attempt.
        Err(e) => (
            SendOutcome::Unknown {
                reason: e.to_string().chars().take(160).collect(),
            },
            0,
        ),
    }
}

/// How one producer task sends.
#[derive(Clone, Copy)]
enum Shape {
    Sync,
    Orderly,
    Batch(usize),
}

/// Starts every workload task; they run until `stop` turns true.
pub fn start(
    namesrvs: &str,
    rec: &Arc<Recorder>,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for (client, shape, topic) in [
        ("ours-sync", Shape::Sync, TOPIC),
        ("ours-order", Shape::Orderly, ORDER_TOPIC),
        ("ours-batch", Shape::Batch(4), TOPIC),
    ] {
        tasks.push(tokio::spawn(produce(
            namesrvs.to_owned(),
            client,
            shape,
            topic,
            rec.clone(),
            stop.clone(),
        )));
    }
    for (client, group, topic, model, orderly) in [
        ("c-cluster", GROUP, TOPIC, MessageModel::Clustering, false),
        (
            "c-order",
            ORDER_GROUP,
            ORDER_TOPIC,
            MessageModel::Clustering,
            true,
        ),
        (
            "c-broadcast",
            BROADCAST_GROUP,
            TOPIC,
            MessageModel::Broadcasting,
            false,
        ),
    ] {
        let mut config = ConsumerConfig::new(namesrvs, group, topic);
        config.from_where = ConsumeFrom::First;
        config.message_model = model;
        config.orderly = orderly;
        config.commit_interval = Duration::from_secs(1);
        config.rebalance_interval = Duration::from_secs(5);
        config.suspend_timeout = Duration::from_secs(2);
        config.instance_name = Some(client.to_owned());
        tasks.push(tokio::spawn(consume(
            config,
            client,
            rec.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(sample_offsets(
        namesrvs.to_owned(),
        rec.clone(),
        stop.clone(),
    )));
    tasks
}

async fn produce(
    namesrvs: String,
    client: &'static str,
    shape: Shape,
    topic: &'static str,
    rec: Arc<Recorder>,
    stop: watch::Receiver<bool>,
) {
    let mut config = ProducerConfig::new(namesrvs.as_str(), format!("{client}-P"));
    config.retries = if matches!(shape, Shape::Orderly) {
        0
    } else {
        2
    };
    config.instance_name = Some(client.to_owned());
    let Ok(producer) = Producer::new(config) else {
        return;
    };
    if producer.start().is_err() {
        return;
    }
    let mut seq = 0u64;
    while !*stop.borrow() {
        let start_ms = rec.now_ms();
        let (keys, sharding_key, result) = match shape {
            Shape::Sync => {
                let key = format!("{client}-{seq}");
                seq += 1;
                let result = producer
                    .send(Message::new(topic, key.clone()).with_key(key.clone()))
                    .await;
                (vec![key], None, result)
            }
            Shape::Orderly => {
                let key = format!("{client}-{seq}");
                let sharding = format!("order-{}", seq % SHARDING_KEYS as u64);
                seq += 1;
                let message = Message::new(topic, key.clone()).with_key(key.clone());
                let result = producer.send_orderly(message, &sharding).await;
                (vec![key], Some(sharding), result)
            }
            Shape::Batch(n) => {
                let keys: Vec<String> = (0..n)
                    .map(|i| format!("{client}-{}", seq + i as u64))
                    .collect();
                seq += n as u64;
                let messages = keys
                    .iter()
                    .map(|k| Message::new(topic, k.clone()).with_key(k.clone()))
                    .collect();
                (keys, None, producer.send_batch(messages).await)
            }
        };
        let end_ms = rec.now_ms();
        for (index, key) in keys.into_iter().enumerate() {
            let (outcome, retries) = outcome_of(&result, index);
            rec.record(SendAttempt {
                client: client.to_owned(),
                producer: ProducerKind::Ours,
                key,
                topic: topic.to_owned(),
                sharding_key: sharding_key.clone(),
                retries,
                start_ms,
                end_ms,
                outcome,
            });
        }
        let pause = match (&result, shape) {
            (Err(_), _) => 100,
            (Ok(_), Shape::Batch(_)) => 100,
            (Ok(_), _) => 15,
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    producer.shutdown().await;
}

/// A record of one message handed to a consumer.
pub fn consumed(
    group: &str,
    client: &str,
    m: &MessageExt,
    time_ms: u64,
    orderly: bool,
    final_read: bool,
) -> Consumed {
    Consumed {
        consumer_group: group.to_owned(),
        client: client.to_owned(),
        topic: m.topic().to_owned(),
        broker_group: m.broker_name().to_owned(),
        queue_id: m.queue_id(),
        queue_offset: m.queue_offset(),
        key: m
            .keys()
            .first()
            .map_or_else(String::new, |k| (*k).to_owned()),
        time_ms,
        orderly,
        final_read,
        offset_msg_id: Some(m.offset_msg_id.clone()),
        phys_offset: None,
    }
}

async fn consume(
    config: ConsumerConfig,
    client: &'static str,
    rec: Arc<Recorder>,
    mut stop: watch::Receiver<bool>,
) {
    let group = config.group.clone();
    let orderly = config.orderly;
    let Ok(mut consumer) = PullConsumer::new(config) else {
        return;
    };
    // The topic may have no route yet while the first master is being chosen.
    while consumer.start().await.is_err() {
        if *stop.borrow() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while !*stop.borrow() {
        tokio::select! {
            polled = consumer.poll(Duration::from_millis(500)) => match polled {
                Ok(messages) => {
                    let now = rec.now_ms();
                    for m in &messages {
                        rec.record(consumed(&group, client, m, now, orderly, false));
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            },
            _ = stop.changed() => break,
        }
    }
    consumer.shutdown().await;
}

/// Reads the clustering group's committed offsets from each group's master every second and
/// records every change.
async fn sample_offsets(namesrvs: String, rec: Arc<Recorder>, stop: watch::Receiver<bool>) {
    let Ok(admin) = Admin::with_timeout(namesrvs.as_str(), Duration::from_millis(800)) else {
        return;
    };
    let mut last: BTreeMap<(String, i32), i64> = BTreeMap::new();
    while !*stop.borrow() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Ok(route) = admin.topic_route(TOPIC).await else {
            continue;
        };
        for broker in &route.broker_datas {
            let Some(addr) = broker.broker_addrs.get(&0) else {
                continue;
            };
            let queues = route
                .queue_datas
                .iter()
                .find(|q| q.broker_name == broker.broker_name)
                .map_or(0, |q| q.read_queue_nums);
            for queue_id in 0..queues {
                let Ok(Some(offset)) = admin
                    .query_consumer_offset(addr, GROUP, TOPIC, queue_id)
                    .await
                else {
                    continue;
                };
                let key = (broker.broker_name.clone(), queue_id);
                if last.insert(key, offset) != Some(offset) {
                    rec.record(CommittedOffset {
                        consumer_group: GROUP.to_owned(),
                        topic: TOPIC.to_owned(),
                        broker_group: broker.broker_name.clone(),
                        queue_id,
                        offset,
                        time_ms: rec.now_ms(),
                        admin_reset: false,
                    });
                }
            }
        }
    }
}
