//! `dLegerPeers`: the members of one Raft (DLedger) group, written
//! `n1-host:40911;n2-host:40912;n3-host:40913` and identical on every member.
//!
//! Each entry is `id-host:port`. The `id-` prefix is mandatory. The id is letters followed by
//! digits, and the digits are the member's node number (Java RocketMQ reads
//! `selfId.substring(1)` as an integer, so files meant for Java should use exactly one letter:
//! `n1`). Ids, node numbers and addresses are unique within the group. Whether `dLegerSelfId`
//! names a member is checked by [`BrokerConfig`](super::BrokerConfig), which knows both keys.
//!
//! Parsing only: the raft layer dials these addresses.

use std::collections::HashSet;
use std::fmt;

use super::addr::parse_host_port;

/// One member of the DLedger group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DLegerPeer {
    /// As written: `"n1"`.
    pub id: String,
    /// The digits of the id: `1` for `"n1"`; the raft node id.
    pub node_id: u64,
    /// Host name or address; IPv6 without its brackets.
    pub host: String,
    /// The DLedger (raft) port of this member, not its client `listenPort`.
    pub port: u16,
}

impl DLegerPeer {
    /// `host:port` (`[v6]:port` for IPv6), ready for a connect call.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for DLegerPeer {
    /// The `dLegerPeers` form: `n1-127.0.0.1:40911`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.id, self.addr())
    }
}

/// Checks an id (`n1`): ASCII letters then ASCII digits; returns the node number.
pub(crate) fn parse_peer_id(id: &str) -> Result<u64, String> {
    let digits_at = id
        .find(|c: char| c.is_ascii_digit())
        .filter(|&at| at > 0)
        .ok_or_else(|| format!("id {id:?} must be letters followed by digits, e.g. n1"))?;
    let (letters, digits) = id.split_at(digits_at);
    if !letters.chars().all(|c| c.is_ascii_alphabetic())
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "id {id:?} must be letters followed by digits, e.g. n1"
        ));
    }
    digits
        .parse()
        .map_err(|_| format!("id {id:?}: node number too large"))
}

/// Parses the whole `dLegerPeers` value, reporting every bad entry at once. Empty items
/// (a trailing `;`) are skipped; an empty value is an empty list.
pub(crate) fn parse_peers(text: &str) -> Result<Vec<DLegerPeer>, String> {
    let mut peers: Vec<DLegerPeer> = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match parse_peer(item) {
            Ok(peer) => peers.push(peer),
            Err(message) => bad.push(format!("entry {item:?}: {message}")),
        }
    }
    let (mut ids, mut nodes, mut addrs) = (HashSet::new(), HashSet::new(), HashSet::new());
    for peer in &peers {
        if !ids.insert(peer.id.as_str()) {
            bad.push(format!("id {} appears twice", peer.id));
        } else if !nodes.insert(peer.node_id) {
            bad.push(format!(
                "id {} reuses node number {} of another member",
                peer.id, peer.node_id
            ));
        }
        if !addrs.insert(peer.addr()) {
            bad.push(format!("address {} is used by two members", peer.addr()));
        }
    }
    if bad.is_empty() {
        Ok(peers)
    } else {
        Err(format!(
            "is not a valid peer list (id-host:port;...): {}",
            bad.join("; ")
        ))
    }
}

fn parse_peer(item: &str) -> Result<DLegerPeer, String> {
    let (id, addr) = item.split_once('-').ok_or_else(|| {
        "missing the mandatory \"id-\" prefix, e.g. n1-127.0.0.1:40911".to_string()
    })?;
    let node_id = parse_peer_id(id)?;
    let addr = parse_host_port(addr)?;
    Ok(DLegerPeer {
        id: id.to_string(),
        node_id,
        host: addr.host,
        port: addr.port,
    })
}

/// The `dLegerPeers` form of a list: `n1-a:1;n2-b:2`.
pub(crate) fn format_peers(peers: &[DLegerPeer]) -> String {
    peers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}
