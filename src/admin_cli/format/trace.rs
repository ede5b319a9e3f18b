//! `queryMsgTraceById`'s view (Java's `QueryMsgTraceByIdSubCommand`): a `Pub` block per send
//! record, then one `Sub` block per consumer group of the `SubAfter` records, each block a
//! `#Type` header, `%-10s %-20s %-20s %-20s %-10s %-10s` rows and an empty line. `SubBefore`
//! and `EndTransaction` records are not shown, as in Java. Times in UTC.

use super::date_time;
use crate::client::trace::TraceType;

/// One trace record of the queried message, as the view needs it (Java's `TraceView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    pub trace_type: TraceType,
    pub group: String,
    /// The host (no port) of the client that wrote the trace message.
    pub client_host: String,
    pub timestamp: i64,
    pub cost_ms: i32,
    pub success: bool,
}

fn row(cells: [&str; 6]) -> String {
    let [a, b, c, d, e, f] = cells;
    format!("{a:<10} {b:<20} {c:<20} {d:<20} {e:<10} {f:<10}\n")
}

fn view_row(kind: &str, v: &TraceView) -> String {
    row([
        kind,
        &v.group,
        &v.client_host,
        &date_time(v.timestamp, false),
        &format!("{}ms", v.cost_ms),
        if v.success { "success" } else { "failed" },
    ])
}

/// The whole printout for `views`.
pub fn msg_trace(views: &[TraceView]) -> String {
    let mut out = String::new();
    let mut consumer_groups: Vec<(&str, Vec<&TraceView>)> = Vec::new();
    for v in views {
        match v.trace_type {
            TraceType::Pub => {
                out.push_str(&row([
                    "#Type",
                    "#ProducerGroup",
                    "#ClientHost",
                    "#SendTime",
                    "#CostTimes",
                    "#Status",
                ]));
                out.push_str(&view_row("Pub", v));
                out.push('\n');
            }
            TraceType::SubAfter => match consumer_groups.iter_mut().find(|(g, _)| *g == v.group) {
                Some((_, group)) => group.push(v),
                None => consumer_groups.push((&v.group, vec![v])),
            },
            TraceType::SubBefore | TraceType::EndTransaction => {}
        }
    }
    for (_, group) in consumer_groups {
        out.push_str(&row([
            "#Type",
            "#ConsumerGroup",
            "#ClientHost",
            "#ConsumerTime",
            "#CostTimes",
            "#Status",
        ]));
        for v in group {
            out.push_str(&view_row("Sub", v));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(trace_type: TraceType, group: &str, success: bool) -> TraceView {
        TraceView {
            trace_type,
            group: group.into(),
            client_host: "127.0.0.1".into(),
            timestamp: 1_700_000_000_000,
            cost_ms: 12,
            success,
        }
    }

    #[test]
    fn pub_and_sub_blocks_have_javas_headers_and_columns() {
        let text = msg_trace(&[
            view(TraceType::Pub, "PG", true),
            view(TraceType::SubBefore, "CG", true),
            view(TraceType::SubAfter, "CG", false),
            view(TraceType::SubAfter, "CG2", true),
            view(TraceType::SubAfter, "CG", true),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "#Type      #ProducerGroup       #ClientHost          #SendTime            #CostTimes #Status   "
        );
        assert_eq!(
            lines[1],
            "Pub        PG                   127.0.0.1            2023-11-14 22:13:20  12ms       success   "
        );
        assert_eq!(lines[2], "");
        assert!(
            lines[3]
                .starts_with("#Type      #ConsumerGroup       #ClientHost          #ConsumerTime")
        );
        assert!(lines[4].starts_with("Sub        CG  ") && lines[4].contains("failed"));
        assert!(lines[5].starts_with("Sub        CG  ") && lines[5].contains("success"));
        assert_eq!(lines[6], "");
        assert!(lines[8].starts_with("Sub        CG2 "));
        assert_eq!(lines.len(), 10);
    }
}
