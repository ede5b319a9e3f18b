//! RocketMQ 4.9's plain ACL on the broker: who may send which request.
//!
//! | module | owns |
//! | --- | --- |
//! | `perm` | the ACL permission bits (`DENY`, `PUB`, `SUB`) and what a grant allows |
//! | `address` | remote address patterns (`*`, `192.168.0.*`, `1-10`, `{1,2}`, lists) |
//! | `file` | `plain_acl.yml` → [`AclRules`], refused with file and line |
//! | `needs` | which request code needs the admin role or which permission on which topic or group |
//! | `live` | [`LiveAcl`]: the rules in force, re-read when the file changes, the last good kept on a bad file |
//! | `check` | the decision for one request, in Java's order; [`AclDenied`] carries Java's remark |
//!
//! The signature itself is computed in [`crate::remoting::signature`], which the client signs
//! with. This module reads no socket and holds no connection: the broker hands it the
//! request and the client's address.

pub mod address;
pub mod check;
pub mod file;
pub mod live;
pub mod needs;
pub mod perm;

pub use address::AddressPattern;
pub use check::{AclDenied, check};
pub use file::{Account, AclFileError, AclRules, load_acl_file, parse_acl_file};
pub use live::{LiveAcl, Reload};
pub use perm::AclPerm;
