//! What the server and the client share about one TCP connection: a frame reader with the
//! idle and partial-frame timeouts, the writer task that owns the write half, and the table of
//! requests waiting for their response (matched by opaque, remoting.md §1.5).
//!
//! Nothing here decides what to do with a command: [`super::server`] hands requests to its
//! `Handler`, [`super::client`] to the caller; both route responses through [`Pending`].
//! Bytes are [`super::codec`]'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::codec::{DecodeError, FrameCodec};
use super::command::RemotingCommand;

/// How much the read buffer grows by when it needs room (frames larger than this grow it in
/// steps, never by the length a peer claims).
const READ_CHUNK: usize = 16 * 1024;

/// Why a connection stopped reading.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("bad frame: {0}")]
    Decode(#[from] DecodeError),
    #[error("no bytes for {0:?}")]
    Idle(Duration),
    #[error("a frame was started but not completed within {0:?}")]
    PartialFrame(Duration),
    #[error("peer closed the connection in the middle of a frame")]
    Truncated,
}

/// Reads whole frames from a stream.
pub(crate) struct FrameReader {
    codec: FrameCodec,
    buf: BytesMut,
    /// When the bytes now in `buf` (an incomplete frame) started arriving.
    frame_started: Option<Instant>,
    /// Close after this long without a byte between frames (`None`: wait forever).
    idle_timeout: Option<Duration>,
    /// Close when a started frame is not complete this long after its first byte.
    frame_timeout: Option<Duration>,
}

impl FrameReader {
    pub(crate) fn new(
        codec: FrameCodec,
        idle_timeout: Option<Duration>,
        frame_timeout: Option<Duration>,
    ) -> Self {
        FrameReader {
            codec,
            buf: BytesMut::with_capacity(READ_CHUNK),
            frame_started: None,
            idle_timeout,
            frame_timeout,
        }
    }

    /// The next command; `Ok(None)` when the peer closed cleanly between frames.
    pub(crate) async fn next<R: AsyncRead + Unpin>(
        &mut self,
        read: &mut R,
    ) -> Result<Option<RemotingCommand>, ReadError> {
        loop {
            if let Some(cmd) = self.codec.decode(&mut self.buf)? {
                self.frame_started = (!self.buf.is_empty()).then(Instant::now);
                return Ok(Some(cmd));
            }
            // Limits were checked on the prefix: whatever we wait for fits the frame limit.
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
                self.buf.reserve(READ_CHUNK);
            }
            let deadline = match (self.frame_started, self.frame_timeout, self.idle_timeout) {
                (Some(started), Some(limit), _) => {
                    Some((started + limit, ReadError::PartialFrame(limit)))
                }
                (None, _, Some(limit)) => Some((Instant::now() + limit, ReadError::Idle(limit))),
                _ => None,
            };
            let read_result = match deadline {
                Some((at, timed_out)) => {
                    match tokio::time::timeout_at(at, read.read_buf(&mut self.buf)).await {
                        Ok(result) => result,
                        Err(_) => return Err(timed_out),
                    }
                }
                None => read.read_buf(&mut self.buf).await,
            };
            if read_result? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(ReadError::Truncated)
                };
            }
            if self.frame_started.is_none() {
                self.frame_started = Some(Instant::now());
            }
        }
    }
}

/// Resolves once `signal` turns true or its sender is gone. The watch borrow ends here, so
/// callers stay `Send`.
pub(crate) async fn signalled(signal: &mut watch::Receiver<bool>) {
    let _ = signal.wait_for(|set| *set).await;
}

/// Owns the write half: writes queued frames until every sender is gone or `close` is
/// signalled (frames already queued are still written), then shuts the write half down.
/// Consecutive queued frames are coalesced into one write. Each write must finish within
/// `write_timeout` (a peer that stops reading is dropped).
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    write: W,
    mut frames: mpsc::Receiver<Bytes>,
    mut close: watch::Receiver<bool>,
    write_timeout: Duration,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    let timed_out = || std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out");
    loop {
        let frame = tokio::select! {
            biased;
            frame = frames.recv() => frame,
            () = signalled(&mut close) => frames.try_recv().ok(),
        };
        let Some(frame) = frame else { break };
        let write_batch = async {
            out.write_all(&frame).await?;
            while let Ok(next) = frames.try_recv() {
                out.write_all(&next).await?;
            }
            out.flush().await
        };
        tokio::time::timeout(write_timeout, write_batch)
            .await
            .map_err(|_| timed_out())??;
    }
    let _ = tokio::time::timeout(write_timeout, out.shutdown()).await;
    Ok(())
}

/// Requests sent on one connection and waiting for their response, by opaque.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    inner: Mutex<PendingInner>,
}

#[derive(Debug, Default)]
struct PendingInner {
    waiting: HashMap<i32, oneshot::Sender<RemotingCommand>>,
    closed: bool,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, PendingInner> {
        // A panic while holding this lock leaves the map consistent (single inserts/removes).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the response with `opaque`; `None` once the connection is closed.
    pub(crate) fn register(&self, opaque: i32) -> Option<oneshot::Receiver<RemotingCommand>> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        inner.waiting.insert(opaque, tx);
        Some(rx)
    }

    /// Hands a response to its waiter; false if nobody waits for that opaque (timed out, or
    /// never sent: ali-ons ignores replies to its "oneway" offset commits the same way).
    pub(crate) fn complete(&self, response: RemotingCommand) -> bool {
        let waiter = self.lock().waiting.remove(&response.opaque);
        match waiter {
            Some(tx) => tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Stops waiting for `opaque` (after a timeout or a failed send).
    pub(crate) fn forget(&self, opaque: i32) {
        self.lock().waiting.remove(&opaque);
    }

    /// The connection is gone: every waiter sees its sender dropped, later registers fail.
    pub(crate) fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.waiting.clear();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }
}
