//! Compiled SQL92 subscriptions, one per consumer group and topic: an expression is compiled at
//! the first pull that needs it and again only when the group's expression for the topic
//! changes, never per message (Java's `ConsumerFilterManager`, without its bloom filter). A
//! compile error is kept too, so a bad expression is logged once and answered from the cache.
//!
//! Node-local soft state, rebuilt by the next pull after a restart; bounded by clearing it
//! whole when it names too many groups.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::common::sync::lock;
use crate::message::filter::{Sql92, SqlError};

/// Beyond this many groups the cache starts over (recompiling is cheap).
const MAX_GROUPS: usize = 4096;

#[derive(Debug)]
struct Compiled {
    expression: String,
    result: Result<Arc<Sql92>, SqlError>,
}

/// group → topic → the last expression compiled for it.
#[derive(Debug, Default)]
pub struct SqlFilters {
    compiled: Mutex<BTreeMap<String, BTreeMap<String, Compiled>>>,
}

impl SqlFilters {
    /// `expression`, `group`'s SQL92 subscription to `topic`, compiled (from the cache when it
    /// is the expression compiled last for them).
    pub fn get(&self, group: &str, topic: &str, expression: &str) -> Result<Arc<Sql92>, SqlError> {
        let mut compiled = lock(&self.compiled);
        if let Some(c) = compiled.get(group).and_then(|g| g.get(topic))
            && c.expression == expression
        {
            return c.result.clone();
        }
        let result = Sql92::compile(expression).map(Arc::new);
        match &result {
            Ok(sql) => {
                if let Some(tail) = sql.ignored_tail() {
                    tracing::warn!(
                        group, topic, expression, %tail,
                        "the SQL92 expression ends before its text does; the rest is ignored, \
                         as Java ignores it"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(group, topic, expression, %error, "a SQL92 subscription does not compile");
            }
        }
        if compiled.len() >= MAX_GROUPS && !compiled.contains_key(group) {
            compiled.clear();
        }
        compiled.entry(group.to_owned()).or_default().insert(
            topic.to_owned(),
            Compiled {
                expression: expression.to_owned(),
                result: result.clone(),
            },
        );
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expression_is_compiled_once_until_the_group_changes_it() {
        let filters = SqlFilters::default();
        let first = filters.get("G", "T", "a = 1").unwrap();
        let again = filters.get("G", "T", "a = 1").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "served from the cache");
        let other_topic = filters.get("G", "U", "a = 1").unwrap();
        assert!(!Arc::ptr_eq(&first, &other_topic));
        let changed = filters.get("G", "T", "a = 2").unwrap();
        assert_eq!(changed.text(), "a = 2");
        let error = filters.get("G", "T", "a = ").unwrap_err();
        assert_eq!(filters.get("G", "T", "a = ").unwrap_err(), error);
    }

    #[test]
    fn too_many_groups_start_the_cache_over() {
        let filters = SqlFilters::default();
        for g in 0..MAX_GROUPS + 10 {
            filters.get(&format!("G{g}"), "T", "a = 1").unwrap();
        }
        assert!(lock(&filters.compiled).len() <= MAX_GROUPS);
    }
}
