//! Broker configs written for Java RocketMQ (the seed deployment notes, kept verbatim under
//! `src/config/testdata/`) and our own `conf/` files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::host;
use crate::config::{
    BrokerConfig, BrokerRole, ConfigWarning, FlushDiskType, NamesrvConfig, read_properties,
};

fn manifest_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A seed fixture built with the fixed test host facts; it must be valid.
fn seed(name: &str) -> (BrokerConfig, Vec<ConfigWarning>) {
    let path = manifest_path(&format!("src/config/testdata/{name}"));
    let entries = read_properties(&path).unwrap();
    BrokerConfig::build(&entries, &host()).unwrap_or_else(|e| panic!("{name}:\n{e}"))
}

fn warned_keys(warnings: &[ConfigWarning]) -> Vec<&str> {
    warnings.iter().filter_map(ConfigWarning::key).collect()
}

#[test]
fn every_seed_fixture_builds_a_broker_config_without_unknown_keys() {
    let dir = manifest_path("src/config/testdata");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 11, "{names:?}");
    for name in names {
        let (_, warnings) = seed(&name);
        let unknown = warnings
            .iter()
            .find(|w| matches!(w, ConfigWarning::UnknownKeys(_)));
        assert!(unknown.is_none(), "{name}: {unknown:?}");
    }
}

#[test]
fn seed000_keeps_its_values_and_flags_the_maped_spellings() {
    let (c, warnings) = seed("seed000-broker-demo.properties");
    assert_eq!(
        (c.broker_cluster_name.as_str(), c.broker_name.as_str()),
        ("rocketmq-cluster", "broker-c")
    );
    assert_eq!(c.namesrv_addr.len(), 2);
    assert_eq!(c.namesrv_addr[1].to_string(), "10.200.110.101:9876");
    assert_eq!(c.default_topic_queue_nums, 4);
    assert_eq!(c.file_reserved_time_hours, 120);
    assert_eq!(c.mapped_file_size_commit_log, 1_073_741_824);
    assert_eq!(
        c.mapped_file_size_consume_queue, 300_000,
        "bytes: 15000 units, not 300000 entries"
    );
    assert_eq!(c.disk_max_used_space_ratio, 88);
    assert_eq!(c.store_path_index, PathBuf::from("/root/store/store/index"));
    assert_eq!(c.abort_file, PathBuf::from("/root/store/store/abort"));
    assert_eq!(c.max_message_size, 65536);
    assert_eq!(
        (c.broker_role, c.flush_disk_type),
        (BrokerRole::AsyncMaster, FlushDiskType::AsyncFlush)
    );
    assert_eq!(c.broker_ip1, "10.200.110.48");
    assert_eq!(
        warned_keys(&warnings),
        ["mapedFileSizeCommitLog", "mapedFileSizeConsumeQueue"]
    );
    assert!(warnings[0].to_string().starts_with(&format!(
        "{}:22: mapedFileSizeCommitLog: deprecated spelling of mappedFileSizeCommitLog",
        manifest_path("src/config/testdata/seed000-broker-demo.properties").display()
    )));
}

#[test]
fn seed001_master_and_slave_differ_where_expected() {
    let (a, _) = seed("seed001-broker-a.properties");
    let (b, _) = seed("seed001-broker-b-s.properties");
    assert_eq!(
        (a.broker_name.as_str(), a.broker_id, a.listen_port),
        ("broker-a", 0, 10911)
    );
    assert_eq!(
        (b.broker_name.as_str(), b.broker_id, b.listen_port),
        ("broker-b", 1, 11011)
    );
    assert_eq!(
        (a.broker_role, a.flush_disk_type),
        (BrokerRole::SyncMaster, FlushDiskType::SyncFlush)
    );
    assert_eq!(
        (b.broker_role, b.flush_disk_type),
        (BrokerRole::Slave, FlushDiskType::AsyncFlush)
    );
    assert_eq!(a.namesrv_addr[0].host, "rocketmq-nameserver1");
    assert_eq!(
        b.store_path_commit_log,
        PathBuf::from("/rocketmq/store-slave/commitlog")
    );
}

#[test]
fn seed002_reads_spaced_and_colon_separated_keys() {
    let (m, _) = seed("seed002-broker-master.conf");
    assert_eq!(m.broker_cluster_name, "rootopCluster");
    assert_eq!(m.broker_ip1, "192.168.0.15");
    assert_eq!(m.file_reserved_time_hours, 48);
    assert_eq!(m.disk_max_used_space_ratio, 90);
    assert_eq!(
        m.send_message_thread_pool_nums, 200,
        "sendMessageThreadPoolNums: 200"
    );
    assert!(
        m.use_reentrant_lock_when_put_message,
        "useReentrantLockWhenPutMessage: true"
    );
    assert_eq!(
        m.store_path_consume_queue,
        PathBuf::from("/home/software/rocketmq/store/consumequeue")
    );
    let (s, _) = seed("seed002-broker-slave.conf");
    assert_eq!(
        (s.broker_name.as_str(), s.broker_id, s.broker_role),
        ("broker-a", 1, BrokerRole::Slave)
    );
}

#[test]
fn seed003_snippets_parse() {
    let (c, _) = seed("seed003-broker.conf");
    assert_eq!(
        (c.broker_cluster_name.as_str(), c.broker_name.as_str()),
        ("DefaultCluster", "broker-a")
    );
    assert_eq!(c.delete_when, vec![4]);
    let (ip, _) = seed("seed003-broker-ip.conf");
    assert_eq!(
        (ip.broker_ip1.as_str(), ip.namesrv_addr[0].to_string()),
        ("192.168.160.2", "192.168.160.2:9876".into())
    );
    let (public, _) = seed("seed003-broker-public.conf");
    assert_eq!(
        (public.listen_port, public.fast_listen_port()),
        (13174, 13172)
    );
    assert_eq!(
        public.broker_ip1, "xx.xx.xx.xx",
        "a placeholder address is text, as in Java"
    );
}

#[test]
fn seed004_nodes_form_one_dleger_group() {
    for (n, port) in [(1u64, 30911), (2, 30922), (3, 30933)] {
        let (c, warnings) = seed(&format!("seed004-broker-node{n}.conf"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(c.dleger_enabled());
        assert_eq!(
            (c.broker_cluster_name.as_str(), c.broker_name.as_str()),
            ("RaftCluster", "RaftNode00")
        );
        assert_eq!(c.dleger_group, "RaftNode00");
        assert_eq!(c.listen_port, port);
        let ids: Vec<u64> = c.peers().iter().map(|p| p.node_id).collect();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(c.peers()[1].host, "192.168.10.10");
        assert_eq!(c.dleger_self_id.as_deref(), Some(format!("n{n}").as_str()));
        assert_eq!(c.self_peer().unwrap().node_id, n);
        assert_eq!(c.namesrv_addr.len(), 3);
        assert_eq!(c.send_message_thread_pool_nums, 16);
    }
}

#[test]
fn conf_files_form_one_group_on_one_host_without_warnings() {
    let nodes: Vec<BrokerConfig> = (1..=3)
        .map(|n| {
            let (c, warnings) =
                BrokerConfig::load(manifest_path(&format!("conf/broker-node{n}.conf"))).unwrap();
            assert!(warnings.is_empty(), "node {n}: {warnings:?}");
            c
        })
        .collect();
    let mut ports = HashSet::new();
    for (i, c) in nodes.iter().enumerate() {
        assert_eq!(c.broker_name, "RaftNode00");
        assert_eq!(c.dleger_group, nodes[0].dleger_group);
        assert_eq!(c.peers(), nodes[0].peers());
        assert_eq!(c.namesrv_addr[0].to_string(), "127.0.0.1:9876");
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.send_message_thread_pool_nums, 2);
        assert_eq!(c.self_peer().unwrap().node_id, i as u64 + 1);
        assert_eq!(
            c.store_path_root_dir,
            PathBuf::from(format!("/tmp/dledger-broker/node{}", i + 1))
        );
        assert!(c.store_path_commit_log.starts_with(&c.store_path_root_dir));
        // Client port, fast channel and raft port of every member: all distinct.
        for port in [
            c.listen_port,
            c.fast_listen_port(),
            c.self_peer().unwrap().port,
        ] {
            assert!(ports.insert(port), "port {port} used twice");
        }
    }
}

#[test]
fn namesrv_conf_parses_and_prints_its_effective_values() {
    let (c, warnings) = NamesrvConfig::load(manifest_path("conf/namesrv.conf")).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        (c.listen_port, c.bind_address.to_string()),
        (9876, "127.0.0.1".to_string())
    );
    assert_eq!(c.scan_not_active_broker_interval_ms, 5000);
    assert_eq!(c.broker_channel_expired_time_ms, 120_000);
    let printed = c.to_string();
    assert!(
        printed.contains("brokerChannelExpiredTime=120000\n"),
        "{printed}"
    );
}

#[test]
fn namesrv_config_reports_bad_values_and_unknown_keys() {
    let entries = super::entries("listenPort=98760\nlistenport=1\n");
    let err = NamesrvConfig::from_properties(&entries).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.conf:1: listenPort: \"98760\" is out of range for this key\n\
         warning: unknown keys, ignored:\n  test.conf:2: listenport (did you mean listenPort?)"
    );
}

#[test]
fn loading_a_missing_file_names_the_path() {
    let err = BrokerConfig::load("/nonexistent/conf/broker.conf").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/conf/broker.conf: cannot read config file:"),
        "{err}"
    );
}
