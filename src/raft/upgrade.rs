//! Reading what earlier builds wrote, so a node upgraded in place starts on its old store.
//!
//! `sm-meta` format 1 (magic `0xD1ED5301`) held the replicated tables without the delay
//! levels' progress; format 2 (`0xD1ED5302`) added it; format 3 (`0xD1ED5303`) the transaction
//! table. An older file is read into its own layout and converted with an empty table for
//! what it lacks, which is exact: format-1 builds never delivered delayed messages and format-2
//! builds never kept half messages. An older snapshot file is simply not used (thin snapshots
//! are rebuilt on demand); a format-2 thin snapshot sent by a peer not yet upgraded, or left
//! in an interrupted install, is read with [`decode_thin_snapshot`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::tables::{GroupConfig, Tables, Transactions, stored_topics};
use super::types::LogId;
use crate::message::TopicConfig;

/// `sm-meta` written by format-1 builds.
pub(crate) const SM_META_MAGIC_V1: u32 = 0xD1ED_5301;
/// `sm-meta` written by format-2 builds.
pub(crate) const SM_META_MAGIC_V2: u32 = 0xD1ED_5302;
/// `sm-meta` now.
pub(crate) const SM_META_MAGIC: u32 = 0xD1ED_5303;
/// The snapshot files written by older builds (ignored) and now.
pub(crate) const SNAPSHOT_MAGIC_V1: u32 = 0xD1ED_5401;
pub(crate) const SNAPSHOT_MAGIC_V2: u32 = 0xD1ED_5402;
pub(crate) const SNAPSHOT_MAGIC: u32 = 0xD1ED_5403;

/// The tables as format 1 laid them out.
#[derive(Debug, Deserialize)]
pub(crate) struct TablesV1 {
    #[serde(with = "stored_topics")]
    topics: BTreeMap<String, TopicConfig>,
    groups: BTreeMap<String, GroupConfig>,
    offsets: BTreeMap<(String, String), BTreeMap<u32, u64>>,
}

impl From<TablesV1> for Tables {
    fn from(v1: TablesV1) -> Tables {
        Tables {
            topics: v1.topics,
            groups: v1.groups,
            offsets: v1.offsets,
            schedule: BTreeMap::new(),
            transactions: Transactions::default(),
        }
    }
}

/// The tables as format 2 laid them out.
#[derive(Debug, Deserialize)]
pub(crate) struct TablesV2 {
    #[serde(with = "stored_topics")]
    topics: BTreeMap<String, TopicConfig>,
    groups: BTreeMap<String, GroupConfig>,
    offsets: BTreeMap<(String, String), BTreeMap<u32, u64>>,
    schedule: BTreeMap<u32, u64>,
}

impl From<TablesV2> for Tables {
    fn from(v2: TablesV2) -> Tables {
        Tables {
            topics: v2.topics,
            groups: v2.groups,
            offsets: v2.offsets,
            schedule: v2.schedule,
            transactions: Transactions::default(),
        }
    }
}

/// `sm-meta` as an older format laid it out; `M` is the stored membership type, `T` the
/// format's tables ([`TablesV1`], [`TablesV2`]).
#[derive(Debug, Deserialize)]
pub(crate) struct SmStateOld<M, T> {
    pub(crate) last_applied: Option<LogId>,
    pub(crate) membership: M,
    pub(crate) tables: T,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde::Serialize;

    use super::*;
    use crate::message::{PERM_READ, PERM_WRITE};
    use crate::raft::state_machine::SmShared;
    use crate::raft::tables::StoredTopic;
    use crate::raft::types::TypeConfig;
    use crate::store::{MessageStore, MessageStoreOptions, write_small_file};

    type OffsetsV1 = BTreeMap<(String, String), BTreeMap<u32, u64>>;
    type TablesWrittenV1 = (
        BTreeMap<String, StoredTopic>,
        BTreeMap<String, GroupConfig>,
        OffsetsV1,
    );

    /// Format 1's layout, written the way format-1 builds wrote it.
    #[derive(Serialize)]
    struct WrittenV1 {
        last_applied: Option<LogId>,
        membership: openraft::type_config::alias::StoredMembershipOf<TypeConfig>,
        tables: TablesWrittenV1,
    }

    #[test]
    fn a_format_1_sm_meta_is_read_with_no_delay_progress() {
        let dir = tempfile::tempdir().unwrap();
        let topic = TopicConfig {
            topic_name: "Orders".into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: PERM_READ | PERM_WRITE,
            order: false,
            ..TopicConfig::default()
        };
        let mut offsets = BTreeMap::new();
        offsets.insert(
            ("g".to_string(), "Orders".to_string()),
            BTreeMap::from([(1, 7)]),
        );
        let v1 = WrittenV1 {
            last_applied: None,
            membership: Default::default(),
            tables: (
                BTreeMap::from([("Orders".to_string(), StoredTopic::from(&topic))]),
                BTreeMap::new(),
                offsets,
            ),
        };
        let bytes = bincode::serde::encode_to_vec(&v1, bincode::config::standard()).unwrap();
        write_small_file(&dir.path().join("sm-meta"), SM_META_MAGIC_V1, &bytes).unwrap();

        let store = Arc::new(
            MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 64 * 1024)).unwrap(),
        );
        let shared = SmShared::open(store, dir.path()).expect("a format-1 sm-meta opens");
        let tables = shared.tables();
        assert_eq!(tables.topics["Orders"], topic);
        assert_eq!(tables.offset("g", "Orders", 1), Some(7));
        assert!(tables.schedule.is_empty());
        // The next checkpoint writes format 2, which reads back the same.
        shared.checkpoint().unwrap();
        drop(shared);
    }

    /// Format 2's layout: format 1's plus the delay levels' progress.
    #[derive(Serialize)]
    struct WrittenV2 {
        last_applied: Option<LogId>,
        membership: openraft::type_config::alias::StoredMembershipOf<TypeConfig>,
        tables: TablesWrittenV2,
    }

    type TablesWrittenV2 = (
        BTreeMap<String, StoredTopic>,
        BTreeMap<String, GroupConfig>,
        OffsetsV1,
        BTreeMap<u32, u64>,
    );

    #[test]
    fn a_format_2_sm_meta_is_read_with_its_delay_progress_and_no_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let mut offsets = BTreeMap::new();
        offsets.insert(
            ("g".to_string(), "Orders".to_string()),
            BTreeMap::from([(0, 3)]),
        );
        let v2 = WrittenV2 {
            last_applied: None,
            membership: Default::default(),
            tables: (
                BTreeMap::new(),
                BTreeMap::new(),
                offsets,
                BTreeMap::from([(2, 9)]),
            ),
        };
        let bytes = bincode::serde::encode_to_vec(&v2, bincode::config::standard()).unwrap();
        write_small_file(&dir.path().join("sm-meta"), SM_META_MAGIC_V2, &bytes).unwrap();

        let store = Arc::new(
            MessageStore::open(MessageStoreOptions::in_dir(dir.path(), 64 * 1024)).unwrap(),
        );
        let shared = SmShared::open(store, dir.path()).expect("a format-2 sm-meta opens");
        let tables = shared.tables();
        assert_eq!(tables.offset("g", "Orders", 0), Some(3));
        assert_eq!(tables.schedule_progress(2), 9);
        assert_eq!(tables.transactions, Transactions::default());
        shared.checkpoint().unwrap();
        drop(shared);
    }
}
