//! Tests of the config module: the properties reader, each quirk of the broker keys, the seed
//! fixtures and `conf/`, and random input.

mod broker;
mod dleger;
mod fixtures;
mod fuzz;
mod properties;

use std::path::Path;

use super::host::HostFacts;
use super::{BrokerConfig, ConfigError, ConfigWarning, Property, parse_properties};

/// Fixed machine facts, so defaults do not depend on where the tests run.
fn host() -> HostFacts {
    HostFacts {
        hostname: "testhost".to_string(),
        home: "/home/test".into(),
        ip: "10.0.0.5".to_string(),
        cores: 2,
        namesrv_addr_env: None,
    }
}

/// `text` parsed as the file `test.conf`.
fn entries(text: &str) -> Vec<Property> {
    parse_properties(text.as_bytes(), Path::new("test.conf")).unwrap()
}

fn build(text: &str) -> Result<(BrokerConfig, Vec<ConfigWarning>), ConfigError> {
    BrokerConfig::build(&entries(text), &host())
}

/// The config of a file that must be valid, and its warnings rendered.
fn valid(text: &str) -> (BrokerConfig, Vec<String>) {
    let (config, warnings) =
        build(text).unwrap_or_else(|e| panic!("expected a valid config:\n{e}"));
    (config, warnings.iter().map(ToString::to_string).collect())
}

/// The problems of a file that must be invalid, rendered one per entry.
fn problems(text: &str) -> Vec<String> {
    match build(text) {
        Ok((config, _)) => panic!("expected problems, got {config:?}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

/// A minimal valid DLedger-mode file, to which a test appends its line.
const DLEGER: &str = "enableDLegerCommitLog=true\n\
                      dLegerPeers=n1-127.0.0.1:40911;n2-127.0.0.1:40912;n3-127.0.0.1:40913\n\
                      dLegerSelfId=n1\n";
