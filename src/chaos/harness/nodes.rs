//! The processes of a run: two nameservers on the nameserver host and one broker per node
//! host, each started with `ip netns exec` (which execs, so the child's pid is the server's
//! and signals reach it), its output appended to a log file in the run's directory. Nodes are
//! killed, paused, resumed, stopped and restarted here; what to do when is the nemesis's.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::net::{Host, Network};

/// Client port of every broker (each on its own host).
pub const BROKER_PORT: u16 = 10911;
/// Raft peer port of every broker.
pub const RAFT_PORT: u16 = 40911;
/// The two nameservers' ports on the nameserver host.
pub const NAMESRV_PORTS: [u16; 2] = [9876, 9877];
/// The cluster name every group registers.
pub const CLUSTER: &str = "ChaosCluster";

/// Node `node` (1..=3) of group `group` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub group: usize,
    pub node: usize,
}

impl NodeId {
    /// The group's brokerName (and dLegerGroup): `RaftNode01`, `RaftNode02`, ...
    pub fn broker_group(self) -> String {
        broker_group(self.group)
    }
}

/// The brokerName of group `group`.
pub fn broker_group(group: usize) -> String {
    format!("RaftNode{group:02}")
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "g{}n{}", self.group, self.node)
    }
}

/// Where things are: the binaries, the run's directory, the network.
#[derive(Debug, Clone)]
pub struct Layout {
    pub bin_dir: PathBuf,
    pub work_dir: PathBuf,
    pub net: Network,
}

impl Layout {
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut ids = Vec::new();
        for (g, hosts) in self.net.nodes.iter().enumerate() {
            for n in 0..hosts.len() {
                ids.push(NodeId {
                    group: g + 1,
                    node: n + 1,
                });
            }
        }
        ids
    }

    pub fn groups(&self) -> usize {
        self.net.nodes.len()
    }

    pub fn host(&self, id: NodeId) -> &Host {
        &self.net.nodes[id.group - 1][id.node - 1]
    }

    /// `host:port;host:port` of the nameservers.
    pub fn namesrv_list(&self) -> String {
        self.namesrvs().join(";")
    }

    pub fn namesrvs(&self) -> Vec<String> {
        NAMESRV_PORTS
            .iter()
            .map(|p| format!("{}:{p}", self.net.namesrv.addr))
            .collect()
    }

    pub fn broker_addr(&self, id: NodeId) -> String {
        format!("{}:{BROKER_PORT}", self.host(id).addr)
    }

    /// The node's own disk (a tmpfs mount point).
    pub fn disk(&self, id: NodeId) -> PathBuf {
        self.work_dir.join(id.to_string())
    }

    pub fn store(&self, id: NodeId) -> PathBuf {
        self.disk(id).join("store")
    }

    fn log(&self, name: &str) -> PathBuf {
        self.work_dir.join("logs").join(format!("{name}.log"))
    }

    fn broker_conf(&self, id: NodeId) -> String {
        let peers: Vec<String> = self.net.nodes[id.group - 1]
            .iter()
            .enumerate()
            .map(|(i, h)| format!("n{}-{}:{RAFT_PORT}", i + 1, h.addr))
            .collect();
        format!(
            "# {id} of the fault campaign (dledger-chaos)\n\
             brokerClusterName={CLUSTER}\nbrokerName={group}\nlistenPort={BROKER_PORT}\n\
             brokerIP1={addr}\nnamesrvAddr={namesrvs}\nstorePathRootDir={store}\n\
             flushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=2097152\nmaxMessageSize=262144\n\
             mappedFileSizeConsumeQueue=60000\nmaxHashSlotNum=5000\nmaxIndexNum=20000\n\
             # every message is read back from offset 0: no deletion before the disk is full\n\
             diskSpaceCleanForciblyRatio=100\ndiskSpaceWarningLevelRatio=100\n\
             # topics exist where the harness made them, so an acknowledgement names its group\n\
             autoCreateTopicEnable=false\n\
             enableDLegerCommitLog=true\ndLegerGroup={group}\ndLegerPeers={peers}\n\
             dLegerSelfId=n{node}\n",
            group = id.broker_group(),
            addr = self.host(id).addr,
            namesrvs = self.namesrv_list(),
            store = self.store(id).display(),
            peers = peers.join(";"),
            node = id.node,
        )
    }
}

/// The running processes; a node's slot is `None` while it is down.
pub struct Nodes {
    pub layout: Layout,
    namesrvs: Vec<Child>,
    brokers: BTreeMap<NodeId, Option<Child>>,
    /// How each broker that exited on its own went, kept for the final report.
    exits: BTreeMap<NodeId, String>,
}

fn spawn_in(ns: &str, program: &Path, args: &[&str], log: &Path) -> Result<Child, String> {
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let open = || {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))
    };
    let (out, err): (File, File) = (open()?, open()?);
    Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(program)
        .args(args)
        .env("RUST_LOG", "info,openraft=warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

impl Nodes {
    pub fn new(layout: Layout) -> Nodes {
        let brokers = layout.nodes().into_iter().map(|id| (id, None)).collect();
        Nodes {
            layout,
            namesrvs: Vec::new(),
            brokers,
            exits: BTreeMap::new(),
        }
    }

    pub fn start_namesrvs(&mut self) -> Result<(), String> {
        let program = self.layout.bin_dir.join("mqnamesrv");
        for port in NAMESRV_PORTS {
            let conf = self.layout.work_dir.join(format!("namesrv-{port}.conf"));
            fs::write(&conf, format!("listenPort={port}\n"))
                .map_err(|e| format!("{}: {e}", conf.display()))?;
            let log = self.layout.log(&format!("namesrv-{port}"));
            let conf = conf.to_string_lossy().into_owned();
            let child = spawn_in(&self.layout.net.namesrv.ns, &program, &["-c", &conf], &log)?;
            self.namesrvs.push(child);
        }
        Ok(())
    }

    /// Starts node `id` (its config written afresh); a node already running is left alone.
    pub fn start(&mut self, id: NodeId) -> Result<(), String> {
        if self.running(id) {
            return Ok(());
        }
        let conf = self.layout.work_dir.join(format!("{id}.conf"));
        fs::create_dir_all(self.layout.store(id))
            .and_then(|()| fs::write(&conf, self.layout.broker_conf(id)))
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        let program = self.layout.bin_dir.join("dledger-broker");
        let conf = conf.to_string_lossy().into_owned();
        let log = self.layout.log(&id.to_string());
        let child = spawn_in(&self.layout.host(id).ns, &program, &["-c", &conf], &log)?;
        self.brokers.insert(id, Some(child));
        Ok(())
    }

    /// Whether node `id`'s process is alive (a paused one is). Notes how one that exited went.
    pub fn running(&mut self, id: NodeId) -> bool {
        let Some(Some(child)) = self.brokers.get_mut(&id) else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                self.brokers.insert(id, None);
                let why = self.fatal_line(id).unwrap_or_else(|| self.log_tail(id, 3));
                self.exits.insert(id, format!("exited ({status}): {why}"));
                false
            }
            Err(_) => false,
        }
    }

    /// How node `id` last exited on its own, if it did.
    pub fn exit_reason(&self, id: NodeId) -> Option<&str> {
        self.exits.get(&id).map(String::as_str)
    }

    /// The last line the broker printed before exiting with an error (`dledger-broker: ...`).
    fn fatal_line(&self, id: NodeId) -> Option<String> {
        let text = fs::read_to_string(self.layout.log(&id.to_string())).ok()?;
        text.lines()
            .rev()
            .find(|l| l.starts_with("dledger-broker: "))
            .map(str::to_owned)
    }

    /// The last `lines` lines of node `id`'s log.
    pub fn log_tail(&self, id: NodeId, lines: usize) -> String {
        let text = fs::read_to_string(self.layout.log(&id.to_string())).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn pid(&self, id: NodeId) -> Option<u32> {
        self.brokers.get(&id)?.as_ref().map(Child::id)
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self, id: NodeId) {
        if let Some(Some(mut child)) = self.brokers.insert(id, None) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP.
    pub fn pause(&self, id: NodeId) {
        if let Some(pid) = self.pid(id) {
            signal(pid, "STOP");
        }
    }

    /// SIGCONT.
    pub fn resume(&self, id: NodeId) {
        if let Some(pid) = self.pid(id) {
            signal(pid, "CONT");
        }
    }

    /// SIGTERM, then waits up to `within` for the exit (killed after that); says how it went.
    pub async fn stop(&mut self, id: NodeId, within: Duration) -> String {
        let Some(pid) = self.pid(id) else {
            return "not running".to_owned();
        };
        signal(pid, "CONT");
        signal(pid, "TERM");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(Some(child)) = self.brokers.get_mut(&id)
                && let Ok(Some(status)) = child.try_wait()
            {
                self.brokers.insert(id, None);
                return format!("exited ({status})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill(id);
        format!("did not exit within {within:?} of SIGTERM; killed")
    }

    /// Resumes and kills everything (the end of a run).
    pub fn kill_all(&mut self) {
        let ids: Vec<NodeId> = self.brokers.keys().copied().collect();
        for id in ids {
            self.resume(id);
            self.kill(id);
        }
        for mut child in self.namesrvs.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.kill_all();
    }
}
