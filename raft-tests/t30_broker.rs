//! The broker over the wire, real processes: a nameserver and a broker group; a topic is
//! created, messages sent with SEND_MESSAGE_V2 come back from PULL_MESSAGE byte for byte, and
//! the nameserver routes the topic to the master.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use dledger_broker::message::body::{JsonBody, TopicRouteData};
use dledger_broker::message::{decode_message, walk_messages};
use dledger_broker::remoting::header::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use dledger_broker::remoting::header::send::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;

const TIMEOUT: Duration = Duration::from_secs(5);

async fn send(
    client: &RemotingClient,
    topic: &str,
    queue_id: i32,
    seq: u32,
) -> SendMessageResponseHeader {
    let header = SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(format!(
            "TAGS\u{1}Tag{}\u{2}KEYS\u{1}key-{seq}\u{2}WAIT\u{1}true\u{2}",
            seq % 2
        )),
        ..Default::default()
    };
    let req = RemotingCommand::request(
        RequestCode::SendMessageV2,
        Default::default(),
        Bytes::from(format!("body-{seq}")),
    )
    .with_header(&SendMessageRequestHeaderV2(header));
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(
        resp.response_code(),
        ResponseCode::Success,
        "send {seq}: {:?}",
        resp.remark
    );
    resp.header().unwrap()
}

async fn pull(
    client: &RemotingClient,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> (RemotingCommand, PullMessageResponseHeader) {
    let header = PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: 2 | 4,
        commit_offset: 0,
        suspend_timeout_millis: 1000,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let req = RemotingCommand::request(RequestCode::PullMessage, Default::default(), Bytes::new())
        .with_header(&header);
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    let h = resp.header().unwrap();
    (resp, h)
}

async fn send_and_pull_back(cluster: &Cluster, master: u64, topic: &str) {
    cluster.create_topic(topic, 2).await;
    let broker = RemotingClient::new(
        cluster.broker_addr(master).to_string(),
        ClientConfig::default(),
    );
    let mut sent = BTreeMap::new();
    for seq in 0..20u32 {
        let r = send(&broker, topic, (seq % 2) as i32, seq).await;
        assert_eq!(r.msg_id.len(), 32, "offset msgId: {}", r.msg_id);
        sent.insert((r.queue_id, r.queue_offset), seq);
    }
    for queue in 0..2 {
        let (resp, h) = pull(&broker, topic, queue, 0).await;
        assert_eq!(resp.response_code(), ResponseCode::Success);
        assert_eq!(h.next_begin_offset, 10);
        let body = resp.body.clone();
        let got: Vec<(i64, String, String)> = walk_messages(&body)
            .map(|s| {
                let (at, len) = s.unwrap();
                let m = decode_message(&body[at..at + len]).unwrap().0.message;
                (
                    m.queue_offset as i64,
                    String::from_utf8(m.body).unwrap(),
                    m.properties["KEYS"].clone(),
                )
            })
            .collect();
        assert_eq!(got.len(), 10);
        for (offset, body, key) in got {
            let seq = sent[&(queue, offset)];
            assert_eq!(body, format!("body-{seq}"));
            assert_eq!(key, format!("key-{seq}"));
        }
        // Nothing new: the held pull comes back empty after its suspend time.
        let (resp, h) = pull(&broker, topic, queue, 10).await;
        assert_eq!(resp.response_code(), ResponseCode::PullNotFound);
        assert_eq!((h.next_begin_offset, h.max_offset), (10, 10));
    }
    // The nameserver routes the topic to the master.
    let ns = RemotingClient::new(cluster.namesrvs[0].0.to_string(), ClientConfig::default());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut req = RemotingCommand::request(
            RequestCode::GetRouteinfoByTopic,
            Default::default(),
            Bytes::new(),
        );
        req.ext_fields.insert("topic".into(), topic.into());
        let resp = ns.invoke(req, TIMEOUT).await.unwrap();
        if resp.response_code().is_success() {
            let route = TopicRouteData::decode(&resp.body).unwrap();
            assert_eq!(
                route.broker_datas[0].broker_addrs[&0],
                cluster.broker_addr(master).to_string()
            );
            assert_eq!(route.queue_datas[0].write_queue_nums, 2);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no route for {topic}: {:?}",
            resp.remark
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// QUERY_MESSAGE, topic stats, subscription groups, consume stats over the wire.
async fn queries_and_stats(cluster: &Cluster, master: u64, topic: &str) {
    let broker = RemotingClient::new(
        cluster.broker_addr(master).to_string(),
        ClientConfig::default(),
    );
    let call = |code: RequestCode, fields: &[(&str, &str)], body: &str| {
        let mut req =
            RemotingCommand::request(code, Default::default(), Bytes::from(body.to_string()));
        for (k, v) in fields {
            req.ext_fields.insert((*k).into(), (*v).into());
        }
        broker.invoke(req, TIMEOUT)
    };
    let resp = call(
        RequestCode::QueryMessage,
        &[
            ("topic", topic),
            ("key", "key-7"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
        ],
        "",
    )
    .await
    .unwrap();
    assert!(
        resp.response_code().is_success(),
        "query: {:?}",
        resp.remark
    );
    let m = decode_message(&resp.body).unwrap().0.message;
    assert_eq!(m.body, b"body-7");
    let missing = call(
        RequestCode::QueryMessage,
        &[
            ("topic", topic),
            ("key", "nope"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "1"),
        ],
        "",
    )
    .await
    .unwrap();
    assert_eq!(missing.response_code(), ResponseCode::QueryNotFound);
    assert!(missing.ext_fields.contains_key("indexLastUpdatePhyoffset"));

    let stats = call(RequestCode::GetTopicStatsInfo, &[("topic", topic)], "")
        .await
        .unwrap();
    let text = String::from_utf8(stats.body.to_vec()).unwrap();
    assert!(
        text.starts_with("{\"offsetTable\":{{\"brokerName\""),
        "{text}"
    );
    assert!(text.contains("\"maxOffset\":10"), "{text}");

    let group = r#"{"groupName":"T30G","retryMaxTimes":5}"#;
    let created = call(RequestCode::UpdateAndCreateSubscriptiongroup, &[], group)
        .await
        .unwrap();
    assert!(created.response_code().is_success(), "{:?}", created.remark);
    let groups = call(RequestCode::GetAllSubscriptiongroupConfig, &[], "")
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&groups.body).unwrap();
    assert_eq!(v["subscriptionGroupTable"]["T30G"]["retryMaxTimes"], 5);

    let offline = call(
        RequestCode::GetConsumerConnectionList,
        &[("consumerGroup", "T30G")],
        "",
    )
    .await
    .unwrap();
    assert_eq!(offline.response_code(), ResponseCode::ConsumerNotOnline);
    let unknown = call(RequestCode::Unknown(9999), &[], "").await.unwrap();
    assert_eq!(
        unknown.response_code(),
        ResponseCode::RequestCodeNotSupported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_node_group_sends_and_pulls_over_the_wire() {
    let cluster = Cluster::start(1, 1);
    let master = cluster.wait_master(Duration::from_secs(15)).await;
    assert_eq!(master, 1);
    send_and_pull_back(&cluster, master, "T30Single").await;
    queries_and_stats(&cluster, master, "T30Single").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_group_elects_a_master_that_both_nameservers_agree_on() {
    let cluster = Cluster::start(2, 3);
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    send_and_pull_back(&cluster, master, "T30Group").await;
    // A follower refuses writes with SERVICE_NOT_AVAILABLE, so clients go elsewhere.
    let follower = (1..=3).find(|&id| id != master).unwrap();
    let client = RemotingClient::new(
        cluster.broker_addr(follower).to_string(),
        ClientConfig::default(),
    );
    let header = SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "T30Group".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 0,
        ..Default::default()
    };
    let req = RemotingCommand::request(
        RequestCode::SendMessage,
        Default::default(),
        Bytes::from_static(b"x"),
    )
    .with_header(&header);
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(resp.response_code(), ResponseCode::ServiceNotAvailable);
    // But it serves pulls from its applied data, identical to the master's.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (resp, h) = pull(&client, "T30Group", 0, 0).await;
        if resp.response_code() == ResponseCode::Success && h.next_begin_offset == 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "follower pull: {:?} {h:?}",
            resp.remark
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
