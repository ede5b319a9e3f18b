//! The campaign's private network: one namespace per "host" on a bridge that lives in a
//! namespace of its own, so nothing is added to the machine's own network (root needed for
//! `ip netns`). Hosts: one for the nameservers, one for the workload (the harness itself runs
//! there), three per broker group. Partitions are blackhole routes inside a host's namespace:
//! packets it sends to the blocked address are dropped, so blocking both directions cuts a
//! link and blocking one leaves a one-way partition. This module only runs `ip`; which links
//! to cut is the nemesis's choice.

use std::net::Ipv4Addr;
use std::process::Command;

/// The subnet every host lives in (a /24).
const SUBNET: [u8; 3] = [10, 79, 0];

/// One host: its namespace and its address on the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub ns: String,
    pub addr: Ipv4Addr,
}

/// Every namespace of one run, named after the run's tag so two runs never share one.
#[derive(Debug, Clone)]
pub struct Network {
    lan: String,
    pub namesrv: Host,
    pub client: Host,
    /// `nodes[g][i]`: node `i + 1` of group `g + 1`.
    pub nodes: Vec<Vec<Host>>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Network {
    /// The namespaces and addresses of a run tagged `tag` with `groups` broker groups (at most
    /// 9; nothing is created yet).
    pub fn plan(tag: &str, groups: usize) -> Network {
        let host = |name: &str, last: u8| Host {
            ns: format!("dlc{tag}-{name}"),
            addr: Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], last),
        };
        let nodes = (1..=groups.min(9))
            .map(|g| {
                (1..=3)
                    .map(|i| host(&format!("g{g}n{i}"), u8::try_from(10 * g + i).unwrap_or(99)))
                    .collect()
            })
            .collect();
        Network {
            lan: format!("dlc{tag}-lan"),
            namesrv: host("ns", 2),
            client: host("cl", 3),
            nodes,
        }
    }

    /// Every host, nameservers and workload first.
    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        [&self.namesrv, &self.client]
            .into_iter()
            .chain(self.nodes.iter().flatten())
    }

    /// Creates the bridge namespace and every host on it. On failure what was made is removed.
    pub fn create(&self) -> Result<(), String> {
        let made = self.try_create();
        if made.is_err() {
            self.destroy();
        }
        made
    }

    fn try_create(&self) -> Result<(), String> {
        let lan = self.lan.as_str();
        ip(&["netns", "add", lan])?;
        ip(&["-n", lan, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", lan, "link", "set", "br0", "up"])?;
        for (n, host) in self.hosts().enumerate() {
            let port = format!("p{n}");
            let cidr = format!("{}/24", host.addr);
            ip(&["netns", "add", &host.ns])?;
            ip(&[
                "-n", lan, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &host.ns,
            ])?;
            ip(&["-n", lan, "link", "set", &port, "master", "br0", "up"])?;
            ip(&["-n", &host.ns, "addr", "add", &cidr, "dev", "eth0"])?;
            ip(&["-n", &host.ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &host.ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Kills whatever still runs in the namespaces and deletes them (best effort, quiet).
    pub fn destroy(&self) {
        for ns in self
            .hosts()
            .map(|h| h.ns.as_str())
            .chain([self.lan.as_str()])
        {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = ip(&["netns", "del", ns]);
        }
    }

    /// Drops every packet `from` sends to `to`.
    pub fn block(&self, from: &Host, to: Ipv4Addr) -> Result<(), String> {
        let dest = format!("{to}/32");
        ip(&["-n", &from.ns, "route", "replace", "blackhole", &dest])
    }

    /// Cuts `a` and `b` apart in both directions.
    pub fn cut(&self, a: &Host, b: &Host) -> Result<(), String> {
        self.block(a, b.addr)?;
        self.block(b, a.addr)
    }

    /// Removes every blackhole route of every host (heals all partitions).
    pub fn heal(&self) -> Result<(), String> {
        let mut first_error = Ok(());
        for host in self.hosts() {
            let healed = ip(&["-n", &host.ns, "route", "flush", "type", "blackhole"]);
            if first_error.is_ok() {
                first_error = healed;
            }
        }
        first_error
    }
}
