use std::net::IpAddr;
use std::path::Path;

use super::*;

/// The shape of RocketMQ 4.9.8's `distribution/conf/plain_acl.yml`, with its comments, a
/// numeric secret key and an empty `whiteRemoteAddress`.
const JAVA_SAMPLE: &str = "\
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

fn parse(text: &str) -> Result<AclRules, AclFileError> {
    parse_acl_file(text, Path::new("conf/plain_acl.yml"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn javas_sample_file_is_read_whole() {
    let rules = parse(JAVA_SAMPLE).expect("Java's sample parses");
    assert_eq!(rules.global_white.len(), 2);
    assert!(rules.global_white[0].matches(ip("10.10.103.9")));
    let plain = &rules.accounts["RocketMQ"];
    assert_eq!(plain.secret_key, "12345678");
    assert!(!plain.admin);
    assert_eq!(plain.white, AddressPattern::Nothing);
    assert_eq!(plain.default_topic_perm, AclPerm::DENY);
    assert_eq!(plain.default_group_perm, AclPerm::SUB);
    assert_eq!(plain.grants["topicB"], AclPerm::PUB_SUB);
    assert_eq!(plain.grants["%RETRY%groupA"], AclPerm::DENY);
    assert_eq!(plain.grants["%RETRY%groupC"], AclPerm::SUB);
    let admin = &rules.accounts["rocketmq2"];
    assert!(admin.admin);
    assert!(admin.white.matches(ip("192.168.1.20")));
    assert_eq!(admin.default_topic_perm, AclPerm::DENY);
}

#[test]
fn an_empty_file_grants_nothing() {
    assert_eq!(parse("").expect("empty"), AclRules::default());
    assert_eq!(
        parse("# only a comment\n").expect("comment"),
        AclRules::default()
    );
}

#[test]
fn a_yaml_syntax_error_names_the_file_and_its_line() {
    let err = parse("accounts:\n  - accessKey: RocketMQ\n    secretKey: [12345678\n")
        .expect_err("unclosed flow sequence");
    assert!(err.line.is_some(), "{err}");
    assert!(err.to_string().starts_with("conf/plain_acl.yml:"), "{err}");
}

#[test]
fn a_bad_permission_names_its_line() {
    let text = JAVA_SAMPLE.replace("topicC=SUB", "topicC=READ");
    let err = parse(&text).expect_err("READ is no permission");
    assert_eq!(err.line, Some(15), "{err}");
    assert!(err.reason.contains("READ"), "{err}");
}

#[test]
fn a_bad_address_pattern_names_its_line() {
    let text = JAVA_SAMPLE.replace("192.168.1.*", "192.168.1.300");
    let err = parse(&text).expect_err("300 is no octet");
    assert_eq!(err.line, Some(24), "{err}");
    let text = JAVA_SAMPLE.replace("10.10.103.*", "10.10.*.x.y");
    assert_eq!(parse(&text).expect_err("five parts").line, Some(2));
}

#[test]
fn short_keys_and_duplicate_accounts_are_refused() {
    let short = JAVA_SAMPLE.replace(
        "secretKey: 12345678\n    whiteRemoteAddress:\n",
        "secretKey: 123456\n    whiteRemoteAddress:\n",
    );
    let err = parse(&short).expect_err("six characters");
    assert_eq!(err.line, Some(7), "{err}");
    assert!(
        !err.to_string().contains("123456"),
        "the secret is never shown: {err}"
    );
    let twice = JAVA_SAMPLE.replace("rocketmq2", "RocketMQ");
    let err = parse(&twice).expect_err("listed twice");
    assert_eq!(err.line, Some(22), "{err}");
}

#[test]
fn a_perm_entry_without_equals_is_refused() {
    let text = JAVA_SAMPLE.replace("topicA=DENY", "topicA");
    assert_eq!(parse(&text).expect_err("no =").line, Some(13));
}

#[test]
fn flow_style_and_quoted_values_read_as_in_block_style() {
    let text = "globalWhiteRemoteAddresses: ['127.0.0.1']\naccounts:\n  - {accessKey: \"abcdefg\", secretKey: 'hijklmn', admin: true, topicPerms: [\"t=PUB\"]}\n";
    let rules = parse(text).expect("flow style");
    assert!(rules.accounts["abcdefg"].admin);
    assert_eq!(rules.accounts["abcdefg"].grants["t"], AclPerm::PUB);
}
