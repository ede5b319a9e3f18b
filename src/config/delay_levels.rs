//! `messageDelayLevel`: the delays of RocketMQ's delay levels, e.g.
//! `1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h` (the default).
//!
//! Level `n` (1-based) is the n-th item; units are `s`, `m`, `h` and `d` (Java's units; `ms` is
//! accepted too for tests that need sub-second levels). A send with property `DELAY=n` waits
//! that long before consumers see it; a retry's k-th re-consume waits level `2 + k`.

use std::time::Duration;

/// Java's default `messageDelayLevel`.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// The configured delay levels, level 1 first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevels {
    delays: Vec<Duration>,
}

impl Default for DelayLevels {
    fn default() -> Self {
        DelayLevels::parse(DEFAULT_MESSAGE_DELAY_LEVEL)
            .unwrap_or(DelayLevels { delays: Vec::new() })
    }
}

impl DelayLevels {
    /// Parses a whitespace-separated list such as `1s 5s 1m 2h`.
    pub fn parse(value: &str) -> Result<DelayLevels, String> {
        let delays = value
            .split_whitespace()
            .map(parse_one)
            .collect::<Result<Vec<_>, _>>()?;
        if delays.is_empty() {
            return Err("lists no delay (expected e.g. \"1s 5s 10s 30s 1m\")".to_string());
        }
        if delays.len() > 255 {
            return Err(format!(
                "lists {} levels; at most 255 are allowed",
                delays.len()
            ));
        }
        Ok(DelayLevels { delays })
    }

    /// The highest level (18 by default).
    pub fn max_level(&self) -> u32 {
        self.delays.len() as u32
    }

    /// The delay of `level`, which is clamped to `1..=max_level()` as Java does.
    pub fn delay(&self, level: u32) -> Duration {
        let at = level.clamp(1, self.max_level().max(1)) as usize - 1;
        self.delays.get(at).copied().unwrap_or_default()
    }

    /// The value as it is written in a config file.
    pub fn to_config_value(&self) -> String {
        self.delays
            .iter()
            .map(|d| format_one(*d))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn parse_one(item: &str) -> Result<Duration, String> {
    let bad = || format!("{item:?} is not a delay such as 10s, 5m, 2h or 1d");
    let split = item.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = item.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ms_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(ms_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(bad)
}

fn format_one(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_has_eighteen_levels_from_one_second_to_two_hours() {
        let levels = DelayLevels::default();
        assert_eq!(levels.max_level(), 18);
        assert_eq!(levels.delay(1), Duration::from_secs(1));
        assert_eq!(levels.delay(3), Duration::from_secs(10));
        assert_eq!(levels.delay(18), Duration::from_secs(7200));
        assert_eq!(levels.to_config_value(), DEFAULT_MESSAGE_DELAY_LEVEL);
    }

    #[test]
    fn levels_out_of_range_are_clamped() {
        let levels = DelayLevels::parse("1s 2m 1d").unwrap();
        assert_eq!(levels.delay(0), Duration::from_secs(1));
        assert_eq!(levels.delay(99), Duration::from_secs(86_400));
        assert_eq!(levels.delay(2), Duration::from_secs(120));
    }

    #[test]
    fn bad_items_are_named() {
        for bad in ["", "1s x", "5", "1w", "s", "-1s"] {
            let err = DelayLevels::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad:?}");
        }
        assert!(
            DelayLevels::parse("1s 10x")
                .unwrap_err()
                .contains("\"10x\"")
        );
        assert_eq!(
            DelayLevels::parse("200ms 1s").unwrap().delay(1),
            Duration::from_millis(200)
        );
    }
}
