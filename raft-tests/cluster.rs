//! The process-level harness: nameservers and a broker group started from the real binaries on
//! loopback, each with its own config file in a temp dir, free ports, a log file, readiness
//! polling, and a kill on `Drop`. Every wait is bounded in time.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dledger_broker::message::body::{ClusterInfo, JsonBody};
use dledger_broker::remoting::header::admin::CreateTopicRequestHeader;
use dledger_broker::remoting::{ClientConfig, RemotingClient, RemotingCommand, RequestCode};

use crate::procs::{Proc, ProcSpec, free_port};

/// A free loopback port `p` such that `p - 2` (RocketMQ's fast channel) and `p + 1` (a
/// one-node group's raft port) are free too.
pub(crate) fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p > 1026
            && p < u16::MAX
            && TcpListener::bind(("127.0.0.1", p - 2)).is_ok()
            && TcpListener::bind(("127.0.0.1", p + 1)).is_ok()
        {
            drop(l);
            return p;
        }
    }
    panic!("no free port pair found");
}

/// Every port a node of `ports` will bind: its listen port, its fast channel (listen - 2), a
/// one-node group's raft port (listen + 1) and its raft port.
fn reserved_ports(ports: &BTreeMap<u64, NodePorts>) -> BTreeSet<u16> {
    ports
        .values()
        .flat_map(|p| [p.listen, p.listen - 2, p.listen + 1, p.raft])
        .collect()
}

/// Ports for nodes `ids` none of whose ports collide: each pick is free when made, but the
/// OS may hand out a port another node will bind later (its fast channel, say), which made a
/// broker refuse its config now and then.
fn node_ports(ids: std::ops::RangeInclusive<u64>) -> BTreeMap<u64, NodePorts> {
    for _ in 0..50 {
        let ports: BTreeMap<u64, NodePorts> = ids
            .clone()
            .map(|id| {
                (
                    id,
                    NodePorts {
                        listen: free_port_pair(),
                        raft: free_port(),
                    },
                )
            })
            .collect();
        if reserved_ports(&ports).len() == 4 * ports.len() {
            return ports;
        }
    }
    panic!("no collision-free ports for nodes {ids:?} in 50 tries");
}

/// A free port that is not in `taken`.
fn port_not_in(taken: &BTreeSet<u16>) -> u16 {
    (0..50)
        .map(|_| free_port())
        .find(|p| !taken.contains(p))
        .expect("a free port outside the brokers' ports")
}

/// One node's ports.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodePorts {
    pub(crate) listen: u16,
    pub(crate) raft: u16,
}

/// Nameservers and one broker group, from the real binaries.
pub(crate) struct Cluster {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) namesrvs: Vec<(SocketAddr, Proc)>,
    pub(crate) brokers: BTreeMap<u64, Option<Proc>>,
    pub(crate) ports: BTreeMap<u64, NodePorts>,
    pub(crate) segment_size: u64,
    /// Lines appended to every broker's config (e.g. short `messageDelayLevel` for tests).
    pub(crate) extra_conf: String,
    /// Nameserver addresses the brokers also register with that never answer (a host that is
    /// cut off), after the real ones in `namesrvAddr`.
    pub(crate) unreachable_namesrvs: Vec<String>,
}

impl Cluster {
    /// Starts `namesrvs` nameservers and a group of `nodes` brokers (DLedger on when > 1).
    pub(crate) fn start(namesrvs: usize, nodes: u64) -> Cluster {
        Cluster::start_with(namesrvs, nodes, "")
    }

    /// [`Cluster::start`] with `extra_conf` (config lines) added to every broker's config.
    pub(crate) fn start_with(namesrvs: usize, nodes: u64, extra_conf: &str) -> Cluster {
        Cluster::start_custom(namesrvs, nodes, extra_conf, Vec::new())
    }

    /// [`Cluster::start_with`], the brokers also registering with `unreachable` nameservers.
    pub(crate) fn start_custom(
        namesrvs: usize,
        nodes: u64,
        extra_conf: &str,
        unreachable: Vec<String>,
    ) -> Cluster {
        Cluster::start_ids(namesrvs, 1..=nodes, extra_conf, unreachable)
    }

    /// A group whose members are `n<id>` for every id in `ids` (RocketMQ's own samples number
    /// them from `n0`), with one node per id.
    pub(crate) fn start_ids(
        namesrvs: usize,
        ids: std::ops::RangeInclusive<u64>,
        extra_conf: &str,
        unreachable: Vec<String>,
    ) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut cluster = Cluster {
            dir,
            namesrvs: Vec::new(),
            brokers: BTreeMap::new(),
            ports: node_ports(ids.clone()),
            segment_size: 8 << 20,
            extra_conf: extra_conf.to_string(),
            unreachable_namesrvs: unreachable,
        };
        for i in 0..namesrvs {
            let port = port_not_in(&reserved_ports(&cluster.ports));
            let conf = cluster.dir.path().join(format!("namesrv{i}.conf"));
            fs::write(&conf, format!("listenPort={port}\nbindAddress=127.0.0.1\n")).unwrap();
            let spec = ProcSpec::new(format!("namesrv{i}"), env!("CARGO_BIN_EXE_mqnamesrv"))
                .arg("-c")
                .arg(&conf);
            let mut p = Proc::spawn(&spec, cluster.dir.path()).unwrap();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            p.wait_for_port(addr, Duration::from_secs(10)).unwrap();
            cluster.namesrvs.push((addr, p));
        }
        for id in ids {
            cluster.start_broker(id);
        }
        cluster
    }

    pub(crate) fn namesrv_addr(&self) -> String {
        self.namesrvs
            .iter()
            .map(|(a, _)| a.to_string())
            .collect::<Vec<_>>()
            .join(";")
    }

    pub(crate) fn broker_addr(&self, id: u64) -> SocketAddr {
        format!("127.0.0.1:{}", self.ports[&id].listen)
            .parse()
            .unwrap()
    }

    fn conf(&self, id: u64) -> PathBuf {
        let nodes = self.ports.len() as u64;
        let root = self.dir.path().join(format!("node{id}"));
        let mut text = format!(
            "brokerClusterName=TestCluster\nbrokerName=RaftNode00\nlistenPort={}\nbrokerIP1=127.0.0.1\n\
             bindAddress=127.0.0.1\nnamesrvAddr={}\nstorePathRootDir={}\nmappedFileSizeCommitLog={}\n\
             flushDiskType=SYNC_FLUSH\n",
            self.ports[&id].listen,
            std::iter::once(self.namesrv_addr())
                .chain(self.unreachable_namesrvs.iter().cloned())
                .collect::<Vec<_>>()
                .join(";"),
            root.display(),
            self.segment_size,
        );
        if nodes > 1 {
            let peers: Vec<String> = self
                .ports
                .iter()
                .map(|(i, p)| format!("n{i}-127.0.0.1:{}", p.raft))
                .collect();
            text.push_str(&format!(
                "enableDLegerCommitLog=true\ndLegerGroup=RaftNode00\ndLegerPeers={}\ndLegerSelfId=n{id}\n",
                peers.join(";")
            ));
        }
        text.push_str(&self.extra_conf);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let path = self.dir.path().join(format!("broker{id}.conf"));
        fs::write(&path, text).unwrap();
        path
    }

    /// Starts (or restarts) broker `id` and waits until it accepts clients.
    pub(crate) fn start_broker(&mut self, id: u64) {
        let conf = self.conf(id);
        let spec = ProcSpec::new(format!("broker{id}"), env!("CARGO_BIN_EXE_dledger-broker"))
            .arg("-c")
            .arg(&conf);
        let mut p = Proc::spawn(&spec, self.dir.path()).unwrap();
        p.wait_for_port(self.broker_addr(id), Duration::from_secs(20))
            .unwrap();
        self.brokers.insert(id, Some(p));
    }

    /// SIGTERM broker `id` and wait for it to exit; panics unless it exits cleanly in `within`.
    pub(crate) fn stop_broker(&mut self, id: u64, within: Duration) {
        if let Some(mut p) = self.brokers.get_mut(&id).and_then(Option::take) {
            p.terminate().unwrap();
            let status = p.wait_exit(within).unwrap();
            assert!(
                status.success(),
                "broker {id} did not exit cleanly: {status:?}\n{}",
                p.output_tail()
            );
        }
    }

    /// SIGKILL broker `id`.
    pub(crate) fn kill_broker(&mut self, id: u64) {
        if let Some(mut p) = self.brokers.get_mut(&id).and_then(Option::take) {
            p.kill();
        }
    }

    /// The node every nameserver names as master (brokerId 0), once they all agree.
    pub(crate) async fn wait_master(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let mut masters = Vec::new();
            for (addr, _) in &self.namesrvs {
                masters.push(self.master_in(*addr).await);
            }
            if let Some(Some(m)) = masters.first()
                && masters.iter().all(|x| x == &Some(*m))
            {
                return *m;
            }
            assert!(
                Instant::now() < deadline,
                "no agreed master within {within:?}: {masters:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The node a nameserver names as brokerId 0, if any.
    pub(crate) async fn master_in(&self, namesrv: SocketAddr) -> Option<u64> {
        let client = RemotingClient::new(namesrv.to_string(), ClientConfig::default());
        let req = RemotingCommand::request(
            RequestCode::GetBrokerClusterInfo,
            Default::default(),
            Default::default(),
        );
        let resp = client.invoke(req, Duration::from_secs(2)).await.ok()?;
        client.close().await;
        let info = ClusterInfo::decode(&resp.body).ok()?;
        let master = info
            .broker_addr_table
            .get("RaftNode00")?
            .broker_addrs
            .get(&0)?
            .clone();
        self.ports
            .iter()
            .find(|(id, _)| self.broker_addr(**id).to_string() == master)
            .map(|(id, _)| *id)
    }

    /// Creates `topic` with `queues` queues on the master (UPDATE_AND_CREATE_TOPIC) and waits
    /// until the first nameserver routes it.
    pub(crate) async fn create_topic(&self, topic: &str, queues: i32) {
        let master = self.wait_master(Duration::from_secs(20)).await;
        let client = RemotingClient::new(
            self.broker_addr(master).to_string(),
            ClientConfig::default(),
        );
        let header = CreateTopicRequestHeader {
            topic: topic.into(),
            default_topic: "TBW102".into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: 6,
            topic_filter_type: "SINGLE_TAG".into(),
            topic_sys_flag: Some(0),
            order: false,
        };
        let req = RemotingCommand::request(
            RequestCode::UpdateAndCreateTopic,
            Default::default(),
            Bytes::new(),
        )
        .with_header(&header);
        let resp = client.invoke(req, Duration::from_secs(5)).await.unwrap();
        assert!(
            resp.response_code().is_success(),
            "create {topic}: {:?}",
            resp.remark
        );
        let ns = RemotingClient::new(self.namesrvs[0].0.to_string(), ClientConfig::default());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut req = RemotingCommand::request(
                RequestCode::GetRouteinfoByTopic,
                Default::default(),
                Bytes::new(),
            );
            req.ext_fields.insert("topic".into(), topic.into());
            if ns
                .invoke(req, Duration::from_secs(2))
                .await
                .is_ok_and(|r| r.response_code().is_success())
            {
                return;
            }
            assert!(Instant::now() < deadline, "no route for {topic}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
