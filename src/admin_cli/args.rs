//! `mqadmin`'s command line: the subcommands and their flags (clap derive, RocketMQ's short
//! flags), subcommand names matched in any letter case, and the nameserver list taken from
//! `-n` or `NAMESRV_ADDR`.

use clap::{ArgGroup, Args, CommandFactory, Parser, Subcommand};

use super::CliError;

/// `mqadmin <subcommand> [options]`.
#[derive(Parser, Debug)]
#[command(
    name = "mqadmin",
    version,
    about = "RocketMQ-style admin tool for dledger-broker clusters"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// `--accessKey` / `--secretKey`, taken by every subcommand.
    #[command(flatten)]
    pub acl: super::signing::AclKeys,
}

/// `-n` / `--namesrvAddr`, which every subcommand takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Namesrv {
    /// Nameserver addresses, `host:port;host:port` (default: $NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr")]
    pub addr: Option<String>,
}

impl Namesrv {
    /// `-n`, else `NAMESRV_ADDR`, else an error saying both are missing.
    pub fn resolve(&self) -> Result<String, CliError> {
        let from_env = std::env::var("NAMESRV_ADDR").ok();
        self.addr
            .clone()
            .or(from_env)
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                CliError::Usage(
                    "no nameserver address: give -n host:port or set NAMESRV_ADDR".into(),
                )
            })
    }
}

/// The subcommands, named as RocketMQ's `mqadmin` names them.
#[derive(Subcommand, Debug)]
#[command(rename_all = "camelCase")]
pub enum Command {
    /// List every broker of every cluster (BID 0 = master)
    ClusterList {
        #[command(flatten)]
        ns: Namesrv,
        /// Print JSON instead of columns.
        #[arg(long)]
        json: bool,
    },
    /// List every topic the nameservers know
    TopicList {
        #[command(flatten)]
        ns: Namesrv,
        /// Print JSON instead of one topic per line.
        #[arg(long)]
        json: bool,
    },
    /// Print a topic's route
    TopicRoute {
        #[command(flatten)]
        ns: Namesrv,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Create or update a topic on a broker or on every master of a cluster
    UpdateTopic(UpdateTopic),
    /// Delete a topic from every master of a cluster, then from the nameservers
    DeleteTopic {
        #[command(flatten)]
        ns: Namesrv,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: String,
    },
    /// Send one message
    SendMessage(SendMessage),
    /// Send to the topic named after each broker group and print each group's send RT
    #[command(name = "clusterRT")]
    ClusterRt(super::cluster_rt::ClusterRt),
    /// Consume messages of a topic and print them
    ConsumeMessage(ConsumeMessage),
    /// Print a broker's runtime info
    BrokerStatus {
        #[command(flatten)]
        ns: Namesrv,
        /// Broker address, `ip:port`.
        #[arg(short = 'b', long = "brokerAddr")]
        broker: String,
    },
    /// Print a broker's config
    GetBrokerConfig {
        #[command(flatten)]
        ns: Namesrv,
        /// Broker address, `ip:port`.
        #[arg(short = 'b', long = "brokerAddr")]
        broker: String,
    },
    /// Print the min and max offset of every queue of a topic
    TopicStatus {
        #[command(flatten)]
        ns: Namesrv,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Print a consumer group's progress: broker and consumer offset of every queue
    ConsumerProgress {
        #[command(flatten)]
        ns: Namesrv,
        /// The consumer group; without it, one line per consumer group.
        #[arg(short = 'g', long = "groupName")]
        group: Option<String>,
        /// Only this topic.
        #[arg(short = 't', long = "topicName")]
        topic: Option<String>,
    },
    /// Print a consumer group's connections and subscriptions
    ConsumerConnection {
        #[command(flatten)]
        ns: Namesrv,
        /// The consumer group.
        #[arg(short = 'g', long = "consumerGroup")]
        group: String,
        /// Ask only this broker (`ip:port`) instead of every master.
        #[arg(short = 'b', long = "brokerAddr")]
        broker: Option<String>,
    },
    /// Create or update a subscription group on a broker or on every master of a cluster
    UpdateSubGroup(UpdateSubGroup),
    /// Delete a subscription group from a broker or from every master of a cluster
    DeleteSubGroup(DeleteSubGroup),
    /// Reset a consumer group's offsets of a topic to the first message stored at or after a time
    ResetOffsetByTime {
        #[command(flatten)]
        ns: Namesrv,
        /// The consumer group.
        #[arg(short = 'g', long = "group")]
        group: String,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// `now`, ms since the epoch, or `yyyy-MM-dd#HH:mm:ss:SSS` (read as UTC); `-1`: the end.
        #[arg(short = 's', long = "timestamp", allow_hyphen_values = true)]
        timestamp: String,
        /// Also move offsets forward: true or false.
        #[arg(short = 'f', long = "force", default_value_t = true, action = clap::ArgAction::Set)]
        force: bool,
    },
    /// Print a producer group's connections
    ProducerConnection {
        #[command(flatten)]
        ns: Namesrv,
        /// The producer group.
        #[arg(short = 'g', long = "producerGroup")]
        group: String,
        /// A topic the group sends to: its masters are asked.
        #[arg(short = 't', long = "topic")]
        topic: String,
    },
    /// Find messages of a topic by key
    QueryMsgByKey {
        #[command(flatten)]
        ns: Namesrv,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// The key (or UNIQ_KEY).
        #[arg(short = 'k', long = "msgKey")]
        key: String,
        /// Earliest store time, ms since the epoch.
        #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
        begin: i64,
        /// Latest store time, ms since the epoch (default: no limit).
        #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
        end: i64,
        /// Most messages per broker.
        #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
        max: i64,
    },
    /// Print a message by its offset msgId (comma-separated list allowed)
    QueryMsgById {
        #[command(flatten)]
        ns: Namesrv,
        /// Offset msgId(s): store host and commitlog offset, 32 hex characters.
        #[arg(short = 'i', long = "msgId")]
        ids: String,
        /// The topic: its masters are asked when the store host in the id does not answer.
        #[arg(short = 't', long = "topic")]
        topic: Option<String>,
    },
    /// Query Message by Unique key
    QueryMsgByUniqueKey(QueryMsgByUniqueKey),
    /// Query a message trace
    QueryMsgTraceById {
        #[command(flatten)]
        ns: Namesrv,
        /// The traced message's msgId (its UNIQ_KEY).
        #[arg(short = 'i', long = "msgId")]
        msg_id: String,
        /// The trace topic.
        #[arg(
            short = 't',
            long = "traceTopic",
            default_value = "RMQ_SYS_TRACE_TOPIC"
        )]
        trace_topic: String,
    },
    /// Print the message at one queue offset
    QueryMsgByOffset {
        #[command(flatten)]
        ns: Namesrv,
        /// The topic.
        #[arg(short = 't', long = "topic")]
        topic: String,
        /// Broker name (the group), not an address.
        #[arg(short = 'b', long = "brokerName")]
        broker_name: String,
        /// Queue id.
        #[arg(short = 'i', long = "queueId")]
        queue_id: i32,
        /// Queue offset.
        #[arg(short = 'o', long = "offset")]
        offset: i64,
    },
    /// Print the Raft state of every broker of a cluster
    RaftStatus {
        #[command(flatten)]
        ns: Namesrv,
        /// The cluster.
        #[arg(short = 'c', long = "clusterName")]
        cluster: String,
        /// Print JSON instead of columns.
        #[arg(long)]
        json: bool,
    },
}

/// `updateTopic`'s flags.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub struct UpdateTopic {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Broker address, `ip:port`.
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker: Option<String>,
    /// Cluster: the topic goes to every master.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
    /// Read queue count.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    pub read: i32,
    /// Write queue count.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    pub write: i32,
    /// Permission: 2 = write, 4 = read, 6 = read-write.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    pub perm: i32,
    /// Ordered topic: true or false.
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    pub order: bool,
}

/// `updateSubGroup`'s flags (RocketMQ's letters: `-q` retry queues, `-r` retry times).
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub struct UpdateSubGroup {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The group.
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// Broker address, `ip:port`.
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker: Option<String>,
    /// Cluster: the group goes to every master.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
    /// Consuming allowed: true or false.
    #[arg(short = 's', long = "consumeEnable", default_value_t = true, action = clap::ArgAction::Set)]
    pub consume_enable: bool,
    /// Broadcast consuming allowed: true or false.
    #[arg(short = 'd', long = "consumeBroadcastEnable", default_value_t = true, action = clap::ArgAction::Set)]
    pub broadcast_enable: bool,
    /// Retry queue count.
    #[arg(short = 'q', long = "retryQueueNums", default_value_t = 1)]
    pub retry_queue_nums: u32,
    /// Most redeliveries before the dead-letter queue.
    #[arg(short = 'r', long = "retryMaxTimes", default_value_t = 16)]
    pub retry_max_times: u32,
}

/// `deleteSubGroup`'s flags.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["broker", "cluster"])))]
pub struct DeleteSubGroup {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The group.
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// Broker address, `ip:port`.
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker: Option<String>,
    /// Cluster: the group is deleted from every master.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster: Option<String>,
    /// Also drop the group's committed offsets: true or false.
    #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = clap::ArgAction::Set)]
    pub remove_offset: bool,
}

/// `sendMessage`'s flags.
#[derive(Args, Debug)]
pub struct SendMessage {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// The body (UTF-8).
    #[arg(short = 'p', long = "body")]
    pub body: String,
    /// Keys, space-separated.
    #[arg(short = 'k', long = "key")]
    pub keys: Option<String>,
    /// Tag.
    #[arg(short = 'c', long = "tags")]
    pub tags: Option<String>,
    /// Broker name: send to one queue of this group (queue `-i`, default 0).
    #[arg(short = 'b', long = "broker")]
    pub broker: Option<String>,
    /// Queue id (with `-b`).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    pub queue_id: Option<i32>,
}

/// `consumeMessage`'s flags.
#[derive(Args, Debug)]
pub struct ConsumeMessage {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Consumer group, clustering: its committed offsets are used and updated. Default:
    /// `TOOLS_CONSUMER`, broadcasting, so nothing is stored and every run starts per `-s`.
    #[arg(short = 'g', long = "consumerGroup")]
    pub group: Option<String>,
    /// Most messages to print.
    #[arg(short = 'c', long = "count", default_value_t = 32)]
    pub count: usize,
    /// Where a queue without a committed offset starts: `first`, `last` or ms since the epoch.
    #[arg(short = 's', long = "start", default_value = "first")]
    pub start: String,
    /// Stop after this many seconds without a new message.
    #[arg(long = "idle", default_value_t = 5)]
    pub idle_secs: u64,
}

impl Command {
    /// The subcommand's RocketMQ name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::ClusterList { .. } => "clusterList",
            Command::TopicList { .. } => "topicList",
            Command::TopicRoute { .. } => "topicRoute",
            Command::UpdateTopic(_) => "updateTopic",
            Command::DeleteTopic { .. } => "deleteTopic",
            Command::SendMessage(_) => "sendMessage",
            Command::ClusterRt(_) => "clusterRT",
            Command::ConsumeMessage(_) => "consumeMessage",
            Command::BrokerStatus { .. } => "brokerStatus",
            Command::GetBrokerConfig { .. } => "getBrokerConfig",
            Command::TopicStatus { .. } => "topicStatus",
            Command::ConsumerProgress { .. } => "consumerProgress",
            Command::ConsumerConnection { .. } => "consumerConnection",
            Command::UpdateSubGroup(_) => "updateSubGroup",
            Command::DeleteSubGroup(_) => "deleteSubGroup",
            Command::ProducerConnection { .. } => "producerConnection",
            Command::ResetOffsetByTime { .. } => "resetOffsetByTime",
            Command::QueryMsgByKey { .. } => "queryMsgByKey",
            Command::QueryMsgById { .. } => "queryMsgById",
            Command::QueryMsgByUniqueKey(_) => "queryMsgByUniqueKey",
            Command::QueryMsgByOffset { .. } => "queryMsgByOffset",
            Command::QueryMsgTraceById { .. } => "queryMsgTraceById",
            Command::RaftStatus { .. } => "raftStatus",
        }
    }
}

/// `queryMsgByUniqueKey`'s flags (Java's: `-i`, `-t` required; `-g`, `-d`, `-a`).
#[derive(Args, Debug)]
pub struct QueryMsgByUniqueKey {
    #[command(flatten)]
    pub ns: Namesrv,
    /// The message's msgId (the UNIQ_KEY the producer gave it).
    #[arg(short = 'i', long = "msgId")]
    pub msg_id: String,
    /// The topic of the message.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// With `-d`: the consumer group to consume it directly (not supported yet).
    #[arg(short = 'g', long = "consumerGroup")]
    pub group: Option<String>,
    /// With `-g`: the consumer's client id (not supported yet).
    #[arg(short = 'd', long = "clientId")]
    pub client_id: Option<String>,
    /// Print every message with that key (at most 32), not only the first.
    #[arg(short = 'a', long = "showAll")]
    pub show_all: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run a subcommand.
    Run(Cli),
    /// Print `text` (to stderr when `code` is not 0) and exit with `code`.
    Exit { text: String, code: u8 },
}

/// `(name, description)` of every subcommand, in declaration order.
pub fn subcommands() -> Vec<(String, String)> {
    Cli::command()
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| {
            let about = c.get_about().map(|a| a.to_string()).unwrap_or_default();
            (c.get_name().to_owned(), about)
        })
        .collect()
}

/// The canonical name of subcommand `name`, matched in any letter case.
pub fn canonical(name: &str) -> Option<String> {
    subcommands()
        .into_iter()
        .map(|(n, _)| n)
        .find(|n| n.eq_ignore_ascii_case(name))
}

/// The list `mqadmin` alone prints, as Java's `MQAdminStartup` does.
pub fn command_list() -> String {
    let mut text = String::from("The most commonly used mqadmin commands are:\n");
    for (name, about) in subcommands() {
        text.push_str(&format!("   {name:<35} {about}\n"));
    }
    text.push_str("\nSee 'mqadmin help <command>' for more information on a specific command.\n");
    text
}

/// Parses `argv` (program name first): subcommand names in any case, `help [cmd]`, unknown
/// names reported with the list of known ones.
pub fn parse(mut argv: Vec<String>) -> Parsed {
    let Some(first) = argv.get(1).cloned() else {
        return Parsed::Exit {
            text: command_list(),
            code: 1,
        };
    };
    if first.eq_ignore_ascii_case("help") {
        let Some(cmd) = argv.get(2) else {
            return Parsed::Exit {
                text: command_list(),
                code: 0,
            };
        };
        return match canonical(cmd) {
            Some(name) => clap_exit(Cli::try_parse_from(["mqadmin", &name, "--help"])),
            None => unknown(cmd),
        };
    }
    if !first.starts_with('-') {
        match canonical(&first) {
            Some(name) => argv[1] = name,
            None => return unknown(&first),
        }
    }
    clap_exit(Cli::try_parse_from(argv))
}

fn unknown(name: &str) -> Parsed {
    Parsed::Exit {
        text: format!("The sub command {name} not exist.\n\n{}", command_list()),
        code: 1,
    }
}

fn clap_exit(result: Result<Cli, clap::Error>) -> Parsed {
    match result {
        Ok(cli) => Parsed::Run(cli),
        Err(e) => Parsed::Exit {
            text: e.render().to_string(),
            code: if e.use_stderr() { 1 } else { 0 },
        },
    }
}
