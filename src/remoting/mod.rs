//! The RocketMQ 4.x "remoting" protocol: frames, commands, codes, typed headers, and the TCP
//! server and client that carry them. The byte-level reference is
//! `shared/protocol/remoting.md`; section numbers below point there.
//!
//! | module | owns |
//! | --- | --- |
//! | [`code`] | `RequestCode`, `ResponseCode`, `LanguageCode`: i32 enums with Java names and an `Unknown` arm (§1.7, §2) |
//! | [`command`] | `RemotingCommand` and the response rules (same opaque, same serialization) (§1.3) |
//! | [`codec`] | frame ↔ command, JSON and ROCKETMQ binary headers, limits before allocation (§1.2, §1.3) |
//! | [`header`] | typed headers ↔ `extFields` (§1.4 and the per-command tables) |
//! | [`server`] | `serve`: a task per connection, concurrent requests, server-initiated requests, close notification |
//! | [`client`] | `RemotingClient`: one address, requests matched by opaque, oneway, reconnect, server requests; signs requests when it holds credentials |
//! | [`signature`] | the plain ACL's request signature (HMAC-SHA1 over sorted ext fields and body) and `Credentials` |
//!
//! The data path: bytes → [`codec`] → [`server`] → the broker's or nameserver's `Handler`
//! (a `match` on [`code::RequestCode`], typed [`header`]s) → a response command → [`codec`] →
//! bytes. This module uses no other module of the crate; it never interprets bodies (route
//! tables, heartbeats, messages) nor decides what a code means: that is the broker's, the
//! nameserver's and the client's business.

pub mod client;
pub mod code;
pub mod codec;
pub mod command;
mod connection;
pub mod header;
pub mod server;
pub mod signature;

pub use client::{ClientConfig, ClientError, InboundRequest, RemotingClient};
pub use code::{LanguageCode, RequestCode, ResponseCode};
pub use codec::{DecodeError, EncodeError, FrameCodec};
pub use command::{ExtFields, RemotingCommand, SerializeType};
pub use header::{CommandHeader, HeaderError};
pub use server::{ConnectionInfo, Handler, SendError, ServerConfig, serve, serve_with};
pub use signature::Credentials;

#[cfg(test)]
mod tests;
