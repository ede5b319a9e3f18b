//! This host's IPv4 address, as RocketMQ puts it in client ids, message ids and a broker's
//! default `brokerIP1`.
//!
//! First choice: the source address the kernel would use towards a public address (a UDP
//! `connect`, no packet sent). Without a route (a network namespace with no default route,
//! an isolated container) the first up, non-loopback interface's IPv4 address, found with
//! `getifaddrs(3)` as Java's interface enumeration finds it; else `127.0.0.1`.

#![allow(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// An address of the documentation range (RFC 5737): routing towards it picks the outward
/// interface; nothing is ever sent.
const PROBE_ADDR: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 0, 2, 1), 9);

/// See the module docs.
pub fn local_ipv4() -> Ipv4Addr {
    routed_ipv4()
        .or_else(first_interface_ipv4)
        .unwrap_or(Ipv4Addr::LOCALHOST)
}

fn routed_ipv4() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect(PROBE_ADDR).ok()?;
    match socket.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// The first IPv4 address of an interface that is up and not loopback.
fn first_interface_ipv4() -> Option<Ipv4Addr> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we own until freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return None;
    }
    let mut found = None;
    let mut cursor = head;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not yet freed.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        let up = entry.ifa_flags & libc::IFF_UP as u32 != 0;
        let loopback = entry.ifa_flags & libc::IFF_LOOPBACK as u32 != 0;
        if !up || loopback || entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: a non-null ifa_addr points to a sockaddr whose family says its real type.
        let family = unsafe { (*entry.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: AF_INET means the sockaddr is a sockaddr_in.
        let sin = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
        let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
        if !ip.is_loopback() && !ip.is_unspecified() {
            found = Some(ip);
            break;
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_always_found_and_interfaces_are_never_loopback() {
        let ip = local_ipv4();
        assert!(!ip.is_unspecified());
        if let Some(found) = first_interface_ipv4() {
            assert!(!found.is_loopback(), "{found}");
        }
    }
}
