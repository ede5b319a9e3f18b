//! Subscriptions and their filters: CHECK_CLIENT_CONFIG (46), and which filter a PULL_MESSAGE
//! (11) applies (remoting.md §5.4, §9.3), as Java's `ClientManageProcessor.checkClientConfig`
//! and `PullMessageProcessor` decide them.
//!
//! A TAG subscription filters by tag hash. A SQL92 subscription is served only with
//! `enablePropertyFilter=true` (else SYSTEM_ERROR "The broker does not support consumer to
//! filter message by SQL92"); its expression is compiled once per group and topic
//! ([`SqlFilters`](crate::broker::sql_filters::SqlFilters)) and a compile error names its line
//! and column. Java's codes, by where the expression came from:
//!
//! | source | empty | does not compile | property filter off |
//! | --- | --- | --- | --- |
//! | CHECK_CLIENT_CONFIG body | SUBSCRIPTION_PARSE_FAILED | SUBSCRIPTION_PARSE_FAILED | SYSTEM_ERROR (checked first) |
//! | pull header (SUBSCRIPTION flag) | SUBSCRIPTION_PARSE_FAILED | SUBSCRIPTION_PARSE_FAILED (Java 4.9.8 would deliver everything: we refuse) | SYSTEM_ERROR (checked first) |
//! | the group's heartbeat | FILTER_DATA_NOT_EXIST | FILTER_DATA_NOT_EXIST | SYSTEM_ERROR (checked after) |
//!
//! A pull that names a newer `subVersion` than the group's heartbeat subscription gets
//! SUBSCRIPTION_NOT_LATEST for SQL92, as from Java (the filter would be stale); TAG pulls are
//! served from the registered subscription whatever its version. A pull of any other
//! `expressionType` is refused with SYSTEM_ERROR (CHECK_CLIENT_CONFIG: SUBSCRIPTION_PARSE_FAILED,
//! once the property filter is on, as from Java).

use std::sync::Arc;

use crate::broker::pull::{MessageFilter, TagFilter};
use crate::broker::server::{Broker, BrokerError, HandlerResult, lock};
use crate::message::body::check_client::parse_check_client;
use crate::message::filter::{SQL92, Sql92, SqlError, is_tag_type};
use crate::remoting::RemotingCommand;
use crate::remoting::header::pull::PullMessageRequestHeader;

/// The filter a pull applies, owned for the length of the pull.
#[derive(Debug, Clone)]
pub(crate) enum PullFilter {
    Tags(TagFilter),
    Sql92(Arc<Sql92>),
}

impl PullFilter {
    pub(crate) fn as_message_filter(&self) -> MessageFilter<'_> {
        match self {
            PullFilter::Tags(tags) => MessageFilter::Tags(tags),
            PullFilter::Sql92(sql) => MessageFilter::Sql92(sql),
        }
    }
}

/// CHECK_CLIENT_CONFIG: SUCCESS for a TAG subscription (or none); for another type, whether
/// this broker filters that way and the expression compiles.
pub(crate) fn check_client_config(broker: &Broker, req: &RemotingCommand) -> HandlerResult {
    let body = parse_check_client(&req.body).map_err(|e| BrokerError::system(e.to_string()))?;
    let Some(sub) = body.subscription else {
        return Ok(req.success_response());
    };
    if is_tag_type(Some(&sub.expression_type)) {
        return Ok(req.success_response());
    }
    property_filter_enabled(broker, &sub.expression_type)?;
    if sub.expression_type != SQL92 {
        // Java finds no compiler for the type and answers as for a bad expression.
        return Err(BrokerError::SubscriptionParseFailed(format!(
            "no filter for expression type {}",
            sub.expression_type
        )));
    }
    broker
        .sql_filters
        .get(&body.group, &sub.topic, &sub.expression)
        .map_err(|e| BrokerError::SubscriptionParseFailed(invalid(&sub.expression, &e)))?;
    Ok(req.success_response())
}

/// The filter of a pull: the request's own subscription when it carries one (SUBSCRIPTION
/// flag), else the one the group's heartbeat registered for the topic.
pub(crate) fn pull_filter(
    broker: &Broker,
    h: &PullMessageRequestHeader,
) -> Result<PullFilter, BrokerError> {
    if h.has_flag(PullMessageRequestHeader::SUBSCRIPTION) {
        let expression = h.subscription.as_deref().unwrap_or("*");
        let expression_type = h.expression_type.as_deref().map(str::trim);
        if is_tag_type(expression_type) {
            return Ok(PullFilter::Tags(TagFilter::parse(expression)));
        }
        let expression_type = expression_type.unwrap_or_default();
        if expression.is_empty() {
            return Err(BrokerError::SubscriptionParseFailed(format!(
                "parse the consumer's subscription failed: an empty {expression_type} expression"
            )));
        }
        property_filter_enabled(broker, expression_type)?;
        if expression_type != SQL92 {
            return Err(unknown_type(expression_type));
        }
        let sql = broker
            .sql_filters
            .get(&h.consumer_group, &h.topic, expression)
            .map_err(|e| {
                BrokerError::SubscriptionParseFailed(format!(
                    "parse the consumer's subscription failed: {}",
                    invalid(expression, &e)
                ))
            })?;
        return Ok(PullFilter::Sql92(sql));
    }
    let Some(sub) = lock(&broker.clients)
        .subscription(&h.consumer_group, &h.topic)
        .cloned()
    else {
        return Err(BrokerError::SubscriptionNotExist(format!(
            "the consumer's subscription not exist, group: {} topic: {}",
            h.consumer_group, h.topic
        )));
    };
    if is_tag_type(Some(sub.expression_type.trim())) {
        return Ok(PullFilter::Tags(TagFilter::parse(&sub.expression)));
    }
    if sub.expression_type != SQL92 {
        return Err(unknown_type(&sub.expression_type));
    }
    if sub.sub_version < h.sub_version {
        return Err(BrokerError::SubscriptionNotLatest(
            "the consumer's subscription not latest".into(),
        ));
    }
    let sql = broker
        .sql_filters
        .get(&h.consumer_group, &h.topic, &sub.expression)
        .map_err(|e| {
            BrokerError::FilterDataNotExist(format!(
                "The broker's consumer filter data is not exist!Your expression may be wrong! {}",
                invalid(&sub.expression, &e)
            ))
        })?;
    property_filter_enabled(broker, SQL92)?;
    Ok(PullFilter::Sql92(sql))
}

fn property_filter_enabled(broker: &Broker, expression_type: &str) -> Result<(), BrokerError> {
    if broker.config.enable_property_filter {
        Ok(())
    } else {
        Err(unknown_type(expression_type))
    }
}

/// Java's answer to a filter type it does not serve.
fn unknown_type(expression_type: &str) -> BrokerError {
    BrokerError::system(format!(
        "The broker does not support consumer to filter message by {expression_type}"
    ))
}

/// The remark for an expression that does not compile: the expression, then where and why.
fn invalid(expression: &str, error: &SqlError) -> String {
    format!("Invalid SQL92 expression [{expression}] at {error}")
}
