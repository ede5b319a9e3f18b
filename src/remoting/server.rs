//! The accepting side: [`serve`] runs a listener, one task per connection, and hands every
//! request to a [`Handler`].
//!
//! Per connection: a reader (this task) decodes frames; each request runs in its own task, at
//! most [`ServerConfig::max_in_flight_per_connection`] at once (the reader stops reading while
//! the limit is reached), and its response is written as soon as it is ready, so responses
//! leave in completion order and clients match them by opaque (remoting.md §1.1, §1.5). A
//! writer task owns the write half. The server fixes up every response: the request's opaque,
//! the response flag, the request's serialization (§1.3.3: ali-ons cannot read a binary reply).
//! A oneway request is never answered, whatever the handler returns.
//!
//! Responses *from* the client (flag bit 0) answer server-initiated requests made through
//! [`ConnectionInfo::invoke`]; [`ConnectionInfo::send_oneway`] sends e.g.
//! `NOTIFY_CONSUMER_IDS_CHANGED`. [`ConnectionInfo::closed`] and [`Handler::connection_closed`]
//! tell when a connection is gone (the nameserver drops a broker at once, §3.10).
//!
//! A malformed frame, a peer idle for [`ServerConfig::idle_timeout`], or a frame not completed
//! within [`ServerConfig::frame_timeout`] of its first byte closes that connection with a log
//! line; the server and other connections carry on. An unknown request code is the handler's
//! business: the broker and nameserver answer `REQUEST_CODE_NOT_SUPPORTED` (3) with remark
//! `" request type <n> not supported"` rather than staying silent as Java's nameserver does.
//!
//! This module never interprets codes, headers or bodies; those are the handler's.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::code::ResponseCode;
use super::codec::{DEFAULT_MAX_FRAME, EncodeError, FrameCodec};
use super::command::RemotingCommand;
use super::connection::{FrameReader, Pending, ReadError, signalled, write_loop};

/// A listener at its connection cap says so at most this often.
const REFUSED_SAY_EVERY: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Connection ids are unique in the process, across listeners (a broker serves its main and
/// its VIP port with one handler).
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// What the broker or nameserver does with requests.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. `None`: no response (right for oneway requests, which are never
    /// answered anyway). The server sets the response's opaque, flag and serialization.
    /// Requests of one connection run concurrently.
    fn handle(
        &self,
        conn: &ConnectionInfo,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once, right after a connection has closed. Its requests may still be running:
    /// they are left to finish (their responses are dropped), except at shutdown, where they
    /// get [`ServerConfig::drain_deadline`] before this is called. Long work (a held pull) can
    /// stop early on [`ConnectionInfo::closed`].
    fn connection_closed(&self, conn: &ConnectionInfo) -> impl Future<Output = ()> + Send {
        let _ = conn;
        async {}
    }
}

/// Server limits and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest frame accepted or sent, bytes, length prefix included. Default 16 MiB (Java's).
    pub max_frame: usize,
    /// Requests of one connection handled at once; the connection is not read meanwhile.
    /// Held long-poll pulls count. Default 64.
    pub max_in_flight_per_connection: usize,
    /// A connection with no bytes for this long is closed. Default 120 s (Java's; clients
    /// heartbeat every 30 s).
    pub idle_timeout: Duration,
    /// A frame must be complete this long after its first byte arrived (slow-loris guard).
    /// Default 60 s.
    pub frame_timeout: Duration,
    /// A write to a peer that stops reading fails after this long, closing the connection.
    /// Default 30 s.
    pub write_timeout: Duration,
    /// After shutdown is asked for, in-flight requests get this long to finish. Default 5 s.
    pub drain_deadline: Duration,
    /// Connections served at once by one listener; a connection past it is closed at once
    /// (said in the log at most every 10 s), so a flood of idle connections cannot use up the
    /// process's file descriptors, which the store needs for its segments. Default: a quarter
    /// of the open-file limit, at least 64 and at most 16,384.
    pub max_connections: usize,
}

/// A quarter of this process's soft open-file limit (read from `/proc/self/limits`; 4096 when
/// it cannot be read), within 64..=16,384: two client listeners and the raft port share the
/// limit with the store's files.
fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        });
    soft.map_or(4096, |soft| (soft / 4).clamp(64, 16_384))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame: DEFAULT_MAX_FRAME,
            max_in_flight_per_connection: 64,
            idle_timeout: Duration::from_secs(120),
            frame_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            drain_deadline: Duration::from_secs(5),
            max_connections: default_max_connections(),
        }
    }
}

/// Why a server-initiated request failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("connection {0} is closed")]
    Closed(u64),
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// One client connection, as handlers see it: who, and a way to talk back. Cheap to clone;
/// a clone kept after the connection closed only reports it closed.
#[derive(Clone)]
pub struct ConnectionInfo {
    inner: Arc<ConnectionShared>,
}

struct ConnectionShared {
    id: u64,
    peer: SocketAddr,
    codec: FrameCodec,
    outbound: mpsc::Sender<Bytes>,
    pending: Pending,
    next_opaque: AtomicI32,
    closed: watch::Receiver<bool>,
}

impl std::fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .finish_non_exhaustive()
    }
}

impl ConnectionInfo {
    /// Process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The client's address (a stored message's BORNHOST).
    pub fn peer(&self) -> SocketAddr {
        self.inner.peer
    }

    /// Sends a oneway request to the client (sets the oneway flag and a fresh opaque). Returns
    /// once the frame is queued for writing.
    pub async fn send_oneway(&self, request: RemotingCommand) -> Result<(), SendError> {
        let request = self.prepare(request.into_oneway());
        let frame = self.inner.codec.encode_to_bytes(&request)?;
        self.queue(frame).await
    }

    /// Sends a request to the client and waits up to `timeout` for its response (e.g.
    /// `GET_CONSUMER_RUNNING_INFO`).
    pub async fn invoke(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, SendError> {
        let mut request = self.prepare(request);
        request.flag &= !RemotingCommand::ONEWAY_FLAG;
        let frame = self.inner.codec.encode_to_bytes(&request)?;
        let opaque = request.opaque;
        let response = self
            .inner
            .pending
            .register(opaque)
            .ok_or(SendError::Closed(self.inner.id))?;
        let exchange = async {
            self.queue(frame).await?;
            response.await.map_err(|_| SendError::Closed(self.inner.id))
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(SendError::Timeout(timeout)));
        if result.is_err() {
            self.inner.pending.forget(opaque);
        }
        result
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    /// Resolves once the connection has closed (at once if it already has).
    pub async fn closed(&self) {
        let mut closed = self.inner.closed.clone();
        signalled(&mut closed).await;
    }

    fn prepare(&self, mut request: RemotingCommand) -> RemotingCommand {
        request.opaque = self.inner.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.flag &= !RemotingCommand::RESPONSE_FLAG;
        request
    }

    async fn queue(&self, frame: Bytes) -> Result<(), SendError> {
        if self.is_closed() {
            return Err(SendError::Closed(self.inner.id));
        }
        self.inner
            .outbound
            .send(frame)
            .await
            .map_err(|_| SendError::Closed(self.inner.id))
    }
}

/// [`serve_with`] and the default [`ServerConfig`].
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    shutdown: watch::Receiver<bool>,
) {
    serve_with(listener, handler, ServerConfig::default(), shutdown).await;
}

/// Serves `listener` until `shutdown` turns true (or its sender is dropped): stops accepting,
/// stops reading, lets in-flight requests finish and their responses go out within
/// [`ServerConfig::drain_deadline`], then closes every connection. Never fails: accept and
/// connection errors are logged.
pub async fn serve_with<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    config: ServerConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let config = Arc::new(config);
    let mut connections = JoinSet::new();
    let mut refused_said: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            () = signalled(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) if connections.len() >= config.max_connections => {
                    drop(stream);
                    if refused_said.is_none_or(|at| at.elapsed() >= REFUSED_SAY_EVERY) {
                        refused_said = Some(std::time::Instant::now());
                        tracing::warn!(%peer, max_connections = config.max_connections,
                            "connection refused: this listener serves its maximum of connections");
                    }
                }
                Ok((stream, peer)) => {
                    // Only latency suffers if this fails.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        handler.clone(),
                        config.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "remoting accept failed");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => log_join(done),
        }
    }
    drop(listener);
    // Each connection bounds its own drain; this only waits for them.
    while let Some(done) = connections.join_next().await {
        log_join(done);
    }
}

fn log_join(done: Result<(), tokio::task::JoinError>) {
    if let Err(err) = done
        && err.is_panic()
    {
        tracing::error!(error = %err, "remoting task panicked");
    }
}

/// Why the read loop ended, which decides what happens to requests in flight.
enum End {
    /// Shutdown: finish them within the drain deadline, then abort the rest.
    Shutdown,
    /// Peer gone, bad frame, timeout: let them finish on their own (handlers need not be
    /// cancel-safe); their responses have nowhere to go and are dropped.
    Gone,
}

/// Runs one connection over any byte stream (TCP here; a simulated network in tests later).
pub(crate) async fn serve_connection<S, H>(
    stream: S,
    peer: SocketAddr,
    handler: Arc<H>,
    config: Arc<ServerConfig>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
    H: Handler,
{
    let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
    let codec = FrameCodec::new(config.max_frame);
    let (mut read, write) = tokio::io::split(stream);
    let max_in_flight = config.max_in_flight_per_connection.max(1);
    let (outbound, frames) = mpsc::channel::<Bytes>(max_in_flight + 16);
    let (close_tx, close_rx) = watch::channel(false);
    let writer = tokio::spawn(write_loop(
        write,
        frames,
        close_rx.clone(),
        config.write_timeout,
    ));
    let conn = ConnectionInfo {
        inner: Arc::new(ConnectionShared {
            id,
            peer,
            codec,
            outbound,
            pending: Pending::default(),
            next_opaque: AtomicI32::new(0),
            closed: close_rx,
        }),
    };
    tracing::debug!(conn = id, %peer, "remoting connection opened");

    let permits = Arc::new(Semaphore::new(max_in_flight));
    let mut requests = JoinSet::new();
    let mut reader = FrameReader::new(codec, Some(config.idle_timeout), Some(config.frame_timeout));
    let end = loop {
        let frame = tokio::select! {
            () = signalled(&mut shutdown) => break End::Shutdown,
            Some(done) = requests.join_next(), if !requests.is_empty() => {
                log_join(done);
                continue;
            }
            frame = reader.next(&mut read) => frame,
        };
        let request = match frame {
            Ok(Some(cmd)) if cmd.is_response() => {
                if !conn.inner.pending.complete(cmd) {
                    tracing::debug!(conn = id, %peer, "response to no pending request dropped");
                }
                continue;
            }
            Ok(Some(cmd)) => cmd,
            Ok(None) => {
                tracing::debug!(conn = id, %peer, "remoting connection closed by peer");
                break End::Gone;
            }
            Err(err) => {
                log_read_error(id, peer, &err);
                break End::Gone;
            }
        };
        let permit = tokio::select! {
            () = signalled(&mut shutdown) => break End::Shutdown,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break End::Gone, // never closed; kept total
            },
        };
        requests.spawn(handle_request(
            handler.clone(),
            conn.clone(),
            request,
            permit,
        ));
    };

    match end {
        End::Shutdown => {
            let drain = async {
                while let Some(done) = requests.join_next().await {
                    log_join(done);
                }
            };
            if tokio::time::timeout(config.drain_deadline, drain)
                .await
                .is_err()
            {
                tracing::warn!(conn = id, %peer, "requests still running at the drain deadline");
            }
            requests.abort_all();
        }
        End::Gone => requests.detach_all(),
    }
    conn.inner.pending.close();
    let _ = close_tx.send(true);
    match writer.await {
        Ok(Err(err)) => tracing::debug!(conn = id, %peer, error = %err, "remoting write failed"),
        Err(err) if err.is_panic() => tracing::error!(conn = id, error = %err, "writer panicked"),
        _ => {}
    }
    handler.connection_closed(&conn).await;
}

fn log_read_error(id: u64, peer: SocketAddr, err: &ReadError) {
    match err {
        ReadError::Decode(_) | ReadError::Truncated | ReadError::PartialFrame(_) => {
            tracing::warn!(conn = id, %peer, error = %err, "closing remoting connection");
        }
        ReadError::Io(_) | ReadError::Idle(_) => {
            tracing::info!(conn = id, %peer, error = %err, "closing remoting connection");
        }
    }
}

/// Runs one request and queues its response.
async fn handle_request<H: Handler>(
    handler: Arc<H>,
    conn: ConnectionInfo,
    request: RemotingCommand,
    _permit: OwnedSemaphorePermit,
) {
    let (code, opaque, oneway, serialize_type) = (
        request.code,
        request.opaque,
        request.is_oneway(),
        request.serialize_type,
    );
    let Some(mut response) = handler.handle(&conn, request).await else {
        return;
    };
    if oneway {
        tracing::trace!(
            conn = conn.id(),
            code,
            opaque,
            "response to a oneway request dropped"
        );
        return;
    }
    response.opaque = opaque;
    response.flag |= RemotingCommand::RESPONSE_FLAG;
    response.serialize_type = serialize_type;
    let frame = match conn.inner.codec.encode_to_bytes(&response) {
        Ok(frame) => frame,
        Err(err) => {
            tracing::error!(conn = conn.id(), code, opaque, error = %err, "response cannot be encoded");
            let fallback = RemotingCommand {
                opaque,
                flag: RemotingCommand::RESPONSE_FLAG,
                serialize_type,
                code: ResponseCode::SystemError.as_i32(),
                remark: Some(format!("response cannot be encoded: {err}")),
                ..RemotingCommand::default()
            };
            match conn.inner.codec.encode_to_bytes(&fallback) {
                Ok(frame) => frame,
                Err(_) => return,
            }
        }
    };
    // Fails only when the connection is closing; the client then sees the close.
    let _ = conn.inner.outbound.send(frame).await;
}
