//! [`KvConfig`]: the nameserver's KV store, namespace → (key → value) (remoting.md §3.8).
//!
//! Soft state like the routes: kept in memory, never persisted here. Only the
//! [`ORDER_TOPIC_CONFIG`](crate::message::body::ORDER_TOPIC_CONFIG) namespace means anything to the
//! protocol; the [`RouteTable`](super::RouteTable) owns one `KvConfig` and reads that namespace
//! for `orderTopicConf` and registration answers. The remoting layer maps PUT/GET/DELETE_KV_CONFIG
//! and GET_KVLIST_BY_NAMESPACE onto these methods.

use std::collections::BTreeMap;

use crate::message::body::KvTable;

/// Namespace → key → value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvConfig {
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvConfig {
    /// Sets `key` in `namespace`, returning the previous value.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Option<String> {
        self.namespaces
            .entry(namespace.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string())
    }

    /// The value of `key` in `namespace` (GET_KV_CONFIG; `None` answers QUERY_NOT_FOUND).
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.namespaces.get(namespace)?.get(key).map(String::as_str)
    }

    /// Removes `key` from `namespace`, returning its value. A namespace left empty is removed,
    /// so GET_KVLIST_BY_NAMESPACE then answers QUERY_NOT_FOUND (Java keeps the empty table).
    pub fn delete(&mut self, namespace: &str, key: &str) -> Option<String> {
        let table = self.namespaces.get_mut(namespace)?;
        let old = table.remove(key);
        if table.is_empty() {
            self.namespaces.remove(namespace);
        }
        old
    }

    /// The whole namespace (GET_KVLIST_BY_NAMESPACE), `None` when it has no entries.
    pub fn list(&self, namespace: &str) -> Option<KvTable> {
        let table = self.namespaces.get(namespace)?;
        Some(KvTable {
            table: table.clone(),
        })
    }
}
