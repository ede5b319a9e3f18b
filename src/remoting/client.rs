//! [`RemotingClient`]: requests to one address over one TCP connection (TCP_NODELAY), any
//! number in flight, each matched to its response by opaque (an atomic counter).
//!
//! The connection is opened on first use. When it fails (peer closed, bad frame, write error)
//! the requests waiting on it fail with [`ClientError::ConnectionClosed`] and the next call
//! connects again; a timed-out request leaves the connection up (as Java's client does by
//! default). Requests the server sends on this connection (`NOTIFY_CONSUMER_IDS_CHANGED`,
//! `GET_CONSUMER_RUNNING_INFO`, …, remoting.md §1.6) arrive on the channel from
//! [`RemotingClient::server_requests`] and are answered with [`InboundRequest::respond`].
//! Every request goes out in the client's [`ClientConfig::serialize_type`] (JSON by default).
//!
//! This module never retries, picks brokers or interprets responses: that is the producer's,
//! consumer's and admin's business. The accepting side is [`super::server`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::codec::{DEFAULT_MAX_FRAME, EncodeError, FrameCodec};
use super::command::{RemotingCommand, SerializeType};
use super::connection::{FrameReader, Pending, write_loop};
use super::signature::Credentials;

/// Server requests waiting to be taken from [`RemotingClient::server_requests`]; more are
/// dropped with a log line rather than stalling responses.
const INBOUND_QUEUE: usize = 64;
/// Frames waiting for the writer.
const OUTBOUND_QUEUE: usize = 256;

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Header serialization of every request. Default JSON (what Java clients use).
    pub serialize_type: SerializeType,
    /// Longest TCP connect, further bounded by the call's own timeout. Default 3 s.
    pub connect_timeout: Duration,
    /// Largest frame sent or accepted, bytes, prefix included. Default 16 MiB.
    pub max_frame: usize,
    /// A write that does not finish within this closes the connection. Default 30 s.
    pub write_timeout: Duration,
    /// When set, every request is signed with these keys (`AccessKey` + `Signature`, as
    /// Java's `AclClientRPCHook`) for brokers with `aclEnable=true`. Default none.
    pub credentials: Option<Credentials>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            serialize_type: SerializeType::Json,
            connect_timeout: Duration::from_secs(3),
            max_frame: DEFAULT_MAX_FRAME,
            write_timeout: Duration::from_secs(30),
            credentials: None,
        }
    }
}

/// Why a request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connect to {addr} timed out")]
    ConnectTimeout { addr: String },
    #[error("no response from {addr} within {timeout:?} (code {code}, opaque {opaque})")]
    Timeout {
        addr: String,
        timeout: Duration,
        code: i32,
        opaque: i32,
    },
    #[error("connection to {addr} closed before the response")]
    ConnectionClosed { addr: String },
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A request the server sent to this client.
#[derive(Debug)]
pub struct InboundRequest {
    pub request: RemotingCommand,
    reply: mpsc::Sender<Bytes>,
    codec: FrameCodec,
    addr: Arc<str>,
}

impl InboundRequest {
    /// The address of the server that sent the request (as the client dialled it).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Answers the request on the connection it came from (nothing is sent for a oneway
    /// request). The response gets the request's opaque and serialization and the response
    /// flag.
    pub async fn respond(self, mut response: RemotingCommand) -> Result<(), ClientError> {
        if self.request.is_oneway() {
            return Ok(());
        }
        response.opaque = self.request.opaque;
        response.flag |= RemotingCommand::RESPONSE_FLAG;
        response.serialize_type = self.request.serialize_type;
        let frame = self.codec.encode_to_bytes(&response)?;
        self.reply
            .send(frame)
            .await
            .map_err(|_| ClientError::ConnectionClosed {
                addr: self.addr.to_string(),
            })
    }
}

/// One live connection.
struct Connection {
    outbound: mpsc::Sender<Bytes>,
    pending: Arc<Pending>,
    reader: JoinHandle<()>,
    /// Tells the writer to write what is queued and finish.
    close: watch::Sender<bool>,
}

impl Connection {
    /// Stops reading, fails every waiting request, lets the writer finish.
    fn shut(&self) {
        self.reader.abort();
        self.pending.close();
        let _ = self.close.send(true);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shut();
    }
}

/// A client of one remoting server address.
pub struct RemotingClient {
    addr: String,
    config: ClientConfig,
    codec: FrameCodec,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    next_opaque: AtomicI32,
    inbound_tx: mpsc::Sender<InboundRequest>,
    inbound_rx: std::sync::Mutex<Option<mpsc::Receiver<InboundRequest>>>,
}

impl std::fmt::Debug for RemotingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotingClient")
            .field("addr", &self.addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RemotingClient {
    /// A client of `addr` (`host:port`); nothing is connected until the first call.
    pub fn new(addr: impl Into<String>, config: ClientConfig) -> Self {
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
        RemotingClient {
            addr: addr.into(),
            codec: FrameCodec::new(config.max_frame),
            config,
            connection: tokio::sync::Mutex::new(None),
            next_opaque: AtomicI32::new(0),
            inbound_tx,
            inbound_rx: std::sync::Mutex::new(Some(inbound_rx)),
        }
    }

    /// The server address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The requests the server sends to this client, across reconnects. `Some` on the first
    /// call only.
    pub fn server_requests(&self) -> Option<mpsc::Receiver<InboundRequest>> {
        self.inbound_rx
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Sends `request` (a fresh opaque, the client's serialization) and waits up to `timeout`,
    /// connecting included, for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, ClientError> {
        request.flag &= !(RemotingCommand::RESPONSE_FLAG | RemotingCommand::ONEWAY_FLAG);
        let deadline = Instant::now() + timeout;
        let (conn, request, frame) = self.prepare(request, deadline).await?;
        let response = conn
            .pending
            .register(request.opaque)
            .ok_or_else(|| self.closed())?;
        let exchange = async {
            conn.outbound.send(frame).await.map_err(|_| self.closed())?;
            response.await.map_err(|_| self.closed())
        };
        let result = match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                addr: self.addr.clone(),
                timeout,
                code: request.code,
                opaque: request.opaque,
            }),
        };
        if result.is_err() {
            conn.pending.forget(request.opaque);
        }
        result
    }

    /// Sends `request` with the oneway flag; returns once it is queued for writing.
    pub async fn invoke_oneway(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let mut request = request.into_oneway();
        request.flag &= !RemotingCommand::RESPONSE_FLAG;
        let deadline = Instant::now() + timeout;
        let (conn, request, frame) = self.prepare(request, deadline).await?;
        match tokio::time::timeout_at(deadline, conn.outbound.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.closed()),
            Err(_) => Err(ClientError::Timeout {
                addr: self.addr.clone(),
                timeout,
                code: request.code,
                opaque: request.opaque,
            }),
        }
    }

    /// Closes the connection: requests waiting on it fail with
    /// [`ClientError::ConnectionClosed`] at once; the next call reconnects.
    pub async fn close(&self) {
        if let Some(conn) = self.connection.lock().await.take() {
            conn.shut();
        }
    }

    /// Stamps the request, encodes it and finds a live connection.
    async fn prepare(
        &self,
        mut request: RemotingCommand,
        deadline: Instant,
    ) -> Result<(Arc<Connection>, RemotingCommand, Bytes), ClientError> {
        request.opaque = self.next_opaque.fetch_add(1, Ordering::Relaxed);
        request.serialize_type = self.config.serialize_type;
        if let Some(credentials) = &self.config.credentials {
            credentials.sign(&mut request);
        }
        let frame = self.codec.encode_to_bytes(&request)?;
        let conn = self.connection(deadline).await?;
        Ok((conn, request, frame))
    }

    fn closed(&self) -> ClientError {
        ClientError::ConnectionClosed {
            addr: self.addr.clone(),
        }
    }

    /// The live connection, opening one if there is none or the last one failed.
    async fn connection(&self, deadline: Instant) -> Result<Arc<Connection>, ClientError> {
        let mut slot = self.connection.lock().await;
        if let Some(conn) = slot.as_ref()
            && !conn.pending.is_closed()
        {
            return Ok(conn.clone());
        }
        *slot = None;
        let connect_deadline = deadline.min(Instant::now() + self.config.connect_timeout);
        let stream =
            match tokio::time::timeout_at(connect_deadline, TcpStream::connect(&self.addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(source)) => {
                    return Err(ClientError::Connect {
                        addr: self.addr.clone(),
                        source,
                    });
                }
                Err(_) => {
                    return Err(ClientError::ConnectTimeout {
                        addr: self.addr.clone(),
                    });
                }
            };
        // Only latency suffers if this fails.
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(self.start(stream));
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Spawns the reader and writer tasks of a fresh connection.
    fn start(&self, stream: TcpStream) -> Connection {
        let (mut read, write) = stream.into_split();
        let (outbound, frames) = mpsc::channel(OUTBOUND_QUEUE);
        let reply_addr: Arc<str> = Arc::from(self.addr.as_str());
        let (close_tx, close_rx) = watch::channel(false);
        let pending = Arc::new(Pending::default());
        let addr = self.addr.clone();
        let write_timeout = self.config.write_timeout;
        let writer_pending = pending.clone();
        let writer_addr = addr.clone();
        tokio::spawn(async move {
            if let Err(err) = write_loop(write, frames, close_rx, write_timeout).await {
                tracing::info!(addr = %writer_addr, error = %err, "remoting client write failed");
            }
            // A connection that cannot write is no use for new requests either.
            writer_pending.close();
        });
        let reader_pending = pending.clone();
        let inbound = self.inbound_tx.clone();
        let reply = outbound.clone();
        let codec = self.codec;
        let reader = tokio::spawn(async move {
            let mut frames = FrameReader::new(codec, None, None);
            loop {
                match frames.next(&mut read).await {
                    Ok(Some(cmd)) if cmd.is_response() => {
                        if !reader_pending.complete(cmd) {
                            tracing::debug!(%addr, "response to no pending request dropped");
                        }
                    }
                    Ok(Some(request)) => {
                        let inbound_request = InboundRequest {
                            request,
                            reply: reply.clone(),
                            codec,
                            addr: reply_addr.clone(),
                        };
                        if let Err(err) = inbound.try_send(inbound_request) {
                            let code = match &err {
                                mpsc::error::TrySendError::Full(r)
                                | mpsc::error::TrySendError::Closed(r) => r.request.code,
                            };
                            tracing::warn!(%addr, code, "server request dropped: nobody takes them");
                        }
                    }
                    Ok(None) => {
                        tracing::debug!(%addr, "remoting connection closed by server");
                        break;
                    }
                    Err(err) => {
                        tracing::info!(%addr, error = %err, "remoting client connection failed");
                        break;
                    }
                }
            }
            reader_pending.close();
        });
        Connection {
            outbound,
            pending,
            reader,
            close: close_tx,
        }
    }
}
