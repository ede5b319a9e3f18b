//! The plain ACL at the broker's door: with `aclEnable=true`, every client request is checked
//! ([`crate::acl::LiveAcl::check`]) before `dispatch` sees it, as Java's broker runs its ACL
//! hook before every processor. A refusal is answered with SYSTEM_ERROR and Java's
//! `AclException` text (what Java's remoting layer sends for a failed hook), never the secret.

use crate::remoting::{ConnectionInfo, RemotingCommand};

use super::error::BrokerError;
use super::server::Broker;

/// Whether the client on `conn` may send `req`; always yes without `aclEnable`.
pub(crate) fn admit(
    broker: &Broker,
    conn: &ConnectionInfo,
    req: &RemotingCommand,
) -> Result<(), BrokerError> {
    let Some(acl) = &broker.acl else {
        return Ok(());
    };
    acl.check(conn.peer().ip(), req).map_err(|denied| {
        tracing::info!(
            peer = %conn.peer(),
            code = %req.request_code(),
            reason = %denied.0,
            "ACL refused a request"
        );
        BrokerError::System(denied.to_string())
    })
}
