//! SQL92 subscriptions in the pull consumer: compiled before anything is sent, vetted by the
//! brokers with CHECK_CLIENT_CONFIG before the first heartbeat, and named as `SQL92` in the
//! heartbeat and every pull; the broker filters, the client keeps whatever it delivers.

use std::time::Duration;

use super::bounded;
use super::fake::{FakeBroker, FakeNameServer, Running, route, run};
use crate::client::{ClientError, ConsumeFrom, ConsumerConfig, ExpressionType, PullConsumer};
use crate::message::body::check_client::parse_check_client;
use crate::message::body::heartbeat::parse_heartbeat;
use crate::remoting::header::PullMessageRequestHeader;
use crate::remoting::{RequestCode, ResponseCode};

async fn cluster() -> (Running<FakeNameServer>, Running<FakeBroker>) {
    let broker = run(FakeBroker::default()).await;
    let ns = run(FakeNameServer::default()).await;
    ns.handler.set_route("T", &route(&[("a", &broker.addr, 1)]));
    (ns, broker)
}

fn sql92(ns: &str, expression: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig::new(ns, "cg", "T");
    config.from_where = ConsumeFrom::First;
    config.expression_type = ExpressionType::Sql92;
    config.expression = expression.into();
    config.suspend_timeout = Duration::from_millis(200);
    config
}

#[tokio::test]
async fn a_sql92_consumer_is_vetted_before_its_heartbeat_and_says_sql92_on_the_wire() {
    bounded(async {
        let (ns, broker) = cluster().await;
        broker
            .handler
            .append("T", 0, b"m0", "TAGS\u{1}A\u{2}a\u{1}7");
        let expression = "a > 5 AND TAGS IN ('A', 'B')";
        let mut consumer = PullConsumer::new(sql92(&ns.addr, expression)).unwrap();
        consumer.start().await.unwrap();
        let got = consumer.poll(Duration::from_secs(2)).await.unwrap();
        assert_eq!(
            got.len(),
            1,
            "the broker filters; the client keeps what it gets"
        );
        let requests = broker.handler.state().requests.clone();
        let first = |code| requests.iter().position(|r| r.request_code() == code);
        let (check, heartbeat) = (
            first(RequestCode::CheckClientConfig),
            first(RequestCode::HeartBeat),
        );
        assert!(
            check.is_some() && check < heartbeat,
            "{check:?} {heartbeat:?}"
        );
        let asked = parse_check_client(&requests[check.unwrap()].body).unwrap();
        assert_eq!(asked.group, "cg");
        assert_eq!(asked.client_id, consumer.client_id());
        let sub = asked.subscription.unwrap();
        assert_eq!(
            (
                sub.topic.as_str(),
                sub.expression.as_str(),
                sub.expression_type.as_str()
            ),
            ("T", expression, "SQL92")
        );
        let hb = parse_heartbeat(&requests[heartbeat.unwrap()].body).unwrap();
        let registered = &hb.consumers[0].subscriptions[0];
        assert_eq!(registered.expression_type, "SQL92");
        assert_eq!(registered.expression, expression);
        assert_eq!(registered.sub_version, sub.sub_version);
        let pull = requests
            .iter()
            .find(|r| r.request_code() == RequestCode::PullMessage)
            .unwrap();
        let h: PullMessageRequestHeader = pull.header().unwrap();
        assert_eq!(h.expression_type.as_deref(), Some("SQL92"));
        assert_eq!(h.subscription.as_deref(), Some(expression));
        assert_eq!(h.sub_version, sub.sub_version);
        consumer.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_broker_that_refuses_the_subscription_fails_start_with_its_code_and_remark() {
    bounded(async {
        let (ns, broker) = cluster().await;
        let remark = "The broker does not support consumer to filter message by SQL92";
        broker.handler.state().check_refusal = Some((ResponseCode::SystemError, remark.into()));
        let mut consumer = PullConsumer::new(sql92(&ns.addr, "a = 'x'")).unwrap();
        let err = consumer.start().await.unwrap_err();
        assert_eq!(
            err.response_code(),
            Some(ResponseCode::SystemError),
            "{err}"
        );
        assert!(err.to_string().contains(remark), "{err}");
        assert!(!broker.handler.codes().contains(&RequestCode::HeartBeat));
    })
    .await;
}

#[tokio::test]
async fn a_tag_consumer_sends_no_check() {
    bounded(async {
        let (ns, broker) = cluster().await;
        let mut consumer =
            PullConsumer::new(ConsumerConfig::new(ns.addr.as_str(), "cg", "T")).unwrap();
        consumer.start().await.unwrap();
        assert!(
            !broker
                .handler
                .codes()
                .contains(&RequestCode::CheckClientConfig)
        );
        consumer.shutdown().await;
    })
    .await;
}

#[test]
fn a_bad_expression_is_refused_by_new_with_its_position() {
    let refused = |expression: &str| match PullConsumer::new(sql92("127.0.0.1:9876", expression)) {
        Err(ClientError::InvalidConfig(why)) => why,
        other => panic!("{expression:?}: {other:?}"),
    };
    let why = refused("a = ");
    assert!(why.contains("line 1, column 4"), "{why}");
    let why = refused("a > 'x'");
    assert!(why.contains("line 1, column 5"), "{why}");
    // Java brokers would read `a = 1` and ignore the rest: the client refuses the typo.
    let why = refused("a = 1 b = 2");
    assert!(why.contains("line 1, column 7"), "{why}");
}
