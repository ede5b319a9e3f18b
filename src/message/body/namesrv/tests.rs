//! Every body round-trips through serde_json, and the written form has the members strict
//! clients require.

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::message::body::{
    BrokerData, ClusterInfo, DataVersion, JsonBody, KvTable, QueueData, RegisterBrokerBody,
    RegisterBrokerResult, TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use crate::message::{TopicConfig, TopicFilterType};

fn round_trips<T: JsonBody + PartialEq + Debug>(value: T) {
    let bytes = value.encode();
    let back = T::decode(&bytes).unwrap();
    assert_eq!(back, value, "{}", String::from_utf8_lossy(&bytes));
    // Also through serde_json's own API, which the admin tool and client may use directly.
    let text = serde_json::to_string(&value).unwrap();
    assert_eq!(serde_json::from_str::<T>(&text).unwrap(), value);
}

fn topic(name: &str, perm: i32) -> TopicConfig {
    TopicConfig {
        topic_name: name.to_string(),
        perm,
        read_queue_nums: 4,
        write_queue_nums: 4,
        ..TopicConfig::default()
    }
}

fn broker_data() -> BrokerData {
    BrokerData {
        broker_addrs: BTreeMap::from([
            (0, "127.0.0.1:10911".into()),
            (2, "127.0.0.1:10921".into()),
        ]),
        broker_name: "broker-a".into(),
        cluster: "DefaultCluster".into(),
        enable_acting_master: false,
    }
}

fn queue_data() -> QueueData {
    QueueData {
        broker_name: "broker-a".into(),
        perm: 6,
        read_queue_nums: 4,
        topic_sys_flag: 0,
        write_queue_nums: 4,
    }
}

fn route() -> TopicRouteData {
    TopicRouteData {
        broker_datas: vec![broker_data()],
        filter_server_table: BTreeMap::new(),
        order_topic_conf: None,
        queue_datas: vec![queue_data()],
    }
}

#[test]
fn every_body_round_trips() {
    let version = DataVersion {
        counter: 3,
        timestamp: 1_700_000_000_000,
    };
    let wrapper = TopicConfigSerializeWrapper {
        data_version: version,
        topic_config_table: BTreeMap::from([
            ("TopicTest".into(), topic("TopicTest", 6)),
            ("TBW102".into(), topic("TBW102", 7)),
        ]),
    };
    round_trips(version);
    round_trips(topic("T", 6));
    round_trips(TopicConfig {
        order: true,
        topic_filter_type: TopicFilterType::MultiTag,
        ..topic("T", 4)
    });
    round_trips(wrapper.clone());
    round_trips(RegisterBrokerBody {
        filter_server_list: vec!["f:1".into()],
        topic_config_serialize_wrapper: wrapper,
    });
    round_trips(RegisterBrokerResult::default());
    round_trips(RegisterBrokerResult {
        ha_server_addr: Some("127.0.0.1:10912".into()),
        kv_table: Some(KvTable {
            table: BTreeMap::from([("T".into(), "broker-a:4".into())]),
        }),
        master_addr: Some("127.0.0.1:10911".into()),
    });
    round_trips(QueueData {
        topic_sys_flag: 3,
        ..queue_data()
    });
    round_trips(broker_data());
    round_trips(route());
    round_trips(TopicRouteData {
        order_topic_conf: Some("broker-a:4;broker-b:4".into()),
        filter_server_table: BTreeMap::from([("127.0.0.1:10911".into(), vec!["f:1".into()])]),
        ..route()
    });
    round_trips(ClusterInfo {
        broker_addr_table: BTreeMap::from([("broker-a".into(), broker_data())]),
        cluster_addr_table: BTreeMap::from([(
            "DefaultCluster".into(),
            ["broker-a".to_string()].into(),
        )]),
    });
    round_trips(TopicList {
        broker_addr: None,
        topic_list: ["A".to_string(), "TBW102".into()].into(),
    });
    round_trips(TopicList {
        broker_addr: Some("127.0.0.1:10911".into()),
        topic_list: Default::default(),
    });
    round_trips(KvTable::default());
}

#[test]
fn route_is_written_with_every_member_strict_clients_require() {
    let text = String::from_utf8(route().encode()).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911","2":"127.0.0.1:10921"},"#,
            r#""brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"#,
            r#""filterServerTable":{},"#,
            r#""queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"#,
            r#""topicSynFlag":0,"topicSysFlag":0,"writeQueueNums":4}]}"#
        )
    );
}

#[test]
fn broker_ids_are_written_as_quoted_keys_in_numeric_order() {
    let mut data = broker_data();
    data.broker_addrs.insert(10, "x:10".into());
    let text = String::from_utf8(data.encode()).unwrap();
    assert!(
        text.starts_with(
            r#"{"brokerAddrs":{"0":"127.0.0.1:10911","2":"127.0.0.1:10921","10":"x:10"}"#
        ),
        "{text}"
    );
}

#[test]
fn register_body_from_the_protocol_notes_parses() {
    let body = br#"{"filterServerList":[],
 "topicConfigSerializeWrapper":{
    "dataVersion":{"counter":3,"timestamp":1700000000000,"stateVersion":0},
    "topicConfigTable":{
       "TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG",
                    "topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4},
       "TBW102":{"order":false,"perm":7,"readQueueNums":8,"topicFilterType":"SINGLE_TAG",
                    "topicName":"TBW102","topicSysFlag":0,"writeQueueNums":8,"attributes":{}}}}}"#;
    let parsed = RegisterBrokerBody::decode(body).unwrap();
    let wrapper = parsed.topic_config_serialize_wrapper;
    assert_eq!(
        wrapper.data_version,
        DataVersion {
            counter: 3,
            timestamp: 1_700_000_000_000
        }
    );
    assert_eq!(wrapper.topic_config_table["TBW102"].perm, 7);
    assert_eq!(wrapper.topic_config_table["TBW102"].write_queue_nums, 8);
    assert_eq!(
        wrapper.topic_config_table["TopicTest"].topic_filter_type,
        TopicFilterType::SingleTag
    );
}

#[test]
fn missing_members_take_java_defaults() {
    assert_eq!(
        RegisterBrokerBody::decode(b"{}").unwrap(),
        RegisterBrokerBody::default()
    );
    let config = TopicConfig::decode(br#"{"topicName":"T"}"#).unwrap();
    assert_eq!(
        (config.perm, config.read_queue_nums, config.write_queue_nums),
        (6, 16, 16)
    );
    assert_eq!(DataVersion::decode(b"{}").unwrap(), DataVersion::default());
}

#[test]
fn queue_data_reads_the_old_topic_syn_flag_name() {
    let old = QueueData::decode(
        br#"{"brokerName":"b","perm":6,"readQueueNums":1,"writeQueueNums":1,"topicSynFlag":2}"#,
    )
    .unwrap();
    assert_eq!(old.topic_sys_flag, 2);
    let both =
        QueueData::decode(br#"{"brokerName":"b","topicSynFlag":2,"topicSysFlag":1}"#).unwrap();
    assert_eq!(both.topic_sys_flag, 1);
}

#[test]
fn optional_members_are_omitted_when_absent() {
    assert_eq!(RegisterBrokerResult::default().encode(), b"{}");
    assert_eq!(TopicList::default().encode(), br#"{"topicList":[]}"#);
    assert!(
        !String::from_utf8(route().encode())
            .unwrap()
            .contains("orderTopicConf")
    );
}
