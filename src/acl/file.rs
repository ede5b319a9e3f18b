//! `plain_acl.yml` in Java's format, read into [`AclRules`]: the global white list and the
//! accounts with their grants. A file that is not valid YAML, or whose values are not what
//! Java accepts (a permission other than `DENY`/`PUB`/`SUB`/`PUB|SUB`, a bad address pattern,
//! keys of 6 characters or fewer, an access key listed twice), is refused with the line it is
//! on. Unknown keys (Java's `dataVersion`, comments' neighbours) are ignored.
//!
//! ```yaml
//! globalWhiteRemoteAddresses:
//!   - 10.10.103.*
//! accounts:
//!   - accessKey: RocketMQ
//!     secretKey: 12345678
//!     whiteRemoteAddress:
//!     admin: false
//!     defaultTopicPerm: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms:
//!       - topicA=DENY
//!       - topicB=PUB|SUB
//!     groupPerms:
//!       - groupA=SUB
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::address::AddressPattern;
use super::perm::AclPerm;
use crate::message::names::retry_topic_name;

/// Java refuses keys of this length or shorter.
const MIN_KEY_LEN_EXCLUSIVE: usize = 6;

/// What a `plain_acl.yml` grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclRules {
    /// Clients from these addresses are let through unchecked.
    pub global_white: Vec<AddressPattern>,
    pub accounts: BTreeMap<String, Account>,
}

/// One account of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub access_key: String,
    pub secret_key: String,
    /// Requests from these addresses skip the signature and permission checks (as in Java).
    pub white: AddressPattern,
    /// May send the admin request codes, and has every permission unless a grant says
    /// otherwise.
    pub admin: bool,
    /// For topics not in `grants`; DENY when absent.
    pub default_topic_perm: AclPerm,
    /// For groups not in `grants`; DENY when absent.
    pub default_group_perm: AclPerm,
    /// By topic name, groups as their retry topic `%RETRY%<group>` (as Java keys them).
    pub grants: BTreeMap<String, AclPerm>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret key.
        f.debug_struct("Account")
            .field("access_key", &self.access_key)
            .field("white", &self.white)
            .field("admin", &self.admin)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

/// Why a `plain_acl.yml` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {reason}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct AclFileError {
    pub path: PathBuf,
    /// 1-based, when the problem has a place.
    pub line: Option<u64>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFile {
    #[serde(default)]
    global_white_remote_addresses: Option<Vec<Spanned<Option<String>>>>,
    #[serde(default)]
    accounts: Option<Vec<Spanned<RawAccount>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAccount {
    access_key: Option<Spanned<String>>,
    secret_key: Option<Spanned<String>>,
    white_remote_address: Option<Spanned<Option<String>>>,
    admin: Option<bool>,
    default_topic_perm: Option<Spanned<String>>,
    default_group_perm: Option<Spanned<String>>,
    topic_perms: Option<Vec<Spanned<String>>>,
    group_perms: Option<Vec<Spanned<String>>>,
}

/// Reads and checks the file at `path`.
pub fn load_acl_file(path: &Path) -> Result<AclRules, AclFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| AclFileError {
        path: path.to_path_buf(),
        line: None,
        reason: format!("cannot read: {e}"),
    })?;
    parse_acl_file(&text, path)
}

/// Parses `text`, the contents of `path` (named in errors).
pub fn parse_acl_file(text: &str, path: &Path) -> Result<AclRules, AclFileError> {
    let fail = |line: Option<u64>, reason: String| AclFileError {
        path: path.to_path_buf(),
        line,
        reason,
    };
    if text.trim().is_empty() {
        return Ok(AclRules::default());
    }
    let raw: Option<RawFile> = serde_saphyr::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        fail(line, first_line(&e.to_string()))
    })?;
    let Some(raw) = raw else {
        return Ok(AclRules::default());
    };
    let mut rules = AclRules::default();
    for entry in raw.global_white_remote_addresses.into_iter().flatten() {
        let Some(text) = entry.value else { continue };
        let pattern = AddressPattern::parse(&text)
            .map_err(|reason| fail(Some(entry.referenced.line()), reason))?;
        rules.global_white.push(pattern);
    }
    for raw_account in raw.accounts.into_iter().flatten() {
        let line = raw_account.referenced.line();
        let account = account(raw_account.value, line).map_err(|(l, r)| fail(Some(l), r))?;
        if rules.accounts.contains_key(&account.access_key) {
            return Err(fail(
                Some(line),
                format!("accessKey {:?} is listed twice", account.access_key),
            ));
        }
        rules.accounts.insert(account.access_key.clone(), account);
    }
    Ok(rules)
}

/// The first line of a YAML error (the crate renders a snippet below it).
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// One account, or the line and reason of its first problem.
fn account(raw: RawAccount, line: u64) -> Result<Account, (u64, String)> {
    let key = |field: Option<Spanned<String>>, name: &str| match field {
        Some(k) if k.value.chars().count() > MIN_KEY_LEN_EXCLUSIVE => Ok(k.value),
        Some(k) => Err((
            k.referenced.line(),
            format!("{name} must be longer than {MIN_KEY_LEN_EXCLUSIVE} characters"),
        )),
        None => Err((line, format!("an account without {name}"))),
    };
    let access_key = key(raw.access_key, "accessKey")?;
    let secret_key = key(raw.secret_key, "secretKey")?;
    let white = match raw.white_remote_address {
        Some(Spanned {
            value: Some(text),
            referenced,
            ..
        }) => AddressPattern::parse(&text).map_err(|r| (referenced.line(), r))?,
        _ => AddressPattern::Nothing,
    };
    let default_perm = |field: Option<Spanned<String>>| match field {
        Some(p) => perm(&p.value).map_err(|r| (p.referenced.line(), r)),
        None => Ok(AclPerm::DENY),
    };
    let mut account = Account {
        access_key,
        secret_key,
        white,
        admin: raw.admin.unwrap_or(false),
        default_topic_perm: default_perm(raw.default_topic_perm)?,
        default_group_perm: default_perm(raw.default_group_perm)?,
        grants: BTreeMap::new(),
    };
    for (entries, is_group) in [(raw.group_perms, true), (raw.topic_perms, false)] {
        for entry in entries.into_iter().flatten() {
            let at = entry.referenced.line();
            let Some((name, grant)) = entry.value.split_once('=') else {
                return Err((at, format!("{:?} is not name=PERM", entry.value)));
            };
            let name = name.trim();
            if name.is_empty() || grant.contains('=') {
                return Err((at, format!("{:?} is not name=PERM", entry.value)));
            }
            let resource = if is_group {
                retry_topic_name(name)
            } else {
                name.to_owned()
            };
            account
                .grants
                .insert(resource, perm(grant).map_err(|r| (at, r))?);
        }
    }
    Ok(account)
}

fn perm(text: &str) -> Result<AclPerm, String> {
    AclPerm::parse(text)
        .ok_or_else(|| format!("{:?} is not DENY, PUB, SUB or PUB|SUB", text.trim()))
}

#[cfg(test)]
mod tests;
