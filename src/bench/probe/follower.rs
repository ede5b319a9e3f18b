//! A follower of the probe: accepts the leader's one connection, appends each frame's payload to
//! its [`ProbeLog`] and acks the frame's sequence number. Its thread ends, handing back the log,
//! when the leader closes the connection.

use std::io::BufReader;
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;

use super::log::ProbeLog;
use super::net;
use super::wire::{FRAME_HEADER_LEN, read_frame, write_ack};
use crate::bench::BenchError;

/// A running follower: where it listens, and its thread.
pub(crate) struct Follower {
    pub(crate) addr: SocketAddr,
    pub(crate) thread: JoinHandle<Result<ProbeLog, BenchError>>,
}

/// Creates the follower's log in `dir` and starts its thread.
pub(crate) fn spawn(dir: &Path, segment_size: u64, sync: bool) -> Result<Follower, BenchError> {
    let log = ProbeLog::create(dir, segment_size, sync)?;
    let (listener, addr) = net::listen()?;
    let thread = std::thread::Builder::new()
        .name("probe-follower".into())
        .spawn(move || {
            let stream = net::accept_one(&listener)?;
            drop(listener);
            serve(stream, log)
        })?;
    Ok(Follower { addr, thread })
}

fn serve(stream: std::net::TcpStream, mut log: ProbeLog) -> Result<ProbeLog, BenchError> {
    let mut reader = BufReader::with_capacity(256 << 10, stream.try_clone()?);
    let mut writer = stream;
    let mut frame = Vec::new();
    while let Some(header) = read_frame(&mut reader, &mut frame)? {
        log.append(&frame[FRAME_HEADER_LEN..])?;
        write_ack(&mut writer, header.seq)?;
    }
    Ok(log)
}
