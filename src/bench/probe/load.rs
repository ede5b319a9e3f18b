//! The probe's client: keeps up to `window` frames of `batch` records in flight to the leader,
//! each frame timed from just before its write to the cumulative ack that covers it. Requests
//! sent during the warm-up, or acked after the measured time, are not counted.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::Shape;
use super::net;
use super::wire::{FrameHeader, read_ack, records};
use crate::bench::BenchError;
use crate::bench::latency::Latency;
use crate::bench::summary::Summary;

/// How long the client waits without any ack before declaring the run stuck.
const STALL_LIMIT: Duration = Duration::from_secs(30);

/// How much to send.
#[derive(Clone, Debug)]
pub(crate) struct Load {
    pub(crate) shape: Shape,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    /// Stop after this many requests (0: only the time limits apply).
    pub(crate) max_requests: u64,
}

/// Frames sent and not yet acked, and what the acks measured.
#[derive(Default)]
struct InFlight {
    pending: VecDeque<(u64, Instant)>,
    latency: Latency,
    closed: bool,
}

struct Window {
    state: Mutex<InFlight>,
    changed: Condvar,
}

impl Window {
    fn lock(&self) -> MutexGuard<'_, InFlight> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until `ready` holds, failing if no ack came for [`STALL_LIMIT`] or the leader closed.
    fn wait_until(
        &self,
        ready: impl Fn(&InFlight) -> bool,
    ) -> Result<MutexGuard<'_, InFlight>, BenchError> {
        let mut state = self.lock();
        let deadline = Instant::now() + STALL_LIMIT;
        while !ready(&state) {
            if state.closed {
                return Err(BenchError::Failed(
                    "the probe leader closed the connection".into(),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BenchError::Failed(
                    "no ack from the probe leader for 30 s".into(),
                ));
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(state)
    }
}

/// Sends `load` to the leader at `leader` and measures it.
pub(crate) fn drive(leader: SocketAddr, load: &Load) -> Result<Summary, BenchError> {
    let stream = net::connect(leader)?;
    let window = Arc::new(Window {
        state: Mutex::new(InFlight::default()),
        changed: Condvar::new(),
    });
    let measure_from = Instant::now() + load.warmup;
    let measure_end = measure_from + load.measure;
    let receiver = {
        let (mut acks, window) = (stream.try_clone()?, window.clone());
        std::thread::Builder::new()
            .name("probe-client-acks".into())
            .spawn(move || receive_acks(&mut acks, &window, measure_from, measure_end))?
    };
    let sent = send_frames(&stream, load, &window, measure_end);
    let _ = stream.shutdown(if sent.is_ok() {
        Shutdown::Write
    } else {
        Shutdown::Both
    });
    let received = receiver
        .join()
        .map_err(|_| BenchError::Failed("the probe client's ack reader panicked".into()))?;
    sent?;
    received?;
    let latency = std::mem::take(&mut window.lock().latency);
    let requests = latency.count();
    let batch = load.shape.batch.max(1) as u64;
    Ok(Summary {
        messages: requests * batch,
        requests,
        failed: 0,
        elapsed: Instant::now()
            .min(measure_end)
            .saturating_duration_since(measure_from),
        latency,
    })
}

/// Writes frames while the window has room, until the time or request limit; then waits for the
/// last acks.
fn send_frames(
    mut stream: &TcpStream,
    load: &Load,
    window: &Window,
    measure_end: Instant,
) -> Result<(), BenchError> {
    let Shape {
        batch,
        window: in_flight,
        size,
    } = load.shape;
    let (batch, in_flight) = (batch.max(1), in_flight.max(1));
    let payload = records(batch, size);
    let mut frame = FrameHeader {
        seq: 0,
        count: batch as u32,
        len: payload.len() as u32,
    }
    .encode()
    .to_vec();
    frame.extend_from_slice(&payload);
    let mut seq = 0u64;
    while Instant::now() < measure_end && (load.max_requests == 0 || seq < load.max_requests) {
        seq += 1;
        frame[..8].copy_from_slice(&seq.to_le_bytes());
        window
            .wait_until(|state| state.pending.len() < in_flight)?
            .pending
            .push_back((seq, Instant::now()));
        stream.write_all(&frame)?;
    }
    drop(window.wait_until(|state| state.pending.is_empty())?);
    Ok(())
}

fn receive_acks(
    acks: &mut TcpStream,
    window: &Window,
    measure_from: Instant,
    measure_end: Instant,
) -> Result<(), BenchError> {
    let outcome = loop {
        let committed = match read_ack(acks) {
            Ok(Some(committed)) => committed,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.into()),
        };
        let now = Instant::now();
        let mut state = window.lock();
        while let Some(&(seq, sent_at)) = state.pending.front() {
            if seq > committed {
                break;
            }
            state.pending.pop_front();
            if sent_at >= measure_from && now <= measure_end {
                let us = u64::try_from(now.duration_since(sent_at).as_micros()).unwrap_or(u64::MAX);
                state.latency.record(us);
            }
        }
        window.changed.notify_all();
    };
    window.lock().closed = true;
    window.changed.notify_all();
    outcome
}
