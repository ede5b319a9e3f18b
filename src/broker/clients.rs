//! Who is connected: producer and consumer groups, their client ids, connections and
//! subscriptions, kept from heartbeats (remoting.md §5.1–5.3).
//!
//! Node-local soft state (clients heartbeat every broker they use), so it is never replicated.
//! Every change that should reach a group's consumers (a member joined or left, the group's
//! subscriptions changed) is returned as the set of changed groups; the handler then sends
//! NOTIFY_CONSUMER_IDS_CHANGED to each of their connections. Time is passed in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::message::body::heartbeat::{Heartbeat, Subscription};

/// A connection, as the remoting server numbers them.
pub type ConnectionId = u64;

#[derive(Debug, Clone)]
struct Member {
    connection: ConnectionId,
    last_seen: Instant,
}

/// A consumer group's live members and latest subscriptions.
#[derive(Debug, Clone, Default)]
struct ConsumerGroup {
    members: BTreeMap<String, Member>,
    subscriptions: BTreeMap<String, Subscription>,
    message_model: String,
    consume_from_where: String,
    consume_type: String,
}

/// One consumer connection, as GET_CONSUMER_CONNECTION_LIST reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConnection {
    pub client_id: String,
    pub connection: ConnectionId,
}

/// The registry.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    consumers: BTreeMap<String, ConsumerGroup>,
    producers: BTreeMap<String, BTreeMap<String, Member>>,
}

impl ClientRegistry {
    /// Records a heartbeat from `connection`. Returns the consumer groups whose membership or
    /// subscriptions changed.
    pub fn heartbeat(
        &mut self,
        connection: ConnectionId,
        hb: &Heartbeat,
        now: Instant,
    ) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        let member = Member {
            connection,
            last_seen: now,
        };
        for group in &hb.producer_groups {
            self.producers
                .entry(group.clone())
                .or_default()
                .insert(hb.client_id.clone(), member.clone());
        }
        for c in &hb.consumers {
            let g = self.consumers.entry(c.group.clone()).or_default();
            let joined = g
                .members
                .insert(hb.client_id.clone(), member.clone())
                .is_none_or(|old| old.connection != connection);
            let newer = c.subscriptions.iter().any(|s| {
                g.subscriptions.get(&s.topic).is_none_or(|old| {
                    s.sub_version > old.sub_version || old.expression != s.expression
                })
            });
            if newer {
                g.subscriptions = c
                    .subscriptions
                    .iter()
                    .map(|s| (s.topic.clone(), s.clone()))
                    .collect();
            }
            g.message_model.clone_from(&c.message_model);
            g.consume_from_where.clone_from(&c.consume_from_where);
            g.consume_type.clone_from(&c.consume_type);
            if joined || newer {
                changed.insert(c.group.clone());
            }
        }
        changed
    }

    /// UNREGISTER_CLIENT: removes `client_id` from the named groups.
    pub fn unregister(
        &mut self,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> BTreeSet<String> {
        if let Some(g) = producer_group.and_then(|g| self.producers.get_mut(g)) {
            g.remove(client_id);
        }
        let mut changed = BTreeSet::new();
        if let Some(name) = consumer_group
            && let Some(g) = self.consumers.get_mut(name)
            && g.members.remove(client_id).is_some()
        {
            changed.insert(name.to_string());
        }
        self.drop_empty();
        changed
    }

    /// A connection closed: every client on it leaves every group at once.
    pub fn connection_closed(&mut self, connection: ConnectionId) -> BTreeSet<String> {
        self.remove_where(|m| m.connection == connection)
    }

    /// Removes members not heard from for `timeout` (120 s in RocketMQ).
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> BTreeSet<String> {
        self.remove_where(|m| now.saturating_duration_since(m.last_seen) >= timeout)
    }

    fn remove_where(&mut self, gone: impl Fn(&Member) -> bool) -> BTreeSet<String> {
        let mut changed = BTreeSet::new();
        for (name, g) in &mut self.consumers {
            let before = g.members.len();
            g.members.retain(|_, m| !gone(m));
            if g.members.len() != before {
                changed.insert(name.clone());
            }
        }
        for g in self.producers.values_mut() {
            g.retain(|_, m| !gone(m));
        }
        self.drop_empty();
        changed
    }

    fn drop_empty(&mut self) {
        self.consumers.retain(|_, g| !g.members.is_empty());
        self.producers.retain(|_, g| !g.is_empty());
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the group's client ids, sorted.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        self.consumers
            .get(group)
            .map(|g| g.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The connections of a group's consumers (to notify them).
    pub fn consumer_connections(&self, group: &str) -> Vec<ConsumerConnection> {
        self.consumers
            .get(group)
            .map(|g| {
                g.members
                    .iter()
                    .map(|(id, m)| ConsumerConnection {
                        client_id: id.clone(),
                        connection: m.connection,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The group's registered subscription to `topic` (used when a pull does not carry one).
    pub fn subscription(&self, group: &str, topic: &str) -> Option<&Subscription> {
        self.consumers.get(group)?.subscriptions.get(topic)
    }

    /// Every subscription of the group.
    pub fn subscriptions(&self, group: &str) -> Vec<Subscription> {
        self.consumers
            .get(group)
            .map(|g| g.subscriptions.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The group's message model and where it starts consuming, from its latest heartbeat.
    pub fn consumer_mode(&self, group: &str) -> Option<(&str, &str, &str)> {
        self.consumers.get(group).map(|g| {
            (
                g.consume_type.as_str(),
                g.message_model.as_str(),
                g.consume_from_where.as_str(),
            )
        })
    }

    /// Consumer groups with at least one live member.
    pub fn consumer_groups(&self) -> Vec<String> {
        self.consumers.keys().cloned().collect()
    }

    /// The connection a producer client heartbeats on (the latest heard from, whatever its
    /// group), to push it the replies to its requests.
    pub fn producer_connection(&self, client_id: &str) -> Option<ConnectionId> {
        self.producers
            .values()
            .filter_map(|group| group.get(client_id))
            .max_by_key(|m| m.last_seen)
            .map(|m| m.connection)
    }

    /// Producer clients of a group: (client id, connection).
    pub fn producers(&self, group: &str) -> Vec<(String, ConnectionId)> {
        self.producers
            .get(group)
            .map(|g| g.iter().map(|(id, m)| (id.clone(), m.connection)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::body::heartbeat::ConsumerData;

    fn hb(client: &str, group: &str, topic: &str, version: i64) -> Heartbeat {
        Heartbeat {
            client_id: client.into(),
            producer_groups: vec!["pg".into()],
            consumers: vec![ConsumerData {
                group: group.into(),
                consume_type: "CONSUME_PASSIVELY".into(),
                message_model: "CLUSTERING".into(),
                consume_from_where: "CONSUME_FROM_FIRST_OFFSET".into(),
                subscriptions: vec![Subscription {
                    topic: topic.into(),
                    expression: "*".into(),
                    expression_type: "TAG".into(),
                    sub_version: version,
                }],
            }],
        }
    }

    #[test]
    fn joining_a_group_notifies_and_a_repeat_heartbeat_does_not() {
        let mut r = ClientRegistry::default();
        let t0 = Instant::now();
        assert_eq!(r.heartbeat(1, &hb("a", "g", "T", 1), t0).len(), 1);
        assert!(r.heartbeat(1, &hb("a", "g", "T", 1), t0).is_empty());
        assert_eq!(r.heartbeat(2, &hb("b", "g", "T", 1), t0).len(), 1);
        assert_eq!(r.consumer_ids("g"), ["a", "b"]);
        assert_eq!(r.producers("pg").len(), 2);
        // A newer subscription version is a change too.
        assert_eq!(r.heartbeat(1, &hb("a", "g", "T", 2), t0).len(), 1);
        assert_eq!(r.subscription("g", "T").map(|s| s.sub_version), Some(2));
    }

    #[test]
    fn closing_a_connection_and_silence_remove_members() {
        let mut r = ClientRegistry::default();
        let t0 = Instant::now();
        r.heartbeat(1, &hb("a", "g", "T", 1), t0);
        r.heartbeat(2, &hb("b", "g", "T", 1), t0 + Duration::from_secs(100));
        assert_eq!(r.connection_closed(1).len(), 1);
        assert_eq!(r.consumer_ids("g"), ["b"]);
        assert!(
            r.expire(t0 + Duration::from_secs(150), Duration::from_secs(120))
                .is_empty()
        );
        assert_eq!(
            r.expire(t0 + Duration::from_secs(221), Duration::from_secs(120))
                .len(),
            1
        );
        assert!(r.consumer_ids("g").is_empty());
        assert!(r.consumer_groups().is_empty());
    }

    #[test]
    fn unregister_removes_a_client_from_the_named_groups() {
        let mut r = ClientRegistry::default();
        r.heartbeat(1, &hb("a", "g", "T", 1), Instant::now());
        assert_eq!(r.unregister("a", Some("pg"), Some("g")).len(), 1);
        assert!(r.consumer_ids("g").is_empty());
        assert!(r.producers("pg").is_empty());
        assert!(r.unregister("zzz", None, Some("g")).is_empty());
    }

    #[test]
    fn a_producer_is_found_by_its_client_id_on_its_latest_connection() {
        let mut r = ClientRegistry::default();
        let t0 = Instant::now();
        assert_eq!(r.producer_connection("a"), None);
        r.heartbeat(1, &hb("a", "g", "T", 1), t0);
        r.heartbeat(2, &hb("b", "g", "T", 1), t0);
        assert_eq!(r.producer_connection("a"), Some(1));
        r.heartbeat(3, &hb("a", "g", "T", 1), t0 + Duration::from_secs(1));
        assert_eq!(r.producer_connection("a"), Some(3));
        r.connection_closed(3);
        assert_eq!(r.producer_connection("a"), None);
    }
}
