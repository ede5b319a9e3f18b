//! Loopback tests of the server and the client on 127.0.0.1, ephemeral ports. Every test is
//! bounded in time ([`bounded`]) and every loop in count.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::header::{GetMaxOffsetResponseHeader, NotifyConsumerIdsChangedRequestHeader};
use super::*;

const TEST_DEADLINE: Duration = Duration::from_secs(20);
const CALL: Duration = Duration::from_secs(5);

async fn bounded<F: std::future::Future>(test: F) -> F::Output {
    tokio::time::timeout(TEST_DEADLINE, test)
        .await
        .expect("test finished within its deadline")
}

/// Answers by code:
/// - GET_MAX_OFFSET: sleeps `delayMs`, answers `offset = n` and echoes the body;
/// - HEART_BEAT: remembers the connection, answers SUCCESS;
/// - UPDATE_CONSUMER_OFFSET: reports it, answers SUCCESS (the server must drop that for oneway);
/// - GET_MIN_OFFSET: never answers;
/// - anything else: REQUEST_CODE_NOT_SUPPORTED, as the broker will.
struct TestHandler {
    connections: Mutex<Vec<ConnectionInfo>>,
    seen: mpsc::UnboundedSender<(u64, i32)>,
    done: mpsc::UnboundedSender<i64>,
    closed: mpsc::UnboundedSender<u64>,
}

struct Probes {
    /// (connection id, code) of every request handled.
    seen: mpsc::UnboundedReceiver<(u64, i32)>,
    /// `n` of every GET_MAX_OFFSET whose handler ran to its end.
    done: mpsc::UnboundedReceiver<i64>,
    /// Ids of closed connections.
    closed: mpsc::UnboundedReceiver<u64>,
}

impl TestHandler {
    fn new() -> (Arc<Self>, Probes) {
        let (seen_tx, seen) = mpsc::unbounded_channel();
        let (done_tx, done) = mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let handler = TestHandler {
            connections: Mutex::new(Vec::new()),
            seen: seen_tx,
            done: done_tx,
            closed: closed_tx,
        };
        (Arc::new(handler), Probes { seen, done, closed })
    }

    fn last_connection(&self) -> ConnectionInfo {
        self.connections
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a heartbeat was handled")
    }
}

impl Handler for TestHandler {
    async fn handle(&self, conn: &ConnectionInfo, req: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.seen.send((conn.id(), req.code));
        match req.request_code() {
            RequestCode::GetMaxOffset => {
                let field = |key: &str| {
                    req.ext_fields
                        .get(key)
                        .and_then(|v| v.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                tokio::time::sleep(Duration::from_millis(field("delayMs") as u64)).await;
                let _ = self.done.send(field("n"));
                let header = GetMaxOffsetResponseHeader { offset: field("n") };
                Some(
                    req.success_response()
                        .with_header(&header)
                        .with_body(req.body.clone()),
                )
            }
            RequestCode::HeartBeat => {
                self.connections.lock().unwrap().push(conn.clone());
                Some(req.success_response())
            }
            RequestCode::UpdateConsumerOffset => Some(req.success_response()),
            RequestCode::GetMinOffset => None,
            code => Some(req.error_response(
                ResponseCode::RequestCodeNotSupported,
                format!(" request type {} not supported", code.as_i32()),
            )),
        }
    }

    async fn connection_closed(&self, conn: &ConnectionInfo) {
        let _ = self.closed.send(conn.id());
    }
}

struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    async fn start(handler: Arc<TestHandler>, config: ServerConfig) -> Server {
        Self::start_on("127.0.0.1:0".parse().unwrap(), handler, config).await
    }

    async fn start_on(addr: SocketAddr, handler: Arc<TestHandler>, config: ServerConfig) -> Server {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(serve_with(listener, handler, config, shutdown));
        Server { addr, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("serve ends without panicking");
    }
}

fn max_offset_request(n: i64, delay_ms: u64) -> RemotingCommand {
    let mut ext = ExtFields::new();
    ext.insert("n".into(), n.to_string());
    ext.insert("delayMs".into(), delay_ms.to_string());
    RemotingCommand::request(
        RequestCode::GetMaxOffset,
        ext,
        Bytes::from(format!("body-{n}")),
    )
}

fn client(addr: SocketAddr, serialize_type: SerializeType) -> RemotingClient {
    RemotingClient::new(
        addr.to_string(),
        ClientConfig {
            serialize_type,
            ..ClientConfig::default()
        },
    )
}

/// Reads frames from a raw socket until one decodes; `None` when the server closed it.
async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<RemotingCommand> {
    loop {
        if let Some(cmd) = codec::decode(buf).expect("server frames decode") {
            return Some(cmd);
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

#[tokio::test]
async fn client_and_server_exchange_requests_in_both_serializations() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
            let client = client(server.addr, serialize_type);
            let resp = client.invoke(max_offset_request(7, 0), CALL).await.unwrap();
            assert!(resp.is_response());
            assert_eq!(resp.response_code(), ResponseCode::Success);
            assert_eq!(
                resp.serialize_type, serialize_type,
                "the reply mirrors the request"
            );
            assert_eq!(
                resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset,
                7
            );
            assert_eq!(resp.body, Bytes::from_static(b"body-7"));
        }
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_requests_on_one_connection_are_answered_out_of_order_and_matched() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let client = client(server.addr, SerializeType::Json);
        let finished = Mutex::new(Vec::new());
        const N: i64 = 16;
        // Request n sleeps (N - n) * 25 ms: the first sent is the last answered.
        let calls = (0..N).map(|n| {
            let (client, finished) = (&client, &finished);
            async move {
                let resp = client
                    .invoke(max_offset_request(n, ((N - n) * 25) as u64), CALL)
                    .await
                    .unwrap();
                assert_eq!(
                    resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset,
                    n
                );
                assert_eq!(resp.body, Bytes::from(format!("body-{n}")));
                finished.lock().unwrap().push(n);
            }
        });
        let started = tokio::time::Instant::now();
        join_all(calls).await;
        // Sequential handling would take the sum of the delays (3.4 s).
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
        let finished = finished.into_inner().unwrap();
        assert_eq!(finished.first(), Some(&(N - 1)));
        assert_eq!(finished.last(), Some(&0));
        let mut conn_ids = Vec::new();
        while let Ok((id, _)) = probes.seen.try_recv() {
            conn_ids.push(id);
        }
        conn_ids.dedup();
        assert_eq!(conn_ids.len(), 1, "all on one connection");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_unknown_code_gets_an_error_reply_and_the_connection_lives() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let client = client(server.addr, SerializeType::Json);
        let unknown = RemotingCommand {
            code: 9999,
            ..RemotingCommand::default()
        };
        let resp = client.invoke(unknown, CALL).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::RequestCodeNotSupported);
        assert_eq!(
            resp.remark.as_deref(),
            Some(" request type 9999 not supported")
        );
        client.invoke(max_offset_request(1, 0), CALL).await.unwrap();
        let (first, _) = probes.seen.recv().await.unwrap();
        let (second, _) = probes.seen.recv().await.unwrap();
        assert_eq!(first, second, "same connection");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_oneway_request_is_handled_but_never_answered() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        // A raw socket sees exactly what the server writes.
        let mut raw = TcpStream::connect(server.addr).await.unwrap();
        let mut oneway = RemotingCommand::request(
            RequestCode::UpdateConsumerOffset,
            ExtFields::new(),
            Bytes::new(),
        )
        .into_oneway();
        oneway.opaque = 100;
        let mut normal = max_offset_request(5, 0);
        normal.opaque = 101;
        let mut out = BytesMut::new();
        codec::encode(&oneway, &mut out).unwrap();
        codec::encode(&normal, &mut out).unwrap();
        raw.write_all(&out).await.unwrap();
        let mut buf = BytesMut::new();
        let resp = read_frame(&mut raw, &mut buf).await.expect("a response");
        assert_eq!(resp.opaque, 101, "the oneway request got no reply");
        let codes: Vec<i32> = [
            probes.seen.recv().await.unwrap(),
            probes.seen.recv().await.unwrap(),
        ]
        .iter()
        .map(|(_, code)| *code)
        .collect();
        assert!(
            codes.contains(&RequestCode::UpdateConsumerOffset.as_i32()),
            "{codes:?}"
        );

        // Through the client, too.
        let client = client(server.addr, SerializeType::Json);
        let oneway = RemotingCommand::request(
            RequestCode::UpdateConsumerOffset,
            ExtFields::new(),
            Bytes::new(),
        );
        client.invoke_oneway(oneway, CALL).await.unwrap();
        let (_, code) = probes.seen.recv().await.unwrap();
        assert_eq!(code, RequestCode::UpdateConsumerOffset.as_i32());
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_json_reply_to_a_raw_json_request_carries_what_every_client_needs() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let mut raw = TcpStream::connect(server.addr).await.unwrap();
        // ali-ons style: raw numbers in extFields, no remark, no serializeTypeCurrentRPC.
        let header = br#"{"code":30,"extFields":{"n":3,"delayMs":0},"flag":0,"language":"JAVA","opaque":9,"version":121}"#;
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
        frame.extend_from_slice(header);
        raw.write_all(&frame).await.unwrap();
        let mut buf = BytesMut::with_capacity(1024);
        while buf.len() < 8 {
            assert!(raw.read_buf(&mut buf).await.unwrap() > 0);
        }
        let total = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        while buf.len() < 4 + total {
            assert!(raw.read_buf(&mut buf).await.unwrap() > 0);
        }
        assert_eq!(buf[4], 0, "JSON type byte, so ali-ons can read it");
        let header_len = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]) as usize;
        let text = std::str::from_utf8(&buf[8..8 + header_len]).unwrap();
        assert_eq!(
            text,
            r#"{"code":0,"extFields":{"offset":"3"},"flag":1,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":407}"#
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn server_initiated_requests_reach_the_client_and_can_be_answered() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let server = Server::start(handler.clone(), ServerConfig::default()).await;
        let client = Arc::new(client(server.addr, SerializeType::Json));
        let mut inbound = client.server_requests().expect("taken once");
        assert!(client.server_requests().is_none());
        let heartbeat =
            RemotingCommand::request(RequestCode::HeartBeat, ExtFields::new(), Bytes::new());
        client.invoke(heartbeat, CALL).await.unwrap();
        let conn = handler.last_connection();

        let notify = RemotingCommand::request(
            RequestCode::NotifyConsumerIdsChanged,
            ExtFields::new(),
            Bytes::new(),
        )
        .with_header(&NotifyConsumerIdsChangedRequestHeader {
            consumer_group: "cg".into(),
        });
        conn.send_oneway(notify).await.unwrap();
        let got = inbound.recv().await.expect("the notification");
        assert_eq!(
            got.request.request_code(),
            RequestCode::NotifyConsumerIdsChanged
        );
        assert!(got.request.is_oneway());
        let header: NotifyConsumerIdsChangedRequestHeader = got.request.header().unwrap();
        assert_eq!(header.consumer_group, "cg");

        // A request that expects an answer (GET_CONSUMER_RUNNING_INFO style).
        let answer = tokio::spawn(async move {
            let req = inbound.recv().await.expect("the running-info request");
            let resp = req
                .request
                .success_response()
                .with_body(&b"{\"jstack\":\"\"}"[..]);
            req.respond(resp).await.unwrap();
        });
        let ask = RemotingCommand::request(
            RequestCode::GetConsumerRunningInfo,
            ExtFields::new(),
            Bytes::new(),
        );
        let resp = conn.invoke(ask, CALL).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::Success);
        assert_eq!(resp.body, Bytes::from_static(b"{\"jstack\":\"\"}"));
        answer.await.unwrap();
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_garbage_client_is_disconnected_and_other_clients_carry_on() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let good = client(server.addr, SerializeType::Json);
        good.invoke(max_offset_request(1, 0), CALL).await.unwrap();

        for garbage in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0][..],
            &[0, 0, 0, 12, 0, 0, 0, 4, b'n', b'o', b'p', b'e', 0, 0, 0, 0][..],
        ] {
            let mut raw = TcpStream::connect(server.addr).await.unwrap();
            raw.write_all(garbage).await.unwrap();
            let mut sink = [0u8; 64];
            // The server closes the connection: EOF (or a reset).
            let n = raw.read(&mut sink).await.unwrap_or(0);
            assert_eq!(n, 0, "no reply to garbage");
            probes.closed.recv().await.expect("close reported");
        }
        let resp = good.invoke(max_offset_request(2, 0), CALL).await.unwrap();
        assert_eq!(
            resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset,
            2
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_partial_frame_that_never_completes_is_cut_off() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let config = ServerConfig {
            frame_timeout: Duration::from_millis(200),
            idle_timeout: Duration::from_millis(300),
            ..ServerConfig::default()
        };
        let server = Server::start(handler, config).await;
        let mut slow = TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(&[0, 0, 0, 100, 0, 0]).await.unwrap();
        let mut sink = [0u8; 8];
        assert_eq!(slow.read(&mut sink).await.unwrap_or(0), 0);
        probes.closed.recv().await.expect("slow client dropped");
        // An idle connection is dropped too.
        let mut idle = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(idle.read(&mut sink).await.unwrap_or(0), 0);
        probes.closed.recv().await.expect("idle client dropped");
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_request_without_a_response_times_out_and_the_connection_stays_usable() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let client = client(server.addr, SerializeType::Json);
        let silent =
            RemotingCommand::request(RequestCode::GetMinOffset, ExtFields::new(), Bytes::new());
        let err = client
            .invoke(silent, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Timeout { code: 31, .. }),
            "{err}"
        );
        let slow = client
            .invoke(max_offset_request(1, 2_000), Duration::from_millis(100))
            .await;
        assert!(matches!(slow, Err(ClientError::Timeout { .. })));
        client.invoke(max_offset_request(3, 0), CALL).await.unwrap();
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_client_reconnects_after_the_server_restarts() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let server = Server::start(handler.clone(), ServerConfig::default()).await;
        let addr = server.addr;
        let client = client(addr, SerializeType::Json);
        client.invoke(max_offset_request(1, 0), CALL).await.unwrap();
        server.stop().await;

        // Down: the old connection is closed and nothing accepts.
        let err = client
            .invoke(max_offset_request(2, 0), CALL)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::ConnectionClosed { .. } | ClientError::Connect { .. }
            ),
            "{err}"
        );

        let mut restarted = None;
        for _ in 0..50 {
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    restarted = Some(listener);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let listener = restarted.expect("the port is free again");
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(serve_with(
            listener,
            handler,
            ServerConfig::default(),
            shutdown,
        ));
        let resp = client.invoke(max_offset_request(3, 0), CALL).await.unwrap();
        assert_eq!(
            resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset,
            3
        );
        let _ = stop.send(true);
        task.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_closed_connection_is_reported_to_the_handler_and_to_connection_info() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler.clone(), ServerConfig::default()).await;
        let client = client(server.addr, SerializeType::Json);
        let heartbeat =
            RemotingCommand::request(RequestCode::HeartBeat, ExtFields::new(), Bytes::new());
        client.invoke(heartbeat, CALL).await.unwrap();
        let conn = handler.last_connection();
        assert!(!conn.is_closed());
        client.close().await;
        conn.closed().await;
        assert!(conn.is_closed());
        assert_eq!(probes.closed.recv().await, Some(conn.id()));
        let notify = RemotingCommand::request(
            RequestCode::NotifyConsumerIdsChanged,
            ExtFields::new(),
            Bytes::new(),
        );
        assert!(matches!(
            conn.send_oneway(notify).await,
            Err(SendError::Closed(_))
        ));
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_hand_finish() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let client = Arc::new(client(server.addr, SerializeType::Json));
        let in_hand = {
            let client = client.clone();
            tokio::spawn(async move { client.invoke(max_offset_request(4, 300), CALL).await })
        };
        probes.seen.recv().await.expect("the request arrived");
        server.stop().await;
        let resp = in_hand
            .await
            .unwrap()
            .expect("answered before the connection closed");
        assert_eq!(
            resp.header::<GetMaxOffsetResponseHeader>().unwrap().offset,
            4
        );
    })
    .await;
}

#[tokio::test]
async fn a_request_in_flight_when_its_client_leaves_still_runs_to_completion() {
    bounded(async {
        let (handler, mut probes) = TestHandler::new();
        let server = Server::start(handler, ServerConfig::default()).await;
        let client = Arc::new(client(server.addr, SerializeType::Json));
        let waiting = {
            let client = client.clone();
            tokio::spawn(async move { client.invoke(max_offset_request(9, 300), CALL).await })
        };
        probes.seen.recv().await.expect("the request arrived");
        client.close().await;
        let err = waiting.await.unwrap().unwrap_err();
        assert!(matches!(err, ClientError::ConnectionClosed { .. }), "{err}");
        probes.closed.recv().await.expect("close reported at once");
        // The handler was not cancelled: it gets to its response (which goes nowhere), and the
        // server carries on.
        assert_eq!(probes.done.recv().await, Some(9));
        client
            .invoke(max_offset_request(10, 0), CALL)
            .await
            .unwrap();
        server.stop().await;
    })
    .await;
}

/// Issue 10: about 20,000 idle connections used up the file descriptors the store needs. A
/// listener serves at most `max_connections`; one past it is closed at once, and the
/// connections it already has keep working.
#[tokio::test]
async fn a_connection_past_the_cap_is_closed_and_the_others_keep_working() {
    bounded(async {
        let (handler, _probes) = TestHandler::new();
        let config = ServerConfig {
            max_connections: 2,
            ..ServerConfig::default()
        };
        let server = Server::start(handler, config).await;
        let first = client(server.addr, SerializeType::Json);
        let second = client(server.addr, SerializeType::Json);
        for c in [&first, &second] {
            let resp = c.invoke(max_offset_request(1, 0), CALL).await.unwrap();
            assert_eq!(resp.response_code(), ResponseCode::Success);
        }
        let mut third = TcpStream::connect(server.addr).await.unwrap();
        let mut sink = [0u8; 8];
        assert_eq!(
            third.read(&mut sink).await.unwrap_or(0),
            0,
            "closed at once"
        );
        let resp = first.invoke(max_offset_request(2, 0), CALL).await.unwrap();
        assert_eq!(resp.response_code(), ResponseCode::Success);
        server.stop().await;
    })
    .await;
}
