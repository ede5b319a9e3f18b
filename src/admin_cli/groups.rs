//! The group commands that act on every master: `deleteSubGroup` (DELETE_SUBSCRIPTIONGROUP),
//! `producerConnection` (GET_PRODUCER_CONNECTION_LIST) and `resetOffsetByTime`
//! (INVOKE_BROKER_TO_RESET_OFFSET).

use std::io::Write;

use bytes::Bytes;

use super::CliError;
use super::args::{DeleteSubGroup, Namesrv};
use super::calls::{broker_or_cluster, broker_request, ext, topic_masters};
use super::format::{self, ProducerConnection};
use crate::client::message::now_ms;
use crate::common::clock::days_from_civil;
use crate::message::names::{dlq_topic_name, retry_topic_name};
use crate::remoting::RequestCode;

/// Deletes the group from `-b` or from every master of `-c`, one line per broker as Java
/// prints them, and with `-c` also its `%RETRY%` and `%DLQ%` topics; the first broker that
/// refuses ends the command with its error.
pub(super) async fn delete_sub_group(
    args: &DeleteSubGroup,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let addrs =
        broker_or_cluster(&args.ns, args.broker.as_deref(), args.cluster.as_deref()).await?;
    let fields = ext(&[
        ("groupName", args.group.clone()),
        ("cleanOffset", args.remove_offset.to_string()),
    ]);
    for addr in addrs {
        broker_request(
            &addr,
            RequestCode::DeleteSubscriptiongroup,
            fields.clone(),
            Bytes::new(),
        )
        .await?;
        match &args.cluster {
            Some(cluster) if args.broker.is_none() => writeln!(
                out,
                "delete subscription group [{}] from broker [{addr}] in cluster [{cluster}] success.",
                args.group
            )?,
            _ => writeln!(
                out,
                "delete subscription group [{}] from broker [{addr}] success.",
                args.group
            )?,
        }
    }
    // With -c the group's retry and dead-letter topics go too (brokers, then nameservers).
    if let (Some(cluster), None) = (&args.cluster, &args.broker) {
        let admin = super::signing::admin(args.ns.resolve()?)?;
        for topic in [retry_topic_name(&args.group), dlq_topic_name(&args.group)] {
            admin.delete_topic(cluster, &topic).await?;
            writeln!(
                out,
                "delete topic [{topic}] from cluster [{cluster}] success."
            )?;
            writeln!(out, "delete topic [{topic}] from NameServer success.")?;
        }
    }
    Ok(())
}

/// Asks the masters of `topic`'s route for the group's connections and prints them merged
/// (a producer heartbeats to every master it sends to).
pub(super) async fn producer_connection(
    ns: &Namesrv,
    group: &str,
    topic: &str,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let admin = super::signing::admin(ns.resolve()?)?;
    let code = RequestCode::GetProducerConnectionList;
    let mut merged = ProducerConnection::default();
    let mut last_error = None;
    for (_, addr) in topic_masters(&admin, topic).await? {
        let fields = ext(&[("producerGroup", group.to_owned())]);
        let response = match broker_request(&addr, code, fields, Bytes::new()).await {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let answer: ProducerConnection = serde_json::from_slice(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        for conn in answer.connection_set {
            if !merged
                .connection_set
                .iter()
                .any(|c| c.client_id == conn.client_id)
            {
                merged.connection_set.push(conn);
            }
        }
    }
    if merged.connection_set.is_empty() {
        return Err(last_error.unwrap_or_else(|| {
            CliError::Failed(format!("the producer group[{group}] has no connection"))
        }));
    }
    write!(out, "{}", format::producer_connection(&merged))?;
    Ok(())
}

/// Resets the group's offsets of `topic` on every master of its route and prints the table
/// each broker answered.
pub(super) async fn reset_offset_by_time(
    ns: &Namesrv,
    group: &str,
    topic: &str,
    timestamp: &str,
    force: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let millis = parse_timestamp(timestamp, now_ms())?;
    let admin = super::signing::admin(ns.resolve()?)?;
    let code = RequestCode::InvokeBrokerToResetOffset;
    let mut rows = Vec::new();
    for (broker_name, addr) in topic_masters(&admin, topic).await? {
        let fields = ext(&[
            ("topic", topic.to_owned()),
            ("group", group.to_owned()),
            ("timestamp", millis.to_string()),
            ("isForce", force.to_string()),
        ]);
        let response = broker_request(&addr, code, fields, Bytes::new()).await?;
        let table = format::reset_rows(&response.body)
            .map_err(|e| crate::client::bad_response(&addr, code, e))?;
        rows.extend(table.into_iter().map(|(q, o)| (broker_name.clone(), q, o)));
    }
    rows.sort();
    writeln!(
        out,
        "start reset consumer offset by specified, group[{group}], topic[{topic}], \
         force[{force}], timestamp(string)[{timestamp}], timestamp(long)[{millis}]"
    )?;
    write!(out, "{}", format::reset_table(&rows))?;
    Ok(())
}

/// `-s` of `resetOffsetByTime`: `now`, `-1`, ms since the epoch, or
/// `yyyy-MM-dd#HH:mm:ss:SSS` read as UTC (Java reads it in the JVM's zone).
fn parse_timestamp(text: &str, now: i64) -> Result<i64, CliError> {
    let bad = || {
        CliError::Usage(format!(
            "bad timestamp {text:?}: give now, ms since the epoch or yyyy-MM-dd#HH:mm:ss:SSS"
        ))
    };
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(ms) = text.parse::<i64>() {
        return if ms >= -1 { Ok(ms) } else { Err(bad()) };
    }
    let (date, time) = text.split_once('#').ok_or_else(bad)?;
    let numbers = |part: &str, sep: char, n: usize| -> Result<Vec<i64>, CliError> {
        let v: Vec<i64> = part
            .split(sep)
            .map(|x| x.parse::<i64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        if v.len() == n { Ok(v) } else { Err(bad()) }
    };
    let d = numbers(date, '-', 3)?;
    let t = numbers(time, ':', 4)?;
    let (y, m, day) = (d[0], d[1], d[2]);
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || t[0] > 23
        || t[1] > 59
        || t[2] > 59
        || t[3] > 999
        || t.iter().any(|x| *x < 0)
    {
        return Err(bad());
    }
    let days = days_from_civil(y, m, day);
    Ok(((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + t[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_each_form_rocketmq_accepts() {
        assert_eq!(parse_timestamp("now", 42).unwrap(), 42);
        assert_eq!(
            parse_timestamp("1700000000000", 0).unwrap(),
            1_700_000_000_000
        );
        assert_eq!(parse_timestamp("-1", 0).unwrap(), -1);
        assert_eq!(parse_timestamp("1970-01-01#00:00:00:000", 0).unwrap(), 0);
        assert_eq!(
            parse_timestamp("2023-11-14#22:13:20:123", 0).unwrap(),
            1_700_000_000_123
        );
        assert_eq!(
            parse_timestamp("2024-02-29#00:00:00:000", 0).unwrap(),
            1_709_164_800_000
        );
        for bad in [
            "",
            "yesterday",
            "2024-13-01#00:00:00:000",
            "2024-01-01#24:00:00:000",
            "-5",
        ] {
            assert!(parse_timestamp(bad, 0).is_err(), "{bad}");
        }
    }
}
