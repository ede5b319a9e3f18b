//! Tests of the nameserver core: the route table, DLedger master changes, and a seeded random
//! run against a model.

mod dledger;
mod liveness;
mod model;
mod route_table;

use std::collections::BTreeMap;

use super::{ConnectionId, RegisterRequest};
use crate::message::TopicConfig;
use crate::message::body::{DataVersion, TopicConfigSerializeWrapper};

const CLUSTER: &str = "DefaultCluster";

/// A topic table at `counter`, each topic `(name, perm, queues)`.
fn table(counter: i64, topics: &[(&str, i32, i32)]) -> TopicConfigSerializeWrapper {
    TopicConfigSerializeWrapper {
        data_version: DataVersion {
            counter,
            timestamp: 1_700_000_000_000 + counter,
        },
        topic_config_table: topics
            .iter()
            .map(|&(name, perm, queues)| {
                let config = TopicConfig {
                    topic_name: name.to_string(),
                    perm,
                    read_queue_nums: queues,
                    write_queue_nums: queues,
                    ..TopicConfig::default()
                };
                (name.to_string(), config)
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A registration of `addr` as `id` of `name` in [`CLUSTER`], over connection `conn`, at `now_ms`.
fn register(
    name: &str,
    addr: &str,
    id: u64,
    conn: u64,
    now_ms: u64,
    topics: TopicConfigSerializeWrapper,
) -> RegisterRequest {
    RegisterRequest {
        cluster: CLUSTER.to_string(),
        broker_name: name.to_string(),
        broker_addr: addr.to_string(),
        broker_id: id,
        ha_server_addr: ha_of(addr),
        topics,
        filter_servers: Vec::new(),
        connection: ConnectionId(conn),
        now_ms,
        term: None,
    }
}

/// The HA address a broker at `addr` sends: its port + 1.
fn ha_of(addr: &str) -> String {
    let (host, port) = addr.rsplit_once(':').unwrap();
    format!("{host}:{}", port.parse::<u16>().unwrap() + 1)
}

/// `brokerAddrs` of a group as (id, addr) pairs, empty when the group is gone.
fn addrs(table: &super::RouteTable, name: &str) -> Vec<(u64, String)> {
    table
        .broker(name)
        .map(|g| {
            g.broker_addrs
                .iter()
                .map(|(id, a)| (*id, a.clone()))
                .collect()
        })
        .unwrap_or_default()
}
