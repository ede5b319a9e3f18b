//! `mqadmin <subcommand> [options]`: RocketMQ's admin tool for dledger-broker clusters
//! (`clusterList`, `topicList`, `topicRoute`, `topicStatus`, `updateTopic`, `deleteTopic`,
//! `updateSubGroup`, `consumerProgress`, `consumerConnection`, `sendMessage`, `consumeMessage`,
//! `queryMsgByKey`, `queryMsgById`, `queryMsgByOffset`, `brokerStatus`, `getBrokerConfig`,
//! `clusterRT`, and our `raftStatus`).
//!
//! Thin on purpose: logging to stderr (warnings by default, `RUST_LOG` to change it), then
//! [`dledger_broker::admin_cli::run`], whose status becomes the exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // Arguments that are not UTF-8 are taken lossily rather than aborting the tool.
    let argv = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    ExitCode::from(dledger_broker::admin_cli::run(argv))
}
