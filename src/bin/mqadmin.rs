//! `mqadmin <subcommand> [options]`: RocketMQ's admin tool for dledger-broker clusters
//! (`clusterList`, `topicList`, `topicRoute`, `updateTopic`, `deleteTopic`, `sendMessage`,
//! `consumeMessage`, `brokerStatus`, `getBrokerConfig`, and our `raftStatus`).
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
    ExitCode::from(dledger_broker::admin_cli::run(std::env::args().collect()))
}
