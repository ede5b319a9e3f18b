//! [`NamesrvConfig`]: a `namesrv.conf` read into typed fields with RocketMQ's defaults.
//!
//! The same two steps and the same diagnostics as [`BrokerConfig`](super::BrokerConfig)
//! (unknown keys, trailing whitespace, inline comments, unparseable numbers). Owns only the
//! nameserver's keys; the route table and broker liveness that use them live in `namesrv`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use super::error::{ConfigError, ConfigWarning};
use super::fields::{Fields, parse_int};
use super::properties::{Property, format_properties, read_properties};

/// A nameserver's configuration. Durations are `_ms` milliseconds, as the keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamesrvConfig {
    /// `listenPort`, default 9876. 0 asks the OS for a free port (useful in tests).
    pub listen_port: u16,
    /// `bindAddress` (our extension; Java binds every interface), default `0.0.0.0`.
    pub bind_address: IpAddr,
    /// `scanNotActiveBrokerInterval`, default 5000 ms: how often silent brokers are looked for.
    pub scan_not_active_broker_interval_ms: u64,
    /// `brokerChannelExpiredTime` (our extension; fixed in Java), default 120000 ms: a broker
    /// that has not re-registered for this long is dropped from the routes.
    pub broker_channel_expired_time_ms: u64,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen_port: 9876,
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            scan_not_active_broker_interval_ms: 5_000,
            broker_channel_expired_time_ms: 120_000,
        }
    }
}

impl NamesrvConfig {
    /// Reads and validates `path`. Returns the config with the warnings to log, or every problem.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let entries = read_properties(path.as_ref())?;
        Self::from_properties(&entries)
    }

    /// Builds and validates a config from parsed entries.
    pub fn from_properties(
        entries: &[Property],
    ) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let defaults = NamesrvConfig::default();
        let mut f = Fields::new(entries);
        let listen_port = f.int("listenPort", defaults.listen_port);
        let bind_address = f.value_of("bindAddress", defaults.bind_address, |v| {
            v.parse().map_err(|_| "is not an IP address".to_string())
        });
        let positive = |v: &str| match parse_int::<u64>(v)? {
            0 => Err("must be greater than 0".to_string()),
            n => Ok(n),
        };
        let scan_not_active_broker_interval_ms = f.value_of(
            "scanNotActiveBrokerInterval",
            defaults.scan_not_active_broker_interval_ms,
            positive,
        );
        let broker_channel_expired_time_ms = f.value_of(
            "brokerChannelExpiredTime",
            defaults.broker_channel_expired_time_ms,
            positive,
        );
        let warnings = f.finish()?;
        let config = NamesrvConfig {
            listen_port,
            bind_address,
            scan_not_active_broker_interval_ms,
            broker_channel_expired_time_ms,
        };
        Ok((config, warnings))
    }

    /// Every key with its effective value, in a stable order (for `-p`).
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        vec![
            ("listenPort", self.listen_port.to_string()),
            ("bindAddress", self.bind_address.to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            (
                "brokerChannelExpiredTime",
                self.broker_channel_expired_time_ms.to_string(),
            ),
        ]
    }
}

impl fmt::Display for NamesrvConfig {
    /// The effective config as `key=value` lines, itself a valid `namesrv.conf`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_properties(&self.to_properties()))
    }
}
