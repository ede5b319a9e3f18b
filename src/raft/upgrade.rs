//! Reading what earlier builds wrote, so a node upgraded in place starts on its old store.
//!
//! `sm-meta` format 1 (magic `0xD1ED5301`) held the replicated tables without the delay
//! levels' progress; format 2 (`0xD1ED5302`) added it. A format-1 file is read into the
//! format-1 layout and converted with no delivery progress, which is exact: format-1 builds
//! never delivered delayed messages. A format-1 snapshot file is simply not used (thin
//! snapshots are rebuilt on demand).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::tables::{GroupConfig, Tables, stored_topics};
use super::types::LogId;
use crate::message::TopicConfig;

/// `sm-meta` written by format-1 builds.
pub(crate) const SM_META_MAGIC_V1: u32 = 0xD1ED_5301;
/// `sm-meta` now.
pub(crate) const SM_META_MAGIC: u32 = 0xD1ED_5302;
/// The snapshot file written by format-1 builds (ignored) and now.
pub(crate) const SNAPSHOT_MAGIC_V1: u32 = 0xD1ED_5401;
pub(crate) const SNAPSHOT_MAGIC: u32 = 0xD1ED_5402;

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
        }
    }
}

/// `sm-meta` as format 1 laid it out; `M` is the stored membership type.
#[derive(Debug, Deserialize)]
pub(crate) struct SmStateV1<M> {
    pub(crate) last_applied: Option<LogId>,
    pub(crate) membership: M,
    pub(crate) tables: TablesV1,
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
}
