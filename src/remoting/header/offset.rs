//! Offset headers (remoting.md §5.5, §5.6).

command_header! {
    /// `QUERY_CONSUMER_OFFSET` (14) request.
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
    }
}

command_header! {
    /// `QUERY_CONSUMER_OFFSET` response.
    pub struct QueryConsumerOffsetResponseHeader {
        offset: i64 => "offset",
    }
}

command_header! {
    /// `UPDATE_CONSUMER_OFFSET` (15) request. ali-ons sends `-1` for queues it has not
    /// consumed: callers ignore negative offsets.
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String => "consumerGroup",
        topic: String => "topic",
        queue_id: i32 => "queueId",
        commit_offset: i64 => "commitOffset",
    }
}

command_header! {
    /// `GET_MAX_OFFSET` (30) request.
    pub struct GetMaxOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
    }
}

command_header! {
    /// `GET_MAX_OFFSET` response: exclusive max, 0 for an empty or unknown queue.
    pub struct GetMaxOffsetResponseHeader {
        offset: i64 => "offset",
    }
}

command_header! {
    /// `GET_MIN_OFFSET` (31) request.
    pub struct GetMinOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
    }
}

command_header! {
    /// `GET_MIN_OFFSET` response.
    pub struct GetMinOffsetResponseHeader {
        offset: i64 => "offset",
    }
}

command_header! {
    /// `SEARCH_OFFSET_BY_TIMESTAMP` (29) request.
    pub struct SearchOffsetRequestHeader {
        topic: String => "topic",
        queue_id: i32 => "queueId",
        /// ms since the epoch.
        timestamp: i64 => "timestamp",
    }
}

command_header! {
    /// `SEARCH_OFFSET_BY_TIMESTAMP` response.
    pub struct SearchOffsetResponseHeader {
        offset: i64 => "offset",
    }
}
