//! Remote address patterns of `plain_acl.yml` (`globalWhiteRemoteAddresses`, an account's
//! `whiteRemoteAddress`), in the forms Java's `RemoteAddressStrategyFactory` accepts:
//!
//! | pattern | matches |
//! | --- | --- |
//! | empty | nothing |
//! | `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*` | every address |
//! | `192.168.0.1` (or an IPv6 address) | that address |
//! | `192.168.0.1,192.168.0.2` | any of the listed addresses |
//! | `192.168.1.{1,2,3}` | the prefix followed by any of the listed endings |
//! | `192.168.0.*`, `192.168.*.*`, `192.168.1-10.*`, `192.168.0.1-10` | the octets before the first `*` or `a-b` equal, that octet within the range (later octets are not looked at, as in Java) |
//!
//! IPv6 ranges (`2001:db8::1-ff`) are refused with a clear reason rather than half supported.

use std::net::IpAddr;

/// A parsed address pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// An empty pattern: matches nothing.
    Nothing,
    /// `*`: matches everything.
    Any,
    /// One or more exact addresses.
    Exact(Vec<IpAddr>),
    /// IPv4: the leading octets `head`, then one octet within `low..=high`.
    Range { head: Vec<u8>, low: u8, high: u8 },
}

impl AddressPattern {
    /// Parses `text` as Java does, or says why it is not a pattern.
    pub fn parse(text: &str) -> Result<AddressPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AddressPattern::Nothing);
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Any);
        }
        if text.ends_with('}') {
            return braces(text);
        }
        if text.contains(',') {
            let addrs = text
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(exact)
                .collect::<Result<_, _>>()?;
            return Ok(AddressPattern::Exact(addrs));
        }
        if text.contains('*') || text.contains('-') {
            return range(text);
        }
        Ok(AddressPattern::Exact(vec![exact(text)?]))
    }

    /// Whether a client at `addr` matches.
    pub fn matches(&self, addr: IpAddr) -> bool {
        let addr = unmapped(addr);
        match self {
            AddressPattern::Nothing => false,
            AddressPattern::Any => true,
            AddressPattern::Exact(addrs) => addrs.iter().any(|a| unmapped(*a) == addr),
            AddressPattern::Range { head, low, high } => match addr {
                IpAddr::V4(v4) => {
                    let octets = v4.octets();
                    octets.starts_with(head)
                        && octets
                            .get(head.len())
                            .is_some_and(|o| (*low..=*high).contains(o))
                }
                IpAddr::V6(_) => false,
            },
        }
    }
}

/// An IPv4 client reached over an IPv6 socket is compared as IPv4.
fn unmapped(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn exact(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{:?} is not an IP address", text.trim()))
}

/// `192.168.1.{1,2,3}`: the prefix before `{`, each listed ending after it.
fn braces(text: &str) -> Result<AddressPattern, String> {
    let Some(open) = text.rfind('{') else {
        return Err(format!("{text:?} closes a brace it never opens"));
    };
    let (prefix, list) = (&text[..open], &text[open + 1..text.len() - 1]);
    if !(prefix.ends_with('.') || prefix.ends_with(':')) {
        return Err(format!(
            "{text:?}: the braces must hold the last part of the address"
        ));
    }
    let addrs = list
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|ending| exact(&format!("{prefix}{}", ending.trim())))
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() {
        return Err(format!("{text:?} lists no address"));
    }
    Ok(AddressPattern::Exact(addrs))
}

/// `192.168.0.*`, `192.168.1-10.*`, `192.168.0.1-10`.
fn range(text: &str) -> Result<AddressPattern, String> {
    if text.contains(':') {
        return Err(format!(
            "{text:?}: IPv6 ranges are not supported (list the addresses instead)"
        ));
    }
    let parts: Vec<&str> = text.split('.').map(str::trim).collect();
    if parts.len() != 4 {
        return Err(format!("{text:?} does not have four octets"));
    }
    let mut head = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        let bounds = if *part == "*" {
            Some((0, 255))
        } else if let Some((low, high)) = part.split_once('-') {
            let octet = |s: &str| s.trim().parse::<u8>().ok();
            match (octet(low), octet(high)) {
                (Some(low), Some(high)) if low <= high => Some((low, high)),
                _ => {
                    return Err(format!(
                        "{text:?}: {part:?} is not a range a-b within 0-255"
                    ));
                }
            }
        } else {
            None
        };
        if let Some((low, high)) = bounds {
            if index == 0 {
                return Err(format!("{text:?}: the first octet must be a number"));
            }
            return Ok(AddressPattern::Range { head, low, high });
        }
        let octet = part
            .parse::<u8>()
            .map_err(|_| format!("{text:?}: {part:?} is not an octet"))?;
        head.push(octet);
    }
    Err(format!("{text:?} has no '*' or range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn pattern(s: &str) -> AddressPattern {
        AddressPattern::parse(s).expect("a pattern Java accepts")
    }

    #[test]
    fn blank_matches_nothing_and_star_everything() {
        assert!(!pattern("").matches(ip("127.0.0.1")));
        for any in ["*", "*.*.*.*", "*:*:*:*:*:*:*:*"] {
            assert!(pattern(any).matches(ip("10.1.2.3")), "{any}");
            assert!(pattern(any).matches(ip("::1")), "{any}");
        }
    }

    #[test]
    fn exact_and_listed_addresses_match_only_themselves() {
        assert!(pattern("192.168.0.1").matches(ip("192.168.0.1")));
        assert!(!pattern("192.168.0.1").matches(ip("192.168.0.2")));
        let list = pattern("192.168.0.1, 192.168.0.7");
        assert!(list.matches(ip("192.168.0.7")));
        assert!(!list.matches(ip("192.168.0.2")));
        let braces = pattern("192.168.1.{1,2,3}");
        assert!(braces.matches(ip("192.168.1.2")));
        assert!(!braces.matches(ip("192.168.1.4")));
        assert!(pattern("::1").matches(ip("::1")));
        assert!(pattern("2001:db8::{1,2}").matches(ip("2001:db8::2")));
    }

    #[test]
    fn ranges_compare_the_leading_octets_and_bound_the_next() {
        let star = pattern("192.168.0.*");
        assert!(star.matches(ip("192.168.0.200")));
        assert!(!star.matches(ip("192.168.1.1")));
        let span = pattern("192.168.0.1-10");
        assert!(span.matches(ip("192.168.0.10")));
        assert!(!span.matches(ip("192.168.0.11")));
        let middle = pattern("192.168.1-10.*");
        assert!(middle.matches(ip("192.168.5.77")));
        assert!(!middle.matches(ip("192.168.11.1")));
        assert!(pattern("10.*.*.*").matches(ip("10.9.8.7")));
        assert!(!star.matches(ip("::1")));
    }

    #[test]
    fn an_ipv4_client_on_an_ipv6_socket_matches_ipv4_patterns() {
        assert!(pattern("127.0.0.*").matches(ip("::ffff:127.0.0.1")));
        assert!(pattern("127.0.0.1").matches(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        for bad in [
            "192.168.0.300",
            "192.168.0.1,2,3",
            "192.168.0",
            "192.168.0.10-1",
            "*.168.0.1",
            "192.168.0.{}",
            "2001:db8::1-ff",
            "192.168.x.*",
        ] {
            let err = AddressPattern::parse(bad).expect_err(bad);
            assert!(!err.is_empty(), "{bad}");
        }
    }
}
