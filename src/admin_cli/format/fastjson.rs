//! Reading fastjson answers whose maps are keyed by objects (`offsetTable` keyed by
//! MessageQueue) as standard JSON.

/// fastjson text whose maps may be keyed by objects (`{{"brokerName":..}:{..}}`) turned into
/// standard JSON: every object key that is not a string becomes the string of its text.
pub fn quote_object_keys(text: &str) -> String {
    let b = text.as_bytes();
    // (is an object, expecting a key)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    let string_end = |mut j: usize| {
        // j is just after the opening quote
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    };
    while i < b.len() {
        let c = b[i];
        let at_key = matches!(stack.last(), Some((true, true)));
        match c {
            b'"' => {
                let end = string_end(i + 1);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            b'{' | b'[' if at_key => {
                // A composite key: find its balanced end and quote it.
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string_end(j + 1);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                out.push_str(&serde_json::Value::from(&text[i..j.min(b.len())]).to_string());
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
                i = j;
                continue;
            }
            b'{' => stack.push((true, true)),
            b'[' => stack.push((false, false)),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = false;
                }
            }
            b',' => {
                if let Some(top) = stack.last_mut() {
                    top.1 = top.0;
                }
            }
            _ => {}
        }
        // Copy one whole UTF-8 character.
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// The entries of a fastjson `offsetTable` (MessageQueue keys), as `(key, value)` objects;
/// plus the top-level object (for `consumeTps`).
pub fn offset_table(
    body: &[u8],
) -> Result<
    (
        serde_json::Value,
        Vec<(serde_json::Value, serde_json::Value)>,
    ),
    String,
> {
    let text = std::str::from_utf8(body).map_err(|e| format!("body is not UTF-8: {e}"))?;
    let top: serde_json::Value =
        serde_json::from_str(&quote_object_keys(text)).map_err(|e| format!("bad JSON: {e}"))?;
    let mut entries = Vec::new();
    if let Some(table) = top.get("offsetTable").and_then(|t| t.as_object()) {
        for (k, v) in table {
            let key: serde_json::Value =
                serde_json::from_str(k).map_err(|e| format!("bad MessageQueue key {k}: {e}"))?;
            entries.push((key, v.clone()));
        }
    }
    Ok((top, entries))
}
