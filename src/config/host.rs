//! What RocketMQ's defaults take from the machine: host name, home directory, the local IP
//! address, the core count and the `NAMESRV_ADDR` environment variable.
//!
//! Gathered once per load in [`HostFacts`] so that building a config is a pure function of the
//! file and these facts (tests pass fixed facts). Detecting the IP opens a UDP socket and
//! `connect`s it, which only asks the kernel for a route: no packet is sent.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;

/// Name used for `brokerName` when `/etc/hostname` is missing or empty.
const FALLBACK_HOSTNAME: &str = "broker-a";

/// TEST-NET-1 (RFC 5737): never answers, but the default route to it picks our outgoing address.
const PROBE_ADDR: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 0, 2, 1), 9);

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

/// The source address the kernel would use for outgoing traffic, else `127.0.0.1`.
fn detect_ip() -> String {
    let routed = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect(PROBE_ADDR)?;
            socket.local_addr()
        })
        .ok()
        .map(|addr| addr.ip())
        .filter(|ip| !ip.is_unspecified());
    routed.map_or_else(|| Ipv4Addr::LOCALHOST.to_string(), |ip| ip.to_string())
}
