//! Peer authentication with the group's shared secret (`dLegerPeerSecret`): after a [`Hello`]
//! the server sends a fresh [`Challenge`]; the client answers with an HMAC-SHA256 [`Proof`]
//! over that nonce and its own nonce; the server checks it and answers `HelloOk` carrying its
//! own HMAC over the client's nonce, which the client checks in turn. Both sides prove they
//! hold the secret, each proof is bound to the group, both node ids, its role and a nonce of
//! this connection (so it cannot be replayed, reflected or moved to another pair of nodes).
//! The secret never crosses the wire.
//!
//! | frame | payload |
//! | --- | --- |
//! | `Hello` (client) | group, from, to (unchanged) |
//! | `AuthChallenge` (server) | [`Challenge`]: 32 random bytes |
//! | `AuthProof` (client) | [`Proof`]: the client's MAC and its own 32 random bytes |
//! | `HelloOk` (server) | the server's MAC (bytes) |
//!
//! The frames are read and written by [`super::server`] and [`super::client`]; this module
//! only makes and checks the values.

use std::io::Read as _;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::rpc::Hello;

/// Bytes of each side's nonce.
pub(crate) const NONCE_LEN: usize = 32;

/// The group's shared secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PeerSecret(Vec<u8>);

impl std::fmt::Debug for PeerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerSecret(..)")
    }
}

impl PeerSecret {
    pub(crate) fn new(secret: &str) -> PeerSecret {
        PeerSecret(secret.as_bytes().to_vec())
    }

    fn mac(&self, role: &[u8], hello: &Hello, nonce: &[u8; NONCE_LEN]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of every length");
        mac.update(role);
        mac.update(&(hello.group.len() as u64).to_be_bytes());
        mac.update(hello.group.as_bytes());
        mac.update(&hello.from.to_be_bytes());
        mac.update(&hello.to.to_be_bytes());
        mac.update(nonce);
        mac
    }

    /// The client's MAC over the server's nonce.
    pub(crate) fn client_proof(&self, hello: &Hello, server_nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
        self.mac(CLIENT_ROLE, hello, server_nonce)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// The server's MAC over the client's nonce.
    pub(crate) fn server_proof(&self, hello: &Hello, client_nonce: &[u8; NONCE_LEN]) -> Vec<u8> {
        self.mac(SERVER_ROLE, hello, client_nonce)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `given` is the client's MAC over `server_nonce` (constant time).
    pub(crate) fn check_client(
        &self,
        hello: &Hello,
        server_nonce: &[u8; NONCE_LEN],
        given: &[u8],
    ) -> bool {
        self.mac(CLIENT_ROLE, hello, server_nonce)
            .verify_slice(given)
            .is_ok()
    }

    /// Whether `given` is the server's MAC over `client_nonce` (constant time).
    pub(crate) fn check_server(
        &self,
        hello: &Hello,
        client_nonce: &[u8; NONCE_LEN],
        given: &[u8],
    ) -> bool {
        self.mac(SERVER_ROLE, hello, client_nonce)
            .verify_slice(given)
            .is_ok()
    }
}

const CLIENT_ROLE: &[u8] = b"dledger-peer-client-v1";
const SERVER_ROLE: &[u8] = b"dledger-peer-server-v1";

/// The server's challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// The client's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Proof {
    pub(crate) mac: Vec<u8>,
    pub(crate) nonce: [u8; NONCE_LEN],
}

/// A fresh nonce from the kernel's random source.
pub(crate) fn nonce() -> std::io::Result<[u8; NONCE_LEN]> {
    let mut bytes = [0u8; NONCE_LEN];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(from: u64, to: u64) -> Hello {
        Hello {
            group: "RaftNode00".into(),
            from,
            to,
        }
    }

    #[test]
    fn a_proof_checks_only_with_the_same_secret_pair_nonce_and_role() {
        let secret = PeerSecret::new("group secret");
        let nonce = nonce().expect("urandom");
        let proof = secret.client_proof(&hello(1, 2), &nonce);
        assert!(secret.check_client(&hello(1, 2), &nonce, &proof));
        assert!(!PeerSecret::new("other").check_client(&hello(1, 2), &nonce, &proof));
        assert!(
            !secret.check_client(&hello(3, 2), &nonce, &proof),
            "another sender"
        );
        assert!(
            !secret.check_client(&hello(1, 3), &nonce, &proof),
            "another target"
        );
        let other_nonce = super::nonce().expect("urandom");
        assert_ne!(nonce, other_nonce);
        assert!(
            !secret.check_client(&hello(1, 2), &other_nonce, &proof),
            "replayed"
        );
        assert!(
            !secret.check_server(&hello(1, 2), &nonce, &proof),
            "reflected"
        );
        assert!(!secret.check_client(&hello(1, 2), &nonce, &proof[..16]));
    }

    #[test]
    fn the_secret_is_never_printed() {
        assert!(!format!("{:?}", PeerSecret::new("hunter22")).contains("hunter22"));
    }
}
