//! What one send attempt carries ([`Payload`]): a single message's properties and body, or
//! a SEND_BATCH_MESSAGE body (remoting.md §4.4), each message with its own UNIQ_KEY (§8.5),
//! checked against the producer's limits before anything is sent. A reply message
//! (`MSG_TYPE=reply`) goes as SEND_REPLY_MESSAGE(_V2).

use bytes::Bytes;

use super::Inner;
use crate::client::message::{UniqKeys, properties_string};
use crate::client::reply::is_reply;
use crate::client::{ClientError, Message};
use crate::message::batch::encode_batch_item;
use crate::message::property;
use crate::remoting::RequestCode;

/// What one send attempt carries.
pub(super) struct Payload {
    pub(super) code: RequestCode,
    pub(super) properties: String,
    pub(super) body: Bytes,
    pub(super) flag: i32,
    /// SYSFLAG of the request: 0, or the prepared type for a transaction's half message.
    pub(super) sys_flag: i32,
    pub(super) batch: bool,
    pub(super) msg_id: String,
}

impl Inner {
    fn check_message(&self, message: &Message) -> Result<(), ClientError> {
        if message.topic.is_empty() {
            return Err(ClientError::InvalidMessage("empty topic".into()));
        }
        if message.body.len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "body of {} bytes exceeds {}",
                message.body.len(),
                self.config.max_message_size
            )));
        }
        Ok(())
    }

    pub(super) fn single_payload(&self, message: &Message) -> Result<Payload, ClientError> {
        self.check_running()?;
        self.check_message(message)?;
        let msg_id = UniqKeys::global().next();
        let properties = properties_string(&message.wire_properties(&msg_id))?;
        let code = match (is_reply(message), self.config.use_v2_header) {
            (false, true) => RequestCode::SendMessageV2,
            (false, false) => RequestCode::SendMessage,
            (true, true) => RequestCode::SendReplyMessageV2,
            (true, false) => RequestCode::SendReplyMessage,
        };
        Ok(Payload {
            code,
            properties,
            body: message.body.clone(),
            flag: message.flag,
            sys_flag: 0,
            batch: false,
            msg_id,
        })
    }

    /// The batch body of remoting.md §4.4; batch-level properties are just `WAIT=true`.
    pub(super) fn batch_payload(&self, messages: &[Message]) -> Result<Payload, ClientError> {
        self.check_running()?;
        let first = messages
            .first()
            .ok_or_else(|| ClientError::InvalidMessage("empty batch".into()))?;
        let mut body = Vec::new();
        let mut ids = Vec::with_capacity(messages.len());
        for message in messages {
            self.check_message(message)?;
            if message.topic != first.topic {
                return Err(ClientError::InvalidMessage(
                    "a batch must have one topic".into(),
                ));
            }
            if message.delay_level.is_some_and(|l| l > 0) {
                return Err(ClientError::InvalidMessage(
                    "a batch cannot carry delay levels".into(),
                ));
            }
            if message.topic.starts_with("%RETRY%") {
                return Err(ClientError::InvalidMessage(
                    "a batch cannot go to a retry topic".into(),
                ));
            }
            let id = UniqKeys::global().next();
            let props = properties_string(&message.wire_properties(&id))?;
            encode_batch_item(&mut body, message.flag, &message.body, &props);
            ids.push(id);
        }
        if body.len() > self.config.max_message_size {
            return Err(ClientError::InvalidMessage(format!(
                "batch of {} bytes exceeds {}",
                body.len(),
                self.config.max_message_size
            )));
        }
        let mut batch_props = crate::message::Properties::new();
        batch_props.insert(property::WAIT.into(), "true".into());
        Ok(Payload {
            code: RequestCode::SendBatchMessage,
            properties: properties_string(&batch_props)?,
            body: body.into(),
            flag: 0,
            sys_flag: 0,
            batch: true,
            msg_id: ids.join(","),
        })
    }
}
