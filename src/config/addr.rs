//! `host:port` addresses as RocketMQ config files write them: one ([`HostPort`]), or a
//! `;`-separated list (`namesrvAddr`). IPv6 hosts are bracketed: `[::1]:9876`.
//!
//! Parsing only: nothing here resolves a name or opens a socket. Parse failures are plain
//! messages; [`super::fields`] adds the file, line and key.

use std::fmt;
use std::net::Ipv6Addr;

/// A host (name, IPv4 or IPv6 address; stored without brackets) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    /// `host:port`, or `[v6]:port` when the host is an IPv6 address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Parses `host:port` or `[v6]:port`. The port must be 1..=65535.
pub(crate) fn parse_host_port(text: &str) -> Result<HostPort, String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text:?} has an unclosed ["))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| format!("{text:?} needs :port after the ]"))?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("[{host}] is not an IPv6 address"));
        }
        (host, port)
    } else {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?} is not host:port"))?;
        if host.contains(':') {
            return Err(format!(
                "{text:?}: an IPv6 host needs brackets, e.g. [::1]:9876"
            ));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(format!("{text:?} has an empty host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c == ';') {
        return Err(format!("{text:?}: the host contains whitespace or ;"));
    }
    let port = match port.parse::<u16>() {
        Ok(port) if port != 0 => port,
        _ => return Err(format!("{text:?}: port {port:?} is not in 1..=65535")),
    };
    Ok(HostPort {
        host: host.to_string(),
        port,
    })
}

/// Parses a `;`-separated list of `host:port`; empty items (`a:1;;b:2;`) are skipped, so an
/// empty value is an empty list. Every bad entry is named in the message.
pub(crate) fn parse_addr_list(text: &str) -> Result<Vec<HostPort>, String> {
    let mut addrs = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match parse_host_port(item) {
            Ok(addr) => addrs.push(addr),
            Err(message) => bad.push(message),
        }
    }
    if bad.is_empty() {
        Ok(addrs)
    } else {
        Err(format!(
            "is not a list of host:port separated by ';': {}",
            bad.join("; ")
        ))
    }
}

/// The list form again: `a:1;b:2`.
pub(crate) fn format_addr_list(addrs: &[HostPort]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}
