//! [`BrokerConfig`]: a `broker.conf` read into typed fields with RocketMQ's defaults, validated
//! as a whole. Either every key is valid and the config is returned, or the broker does not
//! start and every problem is listed (file, line, key), never half-configured.
//!
//! Owns the meaning of each broker key: its default, unit, range, aliases and derived values
//! (store paths follow `storePathRootDir`, `brokerIP2` follows `brokerIP1`, `dLegerGroup`
//! follows `brokerName`), and the DLedger cross-checks. The building itself lives in
//! `broker_build`. Never touches the store directories or the network (apart from
//! asking the kernel which local address is routed, for the `brokerIP1` default).
//!
//! # Values, and where we differ from Java
//!
//! | Case | Java (`MixAll.properties2Object`) | We |
//! | --- | --- | --- |
//! | unknown key, wrong case (`dledgerPeers`) | silently ignored | ignored, one warning listing every unknown key with its line and a "did you mean" |
//! | `mapedFileSizeCommitLog`, `mapedFileSizeConsumeQueue` | accepted until 4.5.2, silently ignored since | accepted as aliases with a warning; both spellings with different values is an error |
//! | trailing whitespace: `enableDLegerCommitLog=true ` | strings trimmed; numbers and booleans fail to parse and keep their default (`true ` is `false`!) | trimmed with a warning |
//! | inline comment: `listenPort=30911 # node0` | number fails to parse, default kept; string keeps the `# ...` text | number or boolean: error with a hint; string: kept whole, warning |
//! | `1024 * 1024 * 1024`, `yes` | parse failure swallowed, default kept | error |
//! | `flushDiskType=sync` | ignored, default kept | error listing the choices |
//! | duplicate key | last wins | last wins, warning |
//! | `diskMaxUsedSpaceRatio` outside 10..=95 | clamped when read | clamped, warning |
//! | `mappedFileSizeConsumeQueue` not a multiple of 20 | rounded up by the getter | rounded up, warning |
//! | `mappedFileSizeCommitLog` not a multiple of 4096 | accepted | error (segments are mmapped in pages) |
//! | `listenPort` < 3 | binds a negative fast-channel port | error |
//! | bad `namesrvAddr` entry | start aborted | error naming the entry |
//! | `dLegerPeers` without `id-`, bad `dLegerSelfId` | exception at start | error naming the entry |
//! | `brokerRole`, `brokerId` in DLedger mode | overridden silently | overridden, warning |
//! | `dLegerPeers`/`dLegerSelfId` without `enableDLegerCommitLog=true` | ignored | ignored, warning |
//! | `~/store` | a directory literally named `~` | same, warning |

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::addr::{HostPort, format_addr_list};
use super::delay_levels::DelayLevels;
use super::error::{ConfigError, ConfigWarning};
use super::host::HostFacts;
use super::peers::{DLegerPeer, format_peers};
use super::properties::{Property, format_properties, read_properties};

/// How the store makes appends durable (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: acknowledge after the write to the page cache; flush on a timer.
    AsyncFlush,
    /// `SYNC_FLUSH`: acknowledge after the flush to disk.
    SyncFlush,
}

impl FlushDiskType {
    /// The Java spelling, as written in `broker.conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "ASYNC_FLUSH" => Ok(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Ok(FlushDiskType::SyncFlush),
            _ => Err("is not one of ASYNC_FLUSH, SYNC_FLUSH".to_string()),
        }
    }
}

/// The role of a broker in master/slave mode (`brokerRole`). In DLedger mode the key is
/// ignored: the Raft leader acts as `SYNC_MASTER` and the other members as `SLAVE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrokerRole {
    /// `ASYNC_MASTER`: acknowledge before the slave has the message.
    AsyncMaster,
    /// `SYNC_MASTER`: acknowledge after the slave has the message.
    SyncMaster,
    /// `SLAVE`: replicate from the master; serve reads only with `slaveReadEnable`.
    Slave,
}

impl BrokerRole {
    /// The Java spelling, as written in `broker.conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            _ => Err("is not one of ASYNC_MASTER, SYNC_MASTER, SLAVE".to_string()),
        }
    }
}

/// A broker's configuration: every `broker.conf` key dledger-broker reads, with RocketMQ's
/// defaults. Field docs give the key, default and unit. Durations are `_ms` milliseconds (as
/// the keys are), sizes are bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `brokerClusterName`, default `DefaultCluster`: the cluster this group registers under.
    pub broker_cluster_name: String,
    /// `brokerName`, default the host name (from `/etc/hostname`; `broker-a` when there is
    /// none): the group name, the same on every member of a group.
    pub broker_name: String,
    /// `brokerId`, default 0 (0 master, > 0 slave). Ignored in DLedger mode, where the
    /// registered id follows the Raft role.
    pub broker_id: u64,
    /// `namesrvAddr`, default the `NAMESRV_ADDR` environment variable, else none:
    /// `host:port;host:port`. The `-n` flag overrides it ([`BrokerConfig::override_namesrv_addr`]).
    pub namesrv_addr: Vec<HostPort>,
    /// `brokerIP1`, default the local address the kernel routes outgoing traffic from
    /// (`127.0.0.1` without a route): the address advertised to clients.
    pub broker_ip1: String,
    /// `brokerIP2`, default `brokerIP1`: the address advertised for master/slave replication.
    pub broker_ip2: String,
    /// `listenPort`, default 10911: the client port. At least 3, since the fast (VIP) channel
    /// listens on `listenPort - 2`.
    pub listen_port: u16,
    /// `bindAddress` (our extension; Java binds every interface), default `0.0.0.0`.
    pub bind_address: IpAddr,
    /// `storePathRootDir`, default `$HOME/store`.
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog`, default `<storePathRootDir>/commitlog`.
    pub store_path_commit_log: PathBuf,
    /// `storePathConsumeQueue`, default `<storePathRootDir>/consumequeue`.
    pub store_path_consume_queue: PathBuf,
    /// `storePathIndex`, default `<storePathRootDir>/index`.
    pub store_path_index: PathBuf,
    /// `storeCheckpoint`, default `<storePathRootDir>/checkpoint`.
    pub store_checkpoint: PathBuf,
    /// `abortFile`, default `<storePathRootDir>/abort`: present while the broker runs, so a
    /// leftover one means the last stop was a crash.
    pub abort_file: PathBuf,
    /// `mappedFileSizeCommitLog` (old spelling `mapedFileSizeCommitLog`), default 1 GiB
    /// (1073741824 bytes): commitlog segment size; a multiple of 4096.
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue` (old spelling `mapedFileSizeConsumeQueue`), default
    /// 6000000 bytes (300000 units of 20 bytes), rounded up to a multiple of 20 as Java's getter
    /// does. The value is in **bytes**: the common comment "300000 entries" next to
    /// `mapedFileSizeConsumeQueue=300000` misreads it; 300000 bytes is 15000 units.
    pub mapped_file_size_consume_queue: u64,
    /// `maxHashSlotNum`, default 5000000: hash slots of each message-key index file.
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`, default 20000000: entries of each message-key index file (with the slots
    /// it sets the file's size: 40 + 4 x slots + 20 x entries bytes, about 420 MB by default).
    pub max_index_num: u32,
    /// `deleteWhen`, default `04`: the hours of day (0..=23, `;`-separated, e.g. `04;16`) at
    /// which expired files are deleted.
    pub delete_when: Vec<u8>,
    /// `fileReservedTime`, default 72 hours: how long commitlog files are kept.
    pub file_reserved_time_hours: u64,
    /// `diskMaxUsedSpaceRatio`, default 75 percent, clamped to 10..=95: above it expired files
    /// are deleted at once instead of waiting for `deleteWhen`.
    pub disk_max_used_space_ratio: u32,
    /// `diskSpaceWarningLevelRatio`, default 90 percent: above it the store refuses writes.
    pub disk_space_warning_level_ratio: u32,
    /// `diskSpaceCleanForciblyRatio`, default 85 percent: above it files are deleted even if
    /// not expired.
    pub disk_space_clean_forcibly_ratio: u32,
    /// `maxMessageSize`, default 4 MiB (4194304 bytes): the largest message body accepted.
    pub max_message_size: u64,
    /// `messageDelayLevel`, default `1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h
    /// 2h`: the delay of each delay level (scheduled messages and consumer retries).
    pub message_delay_level: DelayLevels,
    /// `flushDiskType`, default `ASYNC_FLUSH`.
    pub flush_disk_type: FlushDiskType,
    /// `brokerRole`, default `ASYNC_MASTER`; overridden in DLedger mode (see [`BrokerRole`]).
    pub broker_role: BrokerRole,
    /// `enableDLegerCommitLog`, default false: replicate the commitlog with Raft (DLedger mode).
    pub enable_dleger_commit_log: bool,
    /// `dLegerGroup`, default `brokerName`: the Raft group name.
    pub dleger_group: String,
    /// `dLegerPeers`, default none: the group's members; required in DLedger mode.
    pub dleger_peers: Vec<DLegerPeer>,
    /// `dLegerSelfId`, default none: this member's id, one of `dLegerPeers`; required in
    /// DLedger mode.
    pub dleger_self_id: Option<String>,
    /// `dLegerPeerSecret` (our extension), default none: a secret shared by the group's members;
    /// with it every raft peer connection proves it both ways (HMAC-SHA256 challenge) before a
    /// raft message is accepted. Never printed (`-p` and GET_BROKER_CONFIG leave it out).
    pub dleger_peer_secret: Option<String>,
    /// `preferredLeaderId`, default none: leadership is handed to this member when it has
    /// caught up.
    pub preferred_leader_id: Option<String>,
    /// `enableBatchPush`, default false: replicate entries to followers in batches.
    pub enable_batch_push: bool,
    /// `sendMessageThreadPoolNums`, default min(cores, 4): threads handling sends.
    pub send_message_thread_pool_nums: u32,
    /// `pullMessageThreadPoolNums`, default 16 + 2 × cores: threads handling pulls.
    pub pull_message_thread_pool_nums: u32,
    /// `defaultTopicQueueNums`, default 8: queues of an auto-created topic.
    pub default_topic_queue_nums: u32,
    /// `autoCreateTopicEnable`, default true: create a topic on its first send.
    pub auto_create_topic_enable: bool,
    /// `serverMaxConnections` (this broker's key), default 0: connections each client
    /// listener serves at once; 0 is a quarter of the open-file limit, within 64..=16384. One
    /// past it is closed at once and said in the log.
    pub server_max_connections: usize,
    /// `serverChannelMaxIdleTimeSeconds`, default 120 (Java's): a client connection with no
    /// bytes for this long is closed.
    pub server_channel_max_idle_time_seconds: u64,
    /// `autoCreateSubscriptionGroup`, default true: create a group on its first pull.
    pub auto_create_subscription_group: bool,
    /// `storeReplyMessageEnable`, default true: a reply (SEND_REPLY_MESSAGE) is stored in the
    /// reply topic as well as pushed to the requester.
    pub store_reply_message_enable: bool,
    /// `traceTopicEnable`, default false: the broker has the message-trace topic from its start.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName`, default `RMQ_SYS_TRACE_TOPIC`: the message-trace topic.
    pub msg_trace_topic_name: String,
    /// `aclEnable`, default false: every client request is checked against the plain ACL of
    /// [`Self::acl_config_file`] (RocketMQ 4.9's `plain_acl.yml`).
    pub acl_enable: bool,
    /// `aclConfigFile`, default `plain_acl.yml` in the directory of the broker's config file
    /// (a relative path is taken from that directory too); re-read when it changes.
    pub acl_config_file: PathBuf,
    /// `slaveReadEnable`, default false: followers serve reads.
    pub slave_read_enable: bool,
    /// `enablePropertyFilter`, default false (as Java's): serve SQL92 subscriptions, which
    /// filter on message properties; when false they are refused with SYSTEM_ERROR.
    pub enable_property_filter: bool,
    /// `brokerPermission`, default 6 (read 4 + write 2; inherit is 1, priority 8).
    pub broker_permission: i32,
    /// `registerNameServerPeriod`, default 30000 ms: how often the broker re-registers.
    pub register_name_server_period_ms: u64,
    /// `useReentrantLockWhenPutMessage`, default false: accepted for compatibility and has no
    /// effect here (appends are serialized by the raft layer, not by a lock choice).
    pub use_reentrant_lock_when_put_message: bool,
    /// `flushIntervalCommitLog`, default 500 ms: asynchronous commitlog flush period.
    pub flush_interval_commit_log_ms: u64,
    /// `flushIntervalConsumeQueue`, default 1000 ms: consume-queue flush period.
    pub flush_interval_consume_queue_ms: u64,
    /// `flushCommitLogLeastPages`, default 4 pages: a periodic commitlog flush waits for this
    /// many dirty 4 KiB pages.
    pub flush_commit_log_least_pages: u32,
    /// `flushConsumeQueueLeastPages`, default 2 pages: same for consume queues.
    pub flush_consume_queue_least_pages: u32,
    /// `flushCommitLogThoroughInterval`, default 10000 ms: flush everything at least this often.
    pub flush_commit_log_thorough_interval_ms: u64,
    /// `flushConsumeQueueThoroughInterval`, default 60000 ms: same for consume queues.
    pub flush_consume_queue_thorough_interval_ms: u64,
    /// `heartBeatTimeIntervalMs` (DLedger's name; our extension as a broker key), default 50 ms:
    /// how often the leader heartbeats its followers. DLedger's default is 2000 ms. Our defaults
    /// give a median failover of about 0.7 s on loopback (BENCHMARKS.md, `cargo bench --bench raft`).
    pub heart_beat_time_interval_ms: u64,
    /// `maxHeartBeatLeak`, default 4: a follower campaigns after this many missed heartbeats
    /// (election timeout min = `heartBeatTimeIntervalMs` × `maxHeartBeatLeak` = 200 ms).
    pub max_heart_beat_leak: u64,
    /// `maxVoteIntervalMs`, default 200 ms: the random spread added to the election timeout
    /// (max = min + this = 400 ms), which is also the leader lease. DLedger's default is 1000 ms.
    pub max_vote_interval_ms: u64,
    /// `maxWaitAckTimeMs`, default 2500 ms (DLedger's): how long a send waits for its entry to
    /// commit before it is answered `SYSTEM_ERROR`.
    pub max_wait_ack_time_ms: u64,
    /// `transactionTimeOut`, default 6000 ms (Java's): a half message younger than this (from
    /// its birth) is not checked yet, unless its `CHECK_IMMUNITY_TIME_IN_SECONDS` says otherwise.
    pub transaction_time_out_ms: u64,
    /// `transactionCheckMax`, default 15 (Java's): checks of one half message before it is
    /// discarded to `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub transaction_check_max: u32,
    /// `transactionCheckInterval`, default 60000 ms (Java's): how often the leader looks for
    /// half messages to check.
    pub transaction_check_interval_ms: u64,
    /// `rejectTransactionMessage`, default false: refuse half messages with NO_PERMISSION.
    pub reject_transaction_message: bool,
}

impl BrokerConfig {
    /// Election timeout lower bound: `heartBeatTimeIntervalMs` × `maxHeartBeatLeak`.
    pub fn election_timeout_min_ms(&self) -> u64 {
        self.heart_beat_time_interval_ms
            .saturating_mul(self.max_heart_beat_leak)
    }

    /// Election timeout upper bound (and leader lease): the lower bound + `maxVoteIntervalMs`.
    pub fn election_timeout_max_ms(&self) -> u64 {
        self.election_timeout_min_ms()
            .saturating_add(self.max_vote_interval_ms)
    }

    /// Reads and validates `path`. Returns the config with the warnings to log, or every problem.
    pub fn load(path: impl AsRef<Path>) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let entries = read_properties(path.as_ref())?;
        Self::from_properties(&entries)
    }

    /// Builds and validates a config from parsed entries (defaults from this machine).
    pub fn from_properties(
        entries: &[Property],
    ) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        Self::build(entries, &HostFacts::detect())
    }

    /// The `-n` flag: replaces `namesrvAddr` after checking every entry.
    pub fn override_namesrv_addr(&mut self, addrs: &str) -> Result<(), ConfigError> {
        self.namesrv_addr = super::broker_build::parse_namesrv_override(addrs)?;
        Ok(())
    }

    /// Whether this broker runs in DLedger mode (`enableDLegerCommitLog=true`).
    pub fn dleger_enabled(&self) -> bool {
        self.enable_dleger_commit_log
    }

    /// The members of the DLedger group (empty outside DLedger mode).
    pub fn peers(&self) -> &[DLegerPeer] {
        &self.dleger_peers
    }

    /// This member of the DLedger group; always `Some` in a validated DLedger-mode config.
    pub fn self_peer(&self) -> Option<&DLegerPeer> {
        let id = self.dleger_self_id.as_deref()?;
        self.dleger_peers.iter().find(|peer| peer.id == id)
    }

    /// The fast (VIP) channel port: `listenPort - 2`.
    pub fn fast_listen_port(&self) -> u16 {
        self.listen_port.saturating_sub(2)
    }

    /// Every key with its effective value, in a stable order: what `mqbroker -p` prints.
    /// Optional keys that are unset print as `key=`; reading the output back gives this config.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let path = |p: &PathBuf| p.display().to_string();
        let hours: Vec<String> = self.delete_when.iter().map(|h| format!("{h:02}")).collect();
        vec![
            ("brokerClusterName", self.broker_cluster_name.clone()),
            ("brokerName", self.broker_name.clone()),
            ("brokerId", self.broker_id.to_string()),
            ("namesrvAddr", format_addr_list(&self.namesrv_addr)),
            ("brokerIP1", self.broker_ip1.clone()),
            ("brokerIP2", self.broker_ip2.clone()),
            ("listenPort", self.listen_port.to_string()),
            ("bindAddress", self.bind_address.to_string()),
            ("storePathRootDir", path(&self.store_path_root_dir)),
            ("storePathCommitLog", path(&self.store_path_commit_log)),
            (
                "storePathConsumeQueue",
                path(&self.store_path_consume_queue),
            ),
            ("storePathIndex", path(&self.store_path_index)),
            ("storeCheckpoint", path(&self.store_checkpoint)),
            ("abortFile", path(&self.abort_file)),
            (
                "mappedFileSizeCommitLog",
                self.mapped_file_size_commit_log.to_string(),
            ),
            (
                "mappedFileSizeConsumeQueue",
                self.mapped_file_size_consume_queue.to_string(),
            ),
            ("maxHashSlotNum", self.max_hash_slot_num.to_string()),
            ("maxIndexNum", self.max_index_num.to_string()),
            ("deleteWhen", hours.join(";")),
            (
                "fileReservedTime",
                self.file_reserved_time_hours.to_string(),
            ),
            (
                "diskMaxUsedSpaceRatio",
                self.disk_max_used_space_ratio.to_string(),
            ),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio.to_string(),
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio.to_string(),
            ),
            ("maxMessageSize", self.max_message_size.to_string()),
            (
                "messageDelayLevel",
                self.message_delay_level.to_config_value(),
            ),
            ("flushDiskType", self.flush_disk_type.as_str().to_string()),
            ("brokerRole", self.broker_role.as_str().to_string()),
            (
                "enableDLegerCommitLog",
                self.enable_dleger_commit_log.to_string(),
            ),
            ("dLegerGroup", self.dleger_group.clone()),
            ("dLegerPeers", format_peers(&self.dleger_peers)),
            (
                "dLegerSelfId",
                self.dleger_self_id.clone().unwrap_or_default(),
            ),
            (
                "preferredLeaderId",
                self.preferred_leader_id.clone().unwrap_or_default(),
            ),
            ("enableBatchPush", self.enable_batch_push.to_string()),
            (
                "sendMessageThreadPoolNums",
                self.send_message_thread_pool_nums.to_string(),
            ),
            (
                "pullMessageThreadPoolNums",
                self.pull_message_thread_pool_nums.to_string(),
            ),
            (
                "defaultTopicQueueNums",
                self.default_topic_queue_nums.to_string(),
            ),
            (
                "autoCreateTopicEnable",
                self.auto_create_topic_enable.to_string(),
            ),
            (
                "serverMaxConnections",
                self.server_max_connections.to_string(),
            ),
            (
                "serverChannelMaxIdleTimeSeconds",
                self.server_channel_max_idle_time_seconds.to_string(),
            ),
            (
                "autoCreateSubscriptionGroup",
                self.auto_create_subscription_group.to_string(),
            ),
            (
                "storeReplyMessageEnable",
                self.store_reply_message_enable.to_string(),
            ),
            ("traceTopicEnable", self.trace_topic_enable.to_string()),
            ("msgTraceTopicName", self.msg_trace_topic_name.clone()),
            ("aclEnable", self.acl_enable.to_string()),
            ("slaveReadEnable", self.slave_read_enable.to_string()),
            (
                "enablePropertyFilter",
                self.enable_property_filter.to_string(),
            ),
            ("brokerPermission", self.broker_permission.to_string()),
            (
                "registerNameServerPeriod",
                self.register_name_server_period_ms.to_string(),
            ),
            (
                "heartBeatTimeIntervalMs",
                self.heart_beat_time_interval_ms.to_string(),
            ),
            ("maxHeartBeatLeak", self.max_heart_beat_leak.to_string()),
            ("maxVoteIntervalMs", self.max_vote_interval_ms.to_string()),
            ("maxWaitAckTimeMs", self.max_wait_ack_time_ms.to_string()),
            (
                "transactionTimeOut",
                self.transaction_time_out_ms.to_string(),
            ),
            (
                "transactionCheckMax",
                self.transaction_check_max.to_string(),
            ),
            (
                "transactionCheckInterval",
                self.transaction_check_interval_ms.to_string(),
            ),
            (
                "rejectTransactionMessage",
                self.reject_transaction_message.to_string(),
            ),
            (
                "useReentrantLockWhenPutMessage",
                self.use_reentrant_lock_when_put_message.to_string(),
            ),
            (
                "flushIntervalCommitLog",
                self.flush_interval_commit_log_ms.to_string(),
            ),
            (
                "flushIntervalConsumeQueue",
                self.flush_interval_consume_queue_ms.to_string(),
            ),
            (
                "flushCommitLogLeastPages",
                self.flush_commit_log_least_pages.to_string(),
            ),
            (
                "flushConsumeQueueLeastPages",
                self.flush_consume_queue_least_pages.to_string(),
            ),
            (
                "flushCommitLogThoroughInterval",
                self.flush_commit_log_thorough_interval_ms.to_string(),
            ),
            (
                "flushConsumeQueueThoroughInterval",
                self.flush_consume_queue_thorough_interval_ms.to_string(),
            ),
        ]
    }
}

impl fmt::Display for BrokerConfig {
    /// The effective config as `key=value` lines ([`BrokerConfig::to_properties`]), escaped so
    /// the output is itself a valid `broker.conf`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_properties(&self.to_properties()))
    }
}
