use std::net::IpAddr;
use std::path::Path;

use bytes::Bytes;

use super::*;
use crate::acl::file::parse_acl_file;
use crate::remoting::{Credentials, ExtFields, RequestCode};

const RULES: &str = "\
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: producer1
    secretKey: producer-secret
    whiteRemoteAddress: 192.168.9.9
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - orders=PUB
      - audit=PUB|SUB
      - secret=DENY
    groupPerms:
      - banned=DENY
  - accessKey: operator
    secretKey: operator-secret
    admin: true
  - accessKey: limitedAdmin
    secretKey: operator-secret
    admin: true
    topicPerms:
      - orders=SUB
";

fn rules() -> AclRules {
    parse_acl_file(RULES, Path::new("plain_acl.yml")).expect("test rules parse")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

const CLIENT: &str = "127.0.0.1";

fn request(code: RequestCode, pairs: &[(&str, &str)]) -> RemotingCommand {
    let fields: ExtFields = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    RemotingCommand::request(code, fields, Bytes::from_static(b"body"))
}

fn signed(mut req: RemotingCommand, access_key: &str, secret: &str) -> RemotingCommand {
    Credentials::new(access_key, secret).sign(&mut req);
    req
}

fn send(topic: &str) -> RemotingCommand {
    request(
        RequestCode::SendMessageV2,
        &[("a", "P"), ("b", topic), ("c", "TBW102")],
    )
}

fn pull(topic: &str, group: &str) -> RemotingCommand {
    request(
        RequestCode::PullMessage,
        &[("topic", topic), ("consumerGroup", group)],
    )
}

fn denial(req: &RemotingCommand) -> String {
    check(&rules(), ip(CLIENT), req)
        .expect_err("refused")
        .to_string()
}

#[test]
fn a_correctly_signed_request_within_the_grants_passes() {
    let req = signed(send("orders"), "producer1", "producer-secret");
    assert_eq!(check(&rules(), ip(CLIENT), &req), Ok(()));
    let req = signed(pull("audit", "readers"), "producer1", "producer-secret");
    assert_eq!(check(&rules(), ip(CLIENT), &req), Ok(()));
}

#[test]
fn a_wrong_secret_or_a_tampered_request_fails_the_signature() {
    let wrong = signed(send("orders"), "producer1", "not-the-secret");
    let text = denial(&wrong);
    assert_eq!(
        text,
        "org.apache.rocketmq.acl.common.AclException: Check signature failed for accessKey=producer1"
    );
    assert!(!text.contains("producer-secret"));
    let mut tampered = signed(send("orders"), "producer1", "producer-secret");
    tampered.body = Bytes::from_static(b"other body");
    assert!(denial(&tampered).contains("Check signature failed"));
}

#[test]
fn unsigned_and_unknown_keys_are_refused() {
    assert!(denial(&send("orders")).ends_with("No accessKey is configured"));
    let stranger = signed(send("orders"), "stranger", "whatever-secret");
    assert!(denial(&stranger).ends_with("No acl config for stranger"));
}

#[test]
fn a_missing_permission_is_named_in_the_refusal() {
    let other_topic = signed(send("payments"), "producer1", "producer-secret");
    assert!(denial(&other_topic).ends_with("No default permission for topic:payments, PUB needed"));
    let denied_topic = signed(pull("secret", "readers"), "producer1", "producer-secret");
    assert!(denial(&denied_topic).ends_with("No default permission for topic:secret, SUB needed"));
    let pub_only = signed(pull("orders", "readers"), "producer1", "producer-secret");
    assert!(denial(&pub_only).ends_with("topic:orders, SUB needed"));
    let banned_group = signed(pull("audit", "banned"), "producer1", "producer-secret");
    assert!(denial(&banned_group).ends_with("No default permission for group:banned, SUB needed"));
}

#[test]
fn admin_codes_need_an_admin_account() {
    let create = || request(RequestCode::UpdateAndCreateTopic, &[("topic", "orders")]);
    let by_producer = signed(create(), "producer1", "producer-secret");
    assert_eq!(
        denial(&by_producer),
        "org.apache.rocketmq.acl.common.AclException: Need admin permission for request \
         code=17, but accessKey=producer1 is not"
    );
    let by_operator = signed(create(), "operator", "operator-secret");
    assert_eq!(check(&rules(), ip(CLIENT), &by_operator), Ok(()));
}

#[test]
fn an_admin_without_grants_may_do_anything_and_one_with_grants_is_bound_by_them() {
    let anything = signed(pull("payments", "readers"), "operator", "operator-secret");
    assert_eq!(check(&rules(), ip(CLIENT), &anything), Ok(()));
    let limited = signed(send("orders"), "limitedAdmin", "operator-secret");
    assert!(denial(&limited).ends_with("topic:orders, PUB needed"));
}

#[test]
fn white_listed_clients_skip_the_signature_and_the_grants() {
    let unsigned = send("payments");
    assert_eq!(check(&rules(), ip("10.10.103.7"), &unsigned), Ok(()));
    let mut badly_signed = signed(send("payments"), "producer1", "wrong-secret");
    badly_signed.ext_fields.insert("x".into(), "y".into());
    assert_eq!(check(&rules(), ip("192.168.9.9"), &badly_signed), Ok(()));
    assert!(check(&rules(), ip("192.168.9.10"), &badly_signed).is_err());
}

#[test]
fn trace_records_pass_with_a_valid_signature() {
    let trace = signed(send("RMQ_SYS_TRACE_TOPIC"), "producer1", "producer-secret");
    assert_eq!(check(&rules(), ip(CLIENT), &trace), Ok(()));
}

#[test]
fn codes_without_resources_need_only_a_valid_signature() {
    let info = signed(
        request(RequestCode::GetBrokerRuntimeInfo, &[]),
        "producer1",
        "producer-secret",
    );
    assert_eq!(check(&rules(), ip(CLIENT), &info), Ok(()));
    let unsigned = request(RequestCode::GetBrokerRuntimeInfo, &[]);
    assert!(check(&rules(), ip(CLIENT), &unsigned).is_err());
}
