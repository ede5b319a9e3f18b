//! Nameserver client: routes, failover between nameservers, clear errors.

use super::bounded;
use super::fake::{FakeNameServer, dead_addr, route, run};
use crate::client::{ClientError, NameServerClient, NameServers};

#[test]
fn a_semicolon_list_names_each_nameserver() {
    let list = NameServers::from(" 10.0.0.1:9876; 10.0.0.2:9876 ;");
    assert_eq!(list.0, vec!["10.0.0.1:9876", "10.0.0.2:9876"]);
    assert!(NameServerClient::new("").is_err());
}

#[tokio::test]
async fn an_unknown_topic_is_a_clear_topic_not_exist_error() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        let client = NameServerClient::new(ns.addr.as_str()).unwrap();
        let err = client.route("Nope").await.unwrap_err();
        assert!(matches!(err, ClientError::TopicNotExist { ref topic, .. } if topic == "Nope"));
        assert!(err.to_string().contains("\"Nope\" does not exist"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_garbage_route_body_is_a_bad_response_naming_the_request() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        ns.handler
            .routes
            .lock()
            .unwrap()
            .insert("T".into(), "{not json".into());
        ns.handler
            .routes
            .lock()
            .unwrap()
            .insert("Empty".into(), "{}".into());
        let client = NameServerClient::new(ns.addr.as_str()).unwrap();
        let err = client.route("T").await.unwrap_err();
        assert!(matches!(err, ClientError::BadResponse { .. }), "{err:?}");
        assert!(err.to_string().contains("GET_ROUTEINFO_BY_TOPIC"), "{err}");
        let err = client.route("Empty").await.unwrap_err();
        assert!(err.to_string().contains("lists no queues"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_dead_nameserver_is_skipped_and_all_dead_is_reported_with_addresses() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        ns.handler
            .set_route("T", &route(&[("a", "127.0.0.1:1", 4)]));
        let dead = dead_addr().await;
        let client = NameServerClient::new(format!("{dead};{}", ns.addr)).unwrap();
        let route = client.route("T").await.unwrap();
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);

        let all_dead = NameServerClient::new(dead.as_str()).unwrap();
        let err = all_dead.cluster_info().await.unwrap_err();
        assert!(matches!(err, ClientError::NameServerUnreachable { .. }));
        assert!(err.to_string().contains(&dead), "{err}");
        assert!(err.to_string().contains("GET_BROKER_CLUSTER_INFO"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn a_cached_route_survives_a_nameserver_outage_once_stale() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        ns.handler
            .set_route("T", &route(&[("a", "127.0.0.1:1", 2)]));
        let client = NameServerClient::new(ns.addr.as_str()).unwrap();
        client.cached_route("T").await.unwrap();
        drop(ns);
        client.mark_stale("T");
        let route = client.cached_route("T").await.unwrap();
        assert_eq!(route.queue_datas[0].broker_name, "a");
    })
    .await;
}

#[tokio::test]
async fn topics_and_cluster_info_decode() {
    bounded(async {
        let ns = run(FakeNameServer::default()).await;
        ns.handler
            .set_route("T1", &route(&[("a", "127.0.0.1:1", 2)]));
        ns.handler
            .set_route("T2", &route(&[("a", "127.0.0.1:1", 2)]));
        let client = NameServerClient::new(ns.addr.as_str()).unwrap();
        let topics = client.all_topics().await.unwrap();
        assert_eq!(topics.topic_list.len(), 2);
        assert!(
            client
                .cluster_info()
                .await
                .unwrap()
                .broker_addr_table
                .is_empty()
        );
    })
    .await;
}
