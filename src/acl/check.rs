//! The plain ACL's decision for one request, in Java's order (`PlainPermissionManager.validate`):
//!
//! 1. a client on the global white list passes;
//! 2. the request must name a known `AccessKey`;
//! 3. a client on that account's white list passes (no signature, no permission check);
//! 4. the `Signature` must be the one [`crate::remoting::signature::signature`] computes with
//!    the account's secret key;
//! 5. a PUB to `RMQ_SYS_TRACE_TOPIC` (message trace) passes;
//! 6. an admin code needs `admin: true`;
//! 7. every topic and group the request touches ([`super::needs`]) needs its permission: the
//!    account's grant for it, else its default topic or group permission (an admin account
//!    with no grants at all has every permission).
//!
//! A refusal is an [`AclDenied`], whose text is what Java's broker puts in the remark (its
//! `AclException`), never the secret key; the broker answers it with SYSTEM_ERROR as Java does.

use std::net::IpAddr;

use super::file::AclRules;
use super::needs::needs;
use super::perm::AclPerm;
use crate::message::names::{DEFAULT_TRACE_TOPIC, RETRY_PREFIX};
use crate::remoting::RemotingCommand;
use crate::remoting::signature::{ACCESS_KEY, SIGNATURE, signature};

/// Why the ACL refused a request; displayed as Java's remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("org.apache.rocketmq.acl.common.AclException: {0}")]
pub struct AclDenied(pub String);

/// Whether `rules` let a client at `peer` send `req`.
pub fn check(rules: &AclRules, peer: IpAddr, req: &RemotingCommand) -> Result<(), AclDenied> {
    let deny = |message: String| Err(AclDenied(message));
    let needs = needs(req).map_err(AclDenied)?;
    if rules.global_white.iter().any(|p| p.matches(peer)) {
        return Ok(());
    }
    let Some(access_key) = req.ext_fields.get(ACCESS_KEY) else {
        return deny("No accessKey is configured".to_owned());
    };
    let Some(account) = rules.accounts.get(access_key) else {
        return deny(format!("No acl config for {access_key}"));
    };
    if account.white.matches(peer) {
        return Ok(());
    }
    let expected = signature(&req.ext_fields, &req.body, &account.secret_key);
    let given = req.ext_fields.get(SIGNATURE).map_or("", String::as_str);
    if !same(expected.as_bytes(), given.as_bytes()) {
        return deny(format!("Check signature failed for accessKey={access_key}"));
    }
    if needs.resources.get(DEFAULT_TRACE_TOPIC) == Some(&AclPerm::PUB) {
        return Ok(());
    }
    if needs.admin && !account.admin {
        return deny(format!(
            "Need admin permission for request code={}, but accessKey={access_key} is not",
            req.code
        ));
    }
    if account.admin && account.grants.is_empty() {
        return Ok(());
    }
    for (resource, needed) in &needs.resources {
        let group = resource.strip_prefix(RETRY_PREFIX);
        let owned = account
            .grants
            .get(resource)
            .copied()
            .unwrap_or(match group {
                Some(_) => account.default_group_perm,
                None => account.default_topic_perm,
            });
        if !owned.allows(*needed) {
            let what = match group {
                Some(group) => format!("group:{group}"),
                None => format!("topic:{resource}"),
            };
            return deny(format!("No default permission for {what}, {needed} needed"));
        }
    }
    Ok(())
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
