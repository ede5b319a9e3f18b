//! Committed consumer offsets: per consumer group and queue, in time order (history order for
//! equal times), an observed offset is never below the highest observed since the last admin
//! reset. An admin reset's own value starts afresh; a commit that goes back is reported once,
//! and the check goes on from it so one regression is not reported again at every later commit.

use std::collections::BTreeMap;

use super::{Check, CheckResult};
use crate::chaos::history::{CommittedOffset, Event, History};
use crate::chaos::violation::{QueueRef, Violation};

pub(super) fn check(history: &History) -> CheckResult {
    let mut result = CheckResult::new(Check::CommittedOffsets);
    let mut observed: Vec<&CommittedOffset> = history
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CommittedOffset(c) => Some(c),
            _ => None,
        })
        .collect();
    observed.sort_by_key(|c| c.time_ms); // stable: history order breaks ties
    // (group, queue) -> (highest offset, when observed)
    let mut high: BTreeMap<(&str, QueueRef), (i64, u64)> = BTreeMap::new();
    let mut resets = 0;
    for c in &observed {
        let queue = QueueRef {
            broker_group: c.broker_group.clone(),
            topic: c.topic.clone(),
            queue_id: c.queue_id,
        };
        let key = (c.consumer_group.as_str(), queue);
        if c.admin_reset {
            resets += 1;
        } else if let Some(&(from, from_ms)) = high.get(&key)
            && c.offset < from
        {
            result.violations.push(Violation::OffsetRegressed {
                consumer_group: c.consumer_group.clone(),
                queue: key.1.clone(),
                from,
                from_ms,
                to: c.offset,
                time_ms: c.time_ms,
            });
        } else if high.get(&key).is_some_and(|&(h, _)| c.offset == h) {
            continue; // keep the time the value was first seen
        }
        high.insert(key, (c.offset, c.time_ms));
    }
    result.count("observations", observed.len());
    result.count("group queues", high.len());
    result.count("admin resets", resets);
    result
}
