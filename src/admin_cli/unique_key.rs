//! `queryMsgByUniqueKey`: a message by its msgId (the UNIQ_KEY the producer gave it), found
//! with QUERY_MESSAGE on every master of the topic and kept only where UNIQ_KEY matches.
//! As Java's tool: at most 32 candidates, oldest store time first, the first one shown (every
//! one with `-a`), each body written to `/tmp/rocketmq/msgbodys/<msgId>[_<n>]`.
//!
//! `-g` with `-d` asks Java's tool to have that consumer consume the message directly
//! (CONSUME_MESSAGE_DIRECTLY, relayed by the broker); this broker does not relay it yet, so
//! the pair is refused with that reason instead of being ignored.

use std::io::Write;
use std::path::PathBuf;

use super::CliError;
use super::args::QueryMsgByUniqueKey;
use super::format;
use super::messages::messages_by_key;
use crate::message::property;

/// Java's limit on the messages one query returns.
const MAX_MESSAGES: i64 = 32;
/// Where Java's tool writes message bodies.
const BODY_DIR: &str = "/tmp/rocketmq/msgbodys";

pub(super) async fn query_msg_by_unique_key(
    args: &QueryMsgByUniqueKey,
    out: &mut impl Write,
) -> Result<(), CliError> {
    if args.group.is_some() && args.client_id.is_some() {
        return Err(CliError::Usage(
            "-g with -d (consume the message directly on a client) needs the broker to relay \
             CONSUME_MESSAGE_DIRECTLY, which this broker does not do yet"
                .into(),
        ));
    }
    let admin = super::signing::admin(args.ns.resolve()?)?;
    let id = args.msg_id.trim();
    let mut found: Vec<_> = messages_by_key(&admin, &args.topic, id, (0, i64::MAX, MAX_MESSAGES))
        .await?
        .into_iter()
        .map(|(m, _)| m)
        .filter(|m| m.properties.get(property::UNIQ_KEY).map(String::as_str) == Some(id))
        .collect();
    found.sort_by_key(|m| m.store_timestamp);
    let shown = if args.show_all { found.len() } else { 1 };
    for (index, m) in found.iter().take(shown).enumerate() {
        let path = body_path(id, index);
        write_body(&path, &m.body)?;
        write!(
            out,
            "{}",
            format::unique_key_detail(m, &path.display().to_string())
        )?;
    }
    Ok(())
}

/// `<dir>/<msgId>`, with `_<index>` after the first message.
fn body_path(msg_id: &str, index: usize) -> PathBuf {
    let name = if index == 0 {
        msg_id.to_owned()
    } else {
        format!("{msg_id}_{index}")
    };
    PathBuf::from(BODY_DIR).join(name)
}

fn write_body(path: &PathBuf, body: &[u8]) -> Result<(), CliError> {
    let failed = |e: std::io::Error| {
        CliError::Failed(format!("cannot write the body to {}: {e}", path.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(path, body).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::body_path;

    #[test]
    fn bodies_go_where_javas_tool_writes_them() {
        let id = "7F000001000018B4AAC2186E3C740000";
        assert_eq!(
            body_path(id, 0).to_str(),
            Some("/tmp/rocketmq/msgbodys/7F000001000018B4AAC2186E3C740000")
        );
        assert_eq!(
            body_path(id, 2).to_str(),
            Some("/tmp/rocketmq/msgbodys/7F000001000018B4AAC2186E3C740000_2")
        );
    }
}
