//! Liveness of the route table (unregistration, data-version keep-alives, expiry, connection
//! close) and its KV config.

use super::route_table::{A0, A1, B0, RW, two_groups};
use super::{CLUSTER, addrs, register, table};
use crate::message::body::DataVersion;
use crate::namesrv::{BROKER_EXPIRY_MS, ConnectionId, RouteTable};

#[test]
fn unregistering_removes_the_address_and_an_empty_group_takes_its_topics_along() {
    let mut rt = two_groups();
    assert!(rt.unregister_broker(B0));
    assert!(!rt.unregister_broker(B0));
    assert_eq!(rt.broker("broker-b"), None);
    assert_eq!(rt.route_for_topic("OnlyB"), None);
    assert_eq!(rt.route_for_topic("T").unwrap().queue_datas.len(), 1);
    assert!(!rt.cluster_info().cluster_addr_table[CLUSTER].contains("broker-b"));
    rt.unregister_broker(A0);
    assert_eq!(
        addrs(&rt, "broker-a"),
        vec![(1, A1.to_string())],
        "the slave keeps the group and its topics"
    );
    assert!(rt.route_for_topic("T").is_some());
    rt.unregister_broker(A1);
    assert!(rt.cluster_info().cluster_addr_table.is_empty());
    assert!(rt.all_topics().topic_list.is_empty());
}

#[test]
fn query_data_version_reports_changes_and_an_unchanged_answer_keeps_the_broker_alive() {
    let mut rt = two_groups();
    let v1 = table(1, &[]).data_version;
    let answer = rt.query_data_version(A0, &v1, 100_000);
    assert!(!answer.changed);
    assert_eq!(answer.stored, Some(v1));
    let v2 = DataVersion { counter: 2, ..v1 };
    assert!(rt.query_data_version(A0, &v2, 110_000).changed);
    assert_eq!(rt.query_data_version("10.9.9.9:1", &v1, 0).stored, None);
    assert!(rt.query_data_version("10.9.9.9:1", &v1, 0).changed);
    // A0 was refreshed at 100 s (not at 110 s); A1 and B0 were last heard of at 0.
    assert_eq!(
        rt.expire(200_000, BROKER_EXPIRY_MS),
        vec![A1.to_string(), B0.to_string()]
    );
    assert_eq!(rt.expire(220_001, BROKER_EXPIRY_MS), vec![A0.to_string()]);
}

#[test]
fn brokers_silent_for_more_than_120_seconds_expire() {
    let mut rt = two_groups();
    rt.register_broker(register(
        "broker-b",
        B0,
        0,
        3,
        60_000,
        table(1, &[("T", RW, 2), ("OnlyB", RW, 1)]),
    ));
    assert!(
        rt.expire(BROKER_EXPIRY_MS, BROKER_EXPIRY_MS).is_empty(),
        "exactly 120 s is not yet expired"
    );
    assert_eq!(
        rt.expire(BROKER_EXPIRY_MS + 1, BROKER_EXPIRY_MS),
        vec![A0.to_string(), A1.to_string()]
    );
    assert_eq!(rt.broker("broker-a"), None);
    assert_eq!(rt.route_for_topic("TBW102"), None);
    assert!(rt.route_for_topic("T").is_some());
    assert!(rt.touch(B0, 150_000));
    assert!(!rt.touch(A0, 150_000));
    assert!(rt.expire(270_000, BROKER_EXPIRY_MS).is_empty());
    assert_eq!(rt.expire(270_001, BROKER_EXPIRY_MS), vec![B0.to_string()]);
    assert_eq!(rt.live_addrs().count(), 0);
}

#[test]
fn the_expiry_timeout_is_configurable() {
    let mut rt = two_groups();
    assert!(rt.expire(10_000, 10_000).is_empty());
    assert_eq!(rt.expire(10_001, 10_000).len(), 3);
}

#[test]
fn a_closed_connection_drops_its_broker_at_once() {
    let mut rt = two_groups();
    assert_eq!(rt.connection_closed(ConnectionId(3)), vec![B0.to_string()]);
    assert_eq!(rt.route_for_topic("OnlyB"), None);
    assert!(rt.connection_closed(ConnectionId(3)).is_empty());
    assert!(rt.connection_closed(ConnectionId(77)).is_empty());
}

#[test]
fn closing_an_old_connection_spares_a_broker_that_registered_again_over_a_new_one() {
    let mut rt = two_groups();
    rt.register_broker(register(
        "broker-a",
        A0,
        0,
        10,
        1_000,
        table(1, &[("T", RW, 4)]),
    ));
    assert!(rt.connection_closed(ConnectionId(1)).is_empty());
    assert_eq!(rt.broker("broker-a").unwrap().master_addr(), Some(A0));
    assert_eq!(rt.connection_closed(ConnectionId(10)), vec![A0.to_string()]);
}

#[test]
fn kv_config_puts_gets_deletes_and_lists_by_namespace() {
    let mut rt = RouteTable::new();
    assert_eq!(rt.kv_mut().put("ns", "k", "v1"), None);
    assert_eq!(rt.kv_mut().put("ns", "k", "v2").as_deref(), Some("v1"));
    rt.kv_mut().put("ns", "k2", "w");
    rt.kv_mut().put("other", "k", "x");
    assert_eq!(rt.kv().get("ns", "k"), Some("v2"));
    assert_eq!(rt.kv().get("ns", "missing"), None);
    assert_eq!(rt.kv().get("missing", "k"), None);
    assert_eq!(rt.kv().list("ns").unwrap().table.len(), 2);
    assert_eq!(rt.kv_mut().delete("ns", "k").as_deref(), Some("v2"));
    assert_eq!(rt.kv_mut().delete("ns", "k"), None);
    rt.kv_mut().delete("ns", "k2");
    assert_eq!(rt.kv().list("ns"), None, "an emptied namespace is gone");
    assert_eq!(rt.kv().get("other", "k"), Some("x"));
}
