//! The pulling half of [`PullConsumer`]: first offsets of new queues (QUERY_CONSUMER_OFFSET,
//! else GET_MAX_OFFSET / 0 / SEARCH_OFFSET_BY_TIMESTAMP, remoting.md §5.5–§5.6), the
//! PULL_MESSAGE request (§5.4) and what each answer does to the queue.

use std::time::Duration;

use tokio::time::Instant;

use super::{ConsumeFrom, MIN_HOLD, MessageModel, PullConsumer};
use crate::client::message::decode_pull_body;
use crate::client::namesrv::request;
use crate::client::{ClientError, MessageExt, MessageQueue, bad_response, broker_error, calls};
use crate::remoting::RemotingCommand;
use crate::remoting::ResponseCode;
use crate::remoting::header::{
    PullMessageRequestHeader, PullMessageResponseHeader, QueryConsumerOffsetRequestHeader,
    UpdateConsumerOffsetRequestHeader,
};

impl PullConsumer {
    /// Looks up where each queue without an offset starts; a failure pauses that queue.
    pub(super) async fn look_up_first_offsets(&mut self) {
        let now = Instant::now();
        let pending: Vec<(MessageQueue, String)> = self
            .queues
            .iter()
            .filter(|(q, s)| {
                s.next_offset.is_none()
                    && s.paused_until.is_none_or(|t| t <= now)
                    && self.holds_lock(q, now)
            })
            .map(|(q, s)| (q.clone(), s.addr.clone()))
            .collect();
        for (queue, addr) in pending {
            match self.first_offset(&queue, &addr).await {
                Ok((offset, committed)) => {
                    if let Some(state) = self.queues.get_mut(&queue) {
                        state.next_offset = Some(offset);
                        state.consumed = offset;
                        state.committed = if committed { offset } else { -1 };
                    }
                }
                Err(err) => self.pause(&queue, &err),
            }
        }
    }

    /// The committed offset (and `true`), or where [`ConsumeFrom`] says (and `false`).
    async fn first_offset(
        &self,
        queue: &MessageQueue,
        addr: &str,
    ) -> Result<(i64, bool), ClientError> {
        let timeout = self.config.request_timeout;
        if self.config.message_model == MessageModel::Clustering {
            let header = QueryConsumerOffsetRequestHeader {
                consumer_group: self.config.group.clone(),
                topic: queue.topic.clone(),
                queue_id: queue.queue_id,
            };
            let stored = calls::query_consumer_offset(&self.conns, addr, header, timeout).await?;
            if let Some(offset) = stored.filter(|&o| o >= 0) {
                return Ok((offset, true));
            }
        }
        let (topic, id) = (&queue.topic, queue.queue_id);
        let offset = match self.config.from_where {
            ConsumeFrom::First => 0,
            ConsumeFrom::Last => calls::max_offset(&self.conns, addr, topic, id, timeout).await?,
            ConsumeFrom::Timestamp(ms) => {
                calls::search_offset(&self.conns, addr, topic, id, ms, timeout).await?
            }
        };
        Ok((offset, false))
    }

    /// The PULL_MESSAGE request for `queue`, its address and RPC timeout. The broker may hold
    /// it for `hold`; the RPC waits that plus the request timeout.
    pub(super) fn pull_request(
        &self,
        queue: &MessageQueue,
        hold: Duration,
    ) -> Option<(String, RemotingCommand, Duration)> {
        let state = self.queues.get(queue)?;
        let offset = state.next_offset?;
        let mut sys_flag = PullMessageRequestHeader::SUBSCRIPTION;
        let hold = if hold >= MIN_HOLD {
            sys_flag |= PullMessageRequestHeader::SUSPEND;
            hold
        } else {
            Duration::ZERO
        };
        let piggy_back =
            self.config.message_model == MessageModel::Clustering && state.consumed > 0;
        if piggy_back {
            sys_flag |= PullMessageRequestHeader::COMMIT_OFFSET;
        }
        let header = PullMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            queue_offset: offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag,
            commit_offset: if piggy_back { state.consumed } else { 0 },
            suspend_timeout_millis: hold.as_millis() as i64,
            subscription: Some(self.subscription.expression.clone()),
            sub_version: self.sub_version,
            expression_type: Some(self.subscription.expression_type.as_str().into()),
            bname: Some(queue.broker_name.clone()),
            max_msg_bytes: None,
        };
        let request = request(Self::PULL).with_header(&header);
        Some((
            state.addr.clone(),
            request,
            hold + self.config.request_timeout,
        ))
    }

    /// Applies one pull answer to `queue`, appending delivered messages to `out`.
    pub(super) async fn apply_pull(
        &mut self,
        queue: &MessageQueue,
        result: Result<RemotingCommand, ClientError>,
        out: &mut Vec<MessageExt>,
    ) {
        let Some(addr) = self.queues.get(queue).map(|s| s.addr.clone()) else {
            return; // given up meanwhile
        };
        if !self.holds_lock(queue, Instant::now()) {
            // Orderly: the lock lapsed while the pull was out; another member may own the
            // queue now. Pull again from the same offset once the lock is back.
            tracing::info!(%queue, "pulled answer discarded: the queue lock lapsed");
            return;
        }
        let response = match result {
            Ok(response) => response,
            Err(err) => return self.pause(queue, &err),
        };
        let code = response.response_code();
        if !Self::is_pull_status(code) {
            return self.pause(queue, &broker_error(&addr, Self::PULL, &response));
        }
        let header: PullMessageResponseHeader = match response.header() {
            Ok(header) => header,
            Err(err) => return self.pause(queue, &bad_response(&addr, Self::PULL, err)),
        };
        let mut next = header.next_begin_offset;
        if code == ResponseCode::Success {
            let (messages, error) =
                decode_pull_body(&response.body, queue, header.min_offset, header.max_offset);
            if let Some(error) = error {
                let err = bad_response(&addr, Self::PULL, format!("pulled body: {error}"));
                match messages.last() {
                    // Keep what decoded; pull again after it.
                    Some(last) => next = last.queue_offset() + 1,
                    None => return self.pause(queue, &err),
                }
                tracing::warn!(%queue, error = %err, "part of a pulled body did not decode");
            }
            out.extend(
                messages
                    .into_iter()
                    .filter(|m| self.subscription.matches(m.tags())),
            );
        }
        if let Some(state) = self.queues.get_mut(queue) {
            state.next_offset = Some(next);
            state.consumed = next;
            state.paused_until = None;
        }
        if code == ResponseCode::PullOffsetMoved {
            tracing::warn!(%queue, next, "pull offset moved; reset");
            self.store_moved_offset(queue, &addr, next).await;
        }
    }

    /// After PULL_OFFSET_MOVED, stores the new offset at once, as Java does (clustering only).
    async fn store_moved_offset(&mut self, queue: &MessageQueue, addr: &str, offset: i64) {
        if self.config.message_model != MessageModel::Clustering {
            return;
        }
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
        };
        let timeout = self.config.request_timeout;
        match calls::update_consumer_offset(&self.conns, addr, header, timeout).await {
            Ok(()) => {
                if let Some(state) = self.queues.get_mut(queue) {
                    state.committed = offset;
                }
            }
            Err(err) => tracing::warn!(%queue, error = %err, "storing a moved offset failed"),
        }
    }
}
