//! The numbers on the wire: [`RequestCode`], [`ResponseCode`] and [`LanguageCode`].
//!
//! Each is an `i32`-backed enum named after the Java constants (CamelCase of `SEND_MESSAGE_V2`
//! is `SendMessageV2`) with an `Unknown` arm, so any number survives `from_i32` → `as_i32`
//! unchanged. The tables are `shared/protocol/remoting.md` §2.1 (responses), §2.2 (requests, the
//! 4.x tables and the broker → client codes of §1.6) and §1.7 (languages). The 5.x-only request
//! codes of §2.2's "Historic/5.x notes" (18, 47, 217, 225, 343, 345, 351, 352, 361, 400–402, the
//! 900s/1000s and the POP codes) are deliberately `Unknown`: a 4.x server answers them with
//! `REQUEST_CODE_NOT_SUPPORTED`, and 217 means different things in 3.x and 5.x.
//!
//! This module only names numbers; it never decides what a code means for a broker. Its users
//! are [`super::command`] (typed views of a command's `code`), [`super::codec`] (language names
//! in JSON headers) and the broker's and nameserver's `match` on the code.

use std::fmt;

/// Declares an `i32`-backed wire enum with an `Unknown(i32)` arm, `from_i32`, `as_i32`,
/// `java_name` and a `Display` that prints the Java name.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $variant:ident = $value:literal => $java:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", $java, "` = ", stringify!($value))]
                $variant,
            )*
            /// A number this table does not name, carried through unchanged.
            Unknown(i32),
        }

        impl $name {
            /// Every named variant, in table order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The variant for a wire number; numbers without a name become `Unknown(n)`.
            pub fn from_i32(value: i32) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }

            /// The wire number. `as_i32(from_i32(n)) == n` for every `n`.
            pub fn as_i32(self) -> i32 {
                match self {
                    $( $name::$variant => $value, )*
                    $name::Unknown(value) => value,
                }
            }

            /// The Java constant's name (`"SEND_MESSAGE_V2"`), `None` for `Unknown`.
            pub fn java_name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($java), )*
                    $name::Unknown(_) => None,
                }
            }

            /// The variant whose Java name is `name` (exact match), if any.
            pub fn from_java_name(name: &str) -> Option<Self> {
                match name {
                    $( $java => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl From<i32> for $name {
            fn from(value: i32) -> Self {
                $name::from_i32(value)
            }
        }

        impl From<$name> for i32 {
            fn from(code: $name) -> i32 {
                code.as_i32()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.java_name() {
                    Some(name) => write!(f, "{name}({})", self.as_i32()),
                    None => write!(f, "UNKNOWN({})", self.as_i32()),
                }
            }
        }
    };
}

wire_enum! {
    /// A request's `code` (remoting.md §2.2 and §1.6).
    RequestCode {
        // Client → broker.
        SendMessage = 10 => "SEND_MESSAGE",
        PullMessage = 11 => "PULL_MESSAGE",
        QueryMessage = 12 => "QUERY_MESSAGE",
        QueryConsumerOffset = 14 => "QUERY_CONSUMER_OFFSET",
        UpdateConsumerOffset = 15 => "UPDATE_CONSUMER_OFFSET",
        SearchOffsetByTimestamp = 29 => "SEARCH_OFFSET_BY_TIMESTAMP",
        GetMaxOffset = 30 => "GET_MAX_OFFSET",
        GetMinOffset = 31 => "GET_MIN_OFFSET",
        GetEarliestMsgStoretime = 32 => "GET_EARLIEST_MSG_STORETIME",
        ViewMessageById = 33 => "VIEW_MESSAGE_BY_ID",
        HeartBeat = 34 => "HEART_BEAT",
        UnregisterClient = 35 => "UNREGISTER_CLIENT",
        ConsumerSendMsgBack = 36 => "CONSUMER_SEND_MSG_BACK",
        EndTransaction = 37 => "END_TRANSACTION",
        GetConsumerListByGroup = 38 => "GET_CONSUMER_LIST_BY_GROUP",
        LockBatchMq = 41 => "LOCK_BATCH_MQ",
        UnlockBatchMq = 42 => "UNLOCK_BATCH_MQ",
        CheckClientConfig = 46 => "CHECK_CLIENT_CONFIG",
        SendMessageV2 = 310 => "SEND_MESSAGE_V2",
        SendBatchMessage = 320 => "SEND_BATCH_MESSAGE",
        SendReplyMessage = 324 => "SEND_REPLY_MESSAGE",
        SendReplyMessageV2 = 325 => "SEND_REPLY_MESSAGE_V2",
        // Broker → client.
        CheckTransactionState = 39 => "CHECK_TRANSACTION_STATE",
        NotifyConsumerIdsChanged = 40 => "NOTIFY_CONSUMER_IDS_CHANGED",
        ResetConsumerClientOffset = 220 => "RESET_CONSUMER_CLIENT_OFFSET",
        GetConsumerStatusFromClient = 221 => "GET_CONSUMER_STATUS_FROM_CLIENT",
        GetConsumerRunningInfo = 307 => "GET_CONSUMER_RUNNING_INFO",
        ConsumeMessageDirectly = 309 => "CONSUME_MESSAGE_DIRECTLY",
        PushReplyMessageToClient = 326 => "PUSH_REPLY_MESSAGE_TO_CLIENT",
        // Admin → broker.
        UpdateAndCreateTopic = 17 => "UPDATE_AND_CREATE_TOPIC",
        GetAllTopicConfig = 21 => "GET_ALL_TOPIC_CONFIG",
        GetTopicConfigList = 22 => "GET_TOPIC_CONFIG_LIST",
        GetTopicNameList = 23 => "GET_TOPIC_NAME_LIST",
        UpdateBrokerConfig = 25 => "UPDATE_BROKER_CONFIG",
        GetBrokerConfig = 26 => "GET_BROKER_CONFIG",
        TriggerDeleteFiles = 27 => "TRIGGER_DELETE_FILES",
        GetBrokerRuntimeInfo = 28 => "GET_BROKER_RUNTIME_INFO",
        GetAllConsumerOffset = 43 => "GET_ALL_CONSUMER_OFFSET",
        GetAllDelayOffset = 45 => "GET_ALL_DELAY_OFFSET",
        UpdateAndCreateAclConfig = 50 => "UPDATE_AND_CREATE_ACL_CONFIG",
        DeleteAclConfig = 51 => "DELETE_ACL_CONFIG",
        GetBrokerClusterAclInfo = 52 => "GET_BROKER_CLUSTER_ACL_INFO",
        UpdateGlobalWhiteAddrsConfig = 53 => "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG",
        GetBrokerClusterAclConfig = 54 => "GET_BROKER_CLUSTER_ACL_CONFIG",
        UpdateAndCreateSubscriptiongroup = 200 => "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP",
        GetAllSubscriptiongroupConfig = 201 => "GET_ALL_SUBSCRIPTIONGROUP_CONFIG",
        GetTopicStatsInfo = 202 => "GET_TOPIC_STATS_INFO",
        GetConsumerConnectionList = 203 => "GET_CONSUMER_CONNECTION_LIST",
        GetProducerConnectionList = 204 => "GET_PRODUCER_CONNECTION_LIST",
        DeleteSubscriptiongroup = 207 => "DELETE_SUBSCRIPTIONGROUP",
        GetConsumeStats = 208 => "GET_CONSUME_STATS",
        ResetConsumerOffsetInBroker = 212 => "RESET_CONSUMER_OFFSET_IN_BROKER",
        DeleteTopicInBroker = 215 => "DELETE_TOPIC_IN_BROKER",
        InvokeBrokerToResetOffset = 222 => "INVOKE_BROKER_TO_RESET_OFFSET",
        InvokeBrokerToGetConsumerStatus = 223 => "INVOKE_BROKER_TO_GET_CONSUMER_STATUS",
        QueryTopicConsumeByWho = 300 => "QUERY_TOPIC_CONSUME_BY_WHO",
        QueryConsumeTimeSpan = 303 => "QUERY_CONSUME_TIME_SPAN",
        GetSystemTopicListFromBroker = 305 => "GET_SYSTEM_TOPIC_LIST_FROM_BROKER",
        CleanExpiredConsumequeue = 306 => "CLEAN_EXPIRED_CONSUMEQUEUE",
        QueryCorrectionOffset = 308 => "QUERY_CORRECTION_OFFSET",
        CloneGroupOffset = 314 => "CLONE_GROUP_OFFSET",
        ViewBrokerStatsData = 315 => "VIEW_BROKER_STATS_DATA",
        CleanUnusedTopic = 316 => "CLEAN_UNUSED_TOPIC",
        GetBrokerConsumeStats = 317 => "GET_BROKER_CONSUME_STATS",
        QueryConsumeQueue = 321 => "QUERY_CONSUME_QUEUE",
        ResumeCheckHalfMessage = 323 => "RESUME_CHECK_HALF_MESSAGE",
        GetAllProducerInfo = 328 => "GET_ALL_PRODUCER_INFO",
        DeleteExpiredCommitlog = 329 => "DELETE_EXPIRED_COMMITLOG",
        // Nameserver.
        PutKvConfig = 100 => "PUT_KV_CONFIG",
        GetKvConfig = 101 => "GET_KV_CONFIG",
        DeleteKvConfig = 102 => "DELETE_KV_CONFIG",
        RegisterBroker = 103 => "REGISTER_BROKER",
        UnregisterBroker = 104 => "UNREGISTER_BROKER",
        GetRouteinfoByTopic = 105 => "GET_ROUTEINFO_BY_TOPIC",
        GetBrokerClusterInfo = 106 => "GET_BROKER_CLUSTER_INFO",
        WipeWritePermOfBroker = 205 => "WIPE_WRITE_PERM_OF_BROKER",
        GetAllTopicListFromNameserver = 206 => "GET_ALL_TOPIC_LIST_FROM_NAMESERVER",
        DeleteTopicInNamesrv = 216 => "DELETE_TOPIC_IN_NAMESRV",
        GetKvlistByNamespace = 219 => "GET_KVLIST_BY_NAMESPACE",
        GetTopicsByCluster = 224 => "GET_TOPICS_BY_CLUSTER",
        GetSystemTopicListFromNs = 304 => "GET_SYSTEM_TOPIC_LIST_FROM_NS",
        GetUnitTopicList = 311 => "GET_UNIT_TOPIC_LIST",
        GetHasUnitSubTopicList = 312 => "GET_HAS_UNIT_SUB_TOPIC_LIST",
        GetHasUnitSubUnunitTopicList = 313 => "GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST",
        UpdateNamesrvConfig = 318 => "UPDATE_NAMESRV_CONFIG",
        GetNamesrvConfig = 319 => "GET_NAMESRV_CONFIG",
        QueryDataVersion = 322 => "QUERY_DATA_VERSION",
        AddWritePermOfBroker = 327 => "ADD_WRITE_PERM_OF_BROKER",
    }
}

wire_enum! {
    /// A response's `code` (remoting.md §2.1). 209–211 carry their 4.x (ACL) names.
    ResponseCode {
        Success = 0 => "SUCCESS",
        SystemError = 1 => "SYSTEM_ERROR",
        SystemBusy = 2 => "SYSTEM_BUSY",
        RequestCodeNotSupported = 3 => "REQUEST_CODE_NOT_SUPPORTED",
        TransactionFailed = 4 => "TRANSACTION_FAILED",
        FlushDiskTimeout = 10 => "FLUSH_DISK_TIMEOUT",
        SlaveNotAvailable = 11 => "SLAVE_NOT_AVAILABLE",
        FlushSlaveTimeout = 12 => "FLUSH_SLAVE_TIMEOUT",
        MessageIllegal = 13 => "MESSAGE_ILLEGAL",
        ServiceNotAvailable = 14 => "SERVICE_NOT_AVAILABLE",
        VersionNotSupported = 15 => "VERSION_NOT_SUPPORTED",
        NoPermission = 16 => "NO_PERMISSION",
        TopicNotExist = 17 => "TOPIC_NOT_EXIST",
        TopicExistAlready = 18 => "TOPIC_EXIST_ALREADY",
        PullNotFound = 19 => "PULL_NOT_FOUND",
        PullRetryImmediately = 20 => "PULL_RETRY_IMMEDIATELY",
        PullOffsetMoved = 21 => "PULL_OFFSET_MOVED",
        QueryNotFound = 22 => "QUERY_NOT_FOUND",
        SubscriptionParseFailed = 23 => "SUBSCRIPTION_PARSE_FAILED",
        SubscriptionNotExist = 24 => "SUBSCRIPTION_NOT_EXIST",
        SubscriptionNotLatest = 25 => "SUBSCRIPTION_NOT_LATEST",
        SubscriptionGroupNotExist = 26 => "SUBSCRIPTION_GROUP_NOT_EXIST",
        FilterDataNotExist = 27 => "FILTER_DATA_NOT_EXIST",
        FilterDataNotLatest = 28 => "FILTER_DATA_NOT_LATEST",
        InvalidParameter = 29 => "INVALID_PARAMETER",
        TransactionShouldCommit = 200 => "TRANSACTION_SHOULD_COMMIT",
        TransactionShouldRollback = 201 => "TRANSACTION_SHOULD_ROLLBACK",
        TransactionStateUnknow = 202 => "TRANSACTION_STATE_UNKNOW",
        TransactionStateGroupWrong = 203 => "TRANSACTION_STATE_GROUP_WRONG",
        NoBuyerId = 204 => "NO_BUYER_ID",
        NotInCurrentUnit = 205 => "NOT_IN_CURRENT_UNIT",
        ConsumerNotOnline = 206 => "CONSUMER_NOT_ONLINE",
        ConsumeMsgTimeout = 207 => "CONSUME_MSG_TIMEOUT",
        NoMessage = 208 => "NO_MESSAGE",
        UpdateAndCreateAclConfigFailed = 209 => "UPDATE_AND_CREATE_ACL_CONFIG_FAILED",
        DeleteAclConfigFailed = 210 => "DELETE_ACL_CONFIG_FAILED",
        UpdateGlobalWhiteAddrsConfigFailed = 211 => "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED",
        FlowControl = 215 => "FLOW_CONTROL",
        NotLeaderForQueue = 501 => "NOT_LEADER_FOR_QUEUE",
    }
}

wire_enum! {
    /// The sender's implementation language (remoting.md §1.7). JSON headers carry the name,
    /// binary headers the number. Unknown *names* in JSON become [`LanguageCode::Other`], as
    /// remoting.md asks; unknown *numbers* stay `Unknown(n)`.
    LanguageCode {
        Java = 0 => "JAVA",
        Cpp = 1 => "CPP",
        Dotnet = 2 => "DOTNET",
        Python = 3 => "PYTHON",
        Delphi = 4 => "DELPHI",
        Erlang = 5 => "ERLANG",
        Ruby = 6 => "RUBY",
        Other = 7 => "OTHER",
        Http = 8 => "HTTP",
        Go = 9 => "GO",
        Php = 10 => "PHP",
        Oms = 11 => "OMS",
        Rust = 12 => "RUST",
        NodeJs = 13 => "NODE_JS",
    }
}

impl Default for LanguageCode {
    /// Java's default, and what this crate sends: peers treat it as the most ordinary sender.
    fn default() -> Self {
        LanguageCode::Java
    }
}

impl ResponseCode {
    /// True for `SUCCESS` only.
    pub fn is_success(self) -> bool {
        self == ResponseCode::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_survives_from_i32_then_as_i32() {
        for n in (-1000..70_000).chain([i32::MIN, i32::MAX, 200_050]) {
            assert_eq!(RequestCode::from_i32(n).as_i32(), n);
            assert_eq!(ResponseCode::from_i32(n).as_i32(), n);
            assert_eq!(LanguageCode::from_i32(n).as_i32(), n);
        }
    }

    #[test]
    fn named_variants_round_trip_through_number_and_java_name() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            as_i32: fn(T) -> i32,
            from_i32: fn(i32) -> T,
            name: fn(T) -> Option<&'static str>,
            from_name: fn(&str) -> Option<T>,
        ) {
            let mut numbers: Vec<i32> = all.iter().map(|c| as_i32(*c)).collect();
            numbers.sort_unstable();
            numbers.dedup();
            assert_eq!(numbers.len(), all.len(), "a number is listed twice");
            for &code in all {
                assert_eq!(from_i32(as_i32(code)), code);
                let java = name(code).expect("named variants have a Java name");
                assert_eq!(from_name(java), Some(code));
            }
        }
        check(
            RequestCode::ALL,
            RequestCode::as_i32,
            RequestCode::from_i32,
            RequestCode::java_name,
            RequestCode::from_java_name,
        );
        check(
            ResponseCode::ALL,
            ResponseCode::as_i32,
            ResponseCode::from_i32,
            ResponseCode::java_name,
            ResponseCode::from_java_name,
        );
        check(
            LanguageCode::ALL,
            LanguageCode::as_i32,
            LanguageCode::from_i32,
            LanguageCode::java_name,
            LanguageCode::from_java_name,
        );
    }

    #[test]
    fn codes_from_the_reference_tables_have_their_java_numbers() {
        assert_eq!(RequestCode::SendMessageV2.as_i32(), 310);
        assert_eq!(RequestCode::from_i32(105), RequestCode::GetRouteinfoByTopic);
        assert_eq!(RequestCode::from_i32(217), RequestCode::Unknown(217));
        assert_eq!(
            ResponseCode::from_i32(3),
            ResponseCode::RequestCodeNotSupported
        );
        assert_eq!(
            LanguageCode::from_java_name("RUST"),
            Some(LanguageCode::Rust)
        );
        assert_eq!(RequestCode::PullMessage.to_string(), "PULL_MESSAGE(11)");
        assert_eq!(RequestCode::Unknown(9999).to_string(), "UNKNOWN(9999)");
    }
}
