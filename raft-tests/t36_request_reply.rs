//! Request-reply (RocketMQ 4.9's `producer.request()`) with our client against a three-node
//! group of real processes: a requester and a replier (a pull consumer answering with
//! `create_reply_message` + send). Concurrent requests each get their own reply (correlation
//! ids), the replies are stored in `TestCluster_REPLY_TOPIC`, a request nobody answers ends in
//! its timeout, a reply sent to a follower or for a client the node does not know gets a clear
//! error, and a request answered across a kill -9 of the leader either gets its reply or
//! times out, within a bound.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::client::{
    Admin, ClientError, ConsumeFrom, ConsumerConfig, Message, Producer, ProducerConfig,
    PullConsumer, create_reply_message,
};
use dledger_broker::remoting::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};
use futures_util::future::join_all;

use crate::cluster::Cluster;

const REPLY_TOPIC: &str = "TestCluster_REPLY_TOPIC";

async fn replier(cluster: &Cluster, topic: &str) -> (PullConsumer, Producer) {
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), "T36Replier", topic);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_millis(500);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let producer = Producer::new(ProducerConfig::new(
        cluster.namesrv_addr().as_str(),
        "T36ReplierP",
    ))
    .unwrap();
    producer.start().unwrap();
    (consumer, producer)
}

fn requester(cluster: &Cluster) -> Arc<Producer> {
    let producer = Producer::new(ProducerConfig::new(
        cluster.namesrv_addr().as_str(),
        "T36Requester",
    ))
    .unwrap();
    producer.start().unwrap();
    Arc::new(producer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_their_own_replies_and_an_unanswered_one_times_out() {
    let cluster = Cluster::start(1, 3);
    cluster.create_topic("T36", 4).await;
    cluster.create_topic("T36Silent", 1).await;
    let (mut consumer, reply_producer) = replier(&cluster, "T36").await;
    let answering = tokio::spawn(async move {
        let mut answered = 0usize;
        loop {
            for request in consumer.poll(Duration::from_millis(500)).await.unwrap() {
                let body = format!("re:{}", String::from_utf8_lossy(request.body()));
                let reply = create_reply_message(&request, body).unwrap();
                match reply_producer.send(reply).await {
                    Ok(_) => answered += 1,
                    Err(e) => println!("reply failed (answered {answered} so far): {e}"),
                }
            }
        }
    });

    tracing::info!("20 requests at once, each waiting for its own reply");
    let requester = requester(&cluster);
    let started = Instant::now();
    let asks = (0..20).map(|i| {
        let requester = requester.clone();
        async move {
            let reply = requester
                .request(
                    Message::new("T36", format!("q{i}")),
                    Duration::from_secs(15),
                )
                .await;
            (i, reply)
        }
    });
    let mut correlation_ids = BTreeSet::new();
    for (i, reply) in join_all(asks).await {
        let reply = reply.unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(reply.body(), format!("re:q{i}").as_bytes(), "request {i}");
        assert_eq!(reply.topic(), REPLY_TOPIC);
        assert_eq!(reply.property("MSG_TYPE"), Some("reply"));
        assert_eq!(
            reply.property("REPLY_TO_CLIENT"),
            Some(requester.client_id())
        );
        assert!(reply.property("PUSH_REPLY_TIME").is_some());
        assert!(reply.property("ARRIVE_TIME").is_some());
        correlation_ids.insert(reply.property("CORRELATION_ID").unwrap().to_owned());
    }
    assert_eq!(correlation_ids.len(), 20, "one correlation id per request");
    println!("20 concurrent requests answered in {:?}", started.elapsed());

    // storeReplyMessageEnable (default true): every reply is in the reply topic too. The
    // broker pushes before it stores (Java's order), so the last ones may still be committing.
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let offsets = admin.topic_max_offsets(REPLY_TOPIC).await.unwrap();
        let stored: i64 = offsets.values().sum();
        if stored == 20 {
            break;
        }
        assert!(
            Instant::now() < deadline && stored < 20,
            "{stored} replies stored in {REPLY_TOPIC}, 20 expected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    tracing::info!("a request nobody answers times out, never hangs");
    let started = Instant::now();
    let unanswered = requester
        .request(Message::new("T36Silent", "anyone?"), Duration::from_secs(2))
        .await;
    let waited = started.elapsed();
    assert!(
        matches!(&unanswered, Err(ClientError::RequestTimeout { topic, .. }) if topic == "T36Silent"),
        "{unanswered:?}"
    );
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );

    tracing::info!("replies a node cannot push or store get clear errors");
    let leader = cluster.wait_master(Duration::from_secs(10)).await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let on_follower = send_reply_raw(&cluster, follower, "10.0.0.1@gone").await;
    assert_eq!(
        on_follower.response_code(),
        ResponseCode::ServiceNotAvailable
    );
    let unknown = send_reply_raw(&cluster, leader, "10.0.0.1@gone").await;
    assert_eq!(unknown.response_code(), ResponseCode::SystemError);
    let remark = unknown.remark.unwrap_or_default();
    assert!(
        remark.starts_with("push reply message fail, channel of <10.0.0.1@gone> not found."),
        "{remark}"
    );
    answering.abort();
    requester.shutdown().await;
}

/// A SEND_REPLY_MESSAGE_V2 to node `id` for the requester `reply_to`, as a Java replier sends it.
async fn send_reply_raw(cluster: &Cluster, id: u64, reply_to: &str) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "T36Raw".into(),
        topic: REPLY_TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: -1,
        born_timestamp: 1,
        properties: Some(format!(
            "MSG_TYPE\u{1}reply\u{2}CORRELATION_ID\u{1}c-raw\u{2}REPLY_TO_CLIENT\u{1}{reply_to}"
        )),
        ..SendMessageRequestHeader::default()
    };
    let request = RemotingCommand::request(
        RequestCode::SendReplyMessageV2,
        Default::default(),
        Bytes::from_static(b"late"),
    )
    .with_header(&SendMessageRequestHeaderV2(header));
    let client = RemotingClient::new(cluster.broker_addr(id).to_string(), ClientConfig::default());
    let response = client
        .invoke(request, Duration::from_secs(5))
        .await
        .unwrap();
    client.close().await;
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_answered_across_a_leader_kill_gets_its_reply_or_times_out() {
    let mut cluster = Cluster::start(1, 3);
    cluster.create_topic("T36F", 1).await;
    let (mut consumer, reply_producer) = replier(&cluster, "T36F").await;
    let requester = requester(&cluster);
    let timeout = Duration::from_secs(12);
    let started = Instant::now();
    let asking = {
        let requester = requester.clone();
        tokio::spawn(async move {
            requester
                .request(Message::new("T36F", "across a failover"), timeout)
                .await
        })
    };
    let request = loop {
        let mut got = consumer.poll(Duration::from_millis(500)).await.unwrap();
        if let Some(m) = got.pop() {
            break m;
        }
        assert!(started.elapsed() < timeout, "the request never arrived");
    };

    let leader = cluster.wait_master(Duration::from_secs(10)).await;
    cluster.kill_broker(leader);
    println!("killed leader {leader} before replying");

    // The replier answers as a real one would, sending again while its sends fail.
    let reply = create_reply_message(&request, "answer").unwrap();
    let mut attempts = 0;
    while !asking.is_finished() {
        attempts += 1;
        match reply_producer.send(reply.clone()).await {
            Ok(_) => break,
            Err(e) => println!("reply attempt {attempts}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let outcome = tokio::time::timeout(timeout + Duration::from_secs(3), asking)
        .await
        .expect("request() must end within its timeout")
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited < timeout + Duration::from_secs(3),
        "waited {waited:?}"
    );
    match outcome {
        Ok(got) => {
            assert_eq!(got.body(), b"answer");
            assert_eq!(
                got.property("CORRELATION_ID"),
                request.property("CORRELATION_ID")
            );
            println!("reply arrived across the failover after {waited:?} ({attempts} attempts)");
        }
        Err(ClientError::RequestTimeout { .. }) => {
            println!(
                "request timed out across the failover after {waited:?} ({attempts} attempts)"
            );
        }
        Err(e) => panic!("neither a reply nor a timeout: {e}"),
    }
    requester.shutdown().await;
}
