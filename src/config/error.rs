//! What loading a config can report: [`ConfigError`] (the config is refused), made of
//! [`ConfigProblem`]s, and [`ConfigWarning`]s (the config is accepted, but something in the file
//! probably does not mean what its author thinks).
//!
//! Every problem and warning names where the value came from ([`Origin`]: file and line, an
//! environment variable, or a command-line flag) and the key, so an operator can go straight to
//! the line. This module only describes; it never decides what is wrong (that is
//! [`super::fields`], [`super::broker`] and [`super::namesrv`]).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a config value came from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A line of a properties file: 1-based, the first line of a continued line.
    Line { file: PathBuf, line: usize },
    /// An environment variable, e.g. `NAMESRV_ADDR`.
    Env(&'static str),
    /// A command-line flag, e.g. `-n`.
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Line { file, line } => write!(f, "{}:{line}", file.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Flag(flag) => write!(f, "command-line flag {flag}"),
        }
    }
}

/// One reason a config is refused: `origin: key: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub origin: Origin,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.key, self.message)
    }
}

/// A key that no config type reads, with a "did you mean" suggestion when one is close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub origin: Origin,
    pub key: String,
    /// The known key it most likely misspells (same letters ignoring case, or a small edit
    /// distance away).
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.key)?;
        if let Some(known) = self.suggestion {
            write!(f, " (did you mean {known}?)")?;
        }
        Ok(())
    }
}

/// Something accepted, but suspicious; the binaries log each one at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigWarning {
    /// About one key's value: `origin: key: message`.
    Key {
        origin: Origin,
        key: String,
        message: String,
    },
    /// Every key in the file that nothing reads, in file order (one warning for all of them).
    UnknownKeys(Vec<UnknownKey>),
}

impl ConfigWarning {
    /// The key a [`ConfigWarning::Key`] is about (`None` for the unknown-keys list).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigWarning::Key { key, .. } => Some(key),
            ConfigWarning::UnknownKeys(_) => None,
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigWarning::Key {
                origin,
                key,
                message,
            } => write!(f, "{origin}: {key}: {message}"),
            ConfigWarning::UnknownKeys(keys) => {
                write!(f, "unknown keys, ignored:")?;
                for key in keys {
                    write!(f, "\n  {key}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a config was not loaded. A config is either fully valid or refused with every problem
/// found, never half-applied.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable).
    #[error("{}: cannot read config file: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    /// The file was read but is invalid: one line per problem, then the warnings gathered on the
    /// way (an unknown-key warning often explains a "required" problem).
    #[error("{}", render_invalid(problems, warnings))]
    Invalid {
        problems: Vec<ConfigProblem>,
        warnings: Vec<ConfigWarning>,
    },
}

impl ConfigError {
    /// The problems of an [`ConfigError::Invalid`]; empty for [`ConfigError::Read`].
    pub fn problems(&self) -> &[ConfigProblem] {
        match self {
            ConfigError::Invalid { problems, .. } => problems,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn render_invalid(problems: &[ConfigProblem], warnings: &[ConfigWarning]) -> String {
    let mut lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.extend(warnings.iter().map(|w| format!("warning: {w}")));
    lines.join("\n")
}
