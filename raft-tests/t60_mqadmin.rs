//! The real `mqadmin` binary against a real nameserver and three-node broker group: topic
//! creation, a send and a consume, `clusterList` and `raftStatus` views, and the failures an
//! operator sees (unreachable nameserver, unknown subcommand, missing topic). Every run of the
//! tool is bounded by `timeout 30`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use dledger_broker::admin_cli::format::{self, RaftRow};
use dledger_broker::client::{
    Admin, ConsumeFrom, ConsumerConfig, Message, Producer, ProducerConfig, PullConsumer,
};
use dledger_broker::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

use crate::cluster::Cluster;

/// Runs `mqadmin args...` with `NAMESRV_ADDR=ns`, bounded to 30 s.
pub(crate) fn mqadmin(ns: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_mqadmin"))
        .args(args)
        .env("NAMESRV_ADDR", ns)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

pub(crate) fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `mqadmin` until it succeeds and `ok` accepts its stdout, for at most `within`.
pub(crate) fn mqadmin_until(
    ns: &str,
    args: &[&str],
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let o = mqadmin(ns, args);
        let (out, err) = text(&o);
        if o.status.success() && ok(&out) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "mqadmin {args:?} did not succeed within {within:?}: {:?}\nstdout:\n{out}\nstderr:\n{err}",
            o.status
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Data rows of a `#Header` table.
pub(crate) fn rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqadmin_creates_sends_consumes_and_reports_the_raft_group() {
    let cluster = Cluster::start(1, 3);
    cluster.wait_master(Duration::from_secs(30)).await;
    let ns = cluster.namesrv_addr();
    let long = Duration::from_secs(30);

    let out = mqadmin_until(
        &ns,
        &["updateTopic", "-c", "TestCluster", "-t", "T60"],
        long,
        |_| true,
    );
    assert!(out.contains("create topic to 127.0.0.1:"), "{out}");
    assert!(out.contains("success."), "{out}");

    let out = mqadmin_until(
        &ns,
        &[
            "sendMessage",
            "-t",
            "T60",
            "-p",
            "hello",
            "-k",
            "k1",
            "-c",
            "TagA",
        ],
        long,
        |_| true,
    );
    let row = rows(&out);
    assert_eq!(row.len(), 1, "{out}");
    let msg_id = row[0][3];
    assert!(
        msg_id.len() == 32 && msg_id.chars().all(|c| c.is_ascii_hexdigit()),
        "msgId {msg_id:?} in\n{out}"
    );

    let out = mqadmin_until(
        &ns,
        &["consumeMessage", "-t", "T60", "-s", "first", "--idle", "3"],
        long,
        |out| out.contains("BODY: hello"),
    );
    assert!(out.contains(&format!("MSGID: {msg_id}")), "{out}");

    // queryMsgByUniqueKey: Java's fields, the body in the file it names.
    let out = mqadmin_until(
        &ns,
        &["queryMsgByUniqueKey", "-i", msg_id, "-t", "T60"],
        long,
        |out| out.contains("Message Body Path:"),
    );
    assert!(out.starts_with("Topic:"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().eq(["Tags:", "[TagA]"])),
        "{out}"
    );
    let path = out
        .lines()
        .find_map(|l| l.strip_prefix("Message Body Path:"))
        .unwrap()
        .trim();
    assert!(path.ends_with(msg_id), "{out}");
    assert_eq!(std::fs::read(path).unwrap(), b"hello");
    let o = mqadmin(
        &ns,
        &[
            "queryMsgByUniqueKey",
            "-i",
            msg_id,
            "-t",
            "T60",
            "-g",
            "G",
            "-d",
            "c",
        ],
    );
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("CONSUME_MESSAGE_DIRECTLY"),
        "{err}"
    );

    // Any letter case; three addresses, one master.
    let out = mqadmin_until(&ns, &["CLUSTERLIST"], long, |out| rows(out).len() == 3);
    assert!(out.starts_with("#Cluster Name"), "{out}");
    let masters = rows(&out).iter().filter(|r| r[2] == "0").count();
    assert_eq!(masters, 1, "{out}");

    let out = mqadmin_until(&ns, &["raftStatus", "-c", "TestCluster"], long, |out| {
        rows(out).len() == 3 && rows(out).iter().filter(|r| r[2] == "Leader").count() == 1
    });
    assert!(out.starts_with("#Broker Name"), "{out}");

    let out = mqadmin_until(&ns, &["topicList"], long, |out| {
        out.lines().any(|l| l == "T60")
    });
    assert!(!out.contains('#'), "{out}");

    let out = mqadmin_until(&ns, &["topicRoute", "-t", "T60"], long, |_| true);
    assert!(out.contains("\"brokerDatas\""), "{out}");

    let addr = cluster.broker_addr(1).to_string();
    let out = mqadmin_until(&ns, &["brokerStatus", "-b", &addr], long, |_| true);
    assert!(out.lines().any(|l| l.starts_with("raftRole")), "{out}");
    let out = mqadmin_until(&ns, &["getBrokerConfig", "-b", &addr], long, |_| true);
    assert!(out.contains("brokerClusterName"), "{out}");

    query_and_progress_commands(&ns, row[0][0]).await;

    // Failures exit non-zero and say what failed.
    let o = mqadmin(&ns, &["clusterList", "-n", "127.0.0.1:1"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");

    let o = mqadmin(&ns, &["noSuchCommand"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("noSuchCommand not exist"), "{err}");
    assert!(
        err.contains("clusterList") && err.contains("raftStatus"),
        "{err}"
    );

    let o = mqadmin(&ns, &["topicRoute", "-t", "NoSuchTopic60"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("NoSuchTopic60"), "{err}");
}

/// `topicStatus`, `queryMsgByKey`/`ById`/`ByOffset`, `updateSubGroup`, `consumerConnection` and
/// `consumerProgress` after two more keyed sends, then the group commands (T60 already holds one message, key `k1`).
async fn query_and_progress_commands(ns: &str, broker_name: &str) {
    let long = Duration::from_secs(30);
    for body in ["second", "third"] {
        mqadmin_until(
            ns,
            &[
                "sendMessage",
                "-t",
                "T60",
                "-p",
                body,
                "-k",
                "k60 other",
                "-c",
                "TagB",
            ],
            long,
            |_| true,
        );
    }

    // Three messages over the topic's queues.
    let out = mqadmin_until(ns, &["topicStatus", "-t", "T60"], long, |out| {
        rows(out)
            .iter()
            .map(|r| r[3].parse::<i64>().unwrap())
            .sum::<i64>()
            == 3
    });
    assert!(out.starts_with("#Broker Name"), "{out}");
    assert_eq!(rows(&out).len(), 8, "{out}");
    assert!(rows(&out).iter().all(|r| r[0] == broker_name), "{out}");

    let out = mqadmin_until(
        ns,
        &["queryMsgByKey", "-t", "T60", "-k", "k60"],
        long,
        |out| rows(out).len() == 2,
    );
    assert!(out.starts_with("#Message ID"), "{out}");
    let found = rows(&out);
    let (id, qid, offset) = (found[0][0], found[0][1], found[0][2]);
    let out = mqadmin_until(
        ns,
        &["queryMsgByKey", "-t", "T60", "-k", "nokey"],
        long,
        |_| true,
    );
    assert!(rows(&out).is_empty(), "{out}");

    let detail = mqadmin_until(ns, &["queryMsgById", "-i", id], long, |_| true);
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(field(&detail, "OffsetID:"), id);
    assert_eq!(field(&detail, "Topic:"), "T60");
    assert_eq!(field(&detail, "Tags:"), "[TagB]");
    assert_eq!(field(&detail, "Keys:"), "[k60 other]");
    assert_eq!(field(&detail, "Queue ID:"), qid);
    assert_eq!(field(&detail, "Queue Offset:"), offset);
    let body = field(&detail, "Message Body:");
    assert!(body == "second" || body == "third", "{detail}");

    let by_offset = mqadmin_until(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "T60",
            "-b",
            broker_name,
            "-i",
            qid,
            "-o",
            offset,
        ],
        long,
        |_| true,
    );
    assert_eq!(by_offset, detail);
    let o = mqadmin(
        ns,
        &[
            "queryMsgByOffset",
            "-t",
            "T60",
            "-b",
            broker_name,
            "-i",
            qid,
            "-o",
            "99",
        ],
    );
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("Message not found"),
        "{err}"
    );

    let out = mqadmin_until(
        ns,
        &[
            "updateSubGroup",
            "-c",
            "TestCluster",
            "-g",
            "G60",
            "-q",
            "2",
        ],
        long,
        |_| true,
    );
    assert!(
        out.contains("create subscription group to 127.0.0.1:"),
        "{out}"
    );
    assert!(
        out.contains("groupName=G60") && out.contains("retryQueueNums=2"),
        "{out}"
    );

    // A live consumer of G60 reads all three messages and commits.
    let mut config = ConsumerConfig::new(ns, "G60", "T60");
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_secs(1);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let client_id = consumer.client_id().to_owned();
    let mut got = 0;
    let deadline = Instant::now() + long;
    while got < 3 && Instant::now() < deadline {
        got += consumer
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(got, 3);
    consumer.commit().await.unwrap();

    let out = mqadmin_until(ns, &["consumerConnection", "-g", "G60"], long, |out| {
        out.contains(&client_id)
    });
    assert!(out.starts_with("#ClientId"), "{out}");
    assert!(out.contains("Below is subscription:"), "{out}");
    assert!(
        out.lines().any(|l| l.split_whitespace().eq(["T60", "*"])),
        "{out}"
    );
    assert!(out.contains("MessageModel: CLUSTERING"), "{out}");

    let out = mqadmin_until(
        ns,
        &["consumerProgress", "-g", "G60", "-t", "T60"],
        long,
        |out| {
            let r = rows(out);
            !r.is_empty()
                && r.iter()
                    .filter(|r| r[0] == "T60")
                    .map(|r| r[4].parse::<i64>().unwrap())
                    .sum::<i64>()
                    == 3
        },
    );
    assert!(out.starts_with("#Topic"), "{out}");
    assert!(out.contains("Consume TPS: "), "{out}");
    assert!(out.lines().any(|l| l == "Diff Total: 0"), "{out}");

    // Without -g: one line per consumer group, as Java's tool lists them.
    let out = mqadmin_until(ns, &["consumerProgress"], long, |out| {
        rows(out).iter().any(|r| r[0] == "G60" && r[1] == "1")
    });
    assert!(out.starts_with("#Group"), "{out}");
    let g60 = rows(&out).into_iter().find(|r| r[0] == "G60").unwrap();
    // Our pull consumer: count, version, PULL (no model for pull consumers), TPS, diff.
    assert_eq!(g60.len(), 6, "{out}");
    assert!(g60[2].starts_with("V4_"), "{out}");
    assert_eq!((g60[3], g60[5]), ("PULL", "0"), "{out}");
    assert!(g60[4].parse::<i64>().is_ok(), "{out}");
    consumer.shutdown().await;

    let o = mqadmin(ns, &["consumerConnection", "-g", "NoSuchGroup60"]);
    let (_, err) = text(&o);
    assert!(!o.status.success(), "{err}");

    group_commands(ns).await;
}

/// `producerConnection` with a live producer; `resetOffsetByTime` with a live consumer;
/// `deleteSubGroup` without and with `-r true`.
async fn group_commands(ns: &str) {
    let long = Duration::from_secs(30);
    let producer = Producer::new(ProducerConfig::new(ns, "P60")).unwrap();
    producer.start().unwrap();
    producer
        .send(Message::new("T60", "from P60"))
        .await
        .unwrap();
    let out = mqadmin_until(
        ns,
        &["producerConnection", "-g", "P60", "-t", "T60"],
        long,
        |_| true,
    );
    let row: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(row.len(), 5, "{out}");
    assert_eq!(row[0], "0001", "{out}");
    assert!(row[2].starts_with("127.0.0.1:"), "{out}");
    assert_eq!(row[1], producer.client_id(), "{out}");
    assert_eq!(
        row[3], "JAVA",
        "our client presents itself as Java does: {out}"
    );
    assert!(row[4].parse::<u32>().is_ok(), "{out}");
    producer.shutdown().await;
    let o = mqadmin(ns, &["producerConnection", "-g", "NoSuchP60", "-t", "T60"]);
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("NoSuchP60"), "{err}");

    // resetOffsetByTime to the beginning while a consumer of G60 is online: the broker tells
    // it, and it reads all four messages of T60 again instead of committing over the reset.
    let mut config = ConsumerConfig::new(ns, "G60", "T60");
    config.suspend_timeout = Duration::from_secs(1);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let mut bodies = Vec::new();
    let deadline = Instant::now() + long;
    while bodies.is_empty() && Instant::now() < deadline {
        for m in consumer.poll(Duration::from_millis(500)).await.unwrap() {
            bodies.push(String::from_utf8_lossy(m.body()).into_owned());
        }
    }
    assert_eq!(
        bodies,
        ["from P60"],
        "G60 resumes after its committed offsets"
    );
    consumer.commit().await.unwrap();
    let out = mqadmin(
        ns,
        &["resetOffsetByTime", "-g", "G60", "-t", "T60", "-s", "0"],
    );
    let (text_out, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        text_out.starts_with(
            "start reset consumer offset by specified, group[G60], topic[T60], force[true], \
             timestamp(string)[0], timestamp(long)[0]\n#brokerName"
        ),
        "{text_out}"
    );
    let reset: Vec<_> = rows(&text_out).into_iter().skip(1).collect();
    assert!(
        !reset.is_empty() && reset.iter().all(|r| r[2] == "0"),
        "{text_out}"
    );
    let mut again = 0;
    let deadline = Instant::now() + long;
    while again < 4 && Instant::now() < deadline {
        again += consumer
            .poll(Duration::from_millis(500))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(again, 4, "every message read again after the reset");
    consumer.commit().await.unwrap();
    consumer.shutdown().await;
    let o = mqadmin(
        ns,
        &[
            "resetOffsetByTime",
            "-g",
            "G60",
            "-t",
            "NoSuchTopic60",
            "-s",
            "now",
        ],
    );
    let (_, err) = text(&o);
    assert!(
        !o.status.success() && err.contains("NoSuchTopic60"),
        "{err}"
    );

    let admin = Admin::new(ns).unwrap();
    let master = admin.cluster_masters("TestCluster").await.unwrap();
    let master = master.values().next().unwrap().clone();
    let groups = || async {
        let client = RemotingClient::new(master.clone(), ClientConfig::default());
        let req = RemotingCommand::request(
            RequestCode::GetAllSubscriptiongroupConfig,
            Default::default(),
            Default::default(),
        );
        let resp = client.invoke(req, long).await.unwrap();
        client.close().await;
        String::from_utf8_lossy(&resp.body).into_owned()
    };
    assert!(groups().await.contains("\"G60\""));
    let progress = |out: &str| {
        rows(out)
            .iter()
            .filter(|r| r[0] == "T60")
            .map(|r| r[4].parse::<i64>().unwrap())
            .sum::<i64>()
    };

    let out = mqadmin(ns, &["deleteSubGroup", "-c", "TestCluster", "-g", "G60"]);
    let (text_out, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        text_out.trim(),
        format!(
            "delete subscription group [G60] from broker [{master}] in cluster [TestCluster] success.\n\
             delete topic [%RETRY%G60] from cluster [TestCluster] success.\n\
             delete topic [%RETRY%G60] from NameServer success.\n\
             delete topic [%DLQ%G60] from cluster [TestCluster] success.\n\
             delete topic [%DLQ%G60] from NameServer success."
        )
    );
    assert!(!groups().await.contains("\"G60\""));
    let topics = mqadmin_until(ns, &["topicList"], long, |_| true);
    assert!(
        !topics.lines().any(|t| t == "%RETRY%G60"),
        "the retry topic survived deleteSubGroup -c:\n{topics}"
    );
    // The committed offsets stay without -r.
    let out = mqadmin_until(
        ns,
        &["consumerProgress", "-g", "G60", "-t", "T60"],
        long,
        |_| true,
    );
    assert_eq!(progress(&out), 4, "{out}");

    let out = mqadmin(
        ns,
        &["deleteSubGroup", "-b", &master, "-g", "G60", "-r", "true"],
    );
    let (text_out, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        text_out.trim(),
        format!("delete subscription group [G60] from broker [{master}] success.")
    );
    let out = mqadmin(ns, &["consumerProgress", "-g", "G60", "-t", "T60"]);
    let (text_out, err) = text(&out);
    assert!(
        !out.status.success() || progress(&text_out) == 0,
        "offsets kept after -r true: {text_out}{err}"
    );
}

#[test]
fn fastjson_object_keys_and_dates_parse() {
    let body = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T:{x}"}:{"brokerOffset":5,"consumerOffset":3,"lastTimestamp":0},{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":2,"consumerOffset":2,"lastTimestamp":86400000}}}"#;
    let (rows, tps) = format::progress_rows(body).unwrap();
    assert_eq!(tps, 1.5);
    assert_eq!(rows.len(), 2);
    let table = format::progress_table(&rows, tps);
    assert!(table.contains("Diff Total: 2"), "{table}");
    assert!(table.contains("1970-01-02 00:00:00"), "{table}");
    assert!(table.contains("T:{x}"), "{table}");
    assert_eq!(
        format::date_time(1_700_000_000_123, true),
        "2023-11-14 22:13:20,123"
    );
}

#[test]
fn raft_table_has_one_row_per_broker_under_the_header() {
    let table = format::raft_table(&[
        RaftRow::unreachable("RaftNode00", "127.0.0.1:1"),
        RaftRow::from_table(
            "RaftNode00",
            "127.0.0.1:2",
            &[("raftRole", "Leader"), ("raftTerm", "3")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("#Broker Name"), "{table}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        [
            "RaftNode00",
            "127.0.0.1:2",
            "Leader",
            "3",
            "-",
            "-",
            "-",
            "-"
        ]
    );
    assert_eq!(format::body_text(b"hello"), "hello");
    assert_eq!(format::body_text(&[0xff, 0x01]), "0xFF01");
}
