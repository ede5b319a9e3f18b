//! Failover with real processes: kill -9 the master of a three-node group, a new master is
//! registered with both nameservers within 2 s, sends resume and nothing acknowledged is lost;
//! the killed node restarts, registers as a slave and catches up. A SIGTERM hands leadership
//! over before the process exits.

use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::remoting::header::send::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;

const TOPIC: &str = "T50";

async fn send_to(
    cluster: &Cluster,
    node: u64,
    seq: u32,
) -> Result<SendMessageResponseHeader, String> {
    let client = RemotingClient::new(
        cluster.broker_addr(node).to_string(),
        ClientConfig::default(),
    );
    let header = SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: TOPIC.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 2,
        queue_id: (seq % 2) as i32,
        born_timestamp: 1,
        ..Default::default()
    };
    let req = RemotingCommand::request(
        RequestCode::SendMessageV2,
        Default::default(),
        Bytes::from(format!("m{seq}")),
    )
    .with_header(&SendMessageRequestHeaderV2(header));
    let result = client.invoke(req, Duration::from_secs(5)).await;
    client.close().await;
    match result {
        Ok(r) if r.response_code() == ResponseCode::Success => {
            r.header().map_err(|e| e.to_string())
        }
        Ok(r) => Err(format!("{}: {:?}", r.response_code(), r.remark)),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends `seq` to whichever node the nameservers name master, retrying as a producer would.
async fn send_somewhere(
    cluster: &Cluster,
    seq: u32,
    within: Duration,
) -> SendMessageResponseHeader {
    let deadline = Instant::now() + within;
    loop {
        let master = cluster.wait_master(within).await;
        match send_to(cluster, master, seq).await {
            Ok(h) => return h,
            Err(e) => assert!(Instant::now() < deadline, "send {seq} kept failing: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_master_promotes_a_new_one_within_two_seconds_and_loses_nothing() {
    let mut cluster = Cluster::start(2, 3);
    let mut acked = Vec::new();
    for seq in 0..20 {
        acked.push(send_somewhere(&cluster, seq, Duration::from_secs(20)).await);
    }
    let old = cluster.wait_master(Duration::from_secs(5)).await;
    let killed = Instant::now();
    cluster.kill_broker(old);
    // Both nameservers name a new master.
    let deadline = killed + Duration::from_secs(10);
    let new = loop {
        let mut masters = Vec::new();
        for (addr, _) in &cluster.namesrvs {
            masters.push(cluster.master_in(*addr).await);
        }
        if masters.iter().all(|m| m.is_some_and(|m| m != old)) && masters[0] == masters[1] {
            break masters[0].unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no new master after killing {old}: {masters:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let failover = killed.elapsed();
    println!("node {old} killed; node {new} master in both nameservers after {failover:?}");
    assert!(
        failover < Duration::from_secs(2),
        "failover took {failover:?}"
    );
    for seq in 20..30 {
        acked.push(send_somewhere(&cluster, seq, Duration::from_secs(10)).await);
    }
    // Every acknowledged message is readable on the new master at the offset it was acked with.
    let client = RemotingClient::new(
        cluster.broker_addr(new).to_string(),
        ClientConfig::default(),
    );
    for h in &acked {
        let mut req = RemotingCommand::request(
            RequestCode::ViewMessageById,
            Default::default(),
            Bytes::new(),
        );
        let (_, offset) = dledger_broker::message::parse_offset_msg_id(&h.msg_id).unwrap();
        req.ext_fields.insert("offset".into(), offset.to_string());
        let resp = client.invoke(req, Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            resp.response_code(),
            ResponseCode::Success,
            "message {} lost: {:?}",
            h.msg_id,
            resp.remark
        );
        let m = dledger_broker::message::decode_message(&resp.body)
            .unwrap()
            .0
            .message;
        assert_eq!(m.queue_offset as i64, h.queue_offset);
    }
    // The killed node comes back as a slave.
    cluster.start_broker(old);
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.wait_master(Duration::from_secs(5)).await != new {
        assert!(
            Instant::now() < deadline,
            "master changed after the restart"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_the_master_hands_leadership_over_before_exiting() {
    let mut cluster = Cluster::start(1, 3);
    send_somewhere(&cluster, 0, Duration::from_secs(20)).await;
    let old = cluster.wait_master(Duration::from_secs(5)).await;
    let mut proc = cluster
        .brokers
        .get_mut(&old)
        .and_then(Option::take)
        .unwrap();
    let started = Instant::now();
    proc.terminate().unwrap();
    let status = proc.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(
        status.success(),
        "the master did not exit cleanly: {status:?}"
    );
    let new = cluster.wait_master(Duration::from_secs(5)).await;
    assert_ne!(new, old);
    println!(
        "SIGTERM on node {old}: node {new} took over, process gone after {:?}",
        started.elapsed()
    );
    send_somewhere(&cluster, 1, Duration::from_secs(5)).await;
}

/// A consumer offset the master has answered is replicated: killed right after answering, the
/// next master answers at least as much (found by the fault campaign: the master answered
/// commits it had not replicated yet, and a kill within the coalescing interval took them back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_offset_the_master_answered_survives_its_kill() {
    let mut cluster = Cluster::start(1, 3);
    send_somewhere(&cluster, 0, Duration::from_secs(20)).await;
    let admin = dledger_broker::client::Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let old = cluster.wait_master(Duration::from_secs(5)).await;
    let addr = cluster.broker_addr(old).to_string();
    admin
        .update_consumer_offset(&addr, "G50", TOPIC, 0, 1)
        .await
        .unwrap();
    let answered = admin
        .query_consumer_offset(&addr, "G50", TOPIC, 0)
        .await
        .unwrap();
    assert_eq!(answered, Some(1));
    cluster.kill_broker(old);
    let deadline = Instant::now() + Duration::from_secs(15);
    let after = loop {
        let new = cluster.wait_master(Duration::from_secs(10)).await;
        if new != old {
            let addr = cluster.broker_addr(new).to_string();
            if let Ok(offset) = admin.query_consumer_offset(&addr, "G50", TOPIC, 0).await {
                break offset;
            }
        }
        assert!(Instant::now() < deadline, "no new master answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        after,
        Some(1),
        "the new master went back from the answered offset"
    );
}
