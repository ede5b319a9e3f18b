//! [`ConsumeQueueStore`]: every consume queue under one root directory, `<root>/<topic>/<queueId>/`,
//! found and recovered at open, created on first use, flushed, cut and trimmed all together.
//! Each queue is a [`ConsumeQueue`]; this file only finds, names and holds them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use tracing::warn;

use super::{CQ_UNIT_SIZE, ConsumeQueue};
use crate::store::error::{StoreError, StoreResult};
use crate::store::segment::sync_parent_dir;

/// Longest topic name RocketMQ accepts.
const MAX_TOPIC_LEN: usize = 127;

/// Whether `name` is a legal RocketMQ topic name (`^[%|a-zA-Z0-9_-]+$`, at most 127 bytes),
/// which also makes it a safe directory name.
fn is_valid_topic(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_TOPIC_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

type QueueMap = BTreeMap<String, BTreeMap<u32, Arc<ConsumeQueue>>>;

/// Every consume queue under one root directory.
#[derive(Debug)]
pub struct ConsumeQueueStore {
    root: PathBuf,
    units_per_file: u64,
    queues: RwLock<QueueMap>,
}

impl ConsumeQueueStore {
    /// Opens `root` (creating it if needed), recovering every queue found in it. Directories
    /// that are not legal topic names or queue ids are skipped with a warning.
    pub fn open(root: &Path, units_per_file: u64) -> StoreResult<Self> {
        if units_per_file == 0 || units_per_file.checked_mul(CQ_UNIT_SIZE).is_none() {
            return Err(StoreError::InvalidRecord(format!(
                "units per consume-queue file must be in 1..{}, got {units_per_file}",
                u64::MAX / CQ_UNIT_SIZE
            )));
        }
        fs::create_dir_all(root).map_err(|e| StoreError::io(root, e))?;
        let mut queues = QueueMap::new();
        for (topic, topic_dir) in subdirs(root)? {
            if !is_valid_topic(&topic) {
                warn!(path = %topic_dir.display(), "skipping a directory that is not a topic name");
                continue;
            }
            for (name, queue_dir) in subdirs(&topic_dir)? {
                let Some(queue_id) = name.parse::<u32>().ok().filter(|id| id.to_string() == name)
                else {
                    warn!(path = %queue_dir.display(), "skipping a directory that is not a queue id");
                    continue;
                };
                let queue = ConsumeQueue::open(&queue_dir, &topic, queue_id, units_per_file)?;
                queues
                    .entry(topic.clone())
                    .or_default()
                    .insert(queue_id, Arc::new(queue));
            }
        }
        Ok(ConsumeQueueStore {
            root: root.to_path_buf(),
            units_per_file,
            queues: RwLock::new(queues),
        })
    }

    /// The queue of (`topic`, `queue_id`), created if it does not exist yet. Refuses topic
    /// names RocketMQ would refuse.
    pub fn queue(&self, topic: &str, queue_id: u32) -> StoreResult<Arc<ConsumeQueue>> {
        if let Some(queue) = self.get(topic, queue_id) {
            return Ok(queue);
        }
        if !is_valid_topic(topic) {
            return Err(StoreError::Refused(format!(
                "illegal topic name {topic:?}: allowed are ^[%|a-zA-Z0-9_-]+$, at most {MAX_TOPIC_LEN} characters"
            )));
        }
        let mut queues = self.queues.write().unwrap_or_else(PoisonError::into_inner);
        let by_id = queues.entry(topic.to_owned()).or_default();
        if let Some(queue) = by_id.get(&queue_id) {
            return Ok(queue.clone());
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let queue = Arc::new(ConsumeQueue::open(
            &dir,
            topic,
            queue_id,
            self.units_per_file,
        )?);
        // Make the new directories themselves durable, not only the files later put in them.
        sync_parent_dir(&dir)?;
        sync_parent_dir(&self.root.join(topic))?;
        by_id.insert(queue_id, queue.clone());
        Ok(queue)
    }

    /// The queue of (`topic`, `queue_id`) if it exists.
    pub fn get(&self, topic: &str, queue_id: u32) -> Option<Arc<ConsumeQueue>> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues.get(topic)?.get(&queue_id).cloned()
    }

    /// Every topic with at least one queue, sorted.
    pub fn topics(&self) -> Vec<String> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues
            .iter()
            .filter(|(_, by_id)| !by_id.is_empty())
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// The queue ids of `topic`, sorted.
    pub fn queue_ids(&self, topic: &str) -> Vec<u32> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues
            .get(topic)
            .map(|by_id| by_id.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Every queue, by topic then queue id.
    pub fn queues(&self) -> Vec<Arc<ConsumeQueue>> {
        let queues = self.queues.read().unwrap_or_else(PoisonError::into_inner);
        queues
            .values()
            .flat_map(|by_id| by_id.values().cloned())
            .collect()
    }

    /// Flushes every queue.
    pub fn flush(&self) -> StoreResult<()> {
        self.queues().iter().try_for_each(|queue| queue.flush())
    }

    /// [`ConsumeQueue::truncate_from_commitlog_offset`] on every queue.
    pub fn truncate_from_commitlog_offset(&self, commitlog_offset: u64) -> StoreResult<()> {
        for queue in self.queues() {
            queue.truncate_from_commitlog_offset(commitlog_offset)?;
        }
        Ok(())
    }

    /// [`ConsumeQueue::delete_before_commitlog_offset`] on every queue; returns the number of
    /// files deleted.
    pub fn delete_before_commitlog_offset(&self, commitlog_offset: u64) -> StoreResult<usize> {
        let mut removed = 0;
        for queue in self.queues() {
            removed += queue.delete_before_commitlog_offset(commitlog_offset)?;
        }
        Ok(removed)
    }
}

/// The subdirectories of `dir` whose names are UTF-8, as (name, path).
fn subdirs(dir: &Path) -> StoreResult<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))? {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let path = entry.path();
        if !entry
            .file_type()
            .map_err(|e| StoreError::io(&path, e))?
            .is_dir()
        {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => out.push((name, path)),
            Err(_) => warn!(path = %path.display(), "skipping a directory whose name is not UTF-8"),
        }
    }
    out.sort();
    Ok(out)
}
