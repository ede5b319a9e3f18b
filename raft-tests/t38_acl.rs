//! The plain ACL (`aclEnable=true`) on a real three-node group, with our client signing: the
//! right keys publish and consume; a wrong secret, an unsigned request and a topic without PUB
//! are refused with Java's remark; an admin request is refused for a plain account and done
//! for an admin one; a change to `plain_acl.yml` that grants PUB takes effect within seconds,
//! no restart, and a broken edit keeps the last good rules. ali-ons (`compat/alions_acl.js`)
//! signs with its `accessKey`/`secretKey` in its own way and is admitted, and refused with a
//! wrong secret.

use std::path::Path;
use std::time::{Duration, Instant};

use dledger_broker::client::{
    Admin, ConsumeFrom, ConsumerConfig, Credentials, Message, Producer, ProducerConfig,
    PullConsumer,
};
use dledger_broker::message::TopicConfig;
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::cluster::Cluster;
use crate::t60_mqadmin::mqadmin;

const OPEN_TOPIC: &str = "T38";
const LATER_TOPIC: &str = "T38Later";

fn rules(later_topic_perm: &str) -> String {
    format!(
        "accounts:
  - accessKey: t38admin
    secretKey: t38-admin-secret
    admin: true
  - accessKey: t38app01
    secretKey: t38-app-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - {OPEN_TOPIC}=PUB|SUB
      - {LATER_TOPIC}={later_topic_perm}
"
    )
}

/// Replaces the file in one step, as an editor that writes a new file and renames it does.
fn write_rules(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn app_keys() -> Credentials {
    Credentials::new("t38app01", "t38-app-secret")
}

fn admin_keys() -> Credentials {
    Credentials::new("t38admin", "t38-admin-secret")
}

fn producer(cluster: &Cluster, keys: Credentials) -> Producer {
    let mut config = ProducerConfig::new(cluster.namesrv_addr().as_str(), "T38Producer");
    config.credentials = Some(keys);
    config.retries = 0;
    let producer = Producer::new(config).unwrap();
    producer.start().unwrap();
    producer
}

fn topic(name: &str) -> TopicConfig {
    TopicConfig {
        topic_name: name.into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        ..TopicConfig::default()
    }
}

async fn wait_route(admin: &Admin, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.topic_route(topic).await.is_err() {
        assert!(Instant::now() < deadline, "no route for {topic}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_keys_grants_admin_codes_and_hot_reload_on_a_three_node_group() {
    let acl_dir = tempfile::tempdir().unwrap();
    let acl_file = acl_dir.path().join("plain_acl.yml");
    write_rules(&acl_file, &rules("SUB"));
    let cluster = Cluster::start_with(
        1,
        3,
        &format!("aclEnable=true\naclConfigFile={}\n", acl_file.display()),
    );
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    let master_addr = cluster.broker_addr(master).to_string();

    tracing::info!("admin requests: refused for a plain account, done for an admin one");
    let plain_admin = Admin::new(cluster.namesrv_addr().as_str())
        .unwrap()
        .with_credentials(Some(app_keys()));
    let refused = plain_admin
        .create_topic(&master_addr, &topic(OPEN_TOPIC))
        .await
        .expect_err("a plain account may not create topics")
        .to_string();
    assert!(
        refused
            .contains("Need admin permission for request code=17, but accessKey=t38app01 is not"),
        "{refused}"
    );
    assert!(!refused.contains("t38-app-secret"), "{refused}");
    let admin = Admin::new(cluster.namesrv_addr().as_str())
        .unwrap()
        .with_credentials(Some(admin_keys()));

    tracing::info!("mqadmin signs with --accessKey/--secretKey");
    let ns = cluster.namesrv_addr();
    let update = ["updateTopic", "-c", "TestCluster", "-t", "T38Tool"];
    let keys = |ak: &'static str, sk: &'static str| ["--accessKey", ak, "--secretKey", sk];
    let plain = mqadmin(
        &ns,
        &[&update[..], &keys("t38app01", "t38-app-secret")].concat(),
    );
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(
        !plain.status.success(),
        "a plain account may not updateTopic"
    );
    assert!(stderr.contains("Need admin permission"), "{stderr}");
    let ops = mqadmin(
        &ns,
        &[&update[..], &keys("t38admin", "t38-admin-secret")].concat(),
    );
    let stdout = String::from_utf8_lossy(&ops.stdout);
    assert!(
        ops.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&ops.stderr)
    );
    assert!(stdout.contains("success."), "{stdout}");

    for name in [OPEN_TOPIC, LATER_TOPIC] {
        admin
            .create_topic(&master_addr, &topic(name))
            .await
            .unwrap();
        wait_route(&admin, name).await;
    }

    tracing::info!("an unsigned request is refused with Java's code and remark");
    let unsigned = RemotingClient::new(master_addr.clone(), ClientConfig::default());
    let answer = unsigned
        .invoke(
            RemotingCommand::request(
                RequestCode::GetBrokerRuntimeInfo,
                Default::default(),
                Default::default(),
            ),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(answer.response_code(), ResponseCode::SystemError);
    assert_eq!(
        answer.remark.as_deref(),
        Some("org.apache.rocketmq.acl.common.AclException: No accessKey is configured")
    );
    unsigned.close().await;

    tracing::info!("the right keys publish and consume");
    let app = producer(&cluster, app_keys());
    let sent = app
        .send(Message::new(OPEN_TOPIC, "hello with keys"))
        .await
        .unwrap();
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), "T38Group", OPEN_TOPIC);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_secs(1);
    config.credentials = Some(app_keys());
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.is_empty() && Instant::now() < deadline {
        got = consumer.poll(Duration::from_millis(500)).await.unwrap();
    }
    assert_eq!(got.len(), 1, "the message sent with keys is consumed");
    assert_eq!(got[0].body(), b"hello with keys");
    assert_eq!(got[0].msg_id(), sent.msg_id);
    consumer.shutdown().await;

    tracing::info!("a wrong secret is refused");
    let forger = producer(&cluster, Credentials::new("t38app01", "not-the-secret"));
    let err = forger
        .send(Message::new(OPEN_TOPIC, "forged"))
        .await
        .expect_err("wrong secret")
        .to_string();
    assert!(
        err.contains("Check signature failed for accessKey=t38app01"),
        "{err}"
    );
    forger.shutdown().await;

    tracing::info!("a topic the account has only SUB on is refused for sending");
    let err = app
        .send(Message::new(LATER_TOPIC, "too early"))
        .await
        .expect_err("no PUB on the later topic")
        .to_string();
    assert!(
        err.contains("No default permission for topic:T38Later, PUB needed"),
        "{err}"
    );

    tracing::info!("a broken edit keeps the last good rules");
    write_rules(&acl_file, "accounts:\n  - accessKey: [t38app01\n");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    app.send(Message::new(OPEN_TOPIC, "still allowed"))
        .await
        .unwrap();

    tracing::info!("granting PUB in the file takes effect without a restart");
    write_rules(&acl_file, &rules("PUB|SUB"));
    let granted_at = Instant::now();
    loop {
        match app.send(Message::new(LATER_TOPIC, "now allowed")).await {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    granted_at.elapsed() < Duration::from_secs(10),
                    "the grant did not take effect within 10 s: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    println!("hot reload took effect after {:?}", granted_at.elapsed());
    app.shutdown().await;
}

/// `compat/alions_acl.js` with `keys`; panics unless ali-ons's outcome is `expect`.
fn alions_send(cluster: &Cluster, keys: (&str, &str), expect: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        repo.join("compat/node_modules/ali-ons").exists(),
        "ali-ons is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    let output = std::process::Command::new("node")
        .arg(repo.join("compat/alions_acl.js"))
        .args(["--namesrv", &cluster.namesrv_addr()])
        .args(["--topic", OPEN_TOPIC, "--group", "T38Ons"])
        .args(["--accessKey", keys.0, "--secretKey", keys.1])
        .args(["--expect", expect])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("ali-ons, expecting {expect}: {}", stdout.trim());
    assert!(
        output.status.success(),
        "ali-ons did not end as expected ({expect}): {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ali_ons_publishes_with_its_keys_and_is_refused_with_a_wrong_secret() {
    let acl_dir = tempfile::tempdir().unwrap();
    let acl_file = acl_dir.path().join("plain_acl.yml");
    write_rules(&acl_file, &rules("SUB"));
    let cluster = Cluster::start_with(
        1,
        3,
        &format!("aclEnable=true\naclConfigFile={}\n", acl_file.display()),
    );
    let master = cluster.wait_master(Duration::from_secs(20)).await;
    let admin = Admin::new(cluster.namesrv_addr().as_str())
        .unwrap()
        .with_credentials(Some(admin_keys()));
    let master_addr = cluster.broker_addr(master).to_string();
    admin
        .create_topic(&master_addr, &topic(OPEN_TOPIC))
        .await
        .unwrap();
    wait_route(&admin, OPEN_TOPIC).await;
    let app = app_keys();
    let keys = (app.access_key.as_str(), app.secret_key.as_str());
    alions_send(&cluster, keys, "sent");
    alions_send(&cluster, (keys.0, "not-the-secret"), "refused");
}
