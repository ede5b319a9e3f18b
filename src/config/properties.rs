//! Step 1 of loading a config: the bytes of a properties file become an ordered list of
//! [`Property`] entries `(key, value, file, line)`, read the way `java.util.Properties.load`
//! reads `broker.conf`, because operators' files are written against that reader.
//!
//! This module never interprets a key: it does not know defaults, types or which keys exist
//! (that is step 2, `fields` and [`BrokerConfig`](super::BrokerConfig)). It keeps every
//! entry, duplicates included, so step 2 can warn about them with their lines.
//!
//! # Syntax, and where we differ from Java
//!
//! | Input | Java (`Properties.load`) | We |
//! | --- | --- | --- |
//! | `key=value`, `key = value`, `key: value`, `key value` | first unescaped `=`, `:` or whitespace ends the key; whitespace (and one `=`/`:`) after it is skipped | same |
//! | leading spaces, tabs, form feeds | skipped | same |
//! | line starting with `#` or `!` (after whitespace) | comment; a trailing `\` does not continue it | same |
//! | `value # note` | no inline comments: the value is `value # note` | same here; step 2 diagnoses it |
//! | trailing whitespace | kept in the value | kept here; step 2 trims it with a warning |
//! | `\t \n \r \f`, `\uXXXX`, `\\` | unescaped | same |
//! | `\x` for any other `x` (e.g. `D:\store`) | the backslash is dropped (`D:store`) | same |
//! | malformed `\uXXXX` | `IllegalArgumentException`: the broker does not start | an error naming file, line and key |
//! | `\uD83D\uDE00` (a UTF-16 surrogate pair) | one character | same; a lone half is U+FFFD |
//! | line ending in an odd number of `\` | continues on the next line, its leading whitespace skipped | same; the entry keeps the line number of its first line |
//! | a continuation followed by an empty line, or by the end of the file | the entry ends there | same |
//! | line terminators | `\n`, `\r`, `\r\n` | same |
//! | encoding | ISO-8859-1: each byte is one character | same (UTF-8 comments are harmless; UTF-8 values arrive garbled, as in Java) |

use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigProblem, Origin};

/// One `key=value` entry of a properties file, unescaped, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub key: String,
    /// The value exactly as Java would see it: not trimmed, inline `#` text included.
    pub value: String,
    pub file: PathBuf,
    /// 1-based; the first line of an entry continued with a trailing backslash.
    pub line: usize,
}

impl Property {
    /// `file:line`, for diagnostics.
    pub fn origin(&self) -> Origin {
        Origin::Line {
            file: self.file.clone(),
            line: self.line,
        }
    }
}

/// Reads and parses the properties file at `path`.
///
/// A missing or unreadable file is [`ConfigError::Read`] naming the path.
pub fn read_properties(path: &Path) -> Result<Vec<Property>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_properties(&bytes, path)
}

/// Parses the bytes of a properties file; `file` is only recorded in each entry.
///
/// Every entry is returned, in file order, duplicates included. The only error is a malformed
/// `\uXXXX` escape (all of them are reported together).
pub fn parse_properties(bytes: &[u8], file: &Path) -> Result<Vec<Property>, ConfigError> {
    // ISO-8859-1: every byte is the code point of the same number.
    let text: Vec<char> = bytes.iter().map(|&b| char::from(b)).collect();
    let lines = natural_lines(&text);
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut next = 0;
    while let Some(&(line, first)) = lines.get(next) {
        next += 1;
        let first = skip_blanks(first);
        match first.first() {
            None | Some('#' | '!') => continue,
            Some(_) => {}
        }
        let mut logical: Vec<char> = Vec::new();
        let mut segment = first;
        loop {
            if !ends_in_continuation(segment) {
                logical.extend_from_slice(segment);
                break;
            }
            logical.extend_from_slice(&segment[..segment.len() - 1]);
            match lines.get(next) {
                Some(&(_, following)) => {
                    next += 1;
                    segment = skip_blanks(following);
                }
                // A backslash on the last line of the file is dropped, as Java does.
                None => break,
            }
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        match (unescape(raw_key), unescape(raw_value)) {
            (Ok(key), Ok(value)) => entries.push(Property {
                key,
                value,
                file: file.to_path_buf(),
                line,
            }),
            (Err(message), _) | (_, Err(message)) => problems.push(ConfigProblem {
                origin: Origin::Line {
                    file: file.to_path_buf(),
                    line,
                },
                key: raw_key.iter().collect(),
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(ConfigError::Invalid {
            problems,
            warnings: Vec::new(),
        })
    }
}

/// Java's notion of whitespace between key and value: space, tab, form feed.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn skip_blanks(line: &[char]) -> &[char] {
    let start = line
        .iter()
        .position(|&c| !is_blank(c))
        .unwrap_or(line.len());
    &line[start..]
}

/// Splits on `\n`, `\r` and `\r\n`; each line with its 1-based number.
fn natural_lines(text: &[char]) -> Vec<(usize, &[char])> {
    let mut lines = Vec::new();
    let (mut start, mut i, mut number) = (0, 0, 1);
    while let Some(&c) = text.get(i) {
        i += 1;
        if c == '\n' || c == '\r' {
            lines.push((number, &text[start..i - 1]));
            if c == '\r' && text.get(i) == Some(&'\n') {
                i += 1;
            }
            start = i;
            number += 1;
        }
    }
    if start < text.len() {
        lines.push((number, &text[start..]));
    }
    lines
}

/// An odd number of trailing backslashes continues the line (an even number is escaped `\\`s).
fn ends_in_continuation(segment: &[char]) -> bool {
    segment.iter().rev().take_while(|&&c| c == '\\').count() % 2 == 1
}

/// Java's `load0`: the key ends at the first unescaped `=`, `:` or blank; then blanks and at
/// most one `=` or `:` are skipped and the rest is the value.
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let mut key_end = line.len();
    let mut value_start = line.len();
    let mut has_separator = false;
    let mut escaped = false;
    for (i, &c) in line.iter().enumerate() {
        if !escaped && (c == '=' || c == ':') {
            (key_end, value_start, has_separator) = (i, i + 1, true);
            break;
        }
        if !escaped && is_blank(c) {
            (key_end, value_start) = (i, i + 1);
            break;
        }
        escaped = c == '\\' && !escaped;
    }
    while let Some(&c) = line.get(value_start) {
        if is_blank(c) {
            value_start += 1;
        } else if !has_separator && (c == '=' || c == ':') {
            has_separator = true;
            value_start += 1;
        } else {
            break;
        }
    }
    (&line[..key_end], &line[value_start.min(line.len())..])
}

/// Java's `loadConvert`: `\t \n \r \f`, `\uXXXX` (a UTF-16 surrogate pair in two escapes
/// makes one character), and `\x` -> `x` for anything else.
fn unescape(raw: &[char]) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    // A high surrogate waiting for its low half; a lone half becomes U+FFFD.
    let mut high: Option<u32> = None;
    let mut chars = raw.iter().copied();
    while let Some(c) = chars.next() {
        let decoded = if c != '\\' {
            Some(c)
        } else {
            match chars.next() {
                None => None,
                Some('t') => Some('\t'),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                Some('f') => Some('\u{c}'),
                Some('u') => {
                    let mut code = 0u32;
                    for _ in 0..4 {
                        let digit = chars.next().and_then(|h| h.to_digit(16)).ok_or_else(|| {
                            "malformed \\uXXXX escape (Java refuses to load such a file)"
                                .to_string()
                        })?;
                        code = code * 16 + digit;
                    }
                    match (high.take(), code) {
                        (pending, 0xD800..=0xDBFF) => {
                            if pending.is_some() {
                                out.push(char::REPLACEMENT_CHARACTER);
                            }
                            high = Some(code);
                            continue;
                        }
                        (Some(h), 0xDC00..=0xDFFF) => {
                            char::from_u32(0x10000 + ((h - 0xD800) << 10) + (code - 0xDC00))
                        }
                        (pending, _) => {
                            if pending.is_some() {
                                out.push(char::REPLACEMENT_CHARACTER);
                            }
                            Some(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
                        }
                    }
                }
                Some(other) => Some(other),
            }
        };
        if high.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        if let Some(c) = decoded {
            out.push(c);
        }
    }
    if high.is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
    Ok(out)
}

/// Escapes a value so that [`parse_properties`] reads it back unchanged; the output is ASCII.
pub(crate) fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if i == 0 => out.push_str("\\ "),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
    }
    out
}

/// Renders `key=value` lines, one per pair, escaped so that [`parse_properties`] reads them back.
pub fn format_properties<K: AsRef<str>>(pairs: &[(K, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        for c in key.as_ref().chars() {
            if matches!(c, '=' | ':' | ' ' | '#' | '!') {
                out.push('\\');
                out.push(c);
            } else {
                out.push_str(&escape_value(c.encode_utf8(&mut [0; 4])));
            }
        }
        out.push('=');
        out.push_str(&escape_value(value));
        out.push('\n');
    }
    out
}
