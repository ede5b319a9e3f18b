//! Tests of [`NamesrvHandler`] fed `RemotingCommand`s directly (no sockets): every code of
//! remoting.md §3 answers, bad input gets an error response naming what was wrong, and the
//! registration-order guard and the expiry loop do what the module docs say.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use super::*;
use crate::message::body::{
    ClusterInfo, KvTable, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use crate::message::{PERM_READ, PERM_WRITE, TopicConfig};
use crate::remoting::{CommandHeader, ExtFields};

const CLUSTER: &str = "DefaultCluster";
const LEADER: &str = "127.0.0.1:10911";
const FOLLOWER: &str = "127.0.0.1:10921";

fn handler() -> NamesrvHandler {
    NamesrvHandler::new(NamesrvConfig::default())
}

fn request(code: RequestCode, fields: &[(&str, &str)], body: impl Into<Bytes>) -> RemotingCommand {
    let ext: ExtFields = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RemotingCommand::request(code, ext, body.into())
}

/// A REGISTER_BROKER of `addr` as `id` of `broker-a` carrying `TopicTest` (4 queues, RW).
fn register(addr: &str, id: i64, opaque: i32) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".to_string(),
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
    let mut req = RemotingCommand::request(
        RequestCode::RegisterBroker,
        header.to_fields(),
        Bytes::from(body.encode()),
    );
    req.opaque = opaque;
    req
}

fn route(h: &NamesrvHandler, topic: &str) -> RemotingCommand {
    h.process(
        ConnectionId(9),
        &request(RequestCode::GetRouteinfoByTopic, &[("topic", topic)], ""),
    )
}

fn addrs_of(h: &NamesrvHandler) -> Vec<(u64, String)> {
    let resp = h.process(
        ConnectionId(9),
        &request(RequestCode::GetBrokerClusterInfo, &[], ""),
    );
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let info = ClusterInfo::decode(&resp.body).unwrap();
    info.broker_addr_table
        .get("broker-a")
        .map(|g| g.broker_addrs.clone().into_iter().collect())
        .unwrap_or_default()
}

#[test]
fn a_registered_broker_makes_its_topic_routable() {
    let h = handler();
    let resp = h.process(ConnectionId(1), &register(LEADER, 0, 1));
    assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
    assert_eq!(resp.opaque, 1);

    let resp = route(&h, "TopicTest");
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let route = TopicRouteData::decode(&resp.body).unwrap();
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.broker_datas[0].master_addr(), Some(LEADER));
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.queue_datas[0].perm, PERM_READ | PERM_WRITE);
}

#[test]
fn a_follower_registration_answers_the_masters_addresses() {
    let h = handler();
    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    let resp = h.process(ConnectionId(2), &register(FOLLOWER, 2, 1));
    assert_eq!(resp.response_code(), ResponseCode::Success);
    let header: RegisterBrokerResponseHeader = resp.header().unwrap();
    assert_eq!(header.master_addr.as_deref(), Some(LEADER));
    assert_eq!(header.ha_server_addr.as_deref(), Some(LEADER));
    assert_eq!(
        addrs_of(&h),
        vec![(0, LEADER.to_string()), (2, FOLLOWER.to_string())]
    );
}

#[test]
fn an_unknown_topic_answers_topic_not_exist_with_the_java_remark() {
    let resp = route(&handler(), "NoSuchTopic");
    assert_eq!(resp.response_code(), ResponseCode::TopicNotExist);
    assert_eq!(resp.code, 17);
    assert_eq!(
        resp.remark.as_deref(),
        Some("No topic route info in name server for the topic: NoSuchTopic")
    );
}

#[test]
fn an_unknown_code_answers_request_code_not_supported() {
    let resp = handler().process(
        ConnectionId(1),
        &RemotingCommand {
            code: 9999,
            opaque: 5,
            ..RemotingCommand::default()
        },
    );
    assert_eq!(resp.response_code(), ResponseCode::RequestCodeNotSupported);
    assert_eq!(resp.opaque, 5);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 9999 not supported")
    );
    // A broker code is not the nameserver's either.
    let resp = handler().process(
        ConnectionId(1),
        &request(RequestCode::SendMessageV2, &[], ""),
    );
    assert_eq!(resp.response_code(), ResponseCode::RequestCodeNotSupported);
}

#[test]
fn every_nameserver_code_answers_without_headers_and_never_as_unsupported() {
    let h = handler();
    for code in [
        100, 101, 102, 103, 104, 105, 106, 205, 206, 216, 219, 224, 304, 311, 312, 313, 318, 319,
        322, 327,
    ] {
        let resp = h.process(
            ConnectionId(1),
            &RemotingCommand {
                code,
                ..RemotingCommand::default()
            },
        );
        assert!(resp.is_response());
        assert_ne!(
            resp.response_code(),
            ResponseCode::RequestCodeNotSupported,
            "code {code}"
        );
        if resp.response_code() != ResponseCode::Success {
            assert!(resp.remark.is_some(), "code {code} explains its error");
        }
    }
}

#[test]
fn a_malformed_register_body_is_an_error_naming_the_body() {
    let h = handler();
    let mut req = register(LEADER, 0, 1);
    req.body = Bytes::from_static(b"{\"topicConfigSerializeWrapper\": [1, 2");
    let resp = h.process(ConnectionId(1), &req);
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    let remark = resp.remark.unwrap();
    assert!(remark.starts_with("REGISTER_BROKER body: "), "{remark}");
    assert!(addrs_of(&h).is_empty(), "nothing registered");
}

#[test]
fn a_missing_or_bad_header_field_is_an_error_naming_the_field() {
    let h = handler();
    let mut req = register(LEADER, 0, 1);
    req.ext_fields.remove("brokerAddr");
    let resp = h.process(ConnectionId(1), &req);
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the custom field <brokerAddr> is null")
    );

    let resp = h.process(ConnectionId(1), &register(LEADER, -1, 2));
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    assert!(resp.remark.unwrap().contains("<brokerId>"));

    let mut req = register(LEADER, 0, 3);
    req.ext_fields.insert("brokerId".into(), "zero".into());
    let resp = h.process(ConnectionId(1), &req);
    assert!(resp.remark.unwrap().contains("<brokerId>"));
}

#[test]
fn a_compressed_register_body_is_refused() {
    let mut req = register(LEADER, 0, 1);
    req.ext_fields.insert("compressed".into(), "true".into());
    let resp = handler().process(ConnectionId(1), &req);
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    assert_eq!(
        resp.remark.as_deref(),
        Some("compressed registration bodies are not supported")
    );
}

#[test]
fn a_register_body_crc_is_checked_when_sent() {
    let h = handler();
    let mut req = register(LEADER, 0, 1);
    let crc = (crc32fast::hash(&req.body) & 0x7FFF_FFFF) as i32;
    req.ext_fields
        .insert("bodyCrc32".into(), (crc ^ 1).to_string());
    let resp = h.process(ConnectionId(1), &req);
    assert_eq!(resp.response_code(), ResponseCode::SystemError);
    assert!(resp.remark.unwrap().starts_with("crc32 not match"));

    req.ext_fields.insert("bodyCrc32".into(), crc.to_string());
    let resp = h.process(ConnectionId(1), &req);
    assert_eq!(resp.response_code(), ResponseCode::Success);
}

#[test]
fn an_empty_register_body_registers_the_broker_without_topics() {
    let h = handler();
    let mut req = register(LEADER, 0, 1);
    req.body = Bytes::new();
    assert_eq!(
        h.process(ConnectionId(1), &req).response_code(),
        ResponseCode::Success
    );
    assert_eq!(addrs_of(&h), vec![(0, LEADER.to_string())]);
    assert_eq!(
        route(&h, "TopicTest").response_code(),
        ResponseCode::TopicNotExist
    );
}

#[test]
fn closing_the_connection_drops_the_broker() {
    let h = handler();
    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    h.process(ConnectionId(2), &register(FOLLOWER, 1, 1));
    assert_eq!(
        h.close_connection(ConnectionId(1)),
        vec![LEADER.to_string()]
    );
    assert_eq!(addrs_of(&h), vec![(1, FOLLOWER.to_string())]);
    assert_eq!(
        h.close_connection(ConnectionId(2)),
        vec![FOLLOWER.to_string()]
    );
    assert!(addrs_of(&h).is_empty());
    assert_eq!(
        route(&h, "TopicTest").response_code(),
        ResponseCode::TopicNotExist
    );
}

#[test]
fn unregister_removes_the_broker_by_address() {
    let h = handler();
    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    let req = request(
        RequestCode::UnregisterBroker,
        &[
            ("brokerName", "broker-a"),
            ("brokerAddr", LEADER),
            ("clusterName", CLUSTER),
            ("brokerId", "0"),
        ],
        "",
    );
    assert_eq!(
        h.process(ConnectionId(1), &req).response_code(),
        ResponseCode::Success
    );
    assert!(addrs_of(&h).is_empty());
}

#[test]
fn a_registration_overtaken_on_its_connection_is_not_applied() {
    let h = handler();
    // Sent as opaque 1 (master), then 2 (stepped down to follower id 1); run in reverse order.
    h.process(ConnectionId(1), &register(LEADER, 1, 2));
    let resp = h.process(ConnectionId(1), &register(LEADER, 0, 1));
    assert_eq!(resp.response_code(), ResponseCode::Success);
    assert_eq!(addrs_of(&h), vec![(1, LEADER.to_string())]);
    // The same opaque on another connection is another sequence.
    h.process(ConnectionId(2), &register(LEADER, 0, 1));
    assert_eq!(addrs_of(&h), vec![(0, LEADER.to_string())]);
    // Opaques wrap like the clients' counters.
    h.process(ConnectionId(3), &register(FOLLOWER, 2, i32::MAX));
    h.process(ConnectionId(3), &register(FOLLOWER, 3, i32::MIN));
    assert_eq!(
        addrs_of(&h),
        vec![(0, LEADER.to_string()), (3, FOLLOWER.to_string())]
    );
}

#[test]
fn kv_config_round_trips_through_put_get_list_and_delete() {
    let h = handler();
    let kv = |code, fields: &[(&str, &str)]| h.process(ConnectionId(1), &request(code, fields, ""));
    let ns = ("namespace", "ORDER_TOPIC_CONFIG");
    let put = kv(
        RequestCode::PutKvConfig,
        &[ns, ("key", "TopicOrder"), ("value", "broker-a:4")],
    );
    assert_eq!(put.response_code(), ResponseCode::Success);

    let get = kv(RequestCode::GetKvConfig, &[ns, ("key", "TopicOrder")]);
    assert_eq!(get.response_code(), ResponseCode::Success);
    assert_eq!(
        get.ext_fields.get("value").map(String::as_str),
        Some("broker-a:4")
    );

    let list = kv(RequestCode::GetKvlistByNamespace, &[ns]);
    let table = KvTable::decode(&list.body).unwrap();
    assert_eq!(
        table.table.get("TopicOrder").map(String::as_str),
        Some("broker-a:4")
    );

    // The ORDER_TOPIC_CONFIG namespace is a registration's answer body.
    let resp = h.process(ConnectionId(1), &register(LEADER, 0, 1));
    assert_eq!(KvTable::decode(&resp.body).unwrap(), table);

    let del = kv(RequestCode::DeleteKvConfig, &[ns, ("key", "TopicOrder")]);
    assert_eq!(del.response_code(), ResponseCode::Success);
    let get = kv(RequestCode::GetKvConfig, &[ns, ("key", "TopicOrder")]);
    assert_eq!(get.response_code(), ResponseCode::QueryNotFound);
    assert_eq!(
        get.remark.as_deref(),
        Some("No config item, Namespace: ORDER_TOPIC_CONFIG Key: TopicOrder")
    );
    let list = kv(RequestCode::GetKvlistByNamespace, &[ns]);
    assert_eq!(list.response_code(), ResponseCode::QueryNotFound);
    let put = kv(RequestCode::PutKvConfig, &[ns, ("key", "k")]);
    assert_eq!(
        put.remark.as_deref(),
        Some("the custom field <value> is null")
    );
}

#[test]
fn query_data_version_reports_a_change_and_returns_the_stored_version() {
    let h = handler();
    let fields = [
        ("brokerName", "broker-a"),
        ("brokerAddr", LEADER),
        ("clusterName", CLUSTER),
        ("brokerId", "0"),
    ];
    let ask = |counter: i64| {
        let version = DataVersion {
            counter,
            timestamp: 1_700_000_000_000,
        };
        h.process(
            ConnectionId(1),
            &request(RequestCode::QueryDataVersion, &fields, version.encode()),
        )
    };
    let changed = |resp: &RemotingCommand| resp.ext_fields.get("changed").cloned();
    let unknown = ask(1);
    assert_eq!(changed(&unknown).as_deref(), Some("true"));
    assert!(unknown.body.is_empty());

    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    let same = ask(1);
    assert_eq!(changed(&same).as_deref(), Some("false"));
    assert_eq!(DataVersion::decode(&same.body).unwrap().counter, 1);
    assert_eq!(changed(&ask(2)).as_deref(), Some("true"));

    let no_body = h.process(
        ConnectionId(1),
        &request(RequestCode::QueryDataVersion, &fields, ""),
    );
    assert_eq!(no_body.response_code(), ResponseCode::SystemError);
    assert!(
        no_body
            .remark
            .unwrap()
            .starts_with("QUERY_DATA_VERSION body: ")
    );
}

#[test]
fn topic_lists_delete_and_write_permission_commands_answer_from_the_table() {
    let h = handler();
    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    let ask =
        |code, fields: &[(&str, &str)]| h.process(ConnectionId(1), &request(code, fields, ""));
    let topics = |resp: RemotingCommand| {
        assert_eq!(resp.response_code(), ResponseCode::Success, "{resp:?}");
        TopicList::decode(&resp.body).unwrap()
    };

    let all = topics(ask(RequestCode::GetAllTopicListFromNameserver, &[]));
    assert!(all.topic_list.contains("TopicTest"));
    let by_cluster = topics(ask(
        RequestCode::GetTopicsByCluster,
        &[("cluster", CLUSTER)],
    ));
    assert!(by_cluster.topic_list.contains("TopicTest"));
    let system = topics(ask(RequestCode::GetSystemTopicListFromNs, &[]));
    assert!(system.topic_list.contains(CLUSTER) && system.topic_list.contains("broker-a"));
    assert_eq!(system.broker_addr.as_deref(), Some(LEADER));
    for code in [
        RequestCode::GetUnitTopicList,
        RequestCode::GetHasUnitSubTopicList,
        RequestCode::GetHasUnitSubUnunitTopicList,
    ] {
        assert!(topics(ask(code, &[])).topic_list.is_empty());
    }

    let wipe = ask(
        RequestCode::WipeWritePermOfBroker,
        &[("brokerName", "broker-a")],
    );
    assert_eq!(
        wipe.ext_fields.get("wipeTopicCount").map(String::as_str),
        Some("1")
    );
    let wiped = TopicRouteData::decode(&route(&h, "TopicTest").body).unwrap();
    assert_eq!(wiped.queue_datas[0].perm, PERM_READ);
    let add = ask(
        RequestCode::AddWritePermOfBroker,
        &[("brokerName", "broker-a")],
    );
    assert_eq!(
        add.ext_fields.get("addTopicCount").map(String::as_str),
        Some("1")
    );

    let del = ask(RequestCode::DeleteTopicInNamesrv, &[("topic", "TopicTest")]);
    assert_eq!(del.response_code(), ResponseCode::Success);
    assert_eq!(
        route(&h, "TopicTest").response_code(),
        ResponseCode::TopicNotExist
    );
}

#[test]
fn the_namesrv_config_is_readable_and_not_updatable() {
    let h = handler();
    let get = h.process(
        ConnectionId(1),
        &request(RequestCode::GetNamesrvConfig, &[], ""),
    );
    assert_eq!(get.response_code(), ResponseCode::Success);
    let text = String::from_utf8(get.body.to_vec()).unwrap();
    assert!(text.contains("listenPort=9876"), "{text}");
    let update = h.process(
        ConnectionId(1),
        &request(RequestCode::UpdateNamesrvConfig, &[], "listenPort=1"),
    );
    assert_eq!(update.response_code(), ResponseCode::SystemError);
}

#[test]
fn random_bodies_and_header_values_never_panic() {
    let seed: u64 = rand::rng().random();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let h = handler();
    let codes = [103, 104, 105, 216, 219, 224, 322, 100, 205];
    let keys = [
        "brokerName",
        "brokerAddr",
        "clusterName",
        "haServerAddr",
        "brokerId",
        "compressed",
        "bodyCrc32",
        "topic",
        "namespace",
        "key",
        "value",
        "cluster",
    ];
    for round in 0..2_000 {
        let mut req = register(LEADER, 0, round);
        req.code = codes[rng.random_range(0..codes.len())];
        for key in keys {
            if rng.random_bool(0.3) {
                req.ext_fields.remove(key);
            } else if rng.random_bool(0.3) {
                let len = rng.random_range(0..6);
                let value: String = (0..len).map(|_| rng.random_range(' '..='~')).collect();
                req.ext_fields.insert(key.to_string(), value);
            }
        }
        if rng.random_bool(0.5) {
            let mut body = req.body.to_vec();
            let cut = rng.random_range(0..=body.len());
            body.truncate(cut);
            if let Some(b) = body.last_mut() {
                *b = rng.random();
            }
            req.body = Bytes::from(body);
        }
        let resp = h.process(ConnectionId(u64::from(rng.random::<u8>() % 4)), &req);
        assert!(resp.is_response(), "seed {seed} round {round}");
    }
}

#[tokio::test]
async fn the_expiry_loop_drops_a_silent_broker_and_stops_on_shutdown() {
    let h = Arc::new(handler());
    h.process(ConnectionId(1), &register(LEADER, 0, 1));
    let (stop, stopped) = watch::channel(false);
    let expiry = tokio::spawn(run_expiry(
        h.clone(),
        Duration::from_millis(10),
        Duration::from_millis(50),
        stopped,
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !addrs_of(&h).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "broker expired in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), expiry)
        .await
        .expect("expiry loop stopped")
        .unwrap();
}
