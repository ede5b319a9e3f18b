//! The reader reproduces `java.util.Properties.load`.

use std::path::Path;

use super::entries;
use crate::config::{ConfigError, format_properties, parse_properties, read_properties};

fn pairs(text: &str) -> Vec<(String, String, usize)> {
    entries(text)
        .into_iter()
        .map(|p| (p.key, p.value, p.line))
        .collect()
}

fn kv(key: &str, value: &str, line: usize) -> (String, String, usize) {
    (key.to_string(), value.to_string(), line)
}

#[test]
fn all_separator_forms_set_the_key() {
    let text = "a=1\nb = 2\nc: 3\nd 4\ne\t\t5\nf:=6\ng\n";
    assert_eq!(
        pairs(text),
        vec![
            kv("a", "1", 1),
            kv("b", "2", 2),
            kv("c", "3", 3),
            kv("d", "4", 4),
            kv("e", "5", 5),
            // Only one separator is skipped: the second is part of the value.
            kv("f", "=6", 6),
            kv("g", "", 7),
        ]
    );
}

#[test]
fn leading_whitespace_blank_lines_and_comments_are_skipped() {
    let text = "   # comment\n\t! also a comment\n\n   \n  key = value\n#key=ignored\n";
    assert_eq!(pairs(text), vec![kv("key", "value", 5)]);
}

#[test]
fn trailing_whitespace_and_inline_hash_stay_in_the_value() {
    let text = "a=true \nb=30911 # node0\n";
    assert_eq!(
        pairs(text),
        vec![kv("a", "true ", 1), kv("b", "30911 # node0", 2)]
    );
}

#[test]
fn escapes_are_unescaped_and_unknown_escapes_lose_their_backslash() {
    let text = "t=a\\tb\nu=\\u0041\\u00e9\nb=c:\\\\store\nw=D:\\store\nk\\ e\\=y=v\nn=x\\ny\n";
    assert_eq!(
        pairs(text),
        vec![
            kv("t", "a\tb", 1),
            kv("u", "Aé", 2),
            kv("b", "c:\\store", 3),
            kv("w", "D:store", 4),
            kv("k e=y", "v", 5),
            kv("n", "x\ny", 6),
        ]
    );
}

#[test]
fn continuation_joins_lines_and_keeps_the_first_line_number() {
    let text = "peers=n1-a:1;\\\n      n2-b:2;\\\n\tn3-c:3\nnext=1\n";
    assert_eq!(
        pairs(text),
        vec![kv("peers", "n1-a:1;n2-b:2;n3-c:3", 1), kv("next", "1", 4)]
    );
}

#[test]
fn an_even_number_of_backslashes_does_not_continue() {
    assert_eq!(
        pairs("a=x\\\\\nb=y\n"),
        vec![kv("a", "x\\", 1), kv("b", "y", 2)]
    );
}

#[test]
fn a_comment_ending_in_a_backslash_does_not_continue() {
    assert_eq!(pairs("# comment \\\nkey=v\n"), vec![kv("key", "v", 2)]);
}

#[test]
fn a_continuation_into_an_empty_line_or_the_end_of_the_file_ends_the_entry() {
    assert_eq!(
        pairs("a=1\\\n\nb=2\\"),
        vec![kv("a", "1", 1), kv("b", "2", 3)]
    );
}

#[test]
fn crlf_and_cr_line_endings_each_count_as_one_line() {
    assert_eq!(
        pairs("a=1\r\nb=2\rc=3\n"),
        vec![kv("a", "1", 1), kv("b", "2", 2), kv("c", "3", 3)]
    );
}

#[test]
fn bytes_are_read_as_iso_8859_1() {
    let parsed = parse_properties(b"k=caf\xe9\n# \xe4\xb8\xad comment\n", Path::new("x")).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].value, "caf\u{e9}");
}

#[test]
fn duplicate_keys_are_all_kept_in_file_order() {
    assert_eq!(pairs("a=1\na=2\n"), vec![kv("a", "1", 1), kv("a", "2", 2)]);
}

#[test]
fn a_malformed_unicode_escape_is_an_error_naming_file_line_and_key() {
    let err =
        parse_properties(b"ok=1\nbrokerName=a\\u00zz\n", Path::new("conf/b.conf")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "conf/b.conf:2: brokerName: malformed \\uXXXX escape (Java refuses to load such a file)"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_the_path() {
    let err = read_properties(Path::new("/nonexistent/broker.conf")).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with("/nonexistent/broker.conf: cannot read config file"),
        "{err}"
    );
}

#[test]
fn formatted_properties_read_back_unchanged() {
    let values = [
        " leading space",
        "trailing space ",
        "back\\slash",
        "tab\tnew\nline",
        "#hash and !bang",
        "caf\u{e9} \u{4e2d} \u{1f600}",
        "a=b:c",
        "",
    ];
    let written: Vec<(String, String)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("key {i}=:#"), v.to_string()))
        .collect();
    let text = format_properties(&written);
    assert!(text.is_ascii());
    let read: Vec<(String, String)> = parse_properties(text.as_bytes(), Path::new("x"))
        .unwrap()
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect();
    assert_eq!(read, written);
}
