//! Topic administration and consumer-group headers (remoting.md §6, §5.3, §5.9).

command_header! {
    /// `UPDATE_AND_CREATE_TOPIC` (17) request.
    pub struct CreateTopicRequestHeader {
        topic: String => "topic",
        /// Unused; tools send `TBW102`.
        default_topic: String => "defaultTopic",
        read_queue_nums: i32 => "readQueueNums",
        write_queue_nums: i32 => "writeQueueNums",
        /// 4 = read, 2 = write, 1 = inherit.
        perm: i32 => "perm",
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: String => "topicFilterType",
        topic_sys_flag: Option<i32> => "topicSysFlag",
        order: bool => "order",
    }
}

command_header! {
    /// `DELETE_TOPIC_IN_BROKER` (215) and `DELETE_TOPIC_IN_NAMESRV` (216) request.
    pub struct DeleteTopicRequestHeader {
        topic: String => "topic",
        /// (216 only) delete only on that cluster's brokers.
        cluster_name: Option<String> => "clusterName",
    }
}

command_header! {
    /// `GET_CONSUMER_LIST_BY_GROUP` (38) request.
    pub struct GetConsumerListByGroupRequestHeader {
        consumer_group: String => "consumerGroup",
    }
}

command_header! {
    /// `NOTIFY_CONSUMER_IDS_CHANGED` (40), broker → client, oneway.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        consumer_group: String => "consumerGroup",
    }
}
