//! Request signatures of RocketMQ 4.9's plain ACL: what a client adds to a request
//! ([`Credentials::sign`]) and what a broker recomputes to check it ([`signature`]).
//!
//! The signed content is the request's ext field values, sorted by key, concatenated, followed
//! by the body bytes; `Signature` itself is left out, and so is `_UNIQUE_KEY_QUERY`, which the
//! Java broker leaves out when it checks. The signature is base64(HMAC-SHA1(secret key,
//! content)), added as the `Signature` ext field next to `AccessKey` (and `SecurityToken`,
//! when there is one), both of which are signed. Who may do what is not decided here: that is
//! `crate::acl`'s business; this module only computes the signature, as both sides must.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::command::{ExtFields, RemotingCommand};

/// The ext field naming the signer.
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// The optional ext field of temporary credentials; signed like any other field.
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// A QUERY_MESSAGE flag the Java broker leaves out of the signed content.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

/// base64(HMAC-SHA1(`secret_key`, sorted field values ‖ `body`)), as Java's `AclUtils` computes
/// it: the fields' values in key order (an [`ExtFields`] is already sorted), without
/// [`SIGNATURE`] and [`UNIQUE_KEY_QUERY`].
pub fn signature(fields: &ExtFields, body: &[u8], secret_key: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC accepts keys of every length");
    for (key, value) in fields {
        if key != SIGNATURE && key != UNIQUE_KEY_QUERY {
            mac.update(value.as_bytes());
        }
    }
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// An account's keys, as a client holds them (Java's `SessionCredentials`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    /// Sent (and signed) as [`SECURITY_TOKEN`] when set.
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: configs holding credentials end up in logs.
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Adds [`ACCESS_KEY`] (and [`SECURITY_TOKEN`]) to `request`, then the [`SIGNATURE`] of
    /// its fields and body; call it once every other field is set.
    pub fn sign(&self, request: &mut RemotingCommand) {
        request
            .ext_fields
            .insert(ACCESS_KEY.to_owned(), self.access_key.clone());
        if let Some(token) = &self.security_token {
            request
                .ext_fields
                .insert(SECURITY_TOKEN.to_owned(), token.clone());
        }
        let signed = signature(&request.ext_fields, &request.body, &self.secret_key);
        request.ext_fields.insert(SIGNATURE.to_owned(), signed);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::remoting::RequestCode;

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// RFC 2202 test case 2 (key "Jefe", data "what do ya want for nothing?", digest
    /// effcdf6a…7c79), split over two fields in key order and the body the way Java
    /// concatenates them; the Signature and _UNIQUE_KEY_QUERY fields are not signed.
    #[test]
    fn the_signature_is_hmac_sha1_over_sorted_values_then_body_in_base64() {
        let f = fields(&[
            ("b", "ya want "),
            ("AccessKey", "what do "),
            (SIGNATURE, "left out"),
            (UNIQUE_KEY_QUERY, "true"),
        ]);
        assert_eq!(
            signature(&f, b"for nothing?", "Jefe"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    /// Java's client adds AccessKey before signing, so the access key is part of the content:
    /// "RocketMQ" (AccessKey) + "0" (queueId) + "TopicTest" (topic) + body "hello", computed
    /// with an independent HMAC-SHA1.
    #[test]
    fn signing_adds_the_access_key_to_the_signed_fields() {
        let mut req = RemotingCommand::request(
            RequestCode::SendMessage,
            fields(&[("topic", "TopicTest"), ("queueId", "0")]),
            Bytes::from_static(b"hello"),
        );
        Credentials::new("RocketMQ", "12345678").sign(&mut req);
        assert_eq!(req.ext_fields[ACCESS_KEY], "RocketMQ");
        assert_eq!(req.ext_fields[SIGNATURE], "/u+oQUi9gv7W/z1uifpc34q6njk=");
        assert!(!req.ext_fields.contains_key(SECURITY_TOKEN));
    }

    #[test]
    fn a_security_token_is_sent_and_signed() {
        let mut with_token =
            RemotingCommand::request(RequestCode::SendMessage, ExtFields::new(), Bytes::new());
        let mut creds = Credentials::new("RocketMQ", "12345678");
        creds.security_token = Some("token".to_owned());
        creds.sign(&mut with_token);
        assert_eq!(with_token.ext_fields[SECURITY_TOKEN], "token");
        let recomputed = signature(&with_token.ext_fields, &with_token.body, "12345678");
        assert_eq!(with_token.ext_fields[SIGNATURE], recomputed);
        let without = signature(&fields(&[(ACCESS_KEY, "RocketMQ")]), b"", "12345678");
        assert_ne!(with_token.ext_fields[SIGNATURE], without);
    }

    #[test]
    fn credentials_never_print_the_secret() {
        let shown = format!("{:?}", Credentials::new("RocketMQ", "s3cr3t-key"));
        assert!(shown.contains("RocketMQ"));
        assert!(!shown.contains("s3cr3t-key"));
    }
}
