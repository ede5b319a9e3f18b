//! RocketMQ properties files (`broker.conf`, `namesrv.conf`) read into typed, validated configs.
//!
//! Loading is two steps. Step 1 ([`parse_properties`], [`read_properties`]) turns a file into
//! ordered `(key, value, file, line)` entries exactly as `java.util.Properties.load` would.
//! Step 2 ([`BrokerConfig::from_properties`], [`NamesrvConfig::from_properties`]) types them,
//! fills RocketMQ's defaults and validates everything at once: the result is a complete config
//! plus warnings, or a [`ConfigError`] listing every problem with its file, line and key.
//! Where we are stricter than Java (it swallows most mistakes) is tabled in [`properties`]
//! (syntax) and [`broker`] (values).
//!
//! ```text
//! properties    file bytes -> Property entries; Java's syntax, escapes, continuations, ISO-8859-1
//! fields        typed reads over the entries: trimming, numbers, booleans, aliases, unknown keys
//! addr          host:port and ;-separated address lists (namesrvAddr)
//! peers         dLegerPeers -> DLegerPeer list
//! broker        BrokerConfig: fields, defaults, accessors, the effective `-p` dump
//! broker_build  building and cross-checking a BrokerConfig
//! delay_levels  messageDelayLevel: the delays of the delay levels
//! namesrv       NamesrvConfig
//! host          machine facts behind defaults: host name, $HOME, local IP, cores, NAMESRV_ADDR
//! error         ConfigError, ConfigProblem, ConfigWarning, Origin
//! ```
//!
//! This module never creates directories, binds ports or logs: the binaries load a config,
//! log its warnings, and hand the fields to `store`, `remoting` and `raft`.

mod addr;
pub mod broker;
mod broker_build;
mod delay_levels;
mod error;
mod fields;
mod host;
mod namesrv;
mod peers;
pub mod properties;

#[cfg(test)]
mod tests;

pub use addr::HostPort;
pub use broker::{BrokerConfig, BrokerRole, FlushDiskType};
pub use delay_levels::{DEFAULT_MESSAGE_DELAY_LEVEL, DelayLevels};
pub use error::{ConfigError, ConfigProblem, ConfigWarning, Origin, UnknownKey};
pub use namesrv::NamesrvConfig;
pub use peers::DLegerPeer;
pub use properties::{Property, format_properties, parse_properties, read_properties};
