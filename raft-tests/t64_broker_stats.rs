//! The broker's statistics over the wire: GET_BROKER_RUNTIME_INFO read the way
//! rocketmq-exporter reads it (every numeric key parses as a Java long or double, the TPS
//! strings split on spaces into three numbers), its put/get totals and VIEW_BROKER_STATS_DATA's
//! minute figures equal what the test produced and consumed, and GET_CONSUME_STATS reports the
//! group's consume TPS.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::client::{Admin, Message, Producer, ProducerConfig};
use dledger_broker::message::body::{JsonBody, KvTable};
use dledger_broker::message::decode_message;
use dledger_broker::remoting::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use dledger_broker::remoting::{
    ClientConfig, ExtFields, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;

const MESSAGES: u64 = 30;

/// Keys rocketmq-exporter (and the dashboard) parse with `Long.parseLong`.
const LONG_KEYS: [&str; 20] = [
    "msgPutTotalTodayNow",
    "msgGetTotalTodayNow",
    "msgPutTotalYesterdayMorning",
    "msgGetTotalYesterdayMorning",
    "msgPutTotalTodayMorning",
    "msgGetTotalTodayMorning",
    "bootTimestamp",
    "earliestMessageTimeStamp",
    "commitLogMaxOffset",
    "commitLogMinOffset",
    "dispatchMaxBuffer",
    "pageCacheLockTimeMills",
    "sendThreadPoolQueueSize",
    "sendThreadPoolQueueCapacity",
    "pullThreadPoolQueueSize",
    "pullThreadPoolQueueCapacity",
    "putMessageTimesTotal",
    "putMessageSizeTotal",
    "brokerVersion",
    "dispatchBehindBytes",
];
/// Keys parsed with `Double.parseDouble`.
const DOUBLE_KEYS: [&str; 5] = [
    "commitLogDiskRatio",
    "consumeQueueDiskRatio",
    "putMessageAverageSize",
    "putLatency99",
    "putLatency999",
];
/// The three-window TPS strings.
const TPS_KEYS: [&str; 5] = [
    "putTps",
    "getTransferedTps",
    "getTotalTps",
    "getFoundTps",
    "getMissTps",
];

async fn call(addr: &str, code: RequestCode, fields: &[(&str, &str)]) -> RemotingCommand {
    let ext: ExtFields = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let client = RemotingClient::new(addr, ClientConfig::default());
    let response = client
        .invoke(
            RemotingCommand::request(code, ext, Bytes::new()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    client.close().await;
    response
}

async fn runtime_info(addr: &str) -> BTreeMap<String, String> {
    let response = call(addr, RequestCode::GetBrokerRuntimeInfo, &[]).await;
    assert_eq!(response.response_code(), ResponseCode::Success);
    KvTable::decode(&response.body).unwrap().table
}

/// VIEW_BROKER_STATS_DATA's minute sum, once the minute window has a sample that holds it.
async fn minute_sum(addr: &str, name: &str, key: &str, expected: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = call(
            addr,
            RequestCode::ViewBrokerStatsData,
            &[("statsName", name), ("statsKey", key)],
        )
        .await;
        if response.response_code() == ResponseCode::Success {
            let data: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            if data["statsMinute"]["sum"].as_u64() == Some(expected) {
                return data;
            }
            assert!(
                Instant::now() < deadline,
                "{name} {key}: {data} after 30 s, expected a minute sum of {expected}"
            );
        } else {
            assert!(Instant::now() < deadline, "{name} {key}: {response:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_info_and_stats_data_count_what_was_produced_and_consumed() {
    let cluster = Cluster::start(1, 3);
    let master = cluster.wait_master(Duration::from_secs(30)).await;
    cluster.create_topic("T64", 2).await;
    let ns = cluster.namesrv_addr();
    let addr = cluster.broker_addr(master).to_string();

    tracing::info!("phase: produce and consume {MESSAGES} messages");
    let producer = Producer::new(ProducerConfig::new(ns.as_str(), "P64")).unwrap();
    producer.start().unwrap();
    for i in 0..MESSAGES {
        producer
            .send(Message::new("T64", format!("m{i}")))
            .await
            .unwrap();
    }
    producer.shutdown().await;
    // Raw pulls, each queue from its start: the broker serves exactly what was produced (a
    // consumer library may fetch a message twice around a rebalance, which counts twice).
    let admin = Admin::new(ns.as_str()).unwrap();
    let mut got = 0;
    for queue_id in 0..2 {
        let pulled = pull_all(&addr, queue_id).await;
        got += pulled;
        admin
            .update_consumer_offset(&addr, "G64", "T64", queue_id, pulled as i64)
            .await
            .unwrap();
    }
    assert_eq!(got, MESSAGES);

    tracing::info!("phase: the stats items hold the counts");
    let puts = minute_sum(&addr, "TOPIC_PUT_NUMS", "T64", MESSAGES).await;
    assert!(puts["statsMinute"]["tps"].as_f64().unwrap() > 0.0, "{puts}");
    // An item made after start gets its first hour sample only at the next 10-minute tick,
    // as in Java: the hour and day figures are there, at 0 for now.
    assert_eq!(puts["statsHour"]["sum"].as_u64(), Some(0), "{puts}");
    assert_eq!(puts["statsDay"]["sum"].as_u64(), Some(0), "{puts}");
    minute_sum(&addr, "GROUP_GET_NUMS", "T64@G64", MESSAGES).await;
    minute_sum(&addr, "BROKER_PUT_NUMS", "TestCluster", MESSAGES).await;
    // Sampled in the same tick as TOPIC_PUT_NUMS: every stored byte, more than a byte each.
    let size = call(
        &addr,
        RequestCode::ViewBrokerStatsData,
        &[("statsName", "TOPIC_PUT_SIZE"), ("statsKey", "T64")],
    )
    .await;
    let size: serde_json::Value = serde_json::from_slice(&size.body).unwrap();
    assert!(
        size["statsMinute"]["sum"].as_u64().unwrap() > MESSAGES,
        "{size}"
    );
    let missing = call(
        &addr,
        RequestCode::ViewBrokerStatsData,
        &[
            ("statsName", "TOPIC_PUT_NUMS"),
            ("statsKey", "NoSuchTopic64"),
        ],
    )
    .await;
    assert_eq!(missing.response_code(), ResponseCode::SystemError);
    assert_eq!(
        missing.remark.as_deref(),
        Some("The stats <TOPIC_PUT_NUMS> <NoSuchTopic64> not exist")
    );

    tracing::info!("phase: GET_CONSUME_STATS reports the group's consume TPS");
    let stats = call(
        &addr,
        RequestCode::GetConsumeStats,
        &[("consumerGroup", "G64")],
    )
    .await;
    let body = String::from_utf8_lossy(&stats.body).into_owned();
    let tps: f64 = body
        .split("\"consumeTps\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no consumeTps in {body}"));
    assert!(tps > 0.0, "{body}");

    tracing::info!("phase: GET_BROKER_RUNTIME_INFO parses as the exporter parses it");
    let table = runtime_info(&addr).await;
    for key in LONG_KEYS {
        let value = table
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {table:?}"));
        assert!(value.parse::<i64>().is_ok(), "{key}={value:?} is no long");
    }
    for key in DOUBLE_KEYS {
        let value = table
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {table:?}"));
        assert!(value.parse::<f64>().is_ok(), "{key}={value:?} is no double");
    }
    for key in TPS_KEYS {
        let value = table
            .get(key)
            .unwrap_or_else(|| panic!("no {key} in {table:?}"));
        let parts: Vec<&str> = value.split(' ').collect();
        assert_eq!(parts.len(), 3, "{key}={value:?}");
        assert!(
            parts.iter().all(|p| p.parse::<f64>().is_ok()),
            "{key}={value:?}"
        );
    }
    assert_eq!(
        table["msgPutTotalTodayNow"],
        MESSAGES.to_string(),
        "{table:?}"
    );
    assert_eq!(
        table["putMessageTimesTotal"],
        MESSAGES.to_string(),
        "{table:?}"
    );
    assert_eq!(
        table["msgGetTotalTodayNow"],
        MESSAGES.to_string(),
        "{table:?}"
    );
    let first_put: f64 = table["putTps"].split(' ').nth(2).unwrap().parse().unwrap();
    assert!(first_put > 0.0, "{table:?}");
    assert!(
        table["putMessageDistributeTime"].starts_with("[<=0ms]:"),
        "{table:?}"
    );
    let earliest: i64 = table["earliestMessageTimeStamp"].parse().unwrap();
    assert!(earliest > 0, "{table:?}");
    // Our keys stay.
    for key in [
        "raftRole",
        "raftTerm",
        "raftApplied",
        "brokerRole",
        "consumerGroups",
    ] {
        assert!(table.contains_key(key), "no {key} in {table:?}");
    }
}

/// PULL_MESSAGE for group G64 on T64 `queue_id` from offset 0 until nothing is left; the
/// number of messages read.
async fn pull_all(addr: &str, queue_id: i32) -> u64 {
    let mut offset = 0i64;
    let mut read = 0;
    loop {
        let header = PullMessageRequestHeader {
            consumer_group: "G64".to_owned(),
            topic: "T64".to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 8,
            sys_flag: PullMessageRequestHeader::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            bname: None,
            max_msg_bytes: None,
        };
        let request =
            RemotingCommand::request(RequestCode::PullMessage, ExtFields::new(), Bytes::new())
                .with_header(&header);
        let client = RemotingClient::new(addr, ClientConfig::default());
        let response = client
            .invoke(request, Duration::from_secs(5))
            .await
            .unwrap();
        client.close().await;
        if response.response_code() != ResponseCode::Success {
            return read;
        }
        let next: PullMessageResponseHeader = response.header().unwrap();
        let mut body = &response.body[..];
        while !body.is_empty() {
            let (_, size) = decode_message(body).unwrap();
            body = &body[size..];
            read += 1;
        }
        offset = next.next_begin_offset;
    }
}
