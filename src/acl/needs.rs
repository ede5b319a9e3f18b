//! What a request needs under the plain ACL: the admin role for the admin codes, and a
//! permission on each topic and group it touches (groups as their retry topic
//! `%RETRY%<group>`, the way Java keys them). Read from the ext fields and, for heartbeats and
//! queue locks, the body.
//!
//! The codes Java's `PlainAccessValidator` checks: SEND_MESSAGE and SEND_MESSAGE_V2 (PUB on
//! the topic; a send to a retry topic needs SUB on its group), CONSUMER_SEND_MSG_BACK,
//! PULL_MESSAGE, QUERY_MESSAGE, HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP,
//! UPDATE_CONSUMER_OFFSET. Beyond Java, closing holes it leaves: SEND_BATCH_MESSAGE needs PUB
//! like a single send, QUERY_CONSUMER_OFFSET needs what UPDATE_CONSUMER_OFFSET needs, and
//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ need SUB on the group. A SEND_MESSAGE to a retry topic is
//! judged by its `producerGroup` (Java reads a `group` field that header does not have, and so
//! checks nothing). Every other code needs only a valid signature.

use std::collections::BTreeMap;

use super::perm::AclPerm;
use crate::message::body::heartbeat::parse_heartbeat;
use crate::message::body::lock::parse_lock_request;
use crate::message::names::{RETRY_PREFIX, retry_topic_name};
use crate::remoting::{RemotingCommand, RequestCode};

/// The codes only `admin: true` accounts may send (Java's `Permission.ADMIN_CODE`).
const ADMIN_CODES: [RequestCode; 5] = [
    RequestCode::UpdateAndCreateTopic,
    RequestCode::UpdateBrokerConfig,
    RequestCode::DeleteTopicInBroker,
    RequestCode::UpdateAndCreateSubscriptiongroup,
    RequestCode::DeleteSubscriptiongroup,
];

/// What one request needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Needs {
    /// The request code is an admin code.
    pub admin: bool,
    /// Permission needed per resource: topics by name, groups as `%RETRY%<group>`.
    pub resources: BTreeMap<String, AclPerm>,
}

impl Needs {
    fn add(&mut self, resource: Option<&str>, perm: AclPerm) {
        if let Some(resource) = resource.filter(|r| !r.is_empty()) {
            self.resources.insert(resource.to_owned(), perm);
        }
    }

    fn add_group(&mut self, group: Option<&str>) {
        if let Some(group) = group.filter(|g| !g.is_empty()) {
            self.resources.insert(retry_topic_name(group), AclPerm::SUB);
        }
    }

    /// A send to `topic` by `group`: SUB on the group for a retry topic, else PUB on it.
    fn add_send(&mut self, topic: Option<&str>, group: Option<&str>) {
        match topic {
            Some(t) if t.starts_with(RETRY_PREFIX) => self.add_group(group),
            topic => self.add(topic, AclPerm::PUB),
        }
    }
}

/// What `req` needs, or why its body cannot tell (a heartbeat or lock body that does not
/// parse is refused, as Java refuses it).
pub fn needs(req: &RemotingCommand) -> Result<Needs, String> {
    let code = req.request_code();
    let field = |name: &str| req.ext_fields.get(name).map(String::as_str);
    let mut needs = Needs {
        admin: ADMIN_CODES.contains(&code),
        ..Needs::default()
    };
    match code {
        RequestCode::SendMessage => needs.add_send(field("topic"), field("producerGroup")),
        RequestCode::SendMessageV2 => needs.add_send(field("b"), field("a")),
        RequestCode::SendBatchMessage => needs.add_send(
            field("b").or(field("topic")),
            field("a").or(field("producerGroup")),
        ),
        RequestCode::ConsumerSendMsgBack => needs.add_group(field("group")),
        RequestCode::PullMessage => {
            needs.add(field("topic"), AclPerm::SUB);
            needs.add_group(field("consumerGroup"));
        }
        RequestCode::QueryMessage => needs.add(field("topic"), AclPerm::SUB),
        RequestCode::HeartBeat => {
            let heartbeat = parse_heartbeat(&req.body).map_err(|e| e.to_string())?;
            for consumer in &heartbeat.consumers {
                needs.add_group(Some(&consumer.group));
                for subscription in &consumer.subscriptions {
                    needs.add(Some(&subscription.topic), AclPerm::SUB);
                }
            }
        }
        RequestCode::UnregisterClient | RequestCode::GetConsumerListByGroup => {
            needs.add_group(field("consumerGroup"));
        }
        RequestCode::UpdateConsumerOffset | RequestCode::QueryConsumerOffset => {
            needs.add_group(field("consumerGroup"));
            needs.add(field("topic"), AclPerm::SUB);
        }
        RequestCode::LockBatchMq | RequestCode::UnlockBatchMq => {
            let lock = parse_lock_request(&req.body).map_err(|e| e.to_string())?;
            needs.add_group(Some(&lock.group));
        }
        _ => {}
    }
    Ok(needs)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::remoting::ExtFields;

    fn request(code: RequestCode, pairs: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
        let fields: ExtFields = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RemotingCommand::request(code, fields, Bytes::copy_from_slice(body))
    }

    fn resources(needs: &Needs) -> Vec<(&str, AclPerm)> {
        needs
            .resources
            .iter()
            .map(|(r, p)| (r.as_str(), *p))
            .collect()
    }

    #[test]
    fn sends_need_pub_on_the_topic_and_retry_sends_sub_on_the_group() {
        let v1 = request(
            RequestCode::SendMessage,
            &[("topic", "T"), ("producerGroup", "P")],
            b"",
        );
        assert_eq!(resources(&needs(&v1).expect("v1")), [("T", AclPerm::PUB)]);
        let v2 = request(RequestCode::SendMessageV2, &[("b", "T"), ("a", "P")], b"");
        assert_eq!(resources(&needs(&v2).expect("v2")), [("T", AclPerm::PUB)]);
        let batch = request(
            RequestCode::SendBatchMessage,
            &[("b", "T"), ("a", "P")],
            b"",
        );
        assert_eq!(
            resources(&needs(&batch).expect("batch")),
            [("T", AclPerm::PUB)]
        );
        let retry = request(
            RequestCode::SendMessageV2,
            &[("b", "%RETRY%G"), ("a", "G")],
            b"",
        );
        assert_eq!(
            resources(&needs(&retry).expect("retry")),
            [("%RETRY%G", AclPerm::SUB)]
        );
        let back = request(RequestCode::ConsumerSendMsgBack, &[("group", "G")], b"");
        assert_eq!(
            resources(&needs(&back).expect("back")),
            [("%RETRY%G", AclPerm::SUB)]
        );
    }

    #[test]
    fn pulls_and_offsets_need_sub_on_topic_and_group() {
        let pull = request(
            RequestCode::PullMessage,
            &[("topic", "T"), ("consumerGroup", "G")],
            b"",
        );
        let want = [("%RETRY%G", AclPerm::SUB), ("T", AclPerm::SUB)];
        assert_eq!(resources(&needs(&pull).expect("pull")), want);
        for code in [
            RequestCode::UpdateConsumerOffset,
            RequestCode::QueryConsumerOffset,
        ] {
            let req = request(code, &[("topic", "T"), ("consumerGroup", "G")], b"");
            assert_eq!(resources(&needs(&req).expect("offsets")), want);
        }
        let list = request(
            RequestCode::GetConsumerListByGroup,
            &[("consumerGroup", "G")],
            b"",
        );
        assert_eq!(
            resources(&needs(&list).expect("list")),
            [("%RETRY%G", AclPerm::SUB)]
        );
        let producer_gone = request(
            RequestCode::UnregisterClient,
            &[("producerGroup", "P")],
            b"",
        );
        assert!(
            needs(&producer_gone)
                .expect("unregister")
                .resources
                .is_empty()
        );
    }

    #[test]
    fn a_heartbeat_needs_sub_on_each_consumer_group_and_subscribed_topic() {
        let body = br#"{"clientID":"c","producerDataSet":[{"groupName":"P"}],
            "consumerDataSet":[{"groupName":"G","consumeType":"CONSUME_ACTIVELY",
            "messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET",
            "subscriptionDataSet":[{"topic":"T","subString":"*"}],"unitMode":false}]}"#;
        let req = request(RequestCode::HeartBeat, &[], body);
        let want = [("%RETRY%G", AclPerm::SUB), ("T", AclPerm::SUB)];
        assert_eq!(resources(&needs(&req).expect("heartbeat")), want);
        let garbage = request(RequestCode::HeartBeat, &[], b"{not json");
        assert!(needs(&garbage).is_err());
    }

    #[test]
    fn queue_locks_need_sub_on_the_group() {
        let body = br#"{"consumerGroup":"G","clientId":"c","mqSet":[]}"#;
        let req = request(RequestCode::LockBatchMq, &[], body);
        assert_eq!(
            resources(&needs(&req).expect("lock")),
            [("%RETRY%G", AclPerm::SUB)]
        );
    }

    #[test]
    fn the_admin_codes_need_the_admin_role_and_others_do_not() {
        let create = request(RequestCode::UpdateAndCreateTopic, &[("topic", "T")], b"");
        assert!(needs(&create).expect("create").admin);
        let delete = request(
            RequestCode::DeleteSubscriptiongroup,
            &[("groupName", "G")],
            b"",
        );
        assert!(needs(&delete).expect("delete").admin);
        let info = request(RequestCode::GetBrokerRuntimeInfo, &[], b"");
        assert_eq!(needs(&info).expect("info"), Needs::default());
    }
}
