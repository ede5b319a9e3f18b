//! Message checks: sends against what was read. A message is a (topic, key) pair; the final
//! read (consumed events with `final_read`) is the truth about what the store holds, the
//! workload's consumers only add "was visible once".

use std::collections::{BTreeMap, BTreeSet};

use super::{Check, CheckResult};
use crate::chaos::history::{Consumed, Event, History, SendAttempt, SendOutcome};
use crate::chaos::violation::{Position, Violation};
use crate::message::parse_offset_msg_id;

/// (topic, key).
pub(super) type MessageId<'h> = (&'h str, &'h str);

/// The history's sends and reads, indexed once for every message check.
pub(super) struct Messages<'h> {
    /// Send calls of each message with their event index, in history order.
    pub(super) sends: BTreeMap<MessageId<'h>, Vec<(usize, &'h SendAttempt)>>,
    /// Every consumed event (workload and final read), in history order.
    pub(super) consumed: Vec<&'h Consumed>,
    /// Final read: the events read at each position.
    final_at: BTreeMap<Position, Vec<&'h Consumed>>,
    /// Final read: where each message was read.
    pub(super) final_of: BTreeMap<MessageId<'h>, BTreeSet<Position>>,
    /// Topics the final read covered.
    final_topics: BTreeSet<&'h str>,
}

pub(super) fn position_of(c: &Consumed) -> Position {
    Position {
        broker_group: c.broker_group.clone(),
        topic: c.topic.clone(),
        queue_id: c.queue_id,
        queue_offset: c.queue_offset,
    }
}

/// The acknowledged position of a send, if it was acknowledged.
pub(super) fn acked_at(s: &SendAttempt) -> Option<Position> {
    match &s.outcome {
        SendOutcome::Ok {
            broker_group,
            queue_id,
            queue_offset,
            ..
        } => Some(Position {
            broker_group: broker_group.clone(),
            topic: s.topic.clone(),
            queue_id: *queue_id,
            queue_offset: *queue_offset,
        }),
        SendOutcome::Failed { .. } | SendOutcome::Unknown { .. } => None,
    }
}

/// A commitlog offset given directly or inside an offset msgId.
fn phys(direct: Option<u64>, msg_id: Option<&str>) -> Option<u64> {
    direct.or_else(|| parse_offset_msg_id(msg_id?).ok().map(|(_, p)| p))
}

/// Whether a second stored copy of this message is explained by its sends: one of them had no
/// definite answer or retried inside the client, or the workload sent the key twice.
fn may_duplicate(sends: &[(usize, &SendAttempt)]) -> bool {
    sends.len() > 1
        || sends
            .iter()
            .any(|(_, s)| s.retries > 0 || matches!(s.outcome, SendOutcome::Unknown { .. }))
}

impl<'h> Messages<'h> {
    pub(super) fn index(history: &'h History) -> Self {
        let mut index = Messages {
            sends: BTreeMap::new(),
            consumed: Vec::new(),
            final_at: BTreeMap::new(),
            final_of: BTreeMap::new(),
            final_topics: BTreeSet::new(),
        };
        for (i, event) in history.events.iter().enumerate() {
            match event {
                Event::Send(s) => index
                    .sends
                    .entry((s.topic.as_str(), s.key.as_str()))
                    .or_default()
                    .push((i, s)),
                Event::Consumed(c) => {
                    index.consumed.push(c);
                    if c.final_read {
                        let position = position_of(c);
                        index
                            .final_of
                            .entry((c.topic.as_str(), c.key.as_str()))
                            .or_default()
                            .insert(position.clone());
                        index.final_at.entry(position).or_default().push(c);
                        index.final_topics.insert(c.topic.as_str());
                    }
                }
                _ => {}
            }
        }
        index
    }

    fn all_sends(&self) -> impl Iterator<Item = &'h SendAttempt> + '_ {
        self.sends.values().flatten().map(|(_, s)| *s)
    }

    /// Acknowledged sends absent from the final read; messages a workload consumer saw that
    /// the final read no longer has.
    pub(super) fn lost(&self) -> CheckResult {
        let mut result = CheckResult::new(Check::Lost);
        let (mut acked, mut unknown, mut failed, mut found) = (0, 0, 0, 0);
        for s in self.all_sends() {
            match &s.outcome {
                SendOutcome::Failed { .. } => failed += 1,
                SendOutcome::Unknown { .. } => unknown += 1,
                SendOutcome::Ok { .. } => acked += 1,
            }
            let Some(acked) = acked_at(s) else { continue };
            if self
                .final_of
                .contains_key(&(s.topic.as_str(), s.key.as_str()))
            {
                found += 1;
            } else {
                result.violations.push(Violation::Lost {
                    key: s.key.clone(),
                    topic: s.topic.clone(),
                    client: s.client.clone(),
                    acked,
                    end_ms: s.end_ms,
                });
            }
        }
        let mut reported = BTreeSet::new();
        for c in &self.consumed {
            let id = (c.topic.as_str(), c.key.as_str());
            if c.final_read
                || !self.final_topics.contains(c.topic.as_str())
                || !self.sends.contains_key(&id)
                || self.final_of.contains_key(&id)
                || !reported.insert(id)
            {
                continue;
            }
            result.violations.push(Violation::Vanished {
                key: c.key.clone(),
                consumer_group: c.consumer_group.clone(),
                position: position_of(c),
                time_ms: c.time_ms,
            });
        }
        result.count("sends", self.all_sends().count());
        result.count("acknowledged", acked);
        result.count("acknowledged and read back", found);
        result.count("unknown outcome", unknown);
        result.count("failed", failed);
        result
    }

    /// Messages read that no send explains: never sent, or refused with no retry.
    pub(super) fn phantoms(&self) -> CheckResult {
        let mut result = CheckResult::new(Check::Phantoms);
        let mut seen = BTreeSet::new();
        let mut messages = BTreeSet::new();
        for c in &self.consumed {
            let id = (c.topic.as_str(), c.key.as_str());
            messages.insert(id);
            let position = position_of(c);
            if !seen.insert((id, position.clone())) {
                continue;
            }
            match self.sends.get(&id) {
                None => result.violations.push(Violation::Phantom {
                    key: c.key.clone(),
                    consumer_group: c.consumer_group.clone(),
                    position,
                    time_ms: c.time_ms,
                }),
                Some(sends) => {
                    let refused = sends.iter().all(|(_, s)| {
                        s.retries == 0 && matches!(s.outcome, SendOutcome::Failed { .. })
                    });
                    let reason = sends.iter().find_map(|(_, s)| match &s.outcome {
                        SendOutcome::Failed { reason } => Some(reason),
                        SendOutcome::Ok { .. } | SendOutcome::Unknown { .. } => None,
                    });
                    if refused && let Some(reason) = reason {
                        result.violations.push(Violation::FailedButStored {
                            key: c.key.clone(),
                            reason: reason.clone(),
                            position,
                        });
                    }
                }
            }
        }
        let unacked_stored = messages
            .iter()
            .filter_map(|id| self.sends.get(id))
            .filter(|sends| sends.iter().all(|(_, s)| acked_at(s).is_none()))
            .count();
        result.count("consumed events", self.consumed.len());
        result.count("messages consumed", messages.len());
        result.count("stored without an acknowledgement", unacked_stored);
        result
    }

    /// Messages the final read found at more than one position.
    pub(super) fn duplicates(&self) -> CheckResult {
        let mut result = CheckResult::new(Check::Duplicates);
        let (mut excused, mut copies) = (0, 0);
        for (id, positions) in &self.final_of {
            if positions.len() < 2 {
                continue;
            }
            // Never sent: a phantom, reported there.
            let Some(sends) = self.sends.get(id) else {
                continue;
            };
            if may_duplicate(sends) {
                excused += 1;
                copies += positions.len() - 1;
            } else {
                result.violations.push(Violation::Duplicate {
                    key: id.1.to_owned(),
                    positions: positions.iter().cloned().collect(),
                });
            }
        }
        result.count("stored twice after an unknown outcome or retry", excused);
        result.count("extra copies of those", copies);
        result
    }

    /// Each acknowledged send read back at the position (and commitlog offset) acked; no
    /// position acknowledged twice.
    pub(super) fn placement(&self) -> CheckResult {
        let mut result = CheckResult::new(Check::Placement);
        let mut acks: BTreeMap<Position, &str> = BTreeMap::new();
        let (mut checked, mut phys_compared) = (0, 0);
        for s in self.all_sends() {
            let Some(acked) = acked_at(s) else { continue };
            if let Some(first) = acks.insert(acked.clone(), &s.key)
                && first != s.key
            {
                result.violations.push(Violation::TwoAcksOnePosition {
                    position: acked.clone(),
                    first: first.to_owned(),
                    second: s.key.clone(),
                });
            }
            let Some(read_at) = self.final_of.get(&(s.topic.as_str(), s.key.as_str())) else {
                continue; // lost: reported by that check
            };
            checked += 1;
            if !read_at.contains(&acked) {
                result.violations.push(Violation::Misplaced {
                    key: s.key.clone(),
                    acked,
                    read_at: read_at.iter().cloned().collect(),
                });
                continue;
            }
            let SendOutcome::Ok {
                offset_msg_id,
                phys_offset,
                ..
            } = &s.outcome
            else {
                continue;
            };
            let Some(acked_phys) = phys(*phys_offset, offset_msg_id.as_deref()) else {
                continue;
            };
            let reads = self.final_at.get(&acked).into_iter().flatten();
            let read_phys = reads
                .filter(|c| c.key == s.key)
                .find_map(|c| phys(c.phys_offset, c.offset_msg_id.as_deref()));
            if let Some(read_phys) = read_phys {
                phys_compared += 1;
                if read_phys != acked_phys {
                    result.violations.push(Violation::PhysMismatch {
                        key: s.key.clone(),
                        position: acked,
                        acked_phys,
                        read_phys,
                    });
                }
            }
        }
        result.count("acknowledged sends checked", checked);
        result.count("commitlog offsets compared", phys_compared);
        result
    }

    /// Per queue of the final read: offsets 0, 1, 2, ... with no hole, each holding one
    /// message, first read in increasing order.
    pub(super) fn queue_offsets(&self) -> CheckResult {
        let mut result = CheckResult::new(Check::QueueOffsets);
        let mut next: BTreeMap<_, i64> = BTreeMap::new();
        for (position, reads) in &self.final_at {
            let expected = next.entry(position.queue()).or_insert(0);
            if position.queue_offset > *expected {
                result.violations.push(Violation::OffsetGap {
                    queue: position.queue(),
                    from: *expected,
                    to: position.queue_offset,
                });
            }
            *expected = position.queue_offset + 1;
            if let Some(first) = reads.first()
                && let Some(other) = reads.iter().find(|c| c.key != first.key)
            {
                result.violations.push(Violation::PositionConflict {
                    position: position.clone(),
                    first: first.key.clone(),
                    second: other.key.clone(),
                });
            }
        }
        let mut highest: BTreeMap<_, i64> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for c in self.consumed.iter().filter(|c| c.final_read) {
            let position = position_of(c);
            if !seen.insert(position.clone()) {
                continue;
            }
            let queue = position.queue();
            match highest.get(&queue) {
                Some(&after) if after > c.queue_offset => {
                    result.violations.push(Violation::ReadOutOfOrder {
                        queue,
                        offset: c.queue_offset,
                        after,
                    });
                }
                _ => {
                    highest.insert(queue, c.queue_offset);
                }
            }
        }
        result.count("queues read", next.len());
        result.count("positions read", self.final_at.len());
        result
    }
}
