//! Transactional messages with real processes (issue 12): a three-node group with quick checks
//! (`transactionCheckInterval=500`, `transactionTimeOut=1000`, `transactionCheckMax=8`).
//!
//! The first test ends transactions every way: committed and rolled back at once, unknown then
//! settled by a check (commit or rollback), and never answered (discarded after eight checks
//! into `TRANS_CHECK_MAX_TIME_TOPIC`). A consumer tailing the real topic sees exactly the
//! committed ones, each once, and none while it is still unknown. The second kills the leader
//! between a half message and its END_TRANSACTION, and between a check and its answer, and sends
//! one END_TRANSACTION to a follower: every transaction still ends exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dledger_broker::client::{
    LocalTransactionState, Message, MessageExt, ProducerConfig, TransactionProducer,
};
use dledger_broker::message::parse_offset_msg_id;
use dledger_broker::remoting::header::{EndTransactionRequestHeader, GetMaxOffsetRequestHeader};
use dledger_broker::remoting::{
    ClientConfig, RemotingClient, RemotingCommand, RequestCode, ResponseCode,
};

use crate::checker::wait_new_master;
use crate::cluster::Cluster;
use crate::t65_delay_retry::{consumer, receive};

const CONF: &str = "transactionCheckInterval=500\ntransactionTimeOut=1000\ntransactionCheckMax=8\n";

/// What the checker answers, per message key (missing: unknown).
type Answers = Arc<Mutex<BTreeMap<String, LocalTransactionState>>>;

fn transaction_producer(
    cluster: &Cluster,
    group: &str,
    answers: &Answers,
    on_check: impl Fn(&str) + Send + Sync + 'static,
) -> TransactionProducer {
    let mut config = ProducerConfig::new(cluster.namesrv_addr().as_str(), group);
    config.retries = 2;
    config.heartbeat_interval = Duration::from_millis(300);
    let answers = answers.clone();
    let producer = TransactionProducer::new(config, move |m: &MessageExt| {
        let key = m.keys().first().map(|k| k.to_string()).unwrap_or_default();
        on_check(&key);
        *answers
            .lock()
            .unwrap()
            .get(&key)
            .unwrap_or(&LocalTransactionState::Unknown)
    })
    .unwrap();
    producer.start().unwrap();
    producer
}

/// Keys of the messages received, with how often each came.
fn count_keys(got: &[(Instant, MessageExt)]) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for (_, m) in got {
        *n.entry(m.keys().first().map(|k| k.to_string()).unwrap_or_default())
            .or_default() += 1;
    }
    n
}

async fn max_offset(cluster: &Cluster, node: u64, topic: &str) -> i64 {
    let client = RemotingClient::new(
        cluster.broker_addr(node).to_string(),
        ClientConfig::default(),
    );
    let req = RemotingCommand::request(
        RequestCode::GetMaxOffset,
        Default::default(),
        Default::default(),
    )
    .with_header(&GetMaxOffsetRequestHeader {
        topic: topic.into(),
        queue_id: 0,
    });
    let resp = client.invoke(req, Duration::from_secs(5)).await.unwrap();
    client.close().await;
    resp.header::<dledger_broker::remoting::header::GetMaxOffsetResponseHeader>()
        .map(|h| h.offset)
        .unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_end_once_each_way_and_stay_invisible_until_committed() {
    let cluster = Cluster::start_with(1, 3, CONF);
    cluster.create_topic("T67", 2).await;
    let mut tail = consumer(&cluster, "T67C", "T67").await;
    let answers: Answers = Arc::default();
    let producer = transaction_producer(&cluster, "T67P", &answers, |_| {});

    let plan: Vec<(&str, LocalTransactionState)> = vec![
        ("commit", LocalTransactionState::Commit),
        ("rollback", LocalTransactionState::Rollback),
        ("later-commit", LocalTransactionState::Unknown),
        ("later-rollback", LocalTransactionState::Unknown),
        ("never", LocalTransactionState::Unknown),
    ];
    let mut sent = BTreeMap::new();
    for (kind, local) in &plan {
        for i in 0..4 {
            let key = format!("{kind}-{i}");
            let message = Message::new("T67", key.clone()).with_key(key.clone());
            let result = producer
                .send_in_transaction(message, |_| *local)
                .await
                .unwrap();
            assert_eq!(result.local_state, *local);
            sent.insert(key, result.send.queue_offset);
        }
    }

    // Only the committed ones, while the others are still unknown (checks come and go).
    let early = receive(&mut tail, 100, Duration::from_secs(2)).await;
    let early = count_keys(&early);
    let want_early: BTreeMap<String, usize> = (0..4).map(|i| (format!("commit-{i}"), 1)).collect();
    assert_eq!(early, want_early, "before any check is answered");

    // Now the producer knows: checks settle the "later" ones.
    {
        let mut a = answers.lock().unwrap();
        for i in 0..4 {
            a.insert(format!("later-commit-{i}"), LocalTransactionState::Commit);
            a.insert(
                format!("later-rollback-{i}"),
                LocalTransactionState::Rollback,
            );
        }
    }
    let late = receive(&mut tail, 4, Duration::from_secs(20)).await;
    let extra = receive(&mut tail, 100, Duration::from_secs(3)).await;
    let mut late = count_keys(&late);
    for (k, n) in count_keys(&extra) {
        *late.entry(k).or_default() += n;
    }
    let want_late: BTreeMap<String, usize> =
        (0..4).map(|i| (format!("later-commit-{i}"), 1)).collect();
    assert_eq!(late, want_late, "after the checks were answered");

    // The never-answered ones are discarded after transactionCheckMax checks.
    let master = cluster.wait_master(Duration::from_secs(5)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let discarded = max_offset(&cluster, master, "TRANS_CHECK_MAX_TIME_TOPIC").await;
        if discarded == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{discarded} of 4 unanswered half messages discarded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every transaction is settled exactly once: 20 op records, one per half message.
    assert_eq!(
        max_offset(&cluster, master, "RMQ_SYS_TRANS_OP_HALF_TOPIC").await,
        20
    );
    assert_eq!(
        max_offset(&cluster, master, "RMQ_SYS_TRANS_HALF_TOPIC").await,
        20
    );
    tail.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_kills_around_ends_and_checks_and_a_follower_end_still_end_each_once() {
    let mut cluster = Cluster::start_with(1, 3, CONF);
    cluster.create_topic("T67F", 2).await;
    let answers: Answers = Arc::default();
    let checked = Arc::new(AtomicBool::new(false));
    let checked_flag = checked.clone();
    let producer = transaction_producer(&cluster, "T67FP", &answers, move |key| {
        if key == "slow-0" {
            // Answer late, after the test killed the leader that asked.
            checked_flag.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1500));
        }
    });
    let mut committed = BTreeSet::new();

    // 1. The leader dies between the half message and its END_TRANSACTION: the commit is
    //    sent to a dead node; the new leader's check settles it.
    let old = cluster.wait_master(Duration::from_secs(20)).await;
    answers
        .lock()
        .unwrap()
        .insert("orphan-0".into(), LocalTransactionState::Commit);
    let message = Message::new("T67F", "orphan-0").with_key("orphan-0");
    producer
        .send_in_transaction(message, |_| {
            cluster.kill_broker(old);
            LocalTransactionState::Commit
        })
        .await
        .unwrap();
    committed.insert("orphan-0".to_string());
    let new = wait_new_master(&cluster, old, Duration::from_secs(10)).await;
    cluster.start_broker(old);
    println!("killed leader {old} before END_TRANSACTION; node {new} took over");

    // 2. The leader dies between a check and its answer: the answer goes to a dead node; the
    //    next leader checks again (the count is replicated) and settles it once.
    answers
        .lock()
        .unwrap()
        .insert("slow-0".into(), LocalTransactionState::Commit);
    let message = Message::new("T67F", "slow-0").with_key("slow-0");
    producer
        .send_in_transaction(message, |_| LocalTransactionState::Unknown)
        .await
        .unwrap();
    committed.insert("slow-0".to_string());
    let deadline = Instant::now() + Duration::from_secs(15);
    while !checked.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "slow-0 was never checked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let asked = cluster.wait_master(Duration::from_secs(5)).await;
    cluster.kill_broker(asked);
    let next = wait_new_master(&cluster, asked, Duration::from_secs(10)).await;
    cluster.start_broker(asked);
    println!("killed leader {asked} between a check and its answer; node {next} took over");

    // 3. END_TRANSACTION sent to a follower (a producer with an old route): forwarded.
    let message = Message::new("T67F", "via-follower-0").with_key("via-follower-0");
    let result = producer
        .send_in_transaction(message, |_| LocalTransactionState::Unknown)
        .await
        .unwrap();
    let leader = cluster.wait_master(Duration::from_secs(10)).await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let (_, commitlog_offset) = parse_offset_msg_id(&result.send.offset_msg_id).unwrap();
    let end = RemotingCommand::request(
        RequestCode::EndTransaction,
        Default::default(),
        Default::default(),
    )
    .with_header(&EndTransactionRequestHeader {
        producer_group: "T67FP".into(),
        tran_state_table_offset: result.send.queue_offset,
        commit_log_offset: commitlog_offset as i64,
        commit_or_rollback: 8,
        from_transaction_check: Some(false),
        msg_id: result.send.msg_id.clone(),
        transaction_id: Some(result.send.msg_id.clone()),
    });
    let client = RemotingClient::new(
        cluster.broker_addr(follower).to_string(),
        ClientConfig::default(),
    );
    let answer = client.invoke(end, Duration::from_secs(10)).await.unwrap();
    client.close().await;
    assert_eq!(
        answer.response_code(),
        ResponseCode::Success,
        "a follower forwards END_TRANSACTION: {:?}",
        answer.remark
    );
    committed.insert("via-follower-0".to_string());

    // Every committed transaction is delivered exactly once.
    let mut reader = consumer(&cluster, "T67FC", "T67F").await;
    let got = receive(&mut reader, committed.len(), Duration::from_secs(30)).await;
    let extra = receive(&mut reader, 10, Duration::from_secs(3)).await;
    let mut seen = count_keys(&got);
    for (k, n) in count_keys(&extra) {
        *seen.entry(k).or_default() += n;
    }
    let want: BTreeMap<String, usize> = committed.iter().map(|k| (k.clone(), 1)).collect();
    assert_eq!(seen, want, "each committed transaction delivered once");
    reader.shutdown().await;
    producer.shutdown().await;
}

/// Half messages sent by ali-ons (which has no transactional producer, but sends TRAN_MSG with
/// SYSFLAG prepared), whose producer then exits: they stay invisible until a live producer of
/// the same group (ours) answers the leader's checks; even keys are committed, odd ones rolled
/// back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alions_half_messages_stay_invisible_until_a_check_settles_them() {
    let script = crate::t42_compat_retry::repo().join("compat/alions_transaction.js");
    assert!(
        crate::t42_compat_retry::repo()
            .join("compat/node_modules/ali-ons")
            .exists(),
        "ali-ons is not installed: run scripts/compat-install.sh (scripts/test.sh does)"
    );
    let cluster = Cluster::start_with(1, 3, CONF);
    cluster.create_topic("T67A", 2).await;
    let mut tail = consumer(&cluster, "T67AC", "T67A").await;
    let summary = crate::t42_compat_retry::run_script(
        "node",
        &[
            script.to_str().unwrap().to_string(),
            "--namesrv".into(),
            cluster.namesrv_addr(),
            "--topic".into(),
            "T67A".into(),
            "--group".into(),
            "T67A".into(),
        ],
        &cluster,
        "T67A",
    );
    let sent = summary["sent"].as_array().unwrap().len();
    assert_eq!(sent, 6);

    // Nobody answers yet: checks find no live producer of the group.
    let early = receive(&mut tail, 10, Duration::from_secs(3)).await;
    assert!(
        early.is_empty(),
        "half messages seen: {:?}",
        count_keys(&early)
    );

    let answers: Answers = Arc::default();
    {
        let mut a = answers.lock().unwrap();
        for i in 0..sent {
            let state = if i % 2 == 0 {
                LocalTransactionState::Commit
            } else {
                LocalTransactionState::Rollback
            };
            a.insert(format!("tx-{i}"), state);
        }
    }
    let resolver = transaction_producer(&cluster, "T67A_P", &answers, |_| {});
    // A heartbeat to the group's nodes needs a route: send one ordinary message first.
    resolver
        .producer()
        .send(Message::new("T67A", "hello").with_key("hello"))
        .await
        .unwrap();
    let got = receive(&mut tail, sent / 2 + 1, Duration::from_secs(20)).await;
    let extra = receive(&mut tail, 10, Duration::from_secs(3)).await;
    let mut seen = count_keys(&got);
    for (k, n) in count_keys(&extra) {
        *seen.entry(k).or_default() += n;
    }
    let mut want: BTreeMap<String, usize> = (0..sent)
        .filter(|i| i % 2 == 0)
        .map(|i| (format!("tx-{i}"), 1))
        .collect();
    want.insert("hello".into(), 1);
    assert_eq!(seen, want, "committed by the check, once each");
    tail.shutdown().await;
    resolver.shutdown().await;
}
