//! Delay levels at send time (remoting.md §4.2 step 9): a message with property `DELAY=n`
//! (n > 0) is stored in `SCHEDULE_TOPIC_XXXX`, queue `n - 1`, with its real topic and queue in
//! `REAL_TOPIC` / `REAL_QID`; [`super::tasks::schedule`] delivers it there once it is due.

use crate::config::DelayLevels;
use crate::message::{Properties, property};

/// The topic delayed messages wait in; queue `level - 1` per level.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// SYSFLAG bits 2..3: the transaction type; `4` marks a prepared (half) message.
const TRANSACTION_TYPE_MASK: i32 = 0x0C;
const TRANSACTION_PREPARED: i32 = 0x04;

/// Where a message is stored and with which properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub topic: String,
    pub queue_id: u32,
    pub properties: Properties,
}

/// The delay level a message asks for: `DELAY` parsed, if positive, capped at the highest
/// configured level.
pub fn requested_level(properties: &Properties, levels: &DelayLevels) -> Option<u32> {
    let level: i64 = properties.get(property::DELAY)?.trim().parse().ok()?;
    (level > 0).then(|| (level.min(i64::from(levels.max_level()))) as u32)
}

/// Reroutes a delayed message into the schedule topic; other messages (and prepared
/// transactions, which are never delayed) keep their placement.
pub fn place(sys_flag: i32, placement: Placement, levels: &DelayLevels) -> Placement {
    if sys_flag & TRANSACTION_TYPE_MASK == TRANSACTION_PREPARED {
        return placement;
    }
    let Some(level) = requested_level(&placement.properties, levels) else {
        return placement;
    };
    let mut properties = placement.properties;
    properties.insert(property::REAL_TOPIC.to_string(), placement.topic);
    properties.insert(
        property::REAL_QID.to_string(),
        placement.queue_id.to_string(),
    );
    properties.insert(property::DELAY.to_string(), level.to_string());
    Placement {
        topic: SCHEDULE_TOPIC.to_string(),
        queue_id: level - 1,
        properties,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(delay: Option<&str>) -> Placement {
        let mut properties = Properties::new();
        if let Some(d) = delay {
            properties.insert(property::DELAY.to_string(), d.to_string());
        }
        Placement {
            topic: "Orders".into(),
            queue_id: 3,
            properties,
        }
    }

    #[test]
    fn a_delayed_message_waits_in_the_schedule_queue_of_its_level() {
        let levels = DelayLevels::default();
        let placed = place(0, placement(Some("3")), &levels);
        assert_eq!(
            (placed.topic.as_str(), placed.queue_id),
            (SCHEDULE_TOPIC, 2)
        );
        assert_eq!(placed.properties[property::REAL_TOPIC], "Orders");
        assert_eq!(placed.properties[property::REAL_QID], "3");
    }

    #[test]
    fn levels_above_the_highest_are_capped_and_zero_or_garbage_means_no_delay() {
        let levels = DelayLevels::default();
        let placed = place(0, placement(Some("40")), &levels);
        assert_eq!(
            (placed.queue_id, placed.properties[property::DELAY].as_str()),
            (17, "18")
        );
        for no_delay in [None, Some("0"), Some("-2"), Some("soon")] {
            assert_eq!(place(0, placement(no_delay), &levels), placement(no_delay));
        }
    }

    #[test]
    fn prepared_transactions_are_never_delayed() {
        let levels = DelayLevels::default();
        assert_eq!(
            place(TRANSACTION_PREPARED, placement(Some("2")), &levels),
            placement(Some("2"))
        );
    }
}
