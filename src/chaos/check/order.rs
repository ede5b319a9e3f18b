//! Order of orderly sends: within one queue, messages of one sharding key are read in the
//! order they were sent. Only acknowledged sends count (an unanswered one may land later).
//!
//! Send order is real time: `a` was sent before `b` if `a`'s call ended before `b`'s began
//! (`a.end_ms < b.start_ms`), or, for two calls of the same client, if `a`'s event comes
//! first in the history and `a.end_ms <= b.start_ms` (orderly sends are synchronous, so a
//! client's next send begins in the millisecond its previous one ended). Overlapping calls are
//! not ordered. Read order is the queue offset in the final read, and the order of first
//! receipt in each orderly consumer group of the workload.

use std::collections::{BTreeMap, BTreeSet};

use super::messages::{Messages, acked_at, position_of};
use super::{Check, CheckResult};
use crate::chaos::history::SendAttempt;
use crate::chaos::violation::{QueueRef, Violation};

/// One acknowledged orderly send as seen by one reader.
struct Item<'h> {
    /// Read order: queue offset, or rank of first receipt.
    rank: i64,
    /// The send's event index in the history.
    line: usize,
    send: &'h SendAttempt,
}

/// Pairs (sent first, sent later) that the reader saw the other way round: for each item read
/// too early, one send it overtook.
fn inversions<'a, 'h>(items: &'a mut [Item<'h>]) -> Vec<(&'a Item<'h>, &'a Item<'h>)> {
    items.sort_by_key(|item| item.rank);
    let mut found: BTreeMap<usize, usize> = BTreeMap::new();
    // Walking down from the highest rank, the item read later that ended earliest: if it ended
    // before this one began, it was sent first.
    let mut earliest: Option<usize> = None;
    for i in (0..items.len()).rev() {
        if let Some(e) = earliest {
            if items[e].send.end_ms < items[i].send.start_ms {
                found.insert(i, e);
            }
            if items[i].send.end_ms < items[e].send.end_ms {
                earliest = Some(i);
            }
        } else {
            earliest = Some(i);
        }
    }
    // Same client, consecutive in the history.
    let mut by_client: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        by_client.entry(&item.send.client).or_default().push(i);
    }
    for mut indices in by_client.into_values() {
        indices.sort_by_key(|&i| items[i].line);
        for pair in indices.windows(2) {
            let (first, later) = (pair[0], pair[1]);
            if items[first].send.end_ms <= items[later].send.start_ms
                && items[first].rank > items[later].rank
            {
                found.entry(later).or_insert(first);
            }
        }
    }
    found
        .into_iter()
        .map(|(early, overtaken)| (&items[overtaken], &items[early]))
        .collect()
}

fn broken(
    sharding_key: &str,
    queue: &QueueRef,
    seen_by: &str,
    items: &mut [Item],
) -> Vec<Violation> {
    inversions(items)
        .into_iter()
        .map(|(first, later)| Violation::OrderBroken {
            sharding_key: sharding_key.to_owned(),
            queue: queue.clone(),
            sent_first: first.send.key.clone(),
            first_end_ms: first.send.end_ms,
            sent_later: later.send.key.clone(),
            later_start_ms: later.send.start_ms,
            seen_by: seen_by.to_owned(),
        })
        .collect()
}

/// The acknowledged orderly send of a message (the first, if the key was sent twice).
fn orderly<'h>(index: &Messages<'h>, topic: &str, key: &str) -> Option<(usize, &'h SendAttempt)> {
    index
        .sends
        .get(&(topic, key))?
        .iter()
        .find(|(_, s)| s.sharding_key.is_some() && acked_at(s).is_some())
        .copied()
}

pub(super) fn check(index: &Messages) -> CheckResult {
    let mut result = CheckResult::new(Check::Order);
    let acked_orderly = index
        .sends
        .values()
        .flatten()
        .filter(|(_, s)| s.sharding_key.is_some() && acked_at(s).is_some())
        .count();

    // The final read: each message at its lowest position.
    let mut streams: BTreeMap<(&str, QueueRef), Vec<Item>> = BTreeMap::new();
    for ((topic, key), positions) in &index.final_of {
        let (Some((line, send)), Some(position)) = (orderly(index, topic, key), positions.first())
        else {
            continue;
        };
        let sharding_key = send.sharding_key.as_deref().unwrap_or_default();
        streams
            .entry((sharding_key, position.queue()))
            .or_default()
            .push(Item {
                rank: position.queue_offset,
                line,
                send,
            });
    }
    let sharding_keys: BTreeSet<_> = streams.keys().map(|(k, _)| *k).collect();
    result.count("orderly sends acknowledged", acked_orderly);
    result.count("sharding keys read back", sharding_keys.len());
    for ((sharding_key, queue), items) in &mut streams {
        let found = broken(sharding_key, queue, "the final read", items);
        result.violations.extend(found);
    }

    // Orderly consumers of the workload: the order of first receipt.
    let mut receipts: BTreeMap<(&str, &str, QueueRef), Vec<Item>> = BTreeMap::new();
    let mut first_seen = BTreeSet::new();
    let mut orderly_reads: Vec<_> = index
        .consumed
        .iter()
        .filter(|c| c.orderly && !c.final_read)
        .collect();
    orderly_reads.sort_by_key(|c| c.time_ms); // stable: history order breaks ties
    for c in orderly_reads {
        let Some((line, send)) = orderly(index, &c.topic, &c.key) else {
            continue;
        };
        if !first_seen.insert((c.consumer_group.as_str(), c.topic.as_str(), c.key.as_str())) {
            continue;
        }
        let sharding_key = send.sharding_key.as_deref().unwrap_or_default();
        let stream = receipts
            .entry((
                c.consumer_group.as_str(),
                sharding_key,
                position_of(c).queue(),
            ))
            .or_default();
        let rank = i64::try_from(stream.len()).unwrap_or(i64::MAX);
        stream.push(Item { rank, line, send });
    }
    result.count("orderly consumer streams", receipts.len());
    for ((group, sharding_key, queue), items) in &mut receipts {
        let seen_by = format!("consumer group {group}");
        let found = broken(sharding_key, queue, &seen_by, items);
        result.violations.extend(found);
    }
    result
}
