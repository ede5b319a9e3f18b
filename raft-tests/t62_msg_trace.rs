//! Message trace with real processes: a group with `traceTopicEnable=true` and
//! `autoCreateTopicEnable=false` has `RMQ_SYS_TRACE_TOPIC` from its start; our producer with
//! tracing on writes a `Pub` record there after a send, a consumer's `SubAfter` record in
//! Java's exact bytes is written beside it, and `mqadmin queryMsgTraceById` prints both in
//! Java's layout.

use std::time::Duration;

use dledger_broker::client::{Admin, Message, Producer, ProducerConfig};

use crate::cluster::Cluster;
use crate::t60_mqadmin::mqadmin_until;

const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_send_and_a_java_consume_record_are_found_by_query_msg_trace_by_id() {
    let cluster = Cluster::start_with(1, 3, "traceTopicEnable=true\nautoCreateTopicEnable=false\n");
    cluster.wait_master(Duration::from_secs(20)).await;
    let ns = cluster.namesrv_addr();
    let admin = Admin::new(ns.as_str()).unwrap();
    // Registered by the group at start, although nothing may be auto-created.
    let route = admin.topic_route(TRACE_TOPIC).await.unwrap();
    let queues: i32 = route.queue_datas.iter().map(|q| q.write_queue_nums).sum();
    assert_eq!(queues, 1, "{route:?}");
    cluster.create_topic("T62", 2).await;

    let mut config = ProducerConfig::new(ns.as_str(), "T62Producer");
    config.msg_trace_topic = Some(TRACE_TOPIC.into());
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    let sent = producer
        .send(
            Message::new("T62", "traced")
                .with_tags("TagA")
                .with_key("order-1"),
        )
        .await
        .unwrap();

    // A consumer's record as Java's AsyncTraceDispatcher writes it, keyed by the msgId.
    let consumed = format!(
        "SubAfter\u{1}REQ-1\u{1}{id}\u{1}7\u{1}true\u{1}order-1\u{1}0\u{1}1700000000000\u{1}T62Consumer\u{2}",
        id = sent.msg_id
    );
    let java_like = Producer::new(ProducerConfig::new(ns.as_str(), "T62JavaTrace")).unwrap();
    java_like.start().unwrap();
    java_like
        .send(Message::new(TRACE_TOPIC, consumed).with_key(sent.msg_id.clone()))
        .await
        .unwrap();

    let out = mqadmin_until(
        &ns,
        &["queryMsgTraceById", "-i", &sent.msg_id],
        Duration::from_secs(20),
        |out| out.contains("Pub ") && out.contains("Sub "),
    );
    println!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "#Type      #ProducerGroup       #ClientHost          #SendTime            #CostTimes #Status   "
    );
    assert!(
        lines[1].starts_with("Pub        T62Producer          127.0.0.1 "),
        "{out}"
    );
    assert!(lines[1].trim_end().ends_with("success"), "{out}");
    assert_eq!(lines[2], "");
    assert!(
        lines[3].starts_with("#Type      #ConsumerGroup       #ClientHost          #ConsumerTime")
    );
    assert_eq!(
        lines[4],
        "Sub        T62Consumer          127.0.0.1            2023-11-14 22:13:20  7ms        success   "
    );
    // -t names the trace topic; an unknown one has no route and fails.
    let other = crate::t60_mqadmin::mqadmin(
        &ns,
        &["queryMsgTraceById", "-i", &sent.msg_id, "-t", "NoSuchTrace"],
    );
    assert!(!other.status.success());
    producer.shutdown().await;
    java_like.shutdown().await;
}
