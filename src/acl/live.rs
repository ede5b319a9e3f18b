//! [`LiveAcl`]: the rules of one `plain_acl.yml` as they are now. [`LiveAcl::reload_if_changed`]
//! re-reads the file when its modification time, size or inode changed (a caller polls it
//! about every second); a file that does not parse keeps the last good rules, and the file,
//! line and reason are logged once per change of the file.

use std::net::IpAddr;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::check::{AclDenied, check};
use super::file::{AclFileError, AclRules, load_acl_file};
use crate::common::sync::lock;
use crate::remoting::RemotingCommand;
use crate::remoting::signature::{ACCESS_KEY, SIGNATURE, signature};

/// How a file looked when it was last read; a different stamp means it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode: meta.ino(),
    })
}

/// What [`LiveAcl::reload_if_changed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    /// The new rules are in force.
    Reloaded,
    /// The file changed but was refused; the last good rules stay in force.
    KeptLastGood(AclFileError),
}

/// The rules in force, and the file they come from.
#[derive(Debug)]
pub struct LiveAcl {
    path: PathBuf,
    rules: RwLock<Arc<AclRules>>,
    seen: Mutex<Option<Stamp>>,
}

impl LiveAcl {
    /// Reads `path`; a file that cannot be read or parsed is an error (a broker with
    /// `aclEnable=true` must not start without its rules).
    pub fn load(path: impl Into<PathBuf>) -> Result<LiveAcl, AclFileError> {
        let path = path.into();
        let seen = stamp(&path);
        let rules = load_acl_file(&path)?;
        Ok(LiveAcl {
            path,
            rules: RwLock::new(Arc::new(rules)),
            seen: Mutex::new(seen),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules in force now.
    pub fn rules(&self) -> Arc<AclRules> {
        self.rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether the rules in force let a client at `peer` send `req`.
    pub fn check(&self, peer: IpAddr, req: &RemotingCommand) -> Result<(), AclDenied> {
        check(&self.rules(), peer, req)
    }

    /// Signs `req` again as the account it names, after a field was added to a request this
    /// node admitted (a follower forwarding END_TRANSACTION to its leader). False when the
    /// request names no account the rules know.
    pub fn resign(&self, req: &mut RemotingCommand) -> bool {
        let rules = self.rules();
        let account = req
            .ext_fields
            .get(ACCESS_KEY)
            .and_then(|key| rules.accounts.get(key));
        let Some(account) = account else {
            return false;
        };
        let signed = signature(&req.ext_fields, &req.body, &account.secret_key);
        req.ext_fields.insert(SIGNATURE.to_owned(), signed);
        true
    }

    /// Re-reads the file if it changed since it was last read. Blocking file I/O: small, but
    /// call it from a blocking-tolerant place.
    pub fn reload_if_changed(&self) -> Reload {
        let now = stamp(&self.path);
        {
            let mut seen = lock(&self.seen);
            if *seen == now {
                return Reload::Unchanged;
            }
            *seen = now;
        }
        match load_acl_file(&self.path) {
            Ok(rules) => {
                tracing::info!(
                    file = %self.path.display(),
                    accounts = rules.accounts.len(),
                    "ACL rules reloaded"
                );
                *self
                    .rules
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(rules);
                Reload::Reloaded
            }
            Err(e) => {
                tracing::warn!(
                    file = %e.path.display(),
                    line = e.line,
                    reason = %e.reason,
                    "ACL file refused; the last good rules stay in force"
                );
                Reload::KeptLastGood(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const GOOD: &str =
        "accounts:\n  - accessKey: abcdefg\n    secretKey: hijklmnop\n    defaultTopicPerm: SUB\n";

    fn write(path: &Path, text: &str) {
        // A new file each time (new inode), so the change is seen however coarse mtime is.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("write acl file");
        std::fs::rename(&tmp, path).expect("replace acl file");
    }

    #[test]
    fn a_changed_file_is_reloaded_and_an_unchanged_one_is_not_reread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain_acl.yml");
        write(&path, GOOD);
        let live = LiveAcl::load(&path).expect("loads");
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        write(&path, &GOOD.replace("SUB", "PUB"));
        assert_eq!(live.reload_if_changed(), Reload::Reloaded);
        let rules = live.rules();
        assert_eq!(
            rules.accounts["abcdefg"].default_topic_perm,
            crate::acl::AclPerm::PUB
        );
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
    }

    #[test]
    fn a_file_that_does_not_parse_keeps_the_last_good_rules() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain_acl.yml");
        write(&path, GOOD);
        let live = LiveAcl::load(&path).expect("loads");
        write(
            &path,
            &GOOD.replace("defaultTopicPerm: SUB", "defaultTopicPerm: READ"),
        );
        match live.reload_if_changed() {
            Reload::KeptLastGood(e) => {
                assert_eq!(e.line, Some(4), "{e}");
                assert_eq!(e.path, path);
            }
            other => panic!("expected the bad file refused, got {other:?}"),
        }
        assert_eq!(
            live.rules().accounts["abcdefg"].default_topic_perm,
            crate::acl::AclPerm::SUB
        );
        // Removed: still the last good rules; back again: read.
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(live.reload_if_changed(), Reload::KeptLastGood(_)));
        assert_eq!(live.rules().accounts.len(), 1);
        write(&path, "accounts: []\n");
        assert_eq!(live.reload_if_changed(), Reload::Reloaded);
        assert!(live.rules().accounts.is_empty());
    }

    #[test]
    fn a_request_changed_after_admission_is_signed_again_as_its_account() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plain_acl.yml");
        write(&path, GOOD);
        let live = LiveAcl::load(&path).expect("loads");
        let mut req = RemotingCommand::request(
            crate::remoting::RequestCode::EndTransaction,
            Default::default(),
            bytes::Bytes::new(),
        );
        crate::remoting::Credentials::new("abcdefg", "hijklmnop").sign(&mut req);
        let peer = "127.0.0.1".parse().expect("ip");
        assert_eq!(live.check(peer, &req), Ok(()));
        req.ext_fields.insert("forwarded".into(), "true".into());
        assert!(live.check(peer, &req).is_err());
        assert!(live.resign(&mut req));
        assert_eq!(live.check(peer, &req), Ok(()));
        req.ext_fields
            .insert(ACCESS_KEY.into(), "unknown-key".into());
        assert!(!live.resign(&mut req));
    }

    #[test]
    fn a_missing_file_at_start_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = LiveAcl::load(dir.path().join("absent.yml")).expect_err("absent");
        assert!(err.reason.contains("cannot read"), "{err}");
    }
}
