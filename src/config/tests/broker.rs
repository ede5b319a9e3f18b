//! `BrokerConfig`: defaults, derived values, and one test per value quirk, each checking that
//! the diagnostic names the file, the line and the key.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use super::{build, entries, host, problems, valid};
use crate::config::{
    BrokerConfig, BrokerRole, ConfigError, ConfigWarning, FlushDiskType, HostPort,
};

#[test]
fn an_empty_file_gives_rocketmq_defaults() {
    let (c, warnings) = valid("");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(c.broker_cluster_name, "DefaultCluster");
    assert_eq!(c.broker_name, "testhost");
    assert_eq!(c.broker_id, 0);
    assert!(c.namesrv_addr.is_empty());
    assert_eq!(
        (c.broker_ip1.as_str(), c.broker_ip2.as_str()),
        ("10.0.0.5", "10.0.0.5")
    );
    assert_eq!(c.listen_port, 10911);
    assert_eq!(c.fast_listen_port(), 10909);
    assert_eq!(c.bind_address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    assert_eq!(c.store_path_root_dir, PathBuf::from("/home/test/store"));
    assert_eq!(
        c.store_path_commit_log,
        PathBuf::from("/home/test/store/commitlog")
    );
    assert_eq!(
        c.store_path_consume_queue,
        PathBuf::from("/home/test/store/consumequeue")
    );
    assert_eq!(c.store_path_index, PathBuf::from("/home/test/store/index"));
    assert_eq!(
        c.store_checkpoint,
        PathBuf::from("/home/test/store/checkpoint")
    );
    assert_eq!(c.abort_file, PathBuf::from("/home/test/store/abort"));
    assert_eq!(c.mapped_file_size_commit_log, 1 << 30);
    assert_eq!(c.mapped_file_size_consume_queue, 6_000_000);
    assert_eq!(c.delete_when, vec![4]);
    assert_eq!(c.file_reserved_time_hours, 72);
    assert_eq!(c.disk_max_used_space_ratio, 75);
    assert_eq!(c.disk_space_warning_level_ratio, 90);
    assert_eq!(c.disk_space_clean_forcibly_ratio, 85);
    assert_eq!(c.max_message_size, 4_194_304);
    assert_eq!(c.flush_disk_type, FlushDiskType::AsyncFlush);
    assert_eq!(c.broker_role, BrokerRole::AsyncMaster);
    assert!(!c.enable_dleger_commit_log);
    assert_eq!(c.dleger_group, "testhost");
    assert!(c.peers().is_empty() && c.self_peer().is_none() && c.preferred_leader_id.is_none());
    assert!(!c.enable_batch_push);
    assert_eq!(c.send_message_thread_pool_nums, 2);
    assert_eq!(c.pull_message_thread_pool_nums, 20);
    assert_eq!(c.default_topic_queue_nums, 8);
    assert!(c.auto_create_topic_enable && c.auto_create_subscription_group && !c.slave_read_enable);
    assert!(!c.enable_property_filter);
    assert_eq!(c.broker_permission, 6);
    assert!(c.store_reply_message_enable && !c.trace_topic_enable);
    assert_eq!(c.msg_trace_topic_name, "RMQ_SYS_TRACE_TOPIC");
    assert_eq!(c.register_name_server_period_ms, 30_000);
    assert!(!c.use_reentrant_lock_when_put_message);
    assert_eq!(
        (
            c.flush_interval_commit_log_ms,
            c.flush_interval_consume_queue_ms
        ),
        (500, 1000)
    );
    assert_eq!(
        (
            c.flush_commit_log_least_pages,
            c.flush_consume_queue_least_pages
        ),
        (4, 2)
    );
    assert_eq!(c.flush_commit_log_thorough_interval_ms, 10_000);
    assert_eq!(c.flush_consume_queue_thorough_interval_ms, 60_000);
}

#[test]
fn derived_store_paths_follow_the_root_unless_set() {
    let (c, _) = valid("storePathRootDir=/data/s\nstorePathIndex=/fast/index\n");
    assert_eq!(c.store_path_commit_log, PathBuf::from("/data/s/commitlog"));
    assert_eq!(c.store_path_index, PathBuf::from("/fast/index"));
    assert_eq!(c.abort_file, PathBuf::from("/data/s/abort"));
}

#[test]
fn unknown_keys_give_one_warning_with_lines_and_suggestions() {
    let (_, warnings) = build("dledgerPeers=x\nlistenport=1\nbrokerName=b\nfoo=bar\n").unwrap();
    assert_eq!(warnings.len(), 1);
    let ConfigWarning::UnknownKeys(keys) = &warnings[0] else {
        panic!("{warnings:?}")
    };
    let suggestions: Vec<_> = keys
        .iter()
        .map(|k| (k.key.as_str(), k.suggestion))
        .collect();
    assert_eq!(
        suggestions,
        vec![
            ("dledgerPeers", Some("dLegerPeers")),
            ("listenport", Some("listenPort")),
            ("foo", None)
        ]
    );
    assert_eq!(
        warnings[0].to_string(),
        "unknown keys, ignored:\n  test.conf:1: dledgerPeers (did you mean dLegerPeers?)\n  \
         test.conf:2: listenport (did you mean listenPort?)\n  test.conf:4: foo"
    );
}

#[test]
fn the_old_maped_spelling_is_accepted_with_a_deprecation_warning() {
    let (c, warnings) =
        valid("mapedFileSizeCommitLog=1073741824\nmapedFileSizeConsumeQueue=300000\n");
    assert_eq!(c.mapped_file_size_commit_log, 1_073_741_824);
    assert_eq!(c.mapped_file_size_consume_queue, 300_000);
    assert!(
        warnings[0].starts_with(
            "test.conf:1: mapedFileSizeCommitLog: deprecated spelling of mappedFileSizeCommitLog"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("test.conf:2: mapedFileSizeConsumeQueue: deprecated"),
        "{warnings:?}"
    );
}

#[test]
fn both_spellings_with_different_values_are_an_error() {
    let found = problems("mapedFileSizeCommitLog=1073741824\nmappedFileSizeCommitLog=2147483648\n");
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "test.conf:2: mappedFileSizeCommitLog: \"2147483648\" conflicts with mapedFileSizeCommitLog"
        ),
        "{found:?}"
    );
}

#[test]
fn trailing_whitespace_is_trimmed_with_a_warning_instead_of_disabling_the_flag() {
    let (c, warnings) = valid(&format!("{}enableBatchPush=true \n", super::DLEGER));
    assert!(c.enable_batch_push);
    assert_eq!(
        warnings,
        vec![
            "test.conf:4: enableBatchPush: whitespace around \"true \" removed (Java trims strings, but a number or boolean with it fails to parse and silently keeps its default)"
        ]
    );
}

#[test]
fn an_inline_comment_on_a_number_is_an_error_with_a_hint() {
    let text = "brokerName=b\nlistenPort=30911 # node0\n";
    let err = build(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.conf:2: listenPort: \"30911 # node0\" is not a number (inline comments are not supported in properties files)"
    );
}

#[test]
fn an_inline_comment_on_a_boolean_is_an_error_with_a_hint() {
    let found = problems("slaveReadEnable=true # followers serve reads\n");
    assert!(
        found[0].starts_with(
            "test.conf:1: slaveReadEnable: \"true # followers serve reads\" is not a boolean"
        ),
        "{found:?}"
    );
    assert!(found[0].ends_with("(inline comments are not supported in properties files)"));
}

#[test]
fn an_inline_comment_on_a_string_is_kept_with_a_warning() {
    let (c, warnings) = valid("brokerName=broker-a # primary\n");
    assert_eq!(c.broker_name, "broker-a # primary");
    assert_eq!(
        warnings,
        vec![
            "test.conf:1: brokerName: \"broker-a # primary\" is taken whole: properties files have no inline comments"
        ]
    );
}

#[test]
fn arithmetic_in_a_number_is_an_error_not_a_silent_default() {
    let found = problems("mappedFileSizeCommitLog=1024 * 1024 * 1024\n");
    assert_eq!(
        found,
        vec!["test.conf:1: mappedFileSizeCommitLog: \"1024 * 1024 * 1024\" is not a number"]
    );
}

#[test]
fn yes_is_not_a_boolean() {
    let found = problems("autoCreateTopicEnable=yes\n");
    assert_eq!(
        found,
        vec![
            "test.conf:1: autoCreateTopicEnable: \"yes\" is not a boolean (expected true or false)"
        ]
    );
}

#[test]
fn a_duplicate_key_warns_and_the_last_value_wins() {
    let (c, warnings) = valid("listenPort=10911\nlistenPort=20911\n");
    assert_eq!(c.listen_port, 20911);
    assert_eq!(
        warnings,
        vec!["test.conf:2: listenPort: set again; this value wins over \"10911\" from line 1"]
    );
}

#[test]
fn disk_max_used_space_ratio_is_clamped_to_10_95_with_a_warning() {
    let (c, warnings) = valid("diskMaxUsedSpaceRatio=99\n");
    assert_eq!(c.disk_max_used_space_ratio, 95);
    assert_eq!(
        warnings,
        vec!["test.conf:1: diskMaxUsedSpaceRatio: 99 clamped to 95 (RocketMQ allows 10..=95)"]
    );
    assert_eq!(
        valid("diskMaxUsedSpaceRatio=3\n")
            .0
            .disk_max_used_space_ratio,
        10
    );
}

#[test]
fn a_percentage_above_100_is_an_error() {
    let found = problems("diskSpaceWarningLevelRatio=190\n");
    assert_eq!(
        found,
        vec!["test.conf:1: diskSpaceWarningLevelRatio: \"190\" is not a percentage (0..=100)"]
    );
}

#[test]
fn the_client_listener_limits_are_read() {
    let (c, warnings) = valid("serverMaxConnections=500\nserverChannelMaxIdleTimeSeconds=30\n");
    assert_eq!(c.server_max_connections, 500);
    assert_eq!(c.server_channel_max_idle_time_seconds, 30);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (d, _) = valid("");
    assert_eq!(
        (
            d.server_max_connections,
            d.server_channel_max_idle_time_seconds
        ),
        (0, 120)
    );
    let found = problems("serverChannelMaxIdleTimeSeconds=0\n");
    assert_eq!(
        found,
        vec!["test.conf:1: serverChannelMaxIdleTimeSeconds: \"0\" must be greater than 0"]
    );
}

#[test]
fn enable_property_filter_is_read_as_a_boolean() {
    let (c, warnings) = valid("enablePropertyFilter=true\n");
    assert!(c.enable_property_filter);
    assert!(warnings.is_empty(), "{warnings:?}");
    let found = problems("enablePropertyFilter=on\n");
    assert_eq!(
        found,
        vec!["test.conf:1: enablePropertyFilter: \"on\" is not a boolean (expected true or false)"]
    );
}

#[test]
fn the_key_index_size_keys_are_read_and_must_be_positive() {
    let (c, warnings) = valid("maxHashSlotNum=5000\nmaxIndexNum=20000\n");
    assert_eq!((c.max_hash_slot_num, c.max_index_num), (5000, 20000));
    assert!(warnings.is_empty(), "{warnings:?}");
    let (d, _) = valid("");
    assert_eq!(
        (d.max_hash_slot_num, d.max_index_num),
        (5_000_000, 20_000_000)
    );
    let found = problems("maxIndexNum=0\n");
    assert_eq!(
        found,
        vec!["test.conf:1: maxIndexNum: \"0\" must be greater than 0"]
    );
}

#[test]
fn consume_queue_size_is_bytes_rounded_up_to_whole_20_byte_units() {
    let (c, warnings) = valid("mappedFileSizeConsumeQueue=300001\n");
    assert_eq!(c.mapped_file_size_consume_queue, 300_020);
    assert_eq!(
        warnings,
        vec![
            "test.conf:1: mappedFileSizeConsumeQueue: 300001 bytes rounded up to 300020, a whole number of 20-byte units"
        ]
    );
}

#[test]
fn commit_log_segment_size_must_be_a_multiple_of_4096() {
    let found = problems("mappedFileSizeCommitLog=1000000\n");
    assert_eq!(
        found,
        vec![
            "test.conf:1: mappedFileSizeCommitLog: \"1000000\" is not a positive multiple of 4096 (segments are mapped in pages)"
        ]
    );
}

#[test]
fn listen_port_below_3_is_an_error_because_of_the_fast_channel() {
    let found = problems("listenPort=2\n");
    assert!(
        found[0].starts_with("test.conf:1: listenPort: \"2\" is too small"),
        "{found:?}"
    );
    assert_eq!(
        problems("listenPort=70000\n"),
        vec!["test.conf:1: listenPort: \"70000\" is out of range for this key"]
    );
}

#[test]
fn an_unknown_enum_value_lists_the_choices() {
    assert_eq!(
        problems("flushDiskType=sync\nbrokerRole=MASTER\n"),
        vec![
            "test.conf:1: flushDiskType: \"sync\" is not one of ASYNC_FLUSH, SYNC_FLUSH",
            "test.conf:2: brokerRole: \"MASTER\" is not one of ASYNC_MASTER, SYNC_MASTER, SLAVE",
        ]
    );
}

#[test]
fn namesrv_addr_is_a_list_and_a_bad_entry_is_named() {
    let (c, _) = valid("namesrvAddr=10.0.0.1:9876;ns2:9877;[::1]:9878;\n");
    let hp = |h: &str, p| HostPort {
        host: h.to_string(),
        port: p,
    };
    assert_eq!(
        c.namesrv_addr,
        vec![hp("10.0.0.1", 9876), hp("ns2", 9877), hp("::1", 9878)]
    );
    let found = problems("namesrvAddr=10.0.0.1:9876;10.0.0.2\n");
    assert!(
        found[0].starts_with("test.conf:1: namesrvAddr: \"10.0.0.1:9876;10.0.0.2\" is not a list"),
        "{found:?}"
    );
    assert!(
        found[0].ends_with("\"10.0.0.2\" is not host:port"),
        "{found:?}"
    );
    assert!(problems("namesrvAddr=a:0\n")[0].ends_with("\"a:0\": port \"0\" is not in 1..=65535"));
}

#[test]
fn namesrv_addr_falls_back_to_the_environment_and_the_environment_is_checked() {
    let mut facts = host();
    facts.namesrv_addr_env = Some("127.0.0.1:9876".to_string());
    let (c, _) = BrokerConfig::build(&entries(""), &facts).unwrap();
    assert_eq!(c.namesrv_addr[0].to_string(), "127.0.0.1:9876");
    facts.namesrv_addr_env = Some("127.0.0.1".to_string());
    let err = BrokerConfig::build(&entries(""), &facts).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("environment variable NAMESRV_ADDR: namesrvAddr: \"127.0.0.1\""),
        "{err}"
    );
}

#[test]
fn the_n_flag_overrides_namesrv_addr_after_checking_it() {
    let (mut c, _) = valid("namesrvAddr=10.0.0.1:9876\n");
    c.override_namesrv_addr("127.0.0.1:9876;127.0.0.2:9876")
        .unwrap();
    assert_eq!(c.namesrv_addr.len(), 2);
    let err = c.override_namesrv_addr("127.0.0.1:x").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("command-line flag -n: namesrvAddr: \"127.0.0.1:x\""),
        "{err}"
    );
    assert_eq!(
        c.namesrv_addr.len(),
        2,
        "a refused override changes nothing"
    );
}

#[test]
fn delete_when_is_a_list_of_hours() {
    assert_eq!(valid("deleteWhen=04;16\n").0.delete_when, vec![4, 16]);
    assert_eq!(
        problems("deleteWhen=4;24\n"),
        vec![
            "test.conf:1: deleteWhen: \"4;24\" is not a list of hours 0..=23 separated by ';' (\"24\")"
        ]
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let err =
        build("brokerId=x\nlistenPort=\nbrokerName=b\nflushIntervalCommitLog=0\n").unwrap_err();
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(problems.len(), 3);
    assert_eq!(
        err.to_string(),
        "test.conf:1: brokerId: \"x\" is not a number\n\
         test.conf:2: listenPort: \"\" is not a number\n\
         test.conf:4: flushIntervalCommitLog: \"0\" must be greater than 0"
    );
}

#[test]
fn a_tilde_path_is_kept_literally_with_a_warning() {
    let (c, warnings) = valid("storePathRootDir=~/store\n");
    assert_eq!(c.store_path_root_dir, PathBuf::from("~/store"));
    assert!(
        warnings[0].starts_with("test.conf:1: storePathRootDir: \"~/store\": ~ is not expanded"),
        "{warnings:?}"
    );
}

#[test]
fn the_effective_config_prints_every_key_and_reads_back_equal() {
    let (c, _) = valid(&format!(
        "{}namesrvAddr=a:1;[::1]:2\npreferredLeaderId=n2\ndeleteWhen=4;16\nbrokerName= spaced\\ name\n",
        super::DLEGER
    ));
    let printed = c.to_string();
    assert_eq!(printed.lines().count(), c.to_properties().len());
    assert!(
        printed
            .contains("\ndLegerPeers=n1-127.0.0.1:40911;n2-127.0.0.1:40912;n3-127.0.0.1:40913\n"),
        "{printed}"
    );
    assert!(printed.contains("\ndeleteWhen=04;16\n"), "{printed}");
    let (again, warnings) = valid(&printed);
    assert_eq!(again, c);
    assert!(
        !warnings.iter().any(|w| w.starts_with("unknown keys")),
        "{warnings:?}"
    );
}

#[test]
fn an_inline_comment_on_an_address_is_an_error_with_a_hint() {
    assert_eq!(
        problems("brokerIP1=10.0.0.7 # eth1\n"),
        vec![
            "test.conf:1: brokerIP1: \"10.0.0.7 # eth1\" is not an address (it contains whitespace) (inline comments are not supported in properties files)"
        ]
    );
}

#[test]
fn broker_ip2_follows_broker_ip1_unless_set() {
    assert_eq!(valid("brokerIP1=10.0.0.7\n").0.broker_ip2, "10.0.0.7");
    assert_eq!(
        valid("brokerIP1=10.0.0.7\nbrokerIP2=10.0.1.7\n")
            .0
            .broker_ip2,
        "10.0.1.7"
    );
}

#[test]
fn dledger_timing_keys_set_the_election_timeouts() {
    let (c, _) = valid("");
    assert_eq!(c.heart_beat_time_interval_ms, 50);
    assert_eq!(
        (c.election_timeout_min_ms(), c.election_timeout_max_ms()),
        (200, 400)
    );
    assert_eq!(c.max_wait_ack_time_ms, 2500);
    let (c, warnings) = valid(
        "heartBeatTimeIntervalMs=200\nmaxHeartBeatLeak=4\nmaxVoteIntervalMs=500\nmaxWaitAckTimeMs=3000\n",
    );
    assert!(warnings.is_empty(), "known keys, no warning: {warnings:?}");
    assert_eq!(
        (c.election_timeout_min_ms(), c.election_timeout_max_ms()),
        (800, 1300)
    );
    assert_eq!(c.max_wait_ack_time_ms, 3000);
}

#[test]
fn a_heartbeat_leak_below_2_is_an_error_naming_the_line() {
    let p = problems("listenPort=30911\nmaxHeartBeatLeak=1\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].to_string().contains(":2: maxHeartBeatLeak"),
        "{}",
        p[0]
    );
}

/// Issue 9, finding 7: nothing checked that a segment can hold the largest message, and a
/// record too large for a segment stopped each leader's raft core in turn.
#[test]
fn a_segment_too_small_for_the_largest_message_is_an_error() {
    let found = problems("mappedFileSizeCommitLog=65536\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "test.conf:1: mappedFileSizeCommitLog: a commitlog segment of 65536 bytes cannot hold \
             the largest message maxMessageSize=4194304 allows"
        ),
        "{found:?}"
    );
    let found = problems("maxMessageSize=2147483648\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("test.conf:1: maxMessageSize: "),
        "{found:?}"
    );
    valid("mappedFileSizeCommitLog=65536\nmaxMessageSize=1024\n");
}
