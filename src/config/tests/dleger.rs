//! DLedger mode: `dLegerPeers`, `dLegerSelfId` and the checks between them.

use super::{DLEGER, build, problems, valid};
use crate::config::DLegerPeer;

fn peer(id: &str, node_id: u64, host: &str, port: u16) -> DLegerPeer {
    DLegerPeer {
        id: id.to_string(),
        node_id,
        host: host.to_string(),
        port,
    }
}

#[test]
fn peers_parse_into_ids_node_numbers_hosts_and_ports() {
    let (c, warnings) = valid(
        "enableDLegerCommitLog=true\ndLegerPeers=n1-10.0.0.1:40911;n2-my-host:40912;n3-[::1]:40913;\ndLegerSelfId=n3\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        c.peers(),
        [
            peer("n1", 1, "10.0.0.1", 40911),
            peer("n2", 2, "my-host", 40912),
            peer("n3", 3, "::1", 40913)
        ]
    );
    let me = c.self_peer().unwrap();
    assert_eq!(
        (me.id.as_str(), me.addr()),
        ("n3", "[::1]:40913".to_string())
    );
    assert_eq!(
        c.dleger_group, c.broker_name,
        "the group defaults to brokerName"
    );
}

#[test]
fn a_peer_without_the_id_prefix_is_an_error_naming_the_entry() {
    let found = problems("enableDLegerCommitLog=true\ndLegerPeers=n1-a:1;b:2\ndLegerSelfId=n1\n");
    assert_eq!(
        found,
        vec![
            "test.conf:2: dLegerPeers: \"n1-a:1;b:2\" is not a valid peer list (id-host:port;...): \
              entry \"b:2\": missing the mandatory \"id-\" prefix, e.g. n1-127.0.0.1:40911"
        ]
    );
}

#[test]
fn a_peer_id_must_be_letters_followed_by_digits() {
    for bad in ["1-a:1", "n-a:1", "n1x-a:1", "-a:1"] {
        let found = problems(&format!("dLegerPeers={bad}\n"));
        assert!(
            found[0].contains("must be letters followed by digits"),
            "{bad}: {found:?}"
        );
        assert!(
            found[0].starts_with("test.conf:1: dLegerPeers: "),
            "{found:?}"
        );
    }
    assert_eq!(valid("dLegerPeers=node12-a:1\n").0.peers()[0].node_id, 12);
}

#[test]
fn duplicate_ids_node_numbers_and_addresses_are_errors() {
    let found = problems("dLegerPeers=n1-a:1;n1-b:2;m1-c:3;n4-a:1\n");
    let message = &found[0];
    assert!(message.contains("id n1 appears twice"), "{message}");
    assert!(message.contains("id m1 reuses node number 1"), "{message}");
    assert!(
        message.contains("address a:1 is used by two members"),
        "{message}"
    );
}

#[test]
fn the_self_id_must_be_one_of_the_peers() {
    let found =
        problems("enableDLegerCommitLog=true\ndLegerPeers=n1-a:1;n2-b:2;n3-c:3\ndLegerSelfId=n4\n");
    assert_eq!(
        found,
        vec!["test.conf:3: dLegerSelfId: \"n4\" is not one of the dLegerPeers ids (n1, n2, n3)"]
    );
    let found = problems("enableDLegerCommitLog=true\ndLegerPeers=n1-a:1\ndLegerSelfId=self\n");
    assert!(
        found[0].starts_with("test.conf:3: dLegerSelfId: \"self\" is not a peer id"),
        "{found:?}"
    );
}

#[test]
fn dleger_mode_requires_peers_and_self_id() {
    assert_eq!(
        problems("brokerName=b\nenableDLegerCommitLog=true\n"),
        vec![
            "test.conf:2: dLegerPeers: is required when enableDLegerCommitLog=true",
            "test.conf:2: dLegerSelfId: is required when enableDLegerCommitLog=true",
        ]
    );
    let found = problems("enableDLegerCommitLog=true\ndLegerPeers=\ndLegerSelfId=n1\n");
    assert_eq!(
        found,
        vec!["test.conf:2: dLegerPeers: is required when enableDLegerCommitLog=true"]
    );
}

#[test]
fn a_misspelt_peers_key_is_explained_by_the_unknown_key_warning() {
    let err =
        build("enableDLegerCommitLog=true\ndledgerPeers=n1-a:1\ndLegerSelfId=n1\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("test.conf:1: dLegerPeers: is required"),
        "{text}"
    );
    assert!(text.contains("warning: unknown keys, ignored:\n  test.conf:2: dledgerPeers (did you mean dLegerPeers?)"), "{text}");
}

#[test]
fn broker_role_and_id_in_dleger_mode_warn_that_they_are_overridden() {
    let (c, warnings) = valid(&format!("{DLEGER}brokerRole=SYNC_MASTER\nbrokerId=1\n"));
    assert!(c.dleger_enabled());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("test.conf:4: brokerRole: ignored in DLedger mode"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("test.conf:5: brokerId: ignored in DLedger mode"),
        "{warnings:?}"
    );
}

#[test]
fn peers_without_dleger_mode_are_ignored_with_a_warning() {
    let (c, warnings) = valid("dLegerPeers=n1-a:1\ndLegerSelfId=n1\n");
    assert!(!c.dleger_enabled());
    assert_eq!(
        warnings,
        vec![
            "test.conf:1: dLegerPeers: ignored: enableDLegerCommitLog is not true",
            "test.conf:2: dLegerSelfId: ignored: enableDLegerCommitLog is not true",
        ]
    );
}

#[test]
fn the_self_peer_port_must_not_collide_with_the_client_ports() {
    let found = problems(
        &format!("{DLEGER}listenPort=40913\n").replace("dLegerSelfId=n1", "dLegerSelfId=n3"),
    );
    assert_eq!(
        found,
        vec![
            "test.conf:2: dLegerPeers: port 40913 of n3 collides with listenPort 40913 or its fast channel"
        ]
    );
}

#[test]
fn the_preferred_leader_must_be_a_peer() {
    assert_eq!(
        valid(&format!("{DLEGER}preferredLeaderId=n2\n"))
            .0
            .preferred_leader_id
            .as_deref(),
        Some("n2")
    );
    let found = problems(&format!("{DLEGER}preferredLeaderId=n9\n"));
    assert_eq!(
        found,
        vec![
            "test.conf:4: preferredLeaderId: \"n9\" is not one of the dLegerPeers ids (n1, n2, n3)"
        ]
    );
}
