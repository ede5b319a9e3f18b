//! The real `mqnamesrv` process on loopback: a three-node broker group registers over three
//! connections, routes and cluster info name it, the leader's connection drops and a follower
//! takes id 0 with exactly one master left; `-p`, a refused config, a taken port and SIGTERM
//! behave as operators and scripts expect. Every wait is bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use dledger_broker::message::TopicConfig;
use dledger_broker::message::body::{
    ClusterInfo, DataVersion, JsonBody, RegisterBrokerBody, TopicConfigSerializeWrapper,
    TopicRouteData,
};
use dledger_broker::remoting::header::{
    GetRouteInfoRequestHeader, RegisterBrokerRequestHeader, RegisterBrokerResponseHeader,
};
use dledger_broker::remoting::{
    ClientConfig, CommandHeader, ExtFields, RemotingClient, RemotingCommand, RequestCode,
    ResponseCode,
};
use tempfile::TempDir;

use crate::procs::{self, Proc, ProcSpec};

const BOOT: Duration = Duration::from_secs(20);
const CALL: Duration = Duration::from_secs(5);
const EXIT: Duration = Duration::from_secs(15);
const CLUSTER: &str = "DefaultCluster";
const GROUP: &str = "broker-a";
const BOOT_LINE: &str = "The Name Server boot success. serializeType=JSON";

/// Fake replica addresses: nothing listens there, the name server never dials brokers.
const NODE1: &str = "127.0.0.1:30911";
const NODE2: &str = "127.0.0.1:30921";
const NODE3: &str = "127.0.0.1:30931";

/// A temp dir holding `namesrv.conf` and the process logs.
struct Workdir {
    dir: TempDir,
    port: u16,
}

impl Workdir {
    /// A conf on a free loopback port, with `extra` lines appended.
    fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = procs::free_port();
        let conf = format!("# t10\nlistenPort={port}\nbindAddress=127.0.0.1\n{extra}");
        std::fs::write(dir.path().join("namesrv.conf"), conf).unwrap();
        Workdir { dir, port }
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("namesrv.conf")
    }

    fn addr(&self) -> SocketAddr {
        procs::loopback(self.port)
    }

    fn spec(&self, args: &[&str]) -> ProcSpec {
        ProcSpec::new("mqnamesrv", env!("CARGO_BIN_EXE_mqnamesrv"))
            .args(args)
            .env("RUST_LOG", "info,dledger_broker=debug")
    }

    /// `mqnamesrv -c <conf>`, accepting connections.
    fn start(&self) -> Proc {
        let conf = self.conf();
        let spec = self.spec(&["-c", conf.to_str().unwrap()]);
        let mut proc = Proc::spawn(&spec, self.dir.path()).unwrap();
        proc.wait_for_port(self.addr(), BOOT).unwrap();
        proc.wait_for_stdout(BOOT_LINE, BOOT).unwrap();
        proc
    }

    fn client(&self) -> RemotingClient {
        RemotingClient::new(self.addr().to_string(), ClientConfig::default())
    }
}

/// A DLedger replica's REGISTER_BROKER: `addr` as `id` of [`GROUP`], carrying `TopicTest`.
fn register(addr: &str, id: i64) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: GROUP.to_string(),
        broker_addr: addr.to_string(),
        cluster_name: CLUSTER.to_string(),
        ha_server_addr: addr.to_string(),
        broker_id: id,
        compressed: None,
        body_crc32: None,
        raft_term: None,
    };
    let topic = TopicConfig {
        topic_name: "TopicTest".to_string(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        ..TopicConfig::default()
    };
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version: DataVersion {
                counter: 1,
                timestamp: 1_700_000_000_000,
            },
            topic_config_table: BTreeMap::from([("TopicTest".to_string(), topic)]),
        },
    };
    RemotingCommand::request(
        RequestCode::RegisterBroker,
        header.to_fields(),
        Bytes::from(body.encode()),
    )
}

async fn invoke(client: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
    client.invoke(req, CALL).await.unwrap()
}

async fn route(client: &RemotingClient, topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_string(),
        accept_standard_json_only: Some(true),
    };
    let req = RemotingCommand::request(
        RequestCode::GetRouteinfoByTopic,
        header.to_fields(),
        Bytes::new(),
    );
    invoke(client, req).await
}

async fn cluster_info(client: &RemotingClient) -> ClusterInfo {
    let req = RemotingCommand::request(
        RequestCode::GetBrokerClusterInfo,
        ExtFields::new(),
        Bytes::new(),
    );
    let resp = invoke(client, req).await;
    assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
    ClusterInfo::decode(&resp.body).unwrap()
}

/// The group's `brokerAddrs` as the cluster info shows them.
async fn group_addrs(client: &RemotingClient) -> BTreeMap<u64, String> {
    cluster_info(client)
        .await
        .broker_addr_table
        .get(GROUP)
        .map(|g| g.broker_addrs.clone())
        .unwrap_or_default()
}

fn addrs(entries: &[(u64, &str)]) -> BTreeMap<u64, String> {
    entries.iter().map(|&(id, a)| (id, a.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_group_registers_and_a_follower_takes_over_as_the_only_master() {
    let work = Workdir::new("");
    let _namesrv = work.start();
    let (node1, node2, node3, admin) = (work.client(), work.client(), work.client(), work.client());

    tracing::info!("phase: the leader and two followers register, each over its own connection");
    for (client, addr, id) in [(&node1, NODE1, 0), (&node2, NODE2, 3), (&node3, NODE3, 4)] {
        let resp = invoke(client, register(addr, id)).await;
        assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
        if id != 0 {
            let header: RegisterBrokerResponseHeader = resp.header().unwrap();
            assert_eq!(header.master_addr.as_deref(), Some(NODE1));
        }
    }

    tracing::info!("phase: route and cluster info name the group");
    let resp = route(&admin, "TopicTest").await;
    assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
    let topic_route = TopicRouteData::decode(&resp.body).unwrap();
    assert_eq!(topic_route.broker_datas.len(), 1);
    let group = &topic_route.broker_datas[0];
    assert_eq!(
        (group.cluster.as_str(), group.broker_name.as_str()),
        (CLUSTER, GROUP)
    );
    let all_three = addrs(&[(0, NODE1), (3, NODE2), (4, NODE3)]);
    assert_eq!(group.broker_addrs, all_three);
    assert_eq!(topic_route.queue_datas.len(), 1);
    assert_eq!(topic_route.queue_datas[0].broker_name, GROUP);
    assert_eq!(topic_route.queue_datas[0].write_queue_nums, 4);

    let info = cluster_info(&admin).await;
    assert_eq!(
        info.cluster_addr_table.get(CLUSTER),
        Some(&BTreeSet::from([GROUP.to_string()]))
    );
    assert_eq!(info.broker_addr_table[GROUP].broker_addrs, all_three);

    let resp = route(&admin, "NoSuchTopic").await;
    assert_eq!(resp.response_code(), ResponseCode::TopicNotExist);
    assert_eq!(
        resp.remark.as_deref(),
        Some("No topic route info in name server for the topic: NoSuchTopic")
    );

    tracing::info!("phase: the leader's connection drops; the name server drops the leader");
    node1.close().await;
    let followers = addrs(&[(3, NODE2), (4, NODE3)]);
    procs::eventually("the leader dropped with its connection", CALL, || async {
        group_addrs(&admin).await == followers
    })
    .await
    .unwrap();

    tracing::info!("phase: node2 wins the election and registers as id 0");
    let resp = invoke(&node2, register(NODE2, 0)).await;
    assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
    let new_group = addrs(&[(0, NODE2), (4, NODE3)]);
    assert_eq!(group_addrs(&admin).await, new_group);
    let topic_route = TopicRouteData::decode(&route(&admin, "TopicTest").await.body).unwrap();
    assert_eq!(topic_route.broker_datas.len(), 1);
    let masters: Vec<&String> = topic_route.broker_datas[0]
        .broker_addrs
        .iter()
        .filter(|(id, _)| **id == 0)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(masters, vec![NODE2], "exactly one master");
    assert_eq!(topic_route.broker_datas[0].broker_addrs, new_group);

    // A follower still learns the (new) master from its registration.
    let resp = invoke(&node3, register(NODE3, 4)).await;
    let header: RegisterBrokerResponseHeader = resp.header().unwrap();
    assert_eq!(header.master_addr.as_deref(), Some(NODE2));
}

#[test]
fn print_flag_prints_the_effective_config_and_exits_zero() {
    let work = Workdir::new("brokerChannelExpiredTime=60000\n");
    let conf = work.conf();
    let done = procs::run(
        &work.spec(&["-c", conf.to_str().unwrap(), "-p"]),
        work.dir.path(),
        EXIT,
    )
    .unwrap();
    assert!(done.status.success(), "{done:?}");
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert!(
        lines.contains(&format!("listenPort={}", work.port).as_str()),
        "{done:?}"
    );
    assert!(lines.contains(&"bindAddress=127.0.0.1"), "{done:?}");
    assert!(
        lines.contains(&"brokerChannelExpiredTime=60000"),
        "{done:?}"
    );
    assert!(
        lines.contains(&"scanNotActiveBrokerInterval=5000"),
        "{done:?}"
    );
    assert!(!done.stdout.contains(BOOT_LINE));
    assert!(
        std::net::TcpStream::connect_timeout(&work.addr(), Duration::from_millis(200)).is_err(),
        "-p binds nothing"
    );

    // Without -c: RocketMQ's defaults.
    let done = procs::run(&work.spec(&["-p"]), work.dir.path(), EXIT).unwrap();
    assert!(done.status.success(), "{done:?}");
    assert!(done.stdout.contains("listenPort=9876\n"), "{done:?}");
    assert!(done.stdout.contains("bindAddress=0.0.0.0\n"), "{done:?}");
}

#[test]
fn a_bad_conf_line_exits_non_zero_naming_file_line_and_key() {
    // Line 1 comment, 2 listenPort, 3 bindAddress, 4 the bad one.
    let work = Workdir::new("scanNotActiveBrokerInterval=soon\n");
    let conf = work.conf();
    let done = procs::run(
        &work.spec(&["-c", conf.to_str().unwrap()]),
        work.dir.path(),
        EXIT,
    )
    .unwrap();
    assert_eq!(done.status.code(), Some(1), "{done:?}");
    let expected = format!("{}:4: scanNotActiveBrokerInterval", conf.display());
    assert!(done.stderr.contains(&expected), "{expected:?} in {done:?}");
    assert!(
        !done.stdout.contains(BOOT_LINE),
        "refused before binding: {done:?}"
    );
}

#[test]
fn a_taken_port_exits_non_zero_naming_the_address() {
    let work = Workdir::new("");
    let _taken = std::net::TcpListener::bind(work.addr()).unwrap();
    let conf = work.conf();
    let done = procs::run(
        &work.spec(&["-c", conf.to_str().unwrap()]),
        work.dir.path(),
        EXIT,
    )
    .unwrap();
    assert!(!done.status.success(), "{done:?}");
    assert!(done.stderr.contains(&work.addr().to_string()), "{done:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_name_server_gracefully_with_exit_zero() {
    let work = Workdir::new("");
    let mut namesrv = work.start();
    // A registered broker keeps a connection open through the shutdown.
    let node = work.client();
    let resp = invoke(&node, register(NODE1, 0)).await;
    assert_eq!(resp.response_code(), ResponseCode::Success);

    namesrv.terminate().unwrap();
    let status = tokio::task::block_in_place(|| namesrv.wait_exit(EXIT)).unwrap();
    assert_eq!(status.code(), Some(0), "{}", namesrv.output_tail());
    assert!(
        namesrv.stderr().contains("SIGTERM"),
        "{}",
        namesrv.output_tail()
    );
    assert!(
        std::net::TcpStream::connect_timeout(&work.addr(), Duration::from_millis(200)).is_err(),
        "the port is released"
    );
}
