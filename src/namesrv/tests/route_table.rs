//! Registration, routes and topic commands of the route table: classic, non-DLedger cases
//! (master changes under DLedger are in `dledger`, liveness in `liveness`).

use super::{CLUSTER, addrs, register, table};
use crate::message::body::ORDER_TOPIC_CONFIG;
use crate::message::{PERM_INHERIT, PERM_READ, PERM_WRITE};
use crate::namesrv::{RouteTable, UnitTopics};

pub(super) const A0: &str = "10.0.0.1:10911";
pub(super) const A1: &str = "10.0.0.2:10911";
pub(super) const B0: &str = "10.0.1.1:10911";
pub(super) const RW: i32 = PERM_READ | PERM_WRITE;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// broker-a (master A0, slave A1) and broker-b (master B0), both carrying `T`.
pub(super) fn two_groups() -> RouteTable {
    let mut rt = RouteTable::new();
    rt.register_broker(register(
        "broker-a",
        A0,
        0,
        1,
        0,
        table(1, &[("T", RW, 4), ("TBW102", 7, 8)]),
    ));
    rt.register_broker(register("broker-a", A1, 1, 2, 0, table(1, &[("T", RW, 4)])));
    rt.register_broker(register(
        "broker-b",
        B0,
        0,
        3,
        0,
        table(1, &[("T", RW, 2), ("OnlyB", RW, 1)]),
    ));
    rt
}

#[test]
fn a_master_registration_makes_its_topics_routable() {
    let mut rt = RouteTable::new();
    let result = rt.register_broker(register("broker-a", A0, 0, 1, 0, table(1, &[("T", RW, 4)])));
    assert_eq!(
        (result.master_addr, result.ha_server_addr, result.kv_table),
        (None, None, None)
    );
    let route = rt.route_for_topic("T").unwrap();
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.broker_datas[0].master_addr(), Some(A0));
    assert_eq!(route.broker_datas[0].cluster, CLUSTER);
    assert!(!route.broker_datas[0].enable_acting_master);
    let q = &route.queue_datas[0];
    assert_eq!(
        (
            q.broker_name.as_str(),
            q.perm,
            q.read_queue_nums,
            q.write_queue_nums
        ),
        ("broker-a", RW, 4, 4)
    );
    assert!(route.filter_server_table.is_empty());
    assert_eq!(route.order_topic_conf, None);
}

#[test]
fn slaves_are_listed_in_broker_addrs_but_do_not_create_queue_data() {
    let mut rt = RouteTable::new();
    rt.register_broker(register("broker-a", A1, 1, 2, 0, table(1, &[("T", RW, 4)])));
    assert_eq!(
        rt.route_for_topic("T"),
        None,
        "a slave's topics are not queue data"
    );
    rt.register_broker(register("broker-a", A0, 0, 1, 0, table(1, &[("T", RW, 4)])));
    let route = rt.route_for_topic("T").unwrap();
    assert_eq!(
        addrs(&rt, "broker-a"),
        vec![(0, A0.to_string()), (1, A1.to_string())]
    );
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
}

#[test]
fn a_slave_is_told_its_live_masters_address_and_ha_address() {
    let mut rt = RouteTable::new();
    let alone = rt.register_broker(register("broker-a", A1, 1, 2, 0, table(1, &[])));
    assert_eq!(alone.master_addr, None);
    rt.register_broker(register("broker-a", A0, 0, 1, 0, table(1, &[])));
    let result = rt.register_broker(register("broker-a", A1, 1, 2, 5, table(1, &[])));
    assert_eq!(result.master_addr.as_deref(), Some(A0));
    assert_eq!(result.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
}

#[test]
fn registration_answers_the_order_topic_namespace() {
    let mut rt = RouteTable::new();
    rt.kv_mut().put(ORDER_TOPIC_CONFIG, "T", "broker-a:4");
    let result = rt.register_broker(register("broker-a", A0, 0, 1, 0, table(1, &[("T", RW, 4)])));
    assert_eq!(result.kv_table.unwrap().table["T"], "broker-a:4");
}

#[test]
fn order_topic_conf_is_in_routes_only_when_order_messages_are_enabled() {
    let mut rt = two_groups();
    rt.kv_mut()
        .put(ORDER_TOPIC_CONFIG, "T", "broker-a:4;broker-b:2");
    assert_eq!(rt.route_for_topic("T").unwrap().order_topic_conf, None);
    rt.set_order_message_enable(true);
    assert_eq!(
        rt.route_for_topic("T").unwrap().order_topic_conf.as_deref(),
        Some("broker-a:4;broker-b:2")
    );
    assert_eq!(rt.route_for_topic("OnlyB").unwrap().order_topic_conf, None);
}

#[test]
fn registering_the_same_address_under_a_new_id_drops_its_old_id() {
    let mut rt = two_groups();
    // Classic promotion: the slave claims id 0 with its own address.
    rt.register_broker(register(
        "broker-a",
        A1,
        0,
        2,
        10,
        table(1, &[("T", RW, 4)]),
    ));
    assert_eq!(addrs(&rt, "broker-a"), vec![(0, A1.to_string())]);
    // The old master comes back as a slave.
    let result = rt.register_broker(register("broker-a", A0, 1, 1, 20, table(1, &[])));
    assert_eq!(
        addrs(&rt, "broker-a"),
        vec![(0, A1.to_string()), (1, A0.to_string())]
    );
    assert_eq!(result.master_addr.as_deref(), Some(A1));
}

#[test]
fn a_topic_on_two_broker_groups_routes_to_both() {
    let rt = two_groups();
    let route = rt.route_for_topic("T").unwrap();
    let names: Vec<_> = route
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    let queues: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| (q.broker_name.as_str(), q.write_queue_nums))
        .collect();
    assert_eq!(queues, [("broker-a", 4), ("broker-b", 2)]);
    let only_b = rt.route_for_topic("OnlyB").unwrap();
    assert_eq!(
        only_b.broker_datas.len(),
        1,
        "only groups carrying the topic are listed"
    );
    assert_eq!(only_b.broker_datas[0].broker_name, "broker-b");
}

#[test]
fn tbw102_routes_like_any_registered_topic_with_its_inherit_bit_and_unknown_topics_have_none() {
    let rt = two_groups();
    let route = rt.route_for_topic("TBW102").unwrap();
    assert_eq!(
        route.queue_datas[0].perm,
        PERM_READ | PERM_WRITE | PERM_INHERIT
    );
    assert_eq!(route.queue_datas[0].write_queue_nums, 8);
    // Clients other than ali-ons fall back to TBW102's route when this is None.
    assert_eq!(rt.route_for_topic("NeverCreated"), None);
    assert_eq!(
        RouteTable::new().route_for_topic("TBW102"),
        None,
        "no broker, no TBW102"
    );
}

#[test]
fn topic_lists_include_system_topics_and_filter_by_cluster() {
    let mut rt = two_groups();
    let system = table(
        2,
        &[
            ("TBW102", 7, 8),
            ("%RETRY%cg", RW, 1),
            (CLUSTER, PERM_INHERIT, 16),
            ("broker-c", PERM_INHERIT, 1),
            ("SCHEDULE_TOPIC_XXXX", RW, 18),
        ],
    );
    let mut req = register("broker-c", "10.0.2.1:10911", 0, 9, 0, system);
    req.cluster = "OtherCluster".into();
    rt.register_broker(req);
    let all = rt.all_topics();
    assert_eq!(all.broker_addr, None);
    for t in [
        "T",
        "OnlyB",
        "TBW102",
        "%RETRY%cg",
        CLUSTER,
        "broker-c",
        "SCHEDULE_TOPIC_XXXX",
    ] {
        assert!(
            all.topic_list.contains(t),
            "{t} missing from {:?}",
            all.topic_list
        );
    }
    let default = rt.topics_of_cluster(CLUSTER).topic_list;
    assert!(default.contains("T") && default.contains("TBW102") && !default.contains("%RETRY%cg"));
    assert!(
        rt.topics_of_cluster("OtherCluster")
            .topic_list
            .contains("%RETRY%cg")
    );
    assert!(rt.topics_of_cluster("NoSuchCluster").topic_list.is_empty());
    let sys = rt.system_topics();
    let expected: Vec<&str> = vec![CLUSTER, "OtherCluster", "broker-a", "broker-b", "broker-c"];
    assert_eq!(
        sys.topic_list
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(sys.broker_addr.as_deref(), Some(A0));
}

#[test]
fn unit_topic_lists_judge_the_sys_flag() {
    let mut rt = RouteTable::new();
    let mut topics = table(
        1,
        &[
            ("Plain", RW, 1),
            ("Unit", RW, 1),
            ("Sub", RW, 1),
            ("Both", RW, 1),
        ],
    );
    for (name, flag) in [("Unit", 1), ("Sub", 2), ("Both", 3)] {
        topics
            .topic_config_table
            .get_mut(name)
            .unwrap()
            .topic_sys_flag = flag;
    }
    rt.register_broker(register("broker-a", A0, 0, 1, 0, topics));
    let list = |w| rt.unit_topics(w).topic_list.into_iter().collect::<Vec<_>>();
    assert_eq!(list(UnitTopics::Unit), strings(&["Both", "Unit"]));
    assert_eq!(list(UnitTopics::HasUnitSub), strings(&["Both", "Sub"]));
    assert_eq!(list(UnitTopics::HasUnitSubNotUnit), strings(&["Sub"]));
}

#[test]
fn deleting_a_topic_removes_it_everywhere_or_only_on_one_cluster() {
    let mut rt = two_groups();
    assert!(rt.delete_topic("OnlyB", None));
    assert_eq!(rt.route_for_topic("OnlyB"), None);
    assert!(!rt.delete_topic("OnlyB", None));
    let mut req = register(
        "broker-c",
        "10.0.2.1:10911",
        0,
        9,
        0,
        table(1, &[("T", RW, 1)]),
    );
    req.cluster = "OtherCluster".into();
    rt.register_broker(req);
    assert!(rt.delete_topic("T", Some("OtherCluster")));
    let names: Vec<_> = rt
        .route_for_topic("T")
        .unwrap()
        .queue_datas
        .into_iter()
        .map(|q| q.broker_name)
        .collect();
    assert_eq!(names, strings(&["broker-a", "broker-b"]));
    assert!(!rt.delete_topic("T", Some("NoSuchCluster")));
    assert!(rt.delete_topic("T", Some(CLUSTER)));
    assert!(!rt.all_topics().topic_list.contains("T"));
}

#[test]
fn wiped_write_permission_lasts_until_the_brokers_topics_change() {
    let mut rt = two_groups();
    assert_eq!(rt.wipe_write_perm("broker-a"), 2);
    let perm_of =
        |rt: &RouteTable, topic: &str| rt.route_for_topic(topic).unwrap().queue_datas[0].perm;
    assert_eq!(perm_of(&rt, "T"), PERM_READ);
    assert_eq!(perm_of(&rt, "TBW102"), PERM_READ | PERM_INHERIT);
    // The periodic re-registration with an unchanged table keeps the wipe.
    rt.register_broker(register(
        "broker-a",
        A0,
        0,
        1,
        30_000,
        table(1, &[("T", RW, 4), ("TBW102", 7, 8)]),
    ));
    assert_eq!(perm_of(&rt, "T"), PERM_READ);
    assert_eq!(rt.add_write_perm("broker-a"), 2);
    assert_eq!(perm_of(&rt, "T"), RW);
    rt.wipe_write_perm("broker-a");
    rt.register_broker(register(
        "broker-a",
        A0,
        0,
        1,
        60_000,
        table(2, &[("T", RW, 4)]),
    ));
    assert_eq!(perm_of(&rt, "T"), RW, "a changed table is taken again");
    assert_eq!(rt.wipe_write_perm("no-such-broker"), 0);
}

#[test]
fn a_changed_table_updates_queue_data_but_never_removes_topics() {
    let mut rt = two_groups();
    rt.register_broker(register(
        "broker-a",
        A0,
        0,
        1,
        30_000,
        table(2, &[("T", RW, 8)]),
    ));
    let route = rt.route_for_topic("T").unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 8);
    assert!(
        rt.route_for_topic("TBW102").is_some(),
        "only DELETE_TOPIC or the group vanishing removes a topic"
    );
}

#[test]
fn a_group_that_moves_to_another_cluster_leaves_the_old_one() {
    let mut rt = two_groups();
    let mut req = register("broker-b", B0, 0, 3, 0, table(1, &[]));
    req.cluster = "OtherCluster".into();
    rt.register_broker(req);
    let info = rt.cluster_info();
    assert!(!info.cluster_addr_table[CLUSTER].contains("broker-b"));
    assert!(info.cluster_addr_table["OtherCluster"].contains("broker-b"));
    assert_eq!(info.broker_addr_table["broker-b"].cluster, "OtherCluster");
}

#[test]
fn an_address_that_changes_its_broker_name_leaves_its_old_group() {
    let mut rt = two_groups();
    rt.register_broker(register("broker-c", B0, 0, 3, 0, table(1, &[("C", RW, 1)])));
    assert_eq!(rt.broker("broker-b"), None, "broker-b had only B0");
    assert_eq!(rt.route_for_topic("OnlyB"), None);
    assert_eq!(rt.broker("broker-c").unwrap().master_addr(), Some(B0));
}

#[test]
fn filter_servers_appear_in_routes_until_the_broker_stops_sending_them() {
    let mut rt = two_groups();
    let mut req = register("broker-b", B0, 0, 3, 0, table(1, &[("T", RW, 2)]));
    req.filter_servers = vec!["10.0.1.1:30000".into()];
    rt.register_broker(req);
    assert_eq!(
        rt.route_for_topic("T").unwrap().filter_server_table[B0],
        strings(&["10.0.1.1:30000"])
    );
    rt.register_broker(register("broker-b", B0, 0, 3, 0, table(1, &[("T", RW, 2)])));
    assert!(
        rt.route_for_topic("T")
            .unwrap()
            .filter_server_table
            .is_empty()
    );
}
