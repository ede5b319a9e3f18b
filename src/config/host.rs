//! What RocketMQ's defaults take from the machine: host name, home directory, the local IP
//! address, the core count and the `NAMESRV_ADDR` environment variable.
//!
//! Gathered once per load in [`HostFacts`] so that building a config is a pure function of the
//! file and these facts (tests pass fixed facts). The IP comes from [`crate::local_ip`].

use std::path::PathBuf;

/// Name used for `brokerName` when `/etc/hostname` is missing or empty.
const FALLBACK_HOSTNAME: &str = "broker-a";

#[derive(Debug, Clone)]
pub(crate) struct HostFacts {
    /// Default `brokerName` (Java: the local host name).
    pub(crate) hostname: String,
    /// `$HOME`; the default store root is `$HOME/store`.
    pub(crate) home: PathBuf,
    /// Default `brokerIP1`.
    pub(crate) ip: String,
    /// Available cores; thread-pool defaults derive from it.
    pub(crate) cores: u32,
    /// `NAMESRV_ADDR`, the fallback for `namesrvAddr`.
    pub(crate) namesrv_addr_env: Option<String>,
}

impl HostFacts {
    pub(crate) fn detect() -> Self {
        let hostname = std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| FALLBACK_HOSTNAME.to_string());
        // Java's user.home always exists; without HOME we fall back to the working directory.
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let cores = std::thread::available_parallelism()
            .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
        HostFacts {
            hostname,
            home,
            ip: detect_ip(),
            cores,
            namesrv_addr_env: std::env::var("NAMESRV_ADDR").ok(),
        }
    }
}

/// This host's address as RocketMQ finds it (see [`crate::local_ip`]).
fn detect_ip() -> String {
    crate::local_ip::local_ipv4().to_string()
}
