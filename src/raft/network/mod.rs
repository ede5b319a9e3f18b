//! The raft peer network: TCP between the nodes a broker group lists in `dLegerPeers`.
//!
//! Frames (`frame`) are length-prefixed and carry bincode of openraft's serde types; `faults`
//! lets in-process test clusters drop links. This module never touches storage.

mod faults;
mod frame;
