//! The steady producer and the checker shared by the failure drills (reliability.md §4.4):
//! every send attempt is recorded with its outcome; after the faults, [`check`] reads every
//! queue back from offset 0 with a fresh consumer group and asserts that no acknowledged
//! message is lost (each read back at the queue, offset and commitlog offset it was acked
//! with), nothing is read that was never sent, per-queue offsets run 0, 1, 2, …, duplicates
//! come only from sends whose outcome the producer could not know, every node's applied index
//! and committed commitlog bytes are equal, and each nameserver names one master.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::client::{
    ConsumeFrom, ConsumerConfig, Message, Producer, ProducerConfig, PullConsumer,
};
use dledger_broker::message::body::{ClusterInfo, JsonBody, KvTable};
use dledger_broker::message::parse_offset_msg_id;
use dledger_broker::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

use crate::cluster::Cluster;

const GROUP: &str = "RaftNode00";

/// What one send attempt of the steady producer came to.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Acknowledged: queue id, queue offset, and from the offset msgId the storing master and
    /// the commitlog offset.
    Ok {
        queue: i32,
        offset: i64,
        host: SocketAddr,
        phys: u64,
    },
    /// No acknowledgement: the message may or may not be stored.
    Unknown(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) seq: u64,
    pub(crate) done: Instant,
    pub(crate) outcome: Outcome,
}

fn body(seq: u64) -> String {
    format!("chk-{seq}")
}

fn seq_of(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body)
        .ok()?
        .strip_prefix("chk-")?
        .parse()
        .ok()
}

/// The steady producer: sequential sends, 2 retries each, every attempt recorded.
pub(crate) fn spawn_producer(
    namesrv: String,
    topic: &str,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Attempt>>>,
) -> tokio::task::JoinHandle<()> {
    let topic = topic.to_owned();
    tokio::spawn(async move {
        let mut config = ProducerConfig::new(namesrv.as_str(), format!("{topic}P"));
        config.retries = 2;
        let producer = Producer::new(config).unwrap();
        producer.start().unwrap();
        let mut seq = 0;
        while !stop.load(Ordering::SeqCst) {
            let message = Message::new(topic.as_str(), body(seq)).with_key(format!("seq-{seq}"));
            let outcome = match producer.send(message).await {
                Ok(r) => {
                    let (host, phys) = parse_offset_msg_id(&r.offset_msg_id).unwrap();
                    Outcome::Ok {
                        queue: r.queue.queue_id,
                        offset: r.queue_offset,
                        host,
                        phys,
                    }
                }
                Err(e) => Outcome::Unknown(e.to_string()),
            };
            let failed = matches!(outcome, Outcome::Unknown(_));
            log.lock().unwrap().push(Attempt {
                seq,
                done: Instant::now(),
                outcome,
            });
            seq += 1;
            // Steady, not flat out: the checker reads everything back on a 2-core box.
            let pause = if failed { 50 } else { 5 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        producer.shutdown().await;
    })
}

async fn request(addr: SocketAddr, code: RequestCode) -> Option<Bytes> {
    let client = RemotingClient::new(addr.to_string(), ClientConfig::default());
    let req = RemotingCommand::request(code, Default::default(), Default::default());
    let resp = client.invoke(req, Duration::from_secs(2)).await.ok();
    client.close().await;
    Some(resp?.body)
}

/// Broker id → address of the group as one nameserver has it.
pub(crate) async fn group_in(namesrv: SocketAddr) -> BTreeMap<u64, String> {
    let Some(body) = request(namesrv, RequestCode::GetBrokerClusterInfo).await else {
        return BTreeMap::new();
    };
    ClusterInfo::decode(&body)
        .ok()
        .and_then(|info| info.broker_addr_table.get(GROUP).cloned())
        .map(|b| b.broker_addrs)
        .unwrap_or_default()
}

/// A node's GET_BROKER_RUNTIME_INFO table.
async fn runtime(addr: SocketAddr) -> Option<BTreeMap<String, String>> {
    let body = request(addr, RequestCode::GetBrokerRuntimeInfo).await?;
    KvTable::decode(&body).ok().map(|kv| kv.table)
}

async fn applied(addr: SocketAddr) -> Option<u64> {
    runtime(addr).await?.get("raftApplied")?.parse().ok()
}

/// Every node's applied index, in node order (`None` for a node that did not answer).
pub(crate) async fn applied_all(cluster: &Cluster) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    for id in cluster.ports.keys() {
        out.push(applied(cluster.broker_addr(*id)).await);
    }
    out
}

/// The first `len` bytes of node `id`'s commitlog, read from its segment files (named by
/// their start offset).
fn commitlog_prefix(cluster: &Cluster, id: u64, len: u64) -> Vec<u8> {
    let dir = cluster
        .dir
        .path()
        .join(format!("node{id}"))
        .join("commitlog");
    let mut segments: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let start = path.file_name()?.to_str()?.parse().ok()?;
            Some((start, path))
        })
        .collect();
    segments.sort();
    let mut out = Vec::new();
    for (start, path) in segments {
        assert_eq!(
            start,
            out.len() as u64,
            "node {id}: segment {path:?} out of place"
        );
        out.extend(std::fs::read(&path).unwrap());
        if out.len() as u64 >= len {
            break;
        }
    }
    assert!(
        out.len() as u64 >= len,
        "node {id}: commitlog shorter than {len}"
    );
    out.truncate(len as usize);
    out
}

/// Polls both nameservers until they agree on a master other than `old`.
pub(crate) async fn wait_new_master(cluster: &Cluster, old: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let mut masters = Vec::new();
        for (addr, _) in &cluster.namesrvs {
            masters.push(cluster.master_in(*addr).await);
        }
        if let Some(Some(m)) = masters.first()
            && *m != old
            && masters.iter().all(|x| x == &Some(*m))
        {
            return *m;
        }
        assert!(
            Instant::now() < deadline,
            "no new master within {within:?} after killing node {old}: {masters:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every nameserver lists node `id` with a non-zero broker id.
pub(crate) async fn wait_slave(cluster: &Cluster, id: u64, within: Duration) {
    let addr = cluster.broker_addr(id).to_string();
    let deadline = Instant::now() + within;
    loop {
        let mut ok = true;
        let mut seen = Vec::new();
        for (ns, _) in &cluster.namesrvs {
            let group = group_in(*ns).await;
            ok &= group.iter().any(|(bid, a)| *bid != 0 && *a == addr);
            seen.push(group);
        }
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {id} ({addr}) not registered as a slave within {within:?}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every node has applied at least what the master had applied when asked.
pub(crate) async fn wait_caught_up(cluster: &Cluster, master: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    let target = loop {
        if let Some(a) = applied(cluster.broker_addr(master)).await {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "master {master} gives no runtime info"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    loop {
        let all = applied_all(cluster).await;
        if all.iter().all(|a| a.is_some_and(|a| a >= target)) {
            return target;
        }
        assert!(
            Instant::now() < deadline,
            "nodes not caught up to applied index {target} within {within:?}: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first acknowledged attempt that completed after `after` and was not stored by
/// `not_by` (a send in flight at the kill may have been stored and acknowledged by the old
/// master just before it died).
pub(crate) async fn wait_ack_after(
    log: &Mutex<Vec<Attempt>>,
    after: Instant,
    not_by: Option<SocketAddr>,
    within: Duration,
) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let found = log
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take_while(|a| a.done > after)
            .filter(|a| matches!(a.outcome, Outcome::Ok { host, .. } if Some(host) != not_by))
            .map(|a| a.done)
            .last();
        if let Some(t) = found {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "no acknowledged send within {within:?} of the kill"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn acked_count(log: &Mutex<Vec<Attempt>>) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Ok { .. }))
        .count()
}

/// A consumed message: queue, offset, sequence number (None if the body is not ours), key,
/// commitlog offset.
type Read = (i32, i64, Option<u64>, Vec<String>, u64);

/// Reads every queue from offset 0 with a fresh group until every acknowledged position has
/// been seen and a poll brought nothing new, or `within` passes.
async fn read_all(
    cluster: &Cluster,
    topic: &str,
    want: &BTreeSet<(i32, i64)>,
    within: Duration,
) -> Vec<Read> {
    let group = format!("{topic}C{}", std::process::id());
    let mut config = ConsumerConfig::new(cluster.namesrv_addr().as_str(), group, topic);
    config.from_where = ConsumeFrom::First;
    config.suspend_timeout = Duration::from_millis(500);
    let mut consumer = PullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let mut got: Vec<Read> = Vec::new();
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + within;
    let mut quiet = 0;
    while Instant::now() < deadline {
        let batch = consumer.poll(Duration::from_millis(300)).await.unwrap();
        quiet = if batch.is_empty() { quiet + 1 } else { 0 };
        for m in batch {
            seen.insert((m.queue_id(), m.queue_offset()));
            let phys = parse_offset_msg_id(&m.offset_msg_id).map_or(u64::MAX, |(_, p)| p);
            got.push((
                m.queue_id(),
                m.queue_offset(),
                seq_of(m.body()),
                m.keys().into_iter().map(str::to_owned).collect(),
                phys,
            ));
        }
        if quiet >= 2 && want.is_subset(&seen) {
            break;
        }
    }
    consumer.shutdown().await;
    got
}
/// What [`check`] counted.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) attempts: usize,
    pub(crate) acked: usize,
    pub(crate) unknown: usize,
    pub(crate) unknown_stored: usize,
    pub(crate) consumed: usize,
    pub(crate) dup_unknown: usize,
    pub(crate) dup_retried: usize,
    pub(crate) applied: u64,
    pub(crate) commitlog_bytes: u64,
    pub(crate) unknown_reasons: BTreeSet<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "attempts {}, acked {}, unknown {} ({} of them stored), consumed {}, lost 0, \
             duplicates {} of unknown sends + {} of acked sends retried inside the producer; \
             applied index {} and commitlog ({} bytes, byte-identical) equal on every node; \
             unknown-outcome errors: {:?}",
            self.attempts,
            self.acked,
            self.unknown,
            self.unknown_stored,
            self.consumed,
            self.dup_unknown,
            self.dup_retried,
            self.applied,
            self.commitlog_bytes,
            self.unknown_reasons
        )
    }
}

/// Runs every check of the module docs on `topic` once the producer has stopped; panics with
/// the first violation.
pub(crate) async fn check(cluster: &Cluster, topic: &str, attempts: &[Attempt]) -> Report {
    // Replicas converge once the writes stop; each nameserver names one master.
    let deadline = Instant::now() + Duration::from_secs(10);
    let applied = loop {
        let all = applied_all(cluster).await;
        if all[0].is_some() && all.iter().all(|a| *a == all[0]) {
            break all[0].unwrap();
        }
        assert!(Instant::now() < deadline, "applied indexes differ: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut ends = BTreeSet::new();
    for id in cluster.ports.keys() {
        let table = runtime(cluster.broker_addr(*id)).await.unwrap();
        ends.insert(table.get("commitLogMaxOffset").cloned());
    }
    assert_eq!(ends.len(), 1, "commitlog ends differ: {ends:?}");
    let end: u64 = ends.first().cloned().flatten().unwrap().parse().unwrap();
    let first = commitlog_prefix(cluster, 1, end);
    for id in cluster.ports.keys().skip(1) {
        let other = commitlog_prefix(cluster, *id, end);
        let diff = first.iter().zip(&other).position(|(a, b)| a != b);
        assert_eq!(
            diff, None,
            "commitlogs of node 1 and node {id} differ at byte {diff:?}"
        );
    }
    let master = cluster.wait_master(Duration::from_secs(5)).await;
    for (ns, _) in &cluster.namesrvs {
        let group = group_in(*ns).await;
        assert_eq!(group.len(), 3, "nameserver {ns}: {group:?}");
        assert_eq!(group.keys().filter(|id| **id == 0).count(), 1);
        assert_eq!(
            group.get(&0),
            Some(&cluster.broker_addr(master).to_string())
        );
    }

    // The checker.
    let mut acked: BTreeMap<(i32, i64), (u64, u64)> = BTreeMap::new();
    let mut outcome: BTreeMap<u64, &Outcome> = BTreeMap::new();
    for a in attempts {
        if let Outcome::Ok {
            queue,
            offset,
            phys,
            ..
        } = a.outcome
        {
            let before = acked.insert((queue, offset), (a.seq, phys));
            assert!(
                before.is_none(),
                "two sends acked at queue {queue} offset {offset}"
            );
        }
        outcome.insert(a.seq, &a.outcome);
    }
    let unknown = attempts.len() - acked.len();
    let want: BTreeSet<(i32, i64)> = acked.keys().copied().collect();
    let reads = read_all(cluster, topic, &want, Duration::from_secs(25)).await;

    let mut at: BTreeMap<(i32, i64), u64> = BTreeMap::new();
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for (queue, offset, seq, keys, phys) in &reads {
        let seq = seq.unwrap_or_else(|| panic!("queue {queue} offset {offset}: not our body"));
        assert!(
            outcome.contains_key(&seq),
            "queue {queue} offset {offset}: seq {seq} was never sent"
        );
        assert_eq!(keys, &vec![format!("seq-{seq}")], "keys of seq {seq}");
        let expected = last.get(queue).map_or(0, |l| l + 1);
        assert_eq!(
            *offset,
            expected,
            "queue {queue}: offset {offset} read after {:?}",
            last.get(queue)
        );
        last.insert(*queue, *offset);
        if let Some((acked_seq, acked_phys)) = acked.get(&(*queue, *offset)) {
            assert_eq!(
                (*acked_seq, *acked_phys),
                (seq, *phys),
                "queue {queue} offset {offset}: acked seq {acked_seq} at commitlog \
                 {acked_phys}, read seq {seq} at {phys}"
            );
        }
        at.insert((*queue, *offset), seq);
        *copies.entry(seq).or_default() += 1;
    }
    let lost: Vec<_> = want.iter().filter(|p| !at.contains_key(p)).collect();
    assert!(lost.is_empty(), "acknowledged messages lost: {lost:?}");

    // Duplicates: a send without an answer may have been stored, and a send the producer
    // retried inside one `send` call may have been stored by an attempt that got no answer.
    let mut dup_unknown = 0;
    let mut dup_retried = 0;
    let mut visible_unknown = 0;
    for (seq, n) in &copies {
        match outcome[seq] {
            Outcome::Unknown(_) => {
                visible_unknown += 1;
                dup_unknown += n - 1;
            }
            Outcome::Ok { .. } => dup_retried += n - 1,
        }
    }
    let reasons: BTreeSet<String> = attempts
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Unknown(e) => Some(e.chars().take(80).collect()),
            Outcome::Ok { .. } => None,
        })
        .collect();
    Report {
        attempts: attempts.len(),
        acked: acked.len(),
        unknown,
        unknown_stored: visible_unknown,
        consumed: reads.len(),
        dup_unknown,
        dup_retried,
        applied,
        commitlog_bytes: end,
        unknown_reasons: reasons,
    }
}
