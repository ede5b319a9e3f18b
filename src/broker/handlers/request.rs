//! Reading a request's fields the way every handler needs: a required ext field, one that must
//! be a number, a typed header. A missing or bad field is SYSTEM_ERROR with Java's remark.

use crate::broker::error::BrokerError;
use crate::remoting::{CommandHeader, RemotingCommand};

/// A required ext field.
pub(super) fn field<'a>(req: &'a RemotingCommand, key: &str) -> Result<&'a str, BrokerError> {
    req.ext_fields
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| BrokerError::system(format!("the custom field {key} is null")))
}

/// A required ext field that must be an integer.
pub(super) fn number(req: &RemotingCommand, key: &str) -> Result<i64, BrokerError> {
    field(req, key)?
        .trim()
        .parse()
        .map_err(|_| BrokerError::system(format!("the custom field {key} is not a number")))
}

/// The request's typed header.
pub(super) fn header<H: CommandHeader>(req: &RemotingCommand) -> Result<H, BrokerError> {
    req.header().map_err(|e| BrokerError::system(e.to_string()))
}
