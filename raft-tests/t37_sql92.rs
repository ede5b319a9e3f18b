//! SQL92 property filters against the real binaries: with `enablePropertyFilter=true` a
//! three-node group delivers a SQL92 consumer exactly the messages its expression selects
//! (sent by our producer, and by ali-ons, whose own SQL92 consumer is served from the group's
//! heartbeat); malformed expressions get Java's codes with the error's position; without the
//! key the broker refuses SQL92 as Java does.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::client::{
    ConsumeFrom, ConsumerConfig, ExpressionType, Message, Producer, ProducerConfig, PullConsumer,
};
use dledger_broker::message::body::check_client::encode_check_client;
use dledger_broker::message::body::heartbeat::Subscription;
use dledger_broker::remoting::header::pull::PullMessageRequestHeader;
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;
use crate::t40_compat::{repo, run_scenario};

const EXPRESSION: &str = "color IN ('red', 'blue') AND price > 4.0 AND (TAGS = 'TagA' OR i >= 40)";
const REFUSED: &str = "The broker does not support consumer to filter message by SQL92";
const TIMEOUT: Duration = Duration::from_secs(5);

fn tag(i: u32) -> &'static str {
    if i.is_multiple_of(2) { "TagA" } else { "TagB" }
}

/// Every seventh message has no color.
fn color(i: u32) -> Option<&'static str> {
    (i % 7 != 3).then(|| ["red", "green", "blue"][i as usize % 3])
}

/// [`EXPRESSION`], evaluated without the broker (the same rule `compat/alions_sql92.js` uses).
fn selected(i: u32) -> bool {
    let price = f64::from(i % 10) + 0.5;
    matches!(color(i), Some("red" | "blue")) && price > 4.0 && (tag(i) == "TagA" || i >= 40)
}

async fn produce(cluster: &Cluster, topic: &str, count: u32) {
    let producer =
        Producer::new(ProducerConfig::new(cluster.namesrv_addr().as_str(), "T37P")).unwrap();
    producer.start().unwrap();
    for i in 0..count {
        let mut message = Message::new(topic, format!("body-{i}"))
            .with_tags(tag(i))
            .with_key(format!("key-{i}"))
            .with_property("i", i.to_string())
            .with_property("price", format!("{}.5", i % 10));
        if let Some(color) = color(i) {
            message = message.with_property("color", color);
        }
        producer.send(message).await.unwrap();
    }
    producer.shutdown().await;
}

/// What a SQL92 consumer of `group` receives from the first offset: every index, until `want`
/// have come and nothing more for 1.5 s (or 30 s passed).
async fn consume_sql92(cluster: &Cluster, topic: &str, group: &str, want: usize) -> Vec<u32> {
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), group, topic);
    config.from_where = ConsumeFrom::First;
    config.expression_type = ExpressionType::Sql92;
    config.expression = EXPRESSION.into();
    config.suspend_timeout = Duration::from_secs(1);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut complete_at = None;
    while Instant::now() < deadline
        && complete_at.is_none_or(|t: Instant| t.elapsed() < Duration::from_millis(1500))
    {
        for m in consumer.poll(Duration::from_millis(300)).await.unwrap() {
            let key = m.keys().first().copied().unwrap_or_default().to_string();
            got.push(key.trim_start_matches("key-").parse().unwrap());
        }
        if got.len() >= want && complete_at.is_none() {
            complete_at = Some(Instant::now());
        }
    }
    consumer.shutdown().await;
    got.sort_unstable();
    got
}

fn expected(count: u32) -> Vec<u32> {
    (0..count).filter(|&i| selected(i)).collect()
}

async fn invoke(client: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
    client.invoke(req, TIMEOUT).await.unwrap()
}

fn check_request(group: &str, topic: &str, expression: &str) -> RemotingCommand {
    let subscription = Subscription {
        topic: topic.into(),
        expression: expression.into(),
        expression_type: "SQL92".into(),
        sub_version: 1,
    };
    let body = encode_check_client("raw@1", group, &subscription);
    RemotingCommand::request(
        RequestCode::CheckClientConfig,
        Default::default(),
        Bytes::from(body),
    )
}

fn pull_request(group: &str, topic: &str, sub: Option<&str>, version: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: 0,
        max_msg_nums: 32,
        sys_flag: if sub.is_some() { 4 } else { 0 },
        subscription: sub.map(str::to_string),
        sub_version: version,
        expression_type: Some("SQL92".into()),
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::PullMessage, Default::default(), Bytes::new())
        .with_header(&header)
}

/// A HEART_BEAT registering `group`'s SQL92 `expression` for `topic` at version 1.
fn heartbeat_request(group: &str, topic: &str, expression: &str) -> RemotingCommand {
    let body = serde_json::json!({
        "clientID": "raw@1",
        "producerDataSet": [],
        "consumerDataSet": [{
            "groupName": group,
            "consumeType": "CONSUME_PASSIVELY",
            "messageModel": "CLUSTERING",
            "consumeFromWhere": "CONSUME_FROM_FIRST_OFFSET",
            "subscriptionDataSet": [{
                "topic": topic, "subString": expression, "expressionType": "SQL92",
                "subVersion": 1, "tagsSet": [], "codeSet": [], "classFilterMode": false,
            }],
        }],
    });
    RemotingCommand::request(
        RequestCode::HeartBeat,
        Default::default(),
        Bytes::from(body.to_string()),
    )
}

fn assert_refused(resp: &RemotingCommand, code: ResponseCode, remark_has: &[&str]) {
    let remark = resp.remark.clone().unwrap_or_default();
    assert_eq!(resp.response_code(), code, "{remark}");
    for part in remark_has {
        assert!(remark.contains(part), "{remark:?} lacks {part:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sql92_consumer_receives_exactly_the_matching_messages_from_a_three_node_group() {
    let cluster = Cluster::start_with(1, 3, "enablePropertyFilter=true\n");
    let topic = "T37";
    cluster.create_topic(topic, 4).await;
    produce(&cluster, topic, 120).await;
    let want = expected(120);
    assert!(want.len() > 10 && want.len() < 60, "{want:?}");
    let got = consume_sql92(&cluster, topic, "T37G", want.len()).await;
    assert_eq!(got, want, "exactly the selected messages, each once");

    // Malformed expressions, on the wire, get Java's codes and the error's position.
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    let client = RemotingClient::new(
        cluster.broker_addr(master).to_string(),
        ClientConfig::default(),
    );
    let ok = invoke(&client, check_request("T37G", topic, EXPRESSION)).await;
    assert_eq!(ok.response_code(), ResponseCode::Success, "{:?}", ok.remark);
    let bad = invoke(&client, check_request("T37G", topic, "color = ")).await;
    assert_refused(
        &bad,
        ResponseCode::SubscriptionParseFailed,
        &["line 1, column 8"],
    );
    let bad = invoke(&client, check_request("T37G", topic, "price > 'x'")).await;
    assert_refused(
        &bad,
        ResponseCode::SubscriptionParseFailed,
        &["line 1, column 9"],
    );
    let carried = pull_request("T37Raw", topic, Some("i BETWEEN 5 AND 1"), 1);
    let bad = invoke(&client, carried).await;
    assert_refused(
        &bad,
        ResponseCode::SubscriptionParseFailed,
        &["line 1, column 11"],
    );
    // From the group's heartbeat: FILTER_DATA_NOT_EXIST, or SUBSCRIPTION_NOT_LATEST when the pull
    // names a newer version than the heartbeat did.
    let hb = invoke(&client, heartbeat_request("T37Bad", topic, "i = = 1")).await;
    assert_eq!(hb.response_code(), ResponseCode::Success, "{:?}", hb.remark);
    let bad = invoke(&client, pull_request("T37Bad", topic, None, 1)).await;
    assert_refused(
        &bad,
        ResponseCode::FilterDataNotExist,
        &["line 1, column 5"],
    );
    let bad = invoke(&client, pull_request("T37Bad", topic, None, 2)).await;
    assert_refused(&bad, ResponseCode::SubscriptionNotLatest, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_enable_property_filter_sql92_is_refused_as_java_refuses_it() {
    let cluster = Cluster::start(1, 1);
    let topic = "T37Off";
    cluster.create_topic(topic, 1).await;
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), "T37OffG", topic);
    config.expression_type = ExpressionType::Sql92;
    config.expression = "a = 1".into();
    let mut consumer = PullConsumer::new(config).unwrap();
    let err = consumer.start().await.unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::SystemError),
        "{err}"
    );
    assert!(err.to_string().contains(REFUSED), "{err}");

    let client = RemotingClient::new(cluster.broker_addr(1).to_string(), ClientConfig::default());
    let check = invoke(&client, check_request("T37OffG", topic, "a = 1")).await;
    assert_refused(&check, ResponseCode::SystemError, &[REFUSED]);
    let pull = invoke(&client, pull_request("T37OffG", topic, Some("a = 1"), 1)).await;
    assert_refused(&pull, ResponseCode::SystemError, &[REFUSED]);
    // The same from the group's heartbeat (where the expression is compiled first).
    invoke(&client, heartbeat_request("T37OffH", topic, "a = 1")).await;
    let pull = invoke(&client, pull_request("T37OffH", topic, None, 1)).await;
    assert_refused(&pull, ResponseCode::SystemError, &[REFUSED]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_messages_with_properties_are_filtered_for_ali_ons_and_for_our_consumer() {
    let cluster = Cluster::start_with(1, 3, "enablePropertyFilter=true\n");
    let topic = "T37Ali";
    cluster.create_topic(topic, 4).await;
    let script = repo().join("compat/alions_sql92.js");
    assert!(
        repo().join("compat/node_modules/ali-ons").exists(),
        "ali-ons is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    // ali-ons produces 60 and its own SQL92 consumer (served from its heartbeat) checks them.
    run_scenario(
        "node",
        &[script.to_str().unwrap()],
        &cluster,
        topic,
        "T37AliG",
    );
    let want = expected(60);
    let got = consume_sql92(&cluster, topic, "T37AliRust", want.len()).await;
    assert_eq!(got, want, "our consumer, from ali-ons' messages");
    let distinct: BTreeSet<u32> = got.iter().copied().collect();
    assert_eq!(distinct.len(), got.len());
}
