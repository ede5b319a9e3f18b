//! VIEW_BROKER_STATS_DATA (315): one statistic's minute, hour and day figures, as Java's
//! `AdminBrokerProcessor` answers them (`BrokerStatsData`: `statsMinute`, `statsHour`,
//! `statsDay`, each `{sum, tps, avgpt}`). Header `statsName` (`TOPIC_PUT_NUMS`...) and
//! `statsKey` (`topic`, `topic@group`, the cluster name; [`crate::broker::stats`] lists them).
//! A statistic nothing was ever added to is SYSTEM_ERROR with Java's remark.

use bytes::Bytes;
use serde_json::json;

use super::request::field;
use crate::broker::server::{Broker, BrokerError, HandlerResult};
use crate::broker::stats::{Span, StatsSnapshot};
use crate::remoting::RemotingCommand;

pub(crate) fn view_broker_stats_data(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let name = field(req, "statsName")?;
    let key = field(req, "statsKey")?;
    let item = broker
        .stats
        .set(name)
        .and_then(|set| set.get(key))
        .ok_or_else(|| BrokerError::system(format!("The stats <{name}> <{key}> not exist")))?;
    let figures = |s: StatsSnapshot| json!({"sum": s.sum, "tps": s.tps, "avgpt": s.avgpt});
    let body = json!({
        "statsMinute": figures(item.window(Span::Minute)),
        "statsHour": figures(item.window(Span::Hour)),
        "statsDay": figures(item.window(Span::Day)),
    });
    Ok(req
        .success_response()
        .with_body(Bytes::from(body.to_string())))
}
