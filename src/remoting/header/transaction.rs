//! Transaction headers: END_TRANSACTION (37), client to broker, and CHECK_TRANSACTION_STATE
//! (39), broker to producer. Field names and optionality as Java 4.9's
//! `EndTransactionRequestHeader` and `CheckTransactionStateRequestHeader`.

command_header! {
    /// `END_TRANSACTION` (37), normally oneway: the producer's outcome for a half message, or
    /// its answer to a check (`fromTransactionCheck`).
    pub struct EndTransactionRequestHeader {
        producer_group: String => "producerGroup",
        /// The half message's offset in queue 0 of `RMQ_SYS_TRANS_HALF_TOPIC`.
        tran_state_table_offset: i64 => "tranStateTableOffset",
        /// The half message's commitlog offset.
        commit_log_offset: i64 => "commitLogOffset",
        /// 8 commit, 12 rollback, 0 not known yet.
        commit_or_rollback: i32 => "commitOrRollback",
        from_transaction_check: Option<bool> => "fromTransactionCheck",
        /// The message's unique key (UNIQ_KEY).
        msg_id: String => "msgId",
        transaction_id: Option<String> => "transactionId",
    }
}

command_header! {
    /// `CHECK_TRANSACTION_STATE` (39), oneway from the broker: asks a producer of the half
    /// message's group for its outcome; the body is the half message as stored (topic and
    /// queue its real ones).
    pub struct CheckTransactionStateRequestHeader {
        tran_state_table_offset: i64 => "tranStateTableOffset",
        commit_log_offset: i64 => "commitLogOffset",
        msg_id: Option<String> => "msgId",
        transaction_id: Option<String> => "transactionId",
        offset_msg_id: Option<String> => "offsetMsgId",
    }
}
