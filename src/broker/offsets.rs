//! Queue offset lookups (remoting.md §5.6): max, min, earliest store time, and the offset for a
//! timestamp. Pure reads of the consume queues and the stored messages' STORETIMESTAMP; every
//! replica answers the same, since both are identical everywhere.

use crate::store::{MessageStore, StoreResult};

/// Offset of STORETIMESTAMP inside a stored message with an IPv4 born host (remoting.md §8.1).
const STORE_TIMESTAMP_V4: u64 = 56;
/// SYSFLAG bit: the born host is IPv6 (16 + 4 bytes), which moves STORETIMESTAMP by 12.
const BORNHOST_V6: i32 = 0x10;

/// One past the last offset of the queue (0 for an empty or unknown queue).
pub fn max_offset(store: &MessageStore, topic: &str, queue_id: u32) -> u64 {
    store
        .consume_queues()
        .get(topic, queue_id)
        .map_or(0, |q| q.max_offset())
}

/// The first offset still readable (0 for an empty or unknown queue).
pub fn min_offset(store: &MessageStore, topic: &str, queue_id: u32) -> u64 {
    store
        .consume_queues()
        .get(topic, queue_id)
        .map_or(0, |q| q.min_offset())
}

/// Store time of the message at `offset`, if it is there.
pub fn store_time_at(
    store: &MessageStore,
    topic: &str,
    queue_id: u32,
    offset: u64,
) -> StoreResult<Option<i64>> {
    let Some(unit) = store
        .consume_queues()
        .get(topic, queue_id)
        .and_then(|q| q.get(offset))
    else {
        return Ok(None);
    };
    let log = store.commitlog();
    let Some(sysflag) = log.read_at(unit.commitlog_offset + 36, 4)? else {
        return Ok(None);
    };
    let sysflag = i32::from_be_bytes([sysflag[0], sysflag[1], sysflag[2], sysflag[3]]);
    let at = if sysflag & BORNHOST_V6 != 0 {
        STORE_TIMESTAMP_V4 + 12
    } else {
        STORE_TIMESTAMP_V4
    };
    Ok(log.read_at(unit.commitlog_offset + at, 8)?.map(|b| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b);
        i64::from_be_bytes(x)
    }))
}

/// Store time of the oldest message still in the queue; -1 if the queue does not exist.
pub fn earliest_store_time(store: &MessageStore, topic: &str, queue_id: u32) -> StoreResult<i64> {
    if store.consume_queues().get(topic, queue_id).is_none() {
        return Ok(-1);
    }
    let min = min_offset(store, topic, queue_id);
    Ok(store_time_at(store, topic, queue_id, min)?.unwrap_or(-1))
}

/// The first offset whose message was stored at or after `timestamp` (the useful "consume
/// from this time" semantics, 5.x's LOWER boundary); the max offset if every message is older;
/// 0 for an empty queue. Binary search over store times, which increase with queue offsets.
pub fn offset_for_timestamp(
    store: &MessageStore,
    topic: &str,
    queue_id: u32,
    timestamp: i64,
) -> StoreResult<u64> {
    let (mut lo, mut hi) = (
        min_offset(store, topic, queue_id),
        max_offset(store, topic, queue_id),
    );
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match store_time_at(store, topic, queue_id, mid)? {
            Some(t) if t < timestamp => lo = mid + 1,
            Some(_) => hi = mid,
            // Unreadable (purged under us): treat as older.
            None => lo = mid + 1,
        }
    }
    Ok(lo)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::message::{MessageToStore, encode_message};
    use crate::store::{MessageStoreOptions, NewEntry, RecordKind};

    fn store_with_times(times: &[i64], born: &str) -> (tempfile::TempDir, MessageStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 1 << 20)).unwrap();
        let born: SocketAddr = born.parse().unwrap();
        let host: SocketAddr = "127.0.0.1:30911".parse().unwrap();
        for (i, t) in times.iter().enumerate() {
            let body = encode_message(&MessageToStore {
                born_host: born,
                store_timestamp: *t,
                store_host: host,
                ..MessageToStore::new("T", 1, b"x".to_vec())
            })
            .unwrap();
            let index = i as u64 + 1;
            store
                .commitlog()
                .append(&[NewEntry {
                    index,
                    term: 1,
                    kind: RecordKind::Message,
                    body: &body,
                }])
                .unwrap();
            store
                .dispatch(&store.commitlog().get(index).unwrap().unwrap())
                .unwrap();
        }
        (dir, store)
    }

    #[test]
    fn max_min_and_earliest_time_of_a_queue() {
        let (_d, store) = store_with_times(&[100, 200, 300], "127.0.0.1:1");
        assert_eq!(max_offset(&store, "T", 1), 3);
        assert_eq!(min_offset(&store, "T", 1), 0);
        assert_eq!(max_offset(&store, "T", 7), 0);
        assert_eq!(earliest_store_time(&store, "T", 1).unwrap(), 100);
        assert_eq!(earliest_store_time(&store, "nope", 0).unwrap(), -1);
    }

    #[test]
    fn the_offset_for_a_timestamp_is_the_first_message_stored_at_or_after_it() {
        let (_d, store) = store_with_times(&[100, 200, 200, 300, 400], "127.0.0.1:1");
        let at = |t| offset_for_timestamp(&store, "T", 1, t).unwrap();
        assert_eq!(at(50), 0);
        assert_eq!(at(100), 0);
        assert_eq!(at(150), 1);
        assert_eq!(at(200), 1);
        assert_eq!(at(301), 4);
        assert_eq!(at(1000), 5);
        assert_eq!(offset_for_timestamp(&store, "T", 9, 5).unwrap(), 0);
    }

    #[test]
    fn store_times_are_found_behind_an_ipv6_born_host() {
        let (_d, store) = store_with_times(&[123, 456], "[::1]:5000");
        assert_eq!(store_time_at(&store, "T", 1, 1).unwrap(), Some(456));
    }
}
