//! `PUSH_REPLY_MESSAGE_TO_CLIENT` (326): the header a broker sends with a reply it pushes to
//! the requesting producer (Java's `ReplyMessageRequestHeader`). The send fields of the reply
//! as the replier sent them (SEND_REPLY_MESSAGE, 324/325, carries a [`super::send`] header),
//! plus where it came from and when the broker took it. The body is the reply's body.

command_header! {
    /// The pushed reply's fields, V1 keys as Java writes them.
    pub struct ReplyMessageRequestHeader {
        producer_group: String => "producerGroup",
        /// The reply topic (`<cluster>_REPLY_TOPIC`).
        topic: String => "topic",
        default_topic: String => "defaultTopic",
        default_topic_queue_nums: i32 => "defaultTopicQueueNums",
        queue_id: i32 => "queueId",
        sys_flag: i32 => "sysFlag",
        born_timestamp: i64 => "bornTimestamp",
        flag: i32 => "flag",
        /// The reply's properties string, with `PUSH_REPLY_TIME` added by the broker.
        properties: Option<String> => "properties",
        reconsume_times: Option<i32> => "reconsumeTimes",
        unit_mode: Option<bool> => "unitMode",
        /// `ip:port` of the replier's connection.
        born_host: String => "bornHost",
        /// `ip:port` of the broker that pushed it.
        store_host: String => "storeHost",
        /// The broker's clock when it pushed the reply, ms.
        store_timestamp: i64 => "storeTimestamp",
    }
}
