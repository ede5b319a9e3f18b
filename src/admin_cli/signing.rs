//! `--accessKey` / `--secretKey`: the keys every request of this `mqadmin` run is signed with
//! (brokers with `aclEnable=true`). Set once per run by [`super::run`] and read where requests
//! are made (`admin`, `calls::broker_invoke`, the producer and consumer configs), so the
//! subcommands need not pass them along.

use std::sync::Mutex;

use clap::Args;

use super::CliError;
use crate::client::{Admin, ClientError, Credentials, NameServers};
use crate::common::sync::lock;

/// The keys of this run; `None` sends requests unsigned.
static KEYS: Mutex<Option<Credentials>> = Mutex::new(None);

/// The ACL flags every subcommand takes (long flags only: Java's `-s` means other things).
#[derive(Args, Debug, Clone, Default)]
pub struct AclKeys {
    /// Access key of a plain-ACL account (brokers with aclEnable=true).
    #[arg(long = "accessKey", global = true)]
    pub access_key: Option<String>,
    /// Secret key of that account.
    #[arg(long = "secretKey", global = true)]
    pub secret_key: Option<String>,
}

impl AclKeys {
    /// Both keys, neither, or an error naming the missing one.
    pub fn credentials(&self) -> Result<Option<Credentials>, CliError> {
        match (&self.access_key, &self.secret_key) {
            (Some(access), Some(secret)) => Ok(Some(Credentials::new(access, secret))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(CliError::Usage("--accessKey needs --secretKey".into())),
            (None, Some(_)) => Err(CliError::Usage("--secretKey needs --accessKey".into())),
        }
    }
}

/// Makes `keys` the ones this run signs with.
pub(super) fn set(keys: Option<Credentials>) {
    *lock(&KEYS) = keys;
}

/// The keys this run signs with.
pub(super) fn credentials() -> Option<Credentials> {
    lock(&KEYS).clone()
}

/// An admin client of `namesrv` that signs with this run's keys.
pub(super) fn admin(namesrv: impl Into<NameServers>) -> Result<Admin, ClientError> {
    Ok(Admin::new(namesrv)?.with_credentials(credentials()))
}

#[cfg(test)]
mod tests {
    use super::super::args::{Parsed, parse};

    fn keys_of(argv: &[&str]) -> Result<Option<String>, String> {
        let argv = argv.iter().map(|s| (*s).to_owned()).collect();
        match parse(argv) {
            Parsed::Run(cli) => cli
                .acl
                .credentials()
                .map(|c| c.map(|c| c.access_key))
                .map_err(|e| e.to_string()),
            Parsed::Exit { text, .. } => Err(text),
        }
    }

    #[test]
    fn every_subcommand_takes_both_keys_after_its_name() {
        let both = [
            "mqadmin",
            "topicList",
            "-n",
            "x:9876",
            "--accessKey",
            "ak12345",
            "--secretKey",
            "sk12345",
        ];
        assert_eq!(keys_of(&both), Ok(Some("ak12345".to_owned())));
        let none = ["mqadmin", "clusterList", "-n", "x:9876"];
        assert_eq!(keys_of(&none), Ok(None));
    }

    #[test]
    fn one_key_without_the_other_is_a_usage_error() {
        let half = ["mqadmin", "topicList", "--accessKey", "ak12345"];
        assert!(keys_of(&half).expect_err("half").contains("--secretKey"));
    }
}
