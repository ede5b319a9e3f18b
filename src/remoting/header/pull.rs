//! Pull headers (remoting.md §5.4). All four response fields are required: Java's decoder
//! rejects a pull response missing any, whatever its code.

command_header! {
    /// `PULL_MESSAGE` (11) request.
    pub struct PullMessageRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        /// Logical offset to start from.
        queue_offset: i64 => "queueOffset",
        max_msg_nums: i32 => "maxMsgNums",
        /// [`PullMessageRequestHeader::COMMIT_OFFSET`] and friends.
        sys_flag: i32 => "sysFlag",
        commit_offset: i64 => "commitOffset",
        /// Longest long-poll hold, ms.
        suspend_timeout_millis: i64 => "suspendTimeoutMillis",
        subscription: Option<String> => "subscription",
        sub_version: i64 => "subVersion",
        /// `TAG` (default) or `SQL92`.
        expression_type: Option<String> => "expressionType",
        bname: Option<String> => "bname",
        /// (5.x) byte limit.
        max_msg_bytes: Option<i32> => "maxMsgBytes",
    }
}

impl PullMessageRequestHeader {
    /// Sys flag bit 0: also store `commit_offset`.
    pub const COMMIT_OFFSET: i32 = 1;
    /// Sys flag bit 1: long polling allowed.
    pub const SUSPEND: i32 = 2;
    /// Sys flag bit 2: use `subscription` from this header.
    pub const SUBSCRIPTION: i32 = 4;
    /// Sys flag bit 3: legacy class filter.
    pub const CLASS_FILTER: i32 = 8;
    /// Sys flag bit 4: a lite pull consumer.
    pub const LITE_PULL: i32 = 16;

    /// Whether `sys_flag` has all of `bits`.
    pub fn has_flag(&self, bits: i32) -> bool {
        self.sys_flag & bits == bits
    }
}

command_header! {
    /// `PULL_MESSAGE` response, on every response code.
    pub struct PullMessageResponseHeader {
        next_begin_offset: i64 => "nextBeginOffset",
        min_offset: i64 => "minOffset",
        max_offset: i64 => "maxOffset",
        /// 0 = master/leader.
        suggest_which_broker_id: i64 => "suggestWhichBrokerId",
    }
}
