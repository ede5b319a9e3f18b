//! The layering rules of `ARCHITECTURE.md`, checked on the source: layers point down, the
//! vocabulary (`message`) uses nothing, the store knows no wire, the client speaks only the wire
//! protocol and the vocabulary.
//!
//! Each rule names a top-level module and the other top-level modules its files may use; a
//! module may always use itself. Every `.rs` file under `src/<module>/` (and `src/<module>.rs`) is
//! read with comments and string literals blanked out, and every path into the crate is
//! collected: `use crate::…` trees (grouped ones expanded), `crate::…` paths in code, and
//! `super::…` chains that climb to the crate root. A failure names the file, the line and the
//! path. Tests only: nothing here runs in the broker.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// (module, the other modules it may use, why).
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "common",
        &[],
        "the shared helpers (clock, locking) use nothing, so every layer may use them",
    ),
    (
        "message",
        &["common"],
        "the vocabulary is the bottom layer: formats and names, no other module",
    ),
    (
        "config",
        &["common", "local_ip"],
        "configuration is read below every layer that uses it",
    ),
    (
        "remoting",
        &["common", "config"],
        "the transport never uses the broker, the store, raft, the client or the nameserver",
    ),
    (
        "store",
        &["common", "config", "message"],
        "the store knows no wire, no raft, and nothing of the broker, nameserver or client",
    ),
    (
        "raft",
        &["common", "config", "message", "store"],
        "raft sits on the store; it serves the broker and never uses it or the wire",
    ),
    (
        "namesrv",
        &["common", "config", "message", "remoting"],
        "the nameserver uses the wire and the vocabulary, never a broker, store or client",
    ),
    (
        "acl",
        &["common", "message", "remoting"],
        "the plain ACL judges requests (the wire and the vocabulary); it never uses the broker, \
         the store or raft, so the nameserver can use it too",
    ),
    (
        "broker",
        &[
            "acl", "common", "config", "message", "raft", "remoting", "store",
        ],
        "the broker sits on raft, the store and the wire, never on the client, the nameserver \
         or the tools",
    ),
    (
        "client",
        &["common", "local_ip", "message", "remoting"],
        "the client speaks only the wire protocol and the vocabulary",
    ),
];

/// Inside the broker, modules form no import cycle: `handlers/` and `tasks/` use the state
/// (`server`) and the rules, and nothing they use reaches back up to them.
#[test]
fn the_brokers_modules_form_no_import_cycle() {
    let broker = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/broker");
    let children: Vec<String> = top_level_modules(&broker)
        .into_iter()
        .filter(|m| m != "mod")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for child in &children {
        for file in module_files(&broker, child) {
            let is_test = file.file_name().is_some_and(|n| n == "tests.rs")
                || file.components().any(|c| c.as_os_str() == "tests");
            if is_test {
                continue;
            }
            let text = fs::read_to_string(&file).expect("source files are readable");
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let code = code.replace("crate::broker::", "crate::");
            let depth = module_depth(&broker, &file);
            for found in crate_uses(&code, depth, &children) {
                if &found.module != child {
                    edges.entry(child.clone()).or_default().insert(found.module);
                }
            }
        }
    }
    let cycle = find_cycle(&edges);
    assert!(
        cycle.is_none(),
        "src/broker: import cycle {} (module -> modules it uses: {edges:?})",
        cycle.unwrap_or_default().join(" -> ")
    );
}

/// A cycle in `edges`, as the list of its nodes with the first repeated at the end.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not() {
    let graph = |pairs: &[(&str, &str)]| {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            edges.entry((*a).into()).or_default().insert((*b).into());
        }
        edges
    };
    assert_eq!(find_cycle(&graph(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

/// One path into the crate found in a file: its line and the top-level module it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CrateUse {
    line: usize,
    module: String,
    path: String,
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let top_level = top_level_modules(&src);
    let mut problems = Vec::new();
    for &(module, allowed, why) in RULES {
        let files = module_files(&src, module);
        assert!(!files.is_empty(), "no source files for module `{module}`");
        for file in files {
            let text = fs::read_to_string(&file).expect("source files are readable");
            let depth = module_depth(&src, &file);
            for found in crate_uses(&text, depth, &top_level) {
                if found.module != module && !allowed.contains(&found.module.as_str()) {
                    problems.push(format!(
                        "{}:{}: `{}` — `{module}` may use only {} ({why})",
                        file.strip_prefix(root).unwrap_or(&file).display(),
                        found.line,
                        found.path,
                        if allowed.is_empty() {
                            "itself".to_string()
                        } else {
                            allowed.join(", ")
                        },
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_inline_and_relative_paths_but_not_comments_or_strings() {
    let top: Vec<String> = ["store", "broker", "message", "remoting"]
        .map(String::from)
        .to_vec();
    let text = r##"//! Doc: crate::store is only mentioned here.
use crate::message::Properties;
use crate::{
    remoting::RemotingCommand,
    store::{CommitLog, LogId},
};
pub(crate) use super::super::broker::send;
fn f() {
    let s = "crate::broker::x"; /* crate::store */ let r = r#"crate::store"#;
    let c = '"'; let _ = crate::store::decode(s); // crate::broker
    let _: &'static str = "\"crate::broker\"";
}
mod inner { use super::*; }
"##;
    let found: Vec<(usize, String)> = crate_uses(text, 2, &top)
        .into_iter()
        .map(|u| (u.line, u.module))
        .collect();
    assert_eq!(
        found,
        [
            (2, "message".to_string()),
            (4, "remoting".to_string()),
            (5, "store".to_string()),
            (5, "store".to_string()),
            (7, "broker".to_string()),
            (10, "store".to_string()),
        ]
    );
}

/// The crate's top-level modules: `src/*.rs` (but `lib.rs`) and `src/*/mod.rs` directories.
fn top_level_modules(src: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(src).expect("src/ is readable").flatten() {
        let path = entry.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if (path.is_dir() && path.join("mod.rs").exists())
            || (path.extension().is_some_and(|e| e == "rs") && stem != "lib")
        {
            names.push(stem.to_string());
        }
    }
    names
}

/// Every `.rs` file of a top-level module.
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.exists() {
        files.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// How many modules deep a file's module is: `src/store/mod.rs` is 1 (`crate::store`),
/// `src/store/commitlog.rs` and `src/store/commitlog/mod.rs` are 2.
fn module_depth(src: &Path, file: &Path) -> usize {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let parts = rel.components().count();
    if rel.file_name().is_some_and(|n| n == "mod.rs") {
        parts - 1
    } else {
        parts
    }
}

/// The paths into the crate's top-level modules used in `text`, a file `depth` modules deep.
fn crate_uses(text: &str, depth: usize, top_level: &[String]) -> Vec<CrateUse> {
    let code = blank_comments_and_strings(text);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut push = |at: usize, path: String| {
        let mut segments = path.split("::").map(str::trim);
        let mut climbed = 0;
        let mut first = segments.next().unwrap_or("");
        if first == "crate" {
            climbed = depth;
            first = segments.next().unwrap_or("");
        } else {
            while first == "super" {
                climbed += 1;
                first = segments.next().unwrap_or("");
            }
        }
        if climbed >= depth && top_level.iter().any(|m| m == first) {
            found.push(CrateUse {
                line: line_of(at),
                module: first.to_string(),
                path,
            });
        }
    };
    // `use` trees, grouped ones expanded.
    let mut use_spans = Vec::new();
    let mut at = 0;
    while let Some(pos) = find_word(&code, "use", at) {
        let start = pos + 3;
        let end = code[start..].find(';').map_or(code.len(), |e| start + e);
        for (offset, path) in expand_use_tree(&code[start..end]) {
            push(start + offset, path);
        }
        use_spans.push(start..end);
        at = end;
    }
    // `crate::…` and `super::…` paths outside `use` statements.
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        let next = ["crate::", "super::"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min();
        let Some(offset) = next else { break };
        let pos = at + offset;
        let starts_word = code[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        let end = code[pos..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(code.len(), |e| pos + e);
        if starts_word && !use_spans.iter().any(|span| span.contains(&pos)) {
            push(pos, code[pos..end].trim_end_matches(':').to_string());
        }
        at = end.max(pos + 1);
    }
    found.sort_by_key(|u| u.line);
    found
}

/// The start of the next `word` at or after `from` that stands alone (not part of a name).
fn find_word(code: &str, word: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(offset) = code[at..].find(word) {
        let pos = at + offset;
        let before = code[..pos].chars().next_back();
        let after = code[pos + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if boundary(before) && after.is_some_and(char::is_whitespace) {
            return Some(pos);
        }
        at = pos + word.len();
    }
    None
}

/// The full paths of a `use` tree (`crate::{a::b, c::{d, e}}` → `crate::a::b`, `crate::c::d`,
/// `crate::c::e`), each with its offset in `tree`.
fn expand_use_tree(tree: &str) -> Vec<(usize, String)> {
    fn walk(tree: &str, base: usize, prefix: &str, out: &mut Vec<(usize, String)>) {
        let mut depth = 0;
        let mut item_start = 0;
        let bytes = tree.as_bytes();
        let mut items = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                b',' if depth == 0 => {
                    items.push((item_start, &tree[item_start..i]));
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        items.push((item_start, &tree[item_start..]));
        for (offset, item) in items {
            let lead = item.len() - item.trim_start().len();
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let at = base + offset + lead;
            match (item.find('{'), item.rfind('}')) {
                (Some(open), Some(close)) => {
                    let head = item[..open].trim().trim_end_matches("::");
                    let inner_prefix = join(prefix, head);
                    walk(&item[open + 1..close], at + open + 1, &inner_prefix, out);
                }
                _ => {
                    let path = item.split(" as ").next().unwrap_or(item).trim();
                    out.push((at, join(prefix, path)));
                }
            }
        }
    }
    fn join(prefix: &str, path: &str) -> String {
        match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (_, true) => prefix.to_string(),
            _ => format!("{prefix}::{path}"),
        }
    }
    let mut out = Vec::new();
    walk(tree, 0, "", &mut out);
    out
}

/// `text` with every comment and the inside of every string and char literal replaced by
/// spaces (newlines kept, so offsets and line numbers stay).
fn blank_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && starts_literal(&chars, i)
        {
            // A raw string: r"…", r#"…"#, br"…", …
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            for _ in i..=j {
                out.push(' ');
            }
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1}'), or a lifetime ('a), which is kept.
            let close = if next == Some('\\') {
                (i + 3..chars.len().min(i + 12)).find(|&k| chars[k] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    for _ in i..=end {
                        out.push(' ');
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` starts a raw string literal rather than ending a name (`br"…"` too).
fn starts_literal(chars: &[char], i: usize) -> bool {
    let name_char = |c: &char| c.is_alphanumeric() || *c == '_';
    match i.checked_sub(1).map(|p| chars[p]) {
        None => true,
        Some('b') => !i.checked_sub(2).is_some_and(|p| name_char(&chars[p])),
        Some(p) => !name_char(&p),
    }
}
