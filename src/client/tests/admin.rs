//! Admin calls: topic creation on every master of a cluster, deletion on brokers and
//! nameservers, offsets and consumer lists.

use std::collections::{BTreeMap, BTreeSet};

use super::bounded;
use super::fake::{FakeBroker, FakeNameServer, route, run, topic_config};
use crate::client::{Admin, ClientError};
use crate::message::body::{BrokerData, ClusterInfo};
use crate::remoting::RequestCode;
use crate::remoting::header::CreateTopicRequestHeader;

#[tokio::test]
async fn a_topic_is_created_on_every_master_and_deleted_everywhere() {
    bounded(async {
        let (a, b) = (
            run(FakeBroker::default()).await,
            run(FakeBroker::default()).await,
        );
        let ns = run(FakeNameServer::default()).await;
        let mut cluster = ClusterInfo::default();
        for (name, addr) in [("a", &a.addr), ("b", &b.addr)] {
            cluster.broker_addr_table.insert(
                name.into(),
                BrokerData {
                    broker_addrs: BTreeMap::from([(0, addr.clone()), (1, "10.0.0.9:1".into())]),
                    broker_name: name.into(),
                    cluster: "C".into(),
                    enable_acting_master: false,
                },
            );
        }
        cluster
            .cluster_addr_table
            .insert("C".into(), BTreeSet::from(["a".into(), "b".into()]));
        *ns.handler.cluster.lock().unwrap() = cluster;
        let admin = Admin::new(ns.addr.as_str()).unwrap();

        let created = admin
            .create_topic_in_cluster("C", &topic_config("T", 8))
            .await
            .unwrap();
        assert_eq!(created.len(), 2);
        for broker in [&a, &b] {
            let req = broker.handler.first_send();
            assert_eq!(req.request_code(), RequestCode::UpdateAndCreateTopic);
            let header: CreateTopicRequestHeader = req.header().unwrap();
            assert_eq!((header.topic.as_str(), header.write_queue_nums), ("T", 8));
            assert_eq!(header.topic_filter_type, "SINGLE_TAG");
        }
        admin.delete_topic("C", "T").await.unwrap();
        assert!(
            a.handler
                .codes()
                .contains(&RequestCode::DeleteTopicInBroker)
        );
        let ns_codes: Vec<_> = ns
            .handler
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.request_code())
            .collect();
        assert!(ns_codes.contains(&RequestCode::DeleteTopicInNamesrv));
        let err = admin
            .create_topic_in_cluster("Nope", &topic_config("T", 1))
            .await;
        assert!(matches!(err, Err(ClientError::InvalidConfig(_))));
    })
    .await;
}

#[tokio::test]
async fn offsets_and_consumer_lists_come_back_typed() {
    bounded(async {
        let broker = run(FakeBroker::default()).await;
        let ns = run(FakeNameServer::default()).await;
        ns.handler.set_route("T", &route(&[("a", &broker.addr, 2)]));
        for _ in 0..3 {
            broker.handler.append("T", 1, b"x", "");
        }
        let admin = Admin::new(ns.addr.as_str()).unwrap();
        let addr = broker.addr.as_str();
        assert_eq!(admin.max_offset(addr, "T", 1).await.unwrap(), 3);
        assert_eq!(admin.min_offset(addr, "T", 1).await.unwrap(), 0);
        assert_eq!(
            admin
                .search_offset(addr, "T", 1, 1_700_000_000_002)
                .await
                .unwrap(),
            2
        );
        let maxes: Vec<i64> = admin
            .topic_max_offsets("T")
            .await
            .unwrap()
            .into_values()
            .collect();
        assert_eq!(maxes, [0, 3]);
        assert_eq!(
            admin
                .query_consumer_offset(addr, "g", "T", 1)
                .await
                .unwrap(),
            None
        );
        admin
            .update_consumer_offset(addr, "g", "T", 1, 2)
            .await
            .unwrap();
        assert_eq!(
            admin
                .query_consumer_offset(addr, "g", "T", 1)
                .await
                .unwrap(),
            Some(2)
        );
        let err = admin.consumer_list(addr, "g").await.unwrap_err();
        assert!(
            err.to_string().contains("no consumer for this group"),
            "{err}"
        );
        assert!(
            err.to_string().contains("GET_CONSUMER_LIST_BY_GROUP"),
            "{err}"
        );
    })
    .await;
}
