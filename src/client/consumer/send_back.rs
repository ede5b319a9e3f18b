//! [`PullConsumer::send_back`]: hand a message the application could not process back to its
//! broker (CONSUMER_SEND_MSG_BACK, remoting.md §5.7), which stores it again in
//! `%RETRY%<group>` behind the next delay level, or in `%DLQ%<group>` once the group's retries
//! are used up. A consumer of `%RETRY%<group>` sees each message with its first topic again
//! ([`restore_retry_topic`]).

use super::PullConsumer;
use crate::client::calls;
use crate::client::{ClientError, MessageExt};
use crate::message::property;
use crate::remoting::RequestCode;
use crate::remoting::header::send::ConsumerSendMsgBackRequestHeader;

impl PullConsumer {
    /// Hands `message` back for a retry. `delay_level`: 0 lets the broker pick (3 +
    /// reconsume times), > 0 asks for that level, < 0 sends it straight to the dead-letter
    /// queue. `max_reconsume_times` overrides the group's `retryMaxTimes` when given. On an
    /// error the route is refreshed before the next call, so the caller may simply try again
    /// (each try that reached a master may have been stored).
    pub async fn send_back(
        &self,
        message: &MessageExt,
        delay_level: i32,
        max_reconsume_times: Option<i32>,
    ) -> Result<(), ClientError> {
        let route = self.namesrv.cached_route(message.topic()).await?;
        let addr = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == message.queue.broker_name)
            .and_then(|b| b.master_addr())
            .ok_or_else(|| ClientError::NoQueue {
                topic: message.topic().to_string(),
                reason: format!("broker {} has no master", message.queue.broker_name),
            })?
            .to_string();
        let header = ConsumerSendMsgBackRequestHeader {
            offset: message.stored.physical_offset as i64,
            group: self.config.group.clone(),
            delay_level,
            origin_msg_id: Some(message.msg_id().to_string()),
            origin_topic: Some(
                message
                    .property(property::RETRY_TOPIC)
                    .unwrap_or(message.topic())
                    .to_string(),
            ),
            unit_mode: Some(false),
            max_reconsume_times,
        };
        let request =
            crate::client::namesrv::request(RequestCode::ConsumerSendMsgBack).with_header(&header);
        let result = calls::call(&self.conns, &addr, request, self.config.request_timeout).await;
        if result.is_err() {
            // The master may have changed: the next try asks the nameservers again.
            self.namesrv.mark_stale(message.topic());
        }
        result.map(|_| ())
    }
}

/// A message pulled from `%RETRY%<group>` carries its first topic in `RETRY_TOPIC`: give it
/// that topic back, as RocketMQ clients do before the application sees it.
pub fn restore_retry_topic(message: &mut MessageExt) {
    if let Some(topic) = message.stored.properties.get(property::RETRY_TOPIC)
        && message
            .stored
            .topic
            .starts_with(crate::message::names::RETRY_PREFIX)
    {
        message.stored.topic = topic.clone();
    }
}
