//! Permission bits of topics, queues and brokers, as Java's `PermName`: one definition for the
//! topic table, the routes, the broker's `brokerPermission` and the client's queue choice.
//!
//! `int`s on the Java side and in every JSON body, hence `i32` here. Owns the bits only: which
//! topic or broker has which is the broker's and the nameserver's business.

/// Permission bit: queues may be read (consumed).
pub const PERM_READ: i32 = 4;
/// Permission bit: queues may be written (produced to).
pub const PERM_WRITE: i32 = 2;
/// Permission bit: new topics inherit this topic's settings (meaningful on `TBW102` only).
pub const PERM_INHERIT: i32 = 1;
