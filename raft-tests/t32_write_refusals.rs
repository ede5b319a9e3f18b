//! `diskSpaceWarningLevelRatio` with real processes: a broker whose store disk is above the
//! limit (here 0 %, so any used disk is "full") refuses sends with SERVICE_NOT_AVAILABLE and a
//! remark naming the full disk, and keeps serving reads; one with `brokerPermission=4` is
//! advertised read-only.

use std::time::Duration;

use dledger_broker::client::{Admin, Message, NameServerClient, Producer, ProducerConfig};
use dledger_broker::remoting::ResponseCode;

use crate::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_over_the_disk_limit_refuses_sends_and_still_answers_reads() {
    let cluster = Cluster::start_with(1, 1, "diskSpaceWarningLevelRatio=0\n");
    cluster.create_topic("T32", 1).await;
    let mut config = ProducerConfig::new(cluster.namesrv_addr().as_str(), "T32P");
    config.retries = 1;
    config.send_timeout = Duration::from_secs(3);
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    let err = producer
        .send(Message::new("T32", "refused"))
        .await
        .expect_err("a send to a full broker is refused");
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::ServiceNotAvailable),
        "{err}"
    );
    assert!(err.to_string().contains("disk is full"), "{err}");
    producer.shutdown().await;

    // Reads go on: the queue is there and empty.
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let addr = cluster.broker_addr(1).to_string();
    assert_eq!(admin.max_offset(&addr, "T32", 0).await.unwrap(), 0);
}

/// `brokerPermission=4` (read-only, how operators drain a broker): every topic is advertised
/// read-only, so producers find no writable queue, while pulls go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_broker_is_advertised_read_only() {
    let cluster = Cluster::start_with(1, 1, "brokerPermission=4\n");
    cluster.create_topic("T32R", 2).await;
    let namesrv = NameServerClient::new(cluster.namesrv_addr().as_str()).unwrap();
    let route = namesrv.route("T32R").await.unwrap();
    assert!(!route.queue_datas.is_empty());
    assert!(
        route.queue_datas.iter().all(|q| q.perm == 4),
        "{:?}",
        route.queue_datas
    );
    let admin = Admin::new(cluster.namesrv_addr().as_str()).unwrap();
    let addr = cluster.broker_addr(1).to_string();
    assert_eq!(admin.max_offset(&addr, "T32R", 1).await.unwrap(), 0);
}
