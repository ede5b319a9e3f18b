//! The `mqadmin` tool behind `src/bin/mqadmin.rs`: RocketMQ's admin subcommands (names in any
//! letter case, `-n` or `NAMESRV_ADDR`, `#Column` headers) over [`crate::client`], plus
//! `raftStatus`, a view of each broker's Raft state.
//!
//! | file | owns |
//! | --- | --- |
//! | [`args`] | the subcommands and flags, case-insensitive lookup, `help`, the command list |
//! | [`commands`] | running one subcommand: the dispatch, and the cluster, broker and topic commands |
//! | `calls` | the broker and nameserver calls the commands share (masters, runtime info) |
//! | `messages` | `sendMessage`, `consumeMessage`, `queryMsgByKey`, `queryMsgById`, `queryMsgByOffset` |
//! | `consumers` | `consumerProgress`, `consumerConnection`, `updateSubGroup` |
//! | `groups` | `deleteSubGroup`, `producerConnection`, `resetOffsetByTime` |
//! | `unique_key` | `queryMsgByUniqueKey`: a message by its UNIQ_KEY, the body written to a file as Java's tool does |
//! | `msg_trace` | `queryMsgTraceById`: a message's trace records from the trace topic |
//! | [`cluster_rt`] | `clusterRT`: send RT per broker group, to the topic named after it |
//! | [`format`](mod@format) | the printed text, as pure functions over plain rows (tests check them), one child per family of views |
//!
//! Unlike Java's tool, a subcommand that fails exits non-zero, with one line on stderr naming
//! what failed (the nameserver list, the broker address, the topic).

pub mod args;
mod calls;
pub mod cluster_rt;
pub mod commands;
mod consumers;
pub mod format;
mod groups;
mod messages;
mod msg_trace;
pub mod signing;
mod unique_key;

use std::io::Write;

pub use args::{Cli, Command, Parsed, parse};

use crate::client::ClientError;

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line cannot work (missing nameserver, bad `-s`).
    #[error("{0}")]
    Usage(String),
    /// A nameserver or broker call failed; the error names the address.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The answers do not allow the command (e.g. no such cluster).
    #[error("{0}")]
    Failed(String),
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

/// Parses `argv` (program name first), runs the subcommand on a fresh runtime, prints its
/// output to stdout and any error to stderr; returns the exit status.
pub fn run(argv: Vec<String>) -> u8 {
    let cli = match parse(argv) {
        Parsed::Run(cli) => cli,
        Parsed::Exit { text, code } => {
            if code == 0 {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            return code;
        }
    };
    match cli.acl.credentials() {
        Ok(keys) => signing::set(keys),
        Err(e) => {
            eprintln!("mqadmin {}: {e}", cli.command.name());
            return 1;
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mqadmin: cannot start the runtime: {e}");
            return 1;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = runtime.block_on(commands::execute(&cli.command, &mut out));
    let _ = out.flush();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("mqadmin {}: {e}", cli.command.name());
            1
        }
    }
}
