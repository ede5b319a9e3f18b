//! Building a [`BrokerConfig`] from parsed entries: every key read with its default, derived
//! values filled in, then the checks that involve more than one key (DLedger mode, ports).
//!
//! Kept apart from [`super::broker`] so that the type and its documented fields read on their
//! own. Every problem is recorded and building carries on, so one run reports them all.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use super::addr::{HostPort, parse_addr_list};
use super::broker::{BrokerConfig, BrokerRole, FlushDiskType};
use super::delay_levels::DelayLevels;
use super::error::{ConfigError, ConfigProblem, ConfigWarning, Origin};
use super::fields::{Fields, parse_int};
use super::host::HostFacts;
use super::peers::{DLegerPeer, parse_peer_id, parse_peers};
use super::properties::Property;

const GIB: u64 = 1024 * 1024 * 1024;
/// Size of one consume-queue unit: commitlog offset (8), size (4), tag hash (8).
const CQ_UNIT: u64 = 20;
const PAGE: u64 = 4096;
/// What a commitlog record adds to a message body at most: the record header, the stored
/// message's fixed fields, a topic of up to 127 bytes and properties of up to 32767 bytes
/// (33,050 bytes), rounded up.
const RECORD_HEADROOM: u64 = 33 * 1024;

/// `aclConfigFile` resolved against the directory of the config file (which is also where the
/// default, `plain_acl.yml`, is looked for).
fn acl_config_file(entries: &[Property], configured: Option<PathBuf>) -> PathBuf {
    let dir = entries
        .first()
        .and_then(|e| e.file.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    dir.join(configured.unwrap_or_else(|| PathBuf::from("plain_acl.yml")))
}

impl BrokerConfig {
    /// [`BrokerConfig::from_properties`] with the machine's facts given (tests pass fixed ones).
    pub(crate) fn build(
        entries: &[Property],
        host: &HostFacts,
    ) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let mut f = Fields::new(entries);

        let broker_cluster_name = name(&mut f, "brokerClusterName", "DefaultCluster");
        let broker_name = name(&mut f, "brokerName", &host.hostname);
        let broker_id = f.int("brokerId", 0u64);
        let namesrv_addr = match f.get("namesrvAddr") {
            Some(entry) => f.parse_with(entry, parse_addr_list).unwrap_or_default(),
            None => match host.namesrv_addr_env.as_deref() {
                Some(env) => parse_addr_list(env.trim()).unwrap_or_else(|message| {
                    f.problem(
                        Origin::Env("NAMESRV_ADDR"),
                        "namesrvAddr",
                        format!("{env:?} {message}"),
                    );
                    Vec::new()
                }),
                None => Vec::new(),
            },
        };
        let broker_ip1 = address_text(&mut f, "brokerIP1").unwrap_or_else(|| host.ip.clone());
        let broker_ip2 = address_text(&mut f, "brokerIP2").unwrap_or_else(|| broker_ip1.clone());
        let listen_port = f.value_of("listenPort", 10911, |v| {
            let port: u16 = parse_int(v)?;
            if port < 3 {
                return Err("is too small: the fast channel listens on listenPort - 2, so it must be at least 3".to_string());
            }
            Ok(port)
        });
        let bind_address = f.value_of("bindAddress", IpAddr::V4(Ipv4Addr::UNSPECIFIED), |v| {
            v.parse().map_err(|_| "is not an IP address".to_string())
        });

        let root = path(&mut f, "storePathRootDir").unwrap_or_else(|| host.home.join("store"));
        let store_path_commit_log =
            path(&mut f, "storePathCommitLog").unwrap_or_else(|| root.join("commitlog"));
        let store_path_consume_queue =
            path(&mut f, "storePathConsumeQueue").unwrap_or_else(|| root.join("consumequeue"));
        let store_path_index = path(&mut f, "storePathIndex").unwrap_or_else(|| root.join("index"));
        let store_checkpoint =
            path(&mut f, "storeCheckpoint").unwrap_or_else(|| root.join("checkpoint"));
        let abort_file = path(&mut f, "abortFile").unwrap_or_else(|| root.join("abort"));

        let mapped_file_size_commit_log = match f
            .get_aliased("mappedFileSizeCommitLog", "mapedFileSizeCommitLog")
        {
            Some(entry) => f
                .parse_with(entry, |v| {
                    let size: u64 = parse_int(v)?;
                    if size == 0 || !size.is_multiple_of(PAGE) {
                        return Err(format!(
                            "is not a positive multiple of {PAGE} (segments are mapped in pages)"
                        ));
                    }
                    Ok(size)
                })
                .unwrap_or(GIB),
            None => GIB,
        };
        let mapped_file_size_consume_queue =
            match f.get_aliased("mappedFileSizeConsumeQueue", "mapedFileSizeConsumeQueue") {
                Some(entry) => {
                    let bytes = f
                        .parse_with(entry, |v| match parse_int::<u32>(v)? {
                            0 => Err("must be positive (bytes; one unit is 20 bytes)".to_string()),
                            bytes => Ok(u64::from(bytes)),
                        })
                        .unwrap_or(300_000 * CQ_UNIT);
                    let rounded = bytes.div_ceil(CQ_UNIT).saturating_mul(CQ_UNIT);
                    if rounded != bytes {
                        f.warn(
                        entry.origin(),
                        &entry.key,
                        format!(
                            "{bytes} bytes rounded up to {rounded}, a whole number of 20-byte units"
                        ),
                    );
                    }
                    rounded
                }
                None => 300_000 * CQ_UNIT,
            };
        let max_hash_slot_num = f.value_of("maxHashSlotNum", 5_000_000u32, positive);
        let max_index_num = f.value_of("maxIndexNum", 20_000_000u32, positive);
        let delete_when = f.value_of("deleteWhen", vec![4], parse_hours);
        let file_reserved_time_hours = f.int("fileReservedTime", 72u64);
        let disk_max_used_space_ratio = {
            let ratio = f.value_of("diskMaxUsedSpaceRatio", 75u32, percent);
            let clamped = ratio.clamp(10, 95);
            if let (true, Some(origin)) = (clamped != ratio, f.origin_of("diskMaxUsedSpaceRatio")) {
                let message = format!("{ratio} clamped to {clamped} (RocketMQ allows 10..=95)");
                f.warn(origin, "diskMaxUsedSpaceRatio", message);
            }
            clamped
        };
        let disk_space_warning_level_ratio = f.value_of("diskSpaceWarningLevelRatio", 90, percent);
        let disk_space_clean_forcibly_ratio =
            f.value_of("diskSpaceCleanForciblyRatio", 85, percent);
        let max_message_size: u64 = f.value_of("maxMessageSize", 4 * 1024 * 1024, positive);
        let largest_record = max_message_size.saturating_add(RECORD_HEADROOM);
        if mapped_file_size_commit_log < largest_record {
            let at = f
                .origin_of("mappedFileSizeCommitLog")
                .or_else(|| f.origin_of("mapedFileSizeCommitLog"))
                .map(|o| (o, "mappedFileSizeCommitLog"))
                .or_else(|| f.origin_of("maxMessageSize").map(|o| (o, "maxMessageSize")));
            if let Some((origin, key)) = at {
                let message = format!(
                    "a commitlog segment of {mapped_file_size_commit_log} bytes cannot hold the \
                     largest message maxMessageSize={max_message_size} allows (a record needs up \
                     to {largest_record} bytes and never crosses a segment end): raise \
                     mappedFileSizeCommitLog or lower maxMessageSize"
                );
                f.problem(origin, key, message);
            }
        }
        let message_delay_level = f.value_of(
            "messageDelayLevel",
            DelayLevels::default(),
            DelayLevels::parse,
        );
        let flush_disk_type = f.value_of(
            "flushDiskType",
            FlushDiskType::AsyncFlush,
            FlushDiskType::parse,
        );
        let broker_role = f.value_of("brokerRole", BrokerRole::AsyncMaster, BrokerRole::parse);

        let enable_dleger_commit_log = f.boolean("enableDLegerCommitLog", false);
        let dleger_group = name(&mut f, "dLegerGroup", &broker_name);
        let peers_entry = f.get("dLegerPeers");
        let dleger_peers = peers_entry.and_then(|entry| f.parse_with(entry, parse_peers));
        let self_entry = f.get("dLegerSelfId");
        // Outer None: unset; Some(None): invalid (reported); Some(Some(None)): empty.
        let self_parsed = self_entry.map(|entry| f.parse_with(entry, optional_id));
        let self_missing = matches!(self_parsed, None | Some(Some(None)));
        let dleger_self_id = self_parsed.flatten().flatten();
        let leader_entry = f.get("preferredLeaderId");
        let preferred_leader_id = leader_entry
            .and_then(|entry| f.parse_with(entry, optional_id))
            .flatten();
        let enable_batch_push = f.boolean("enableBatchPush", false);

        let send_message_thread_pool_nums = f.value_of(
            "sendMessageThreadPoolNums",
            host.cores.clamp(1, 4),
            positive,
        );
        let pull_message_thread_pool_nums = f.value_of(
            "pullMessageThreadPoolNums",
            host.cores.saturating_mul(2).saturating_add(16),
            positive,
        );
        let default_topic_queue_nums = f.value_of("defaultTopicQueueNums", 8, positive);
        let auto_create_topic_enable = f.boolean("autoCreateTopicEnable", true);
        let server_max_connections = f.int("serverMaxConnections", 0usize);
        let server_channel_max_idle_time_seconds =
            f.value_of("serverChannelMaxIdleTimeSeconds", 120u64, positive);
        let auto_create_subscription_group = f.boolean("autoCreateSubscriptionGroup", true);
        let slave_read_enable = f.boolean("slaveReadEnable", false);
        let store_reply_message_enable = f.boolean("storeReplyMessageEnable", true);
        let trace_topic_enable = f.boolean("traceTopicEnable", false);
        let msg_trace_topic_name = name(&mut f, "msgTraceTopicName", "RMQ_SYS_TRACE_TOPIC");
        let acl_enable = f.boolean("aclEnable", false);
        let dleger_peer_secret = f
            .text("dLegerPeerSecret")
            .map(|(secret, _)| secret)
            .filter(|secret| !secret.is_empty());
        let acl_config_file = acl_config_file(entries, path(&mut f, "aclConfigFile"));
        let enable_property_filter = f.boolean("enablePropertyFilter", false);
        let broker_permission = f.value_of("brokerPermission", 6, |v| match parse_int::<u32>(v)? {
            perm @ 0..=15 => Ok(perm as i32),
            _ => Err(
                "is not a permission (bits: 8 priority, 4 read, 2 write, 1 inherit)".to_string(),
            ),
        });
        let register_name_server_period_ms =
            f.value_of("registerNameServerPeriod", 30_000, positive);
        let use_reentrant_lock_when_put_message =
            f.boolean("useReentrantLockWhenPutMessage", false);
        let flush_interval_commit_log_ms = f.value_of("flushIntervalCommitLog", 500, positive);
        let flush_interval_consume_queue_ms =
            f.value_of("flushIntervalConsumeQueue", 1000, positive);
        let flush_commit_log_least_pages = f.int("flushCommitLogLeastPages", 4);
        let flush_consume_queue_least_pages = f.int("flushConsumeQueueLeastPages", 2);
        let flush_commit_log_thorough_interval_ms =
            f.value_of("flushCommitLogThoroughInterval", 10_000, positive);
        let flush_consume_queue_thorough_interval_ms =
            f.value_of("flushConsumeQueueThoroughInterval", 60_000, positive);
        let heart_beat_time_interval_ms = f.value_of("heartBeatTimeIntervalMs", 50, |v| {
            match parse_int::<u64>(v)? {
                ms @ 10.. => Ok(ms),
                _ => Err("must be at least 10 ms".to_string()),
            }
        });
        let max_heart_beat_leak =
            f.value_of("maxHeartBeatLeak", 4, |v| match parse_int::<u64>(v)? {
                n @ 2.. => Ok(n),
                _ => Err(
                    "must be at least 2 (the election timeout must exceed a heartbeat)".to_string(),
                ),
            });
        let max_vote_interval_ms = f.value_of("maxVoteIntervalMs", 200, positive);
        let max_wait_ack_time_ms = f.value_of("maxWaitAckTimeMs", 2500, positive);
        let transaction_time_out_ms = f.int("transactionTimeOut", 6000u64);
        let transaction_check_max = f.int("transactionCheckMax", 15u32);
        let transaction_check_interval_ms =
            f.value_of("transactionCheckInterval", 60_000, positive);
        let reject_transaction_message = f.boolean("rejectTransactionMessage", false);

        // DLedger cross-checks: the member list and our place in it.
        let dleger = DLegerKeys {
            peers: dleger_peers.as_deref(),
            peers_origin: peers_entry.map(Property::origin),
            self_id: dleger_self_id.as_deref(),
            self_missing,
            self_origin: self_entry.map(Property::origin),
            leader_id: preferred_leader_id.as_deref(),
            leader_origin: leader_entry.map(Property::origin),
        };
        if enable_dleger_commit_log {
            check_dleger(&mut f, &dleger, listen_port);
        } else {
            for (key, origin) in [
                ("dLegerPeers", &dleger.peers_origin),
                ("dLegerSelfId", &dleger.self_origin),
            ] {
                if let Some(origin) = origin.clone() {
                    f.warn(
                        origin,
                        key,
                        "ignored: enableDLegerCommitLog is not true".to_string(),
                    );
                }
            }
        }

        let warnings = f.finish()?;
        let config = BrokerConfig {
            broker_cluster_name,
            broker_name,
            broker_id,
            namesrv_addr,
            broker_ip1,
            broker_ip2,
            listen_port,
            bind_address,
            store_path_root_dir: root,
            store_path_commit_log,
            store_path_consume_queue,
            store_path_index,
            store_checkpoint,
            abort_file,
            mapped_file_size_commit_log,
            mapped_file_size_consume_queue,
            max_hash_slot_num,
            max_index_num,
            delete_when,
            file_reserved_time_hours,
            disk_max_used_space_ratio,
            disk_space_warning_level_ratio,
            disk_space_clean_forcibly_ratio,
            max_message_size,
            message_delay_level,
            flush_disk_type,
            broker_role,
            enable_dleger_commit_log,
            dleger_group,
            dleger_peers: dleger_peers.unwrap_or_default(),
            dleger_self_id,
            dleger_peer_secret,
            preferred_leader_id,
            enable_batch_push,
            send_message_thread_pool_nums,
            pull_message_thread_pool_nums,
            default_topic_queue_nums,
            auto_create_topic_enable,
            server_max_connections,
            server_channel_max_idle_time_seconds,
            auto_create_subscription_group,
            slave_read_enable,
            store_reply_message_enable,
            trace_topic_enable,
            msg_trace_topic_name,
            acl_enable,
            acl_config_file,
            enable_property_filter,
            broker_permission,
            register_name_server_period_ms,
            use_reentrant_lock_when_put_message,
            flush_interval_commit_log_ms,
            flush_interval_consume_queue_ms,
            flush_commit_log_least_pages,
            flush_consume_queue_least_pages,
            flush_commit_log_thorough_interval_ms,
            flush_consume_queue_thorough_interval_ms,
            heart_beat_time_interval_ms,
            max_heart_beat_leak,
            max_vote_interval_ms,
            max_wait_ack_time_ms,
            transaction_time_out_ms,
            transaction_check_max,
            transaction_check_interval_ms,
            reject_transaction_message,
        };
        Ok((config, warnings))
    }
}

/// The DLedger keys as read, with where each was set (`None` origin: not in the file; `None`
/// peers: unset or invalid, already reported).
struct DLegerKeys<'a> {
    peers: Option<&'a [DLegerPeer]>,
    peers_origin: Option<Origin>,
    self_id: Option<&'a str>,
    /// Unset or empty (not merely invalid, which is already reported).
    self_missing: bool,
    self_origin: Option<Origin>,
    leader_id: Option<&'a str>,
    leader_origin: Option<Origin>,
}

fn check_dleger(f: &mut Fields<'_>, keys: &DLegerKeys<'_>, listen_port: u16) {
    // enableDLegerCommitLog defaults to false, so when it is on, the file set it.
    let Some(enabled_at) = f.origin_of("enableDLegerCommitLog") else {
        return;
    };
    for (key, why) in [
        (
            "brokerRole",
            "overridden: the Raft leader acts as SYNC_MASTER, the others as SLAVE",
        ),
        (
            "brokerId",
            "overridden: the registered id follows the Raft role",
        ),
    ] {
        if let Some(at) = f.origin_of(key) {
            f.warn(at, key, format!("ignored in DLedger mode ({why})"));
        }
    }
    let required = "is required when enableDLegerCommitLog=true".to_string();
    if keys.peers_origin.is_none() || keys.peers.is_some_and(<[DLegerPeer]>::is_empty) {
        let at = keys
            .peers_origin
            .clone()
            .unwrap_or_else(|| enabled_at.clone());
        f.problem(at, "dLegerPeers", required.clone());
    }
    if keys.self_missing {
        let at = keys
            .self_origin
            .clone()
            .unwrap_or_else(|| enabled_at.clone());
        f.problem(at, "dLegerSelfId", required);
    }
    let Some(peers) = keys.peers.filter(|peers| !peers.is_empty()) else {
        return;
    };
    let ids = || {
        peers
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let (Some(id), Some(at)) = (keys.self_id, keys.self_origin.clone()) {
        match peers.iter().find(|p| p.id == id) {
            None => f.problem(
                at,
                "dLegerSelfId",
                format!("{id:?} is not one of the dLegerPeers ids ({})", ids()),
            ),
            Some(me) if me.port == listen_port || me.port == listen_port.saturating_sub(2) => {
                let at = keys.peers_origin.clone().unwrap_or(at);
                let message = format!(
                    "port {} of {id} collides with listenPort {listen_port} or its fast channel",
                    me.port
                );
                f.problem(at, "dLegerPeers", message);
            }
            Some(_) => {}
        }
    }
    if let (Some(id), Some(at)) = (keys.leader_id, keys.leader_origin.clone())
        && !peers.iter().any(|p| p.id == id)
    {
        f.problem(
            at,
            "preferredLeaderId",
            format!("{id:?} is not one of the dLegerPeers ids ({})", ids()),
        );
    }
}

/// A name that must not be empty (cluster, broker, group), or `default` when unset.
fn name(f: &mut Fields<'_>, key: &'static str, default: &str) -> String {
    match f.text(key) {
        Some((value, entry)) if value.is_empty() => {
            f.problem(entry.origin(), key, "must not be empty".to_string());
            default.to_string()
        }
        Some((value, _)) => value,
        None => default.to_string(),
    }
}

/// An advertised address; `None` (use the default) when unset or empty.
fn address_text(f: &mut Fields<'_>, key: &'static str) -> Option<String> {
    let entry = f.get(key)?;
    let value = f.parse_with(entry, |v| {
        if v.chars().any(char::is_whitespace) {
            return Err("is not an address (it contains whitespace)".to_string());
        }
        Ok(v.to_string())
    })?;
    (!value.is_empty()).then_some(value)
}

/// A directory or file path; `None` when unset or empty.
fn path(f: &mut Fields<'_>, key: &'static str) -> Option<PathBuf> {
    let (value, entry) = f.text(key)?;
    if value.starts_with('~') {
        f.warn(
            entry.origin(),
            key,
            format!("{value:?}: ~ is not expanded; this names a directory called ~"),
        );
    }
    (!value.is_empty()).then(|| PathBuf::from(value))
}

fn percent(value: &str) -> Result<u32, String> {
    match parse_int::<u32>(value)? {
        ratio @ 0..=100 => Ok(ratio),
        _ => Err("is not a percentage (0..=100)".to_string()),
    }
}

fn positive<T: TryFrom<i128> + Default + PartialEq>(value: &str) -> Result<T, String> {
    let n: T = parse_int(value)?;
    if n == T::default() {
        return Err("must be greater than 0".to_string());
    }
    Ok(n)
}

/// `deleteWhen`: hours 0..=23 separated by `;`.
fn parse_hours(value: &str) -> Result<Vec<u8>, String> {
    let hours = value
        .split(';')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| match parse_int::<u8>(item) {
            Ok(hour @ 0..=23) => Ok(hour),
            _ => Err(format!(
                "is not a list of hours 0..=23 separated by ';' ({item:?})"
            )),
        })
        .collect::<Result<Vec<u8>, String>>()?;
    if hours.is_empty() {
        return Err("lists no hour (expected e.g. 04 or 04;16)".to_string());
    }
    Ok(hours)
}

/// An optional peer id (`dLegerSelfId`, `preferredLeaderId`): empty is unset.
fn optional_id(value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_peer_id(value).map_err(|message| format!("is not a peer id: {message}"))?;
    Ok(Some(value.to_string()))
}

/// The `-n` flag's value, checked like `namesrvAddr`.
pub(crate) fn parse_namesrv_override(addrs: &str) -> Result<Vec<HostPort>, ConfigError> {
    parse_addr_list(addrs.trim()).map_err(|message| ConfigError::Invalid {
        problems: vec![ConfigProblem {
            origin: Origin::Flag("-n"),
            key: "namesrvAddr".to_string(),
            message: format!("{addrs:?} {message}"),
        }],
        warnings: Vec::new(),
    })
}
