//! CHECK_CLIENT_CONFIG (46) before a consumer with a non-TAG subscription starts, as Java's
//! `checkClientInBroker`: every broker group of the topic is asked (Java asks one and assumes
//! the rest agree) whether it can filter this way, so a broker without
//! `enablePropertyFilter=true` or an expression it cannot compile fails `start` with the
//! broker's code and remark, instead of pulls failing later.

use crate::client::consumer::PullConsumer;
use crate::client::namesrv::request;
use crate::client::{ClientError, calls};
use crate::message::body::TopicRouteData;
use crate::message::body::check_client::encode_check_client;
use crate::message::body::heartbeat::Subscription;
use crate::remoting::RequestCode;

/// Asks the master of each broker group of `route`; the first refusal is the error.
pub(super) async fn check_in_brokers(
    consumer: &PullConsumer,
    route: &TopicRouteData,
) -> Result<(), ClientError> {
    let subscription = Subscription {
        topic: consumer.config.topic.clone(),
        expression: consumer.subscription.expression.clone(),
        expression_type: consumer.subscription.expression_type.as_str().to_owned(),
        sub_version: consumer.sub_version,
    };
    let body = encode_check_client(&consumer.client_id, &consumer.config.group, &subscription);
    for addr in route.broker_datas.iter().filter_map(|b| b.master_addr()) {
        let req = request(RequestCode::CheckClientConfig).with_body(body.clone());
        calls::call(&consumer.conns, addr, req, consumer.config.request_timeout).await?;
    }
    Ok(())
}
