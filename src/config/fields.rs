//! Step 2's toolkit: typed reads over the [`Property`] entries of one file, shared by
//! [`BrokerConfig`](super::BrokerConfig) and [`NamesrvConfig`](super::NamesrvConfig).
//!
//! [`Fields`] owns the diagnostics that do not depend on the key's meaning: duplicates, trailing
//! whitespace, inline-comment attempts, numbers and booleans that do not parse, deprecated
//! spellings, and unknown keys (every key a config type asks for is recorded as known, so the
//! list of known keys cannot drift from the code that reads them). It gathers every problem
//! instead of stopping at the first, and [`Fields::finish`] turns them into one
//! [`ConfigError`]. It never supplies defaults or checks ranges: the config types do.

use std::collections::{HashMap, HashSet};

use super::error::{ConfigError, ConfigProblem, ConfigWarning, Origin, UnknownKey};
use super::properties::Property;

/// Appended to a parse failure whose value looks like `value # comment`.
const INLINE_COMMENT_HINT: &str = " (inline comments are not supported in properties files)";

pub(crate) struct Fields<'a> {
    entries: &'a [Property],
    /// The last entry of each key: Java's `Properties` keeps the last one.
    last: HashMap<&'a str, &'a Property>,
    /// Every key asked for, including deprecated spellings.
    known: Vec<&'static str>,
    problems: Vec<ConfigProblem>,
    warnings: Vec<ConfigWarning>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(entries: &'a [Property]) -> Self {
        let mut last: HashMap<&str, &Property> = HashMap::new();
        let mut warnings = Vec::new();
        for entry in entries {
            if let Some(earlier) = last.insert(entry.key.as_str(), entry) {
                warnings.push(ConfigWarning::Key {
                    origin: entry.origin(),
                    key: entry.key.clone(),
                    message: format!(
                        "set again; this value wins over {:?} from line {}",
                        earlier.value, earlier.line
                    ),
                });
            }
        }
        Fields {
            entries,
            last,
            known: Vec::new(),
            problems: Vec::new(),
            warnings,
        }
    }

    /// The entry setting `key`, if any; records `key` as known.
    pub(crate) fn get(&mut self, key: &'static str) -> Option<&'a Property> {
        self.known.push(key);
        self.last.get(key).copied()
    }

    /// Where `key` was set, if it was.
    pub(crate) fn origin_of(&mut self, key: &'static str) -> Option<Origin> {
        self.get(key).map(Property::origin)
    }

    /// Like [`Fields::get`], also accepting the deprecated spelling `old` with a warning. Both
    /// spellings with different values is a problem (which one would the author mean?).
    pub(crate) fn get_aliased(
        &mut self,
        key: &'static str,
        old: &'static str,
    ) -> Option<&'a Property> {
        let current = self.get(key);
        let deprecated = self.get(old);
        match (current, deprecated) {
            (Some(new), Some(legacy)) => {
                if new.value.trim() != legacy.value.trim() {
                    self.problem(
                        new.origin(),
                        key,
                        format!(
                            "{:?} conflicts with {old}={:?} at line {} (the same setting under its deprecated spelling); remove one",
                            new.value, legacy.value, legacy.line
                        ),
                    );
                } else {
                    self.warn(
                        legacy.origin(),
                        old,
                        format!(
                            "deprecated spelling of {key}, which is also set; remove this line"
                        ),
                    );
                }
                Some(new)
            }
            (None, Some(legacy)) => {
                self.warn(
                    legacy.origin(),
                    old,
                    format!("deprecated spelling of {key}, accepted (Java RocketMQ 4.5.2 and later silently ignores it)"),
                );
                Some(legacy)
            }
            (new, None) => new,
        }
    }

    /// The value of `entry` without surrounding whitespace, warning when that changed it.
    pub(crate) fn value(&mut self, entry: &'a Property) -> &'a str {
        // Java's String.trim: everything up to and including ' '.
        let trimmed = entry.value.trim_matches(|c: char| c <= ' ');
        if trimmed.len() != entry.value.len() {
            self.warn(
                entry.origin(),
                &entry.key,
                format!(
                    "whitespace around {:?} removed (Java trims strings, but a number or boolean with it fails to parse and silently keeps its default)",
                    entry.value
                ),
            );
        }
        trimmed
    }

    /// Parses `entry` with `parse`; a failure becomes a problem `"value" <message>` (plus the
    /// inline-comment hint when the value contains ` #`), and `None`.
    pub(crate) fn parse_with<T>(
        &mut self,
        entry: &'a Property,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.value(entry);
        match parse(value) {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                let hint = if looks_like_inline_comment(value) {
                    INLINE_COMMENT_HINT
                } else {
                    ""
                };
                self.problem(
                    entry.origin(),
                    &entry.key,
                    format!("{value:?} {message}{hint}"),
                );
                None
            }
        }
    }

    /// `key` parsed with `parse`, or `default` when unset (or invalid: a problem is recorded and
    /// the config will be refused anyway).
    pub(crate) fn value_of<T>(
        &mut self,
        key: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> T {
        match self.get(key) {
            Some(entry) => self.parse_with(entry, parse).unwrap_or(default),
            None => default,
        }
    }

    /// An integer key; see [`parse_int`].
    pub(crate) fn int<T: TryFrom<i128>>(&mut self, key: &'static str, default: T) -> T {
        self.value_of(key, default, parse_int)
    }

    /// A boolean key; see [`parse_bool`].
    pub(crate) fn boolean(&mut self, key: &'static str, default: bool) -> bool {
        self.value_of(key, default, parse_bool)
    }

    /// A free-text key, trimmed; `None` when unset. A value that looks like an inline comment
    /// is kept whole (as Java does) with a warning.
    pub(crate) fn text(&mut self, key: &'static str) -> Option<(String, &'a Property)> {
        let entry = self.get(key)?;
        let value = self.value(entry);
        if looks_like_inline_comment(value) {
            self.warn(
                entry.origin(),
                key,
                format!("{value:?} is taken whole: properties files have no inline comments"),
            );
        }
        Some((value.to_string(), entry))
    }

    pub(crate) fn problem(&mut self, origin: Origin, key: &str, message: String) {
        self.problems.push(ConfigProblem {
            origin,
            key: key.to_string(),
            message,
        });
    }

    pub(crate) fn warn(&mut self, origin: Origin, key: &str, message: String) {
        self.warnings.push(ConfigWarning::Key {
            origin,
            key: key.to_string(),
            message,
        });
    }

    /// Ends the reading: the warnings (unknown keys last, as one warning) if there was no
    /// problem, else every problem in file order.
    pub(crate) fn finish(mut self) -> Result<Vec<ConfigWarning>, ConfigError> {
        let known: HashSet<&str> = self.known.iter().copied().collect();
        let mut candidates: Vec<&'static str> = self.known.clone();
        candidates.sort_unstable();
        candidates.dedup();
        let unknown: Vec<UnknownKey> = self
            .entries
            .iter()
            .filter(|entry| !known.contains(entry.key.as_str()))
            .map(|entry| UnknownKey {
                origin: entry.origin(),
                key: entry.key.clone(),
                suggestion: suggest(&entry.key, &candidates),
            })
            .collect();
        self.warnings
            .sort_by(|a, b| warning_origin(a).cmp(&warning_origin(b)));
        if !unknown.is_empty() {
            self.warnings.push(ConfigWarning::UnknownKeys(unknown));
        }
        if self.problems.is_empty() {
            Ok(self.warnings)
        } else {
            self.problems.sort_by(|a, b| a.origin.cmp(&b.origin));
            Err(ConfigError::Invalid {
                problems: self.problems,
                warnings: self.warnings,
            })
        }
    }
}

fn warning_origin(warning: &ConfigWarning) -> Option<&Origin> {
    match warning {
        ConfigWarning::Key { origin, .. } => Some(origin),
        ConfigWarning::UnknownKeys(_) => None,
    }
}

/// `value # note` or `value\t# note`: someone tried an inline comment.
pub(crate) fn looks_like_inline_comment(value: &str) -> bool {
    value.contains(" #") || value.contains("\t#")
}

/// A decimal integer as Java's `Integer.parseInt`/`Long.parseLong` reads it (optional sign,
/// digits only), then fitted into `T`. Expressions such as `1024 * 1024` are not evaluated.
pub(crate) fn parse_int<T: TryFrom<i128>>(value: &str) -> Result<T, String> {
    let wide: i128 = value.parse().map_err(|_| "is not a number".to_string())?;
    T::try_from(wide).map_err(|_| "is out of range for this key".to_string())
}

/// `true` or `false`, any case. Java's `Boolean.parseBoolean` turns anything else into
/// `false`; we refuse it.
pub(crate) fn parse_bool(value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("is not a boolean (expected true or false)".to_string())
    }
}

/// The known key `key` most likely misspells: equal ignoring case, else the closest within a
/// small edit distance (about one edit per four characters, at most three).
fn suggest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    if let Some(&same) = known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Some(same);
    }
    let lower: Vec<char> = key.to_lowercase().chars().collect();
    let limit = (lower.len() / 4).clamp(1, 3);
    known
        .iter()
        .filter_map(|&k| {
            let candidate: Vec<char> = k.to_lowercase().chars().collect();
            // The length difference alone already exceeds the limit: skip the quadratic part.
            if candidate.len().abs_diff(lower.len()) > limit {
                return None;
            }
            let distance = edit_distance(&lower, &candidate);
            (distance <= limit).then_some((distance, k))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, k)| k)
}

/// Levenshtein distance (insert, delete, substitute), one row at a time.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
