//! `dLegerPeerSecret` on a real three-node group: the members prove the shared secret to each
//! other and the group elects, replicates and serves; a member restarted with another secret
//! is shut out (its connections are refused and logged with its address) while the other two
//! keep taking writes.

use std::time::{Duration, Instant};

use dledger_broker::client::{Message, Producer, ProducerConfig};

use crate::cluster::Cluster;

const TOPIC: &str = "T39";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_a_peer_secret_works_and_a_member_with_another_is_shut_out() {
    let mut cluster = Cluster::start_with(1, 3, "dLegerPeerSecret=t39-group-secret\n");
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    cluster.create_topic(TOPIC, 2).await;
    let producer =
        Producer::new(ProducerConfig::new(cluster.namesrv_addr().as_str(), "T39P")).unwrap();
    producer.start().unwrap();
    producer
        .send(Message::new(
            TOPIC,
            "replicated between authenticated peers",
        ))
        .await
        .unwrap();

    tracing::info!("a follower comes back with another secret");
    let follower = (1..=3).find(|id| *id != master).unwrap();
    cluster.stop_broker(follower, Duration::from_secs(20));
    cluster.extra_conf = "dLegerPeerSecret=not-the-group-secret\n".into();
    cluster.start_broker(follower);
    let deadline = Instant::now() + Duration::from_secs(15);
    let refused_in = loop {
        let refused = cluster.brokers.iter().find_map(|(id, p)| {
            let p = p.as_ref()?;
            let logs = format!("{}{}", p.stdout(), p.stderr());
            (logs.contains("failed authentication") && logs.contains("127.0.0.1:")).then_some(*id)
        });
        if let Some(id) = refused {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "no refused peer connection logged within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!("node {refused_in} logged a refused peer connection");

    tracing::info!("the two members that share the secret keep taking writes");
    producer
        .send(Message::new(TOPIC, "still replicated by two"))
        .await
        .unwrap();
    assert_eq!(
        cluster.wait_master(Duration::from_secs(10)).await,
        master,
        "the leader kept its place"
    );
    producer.shutdown().await;
}
