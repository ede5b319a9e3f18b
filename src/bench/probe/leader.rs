//! The leader of the probe: accepts the client's one connection; for each frame, stamps the
//! record CRCs, appends the payload to its own [`ProbeLog`], then forwards the frame unchanged to
//! every follower. One thread per follower reads its acks; whichever ack gives a frame its
//! majority (the leader counts as voter 0) sends the client a cumulative ack, under the one lock
//! that holds the [`Quorum`] and the client's write half.

use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::log::ProbeLog;
use super::net;
use super::quorum::Quorum;
use super::wire::{FRAME_HEADER_LEN, read_ack, read_frame, stamp_crcs, write_ack};
use crate::bench::BenchError;

/// A running leader: where the client connects, and its thread.
pub(crate) struct Leader {
    pub(crate) addr: SocketAddr,
    pub(crate) thread: JoinHandle<Result<ProbeLog, BenchError>>,
}

/// The quorum and the client's write half, changed together.
struct Committer {
    quorum: Quorum,
    client: TcpStream,
}

impl Committer {
    fn appended(committer: &Mutex<Committer>, voter: usize, seq: u64) -> std::io::Result<()> {
        let mut committer = committer.lock().unwrap_or_else(PoisonError::into_inner);
        match committer.quorum.appended(voter, seq) {
            Some(committed) => write_ack(&mut committer.client, committed),
            None => Ok(()),
        }
    }
}

/// Creates the leader's log in `dir`, connects to the followers and starts the leader's thread.
pub(crate) fn spawn(
    dir: &Path,
    segment_size: u64,
    sync: bool,
    followers: &[SocketAddr],
) -> Result<Leader, BenchError> {
    let log = ProbeLog::create(dir, segment_size, sync)?;
    let followers = followers
        .iter()
        .map(|addr| net::connect(*addr))
        .collect::<Result<Vec<_>, _>>()?;
    let (listener, addr) = net::listen()?;
    let thread = std::thread::Builder::new()
        .name("probe-leader".into())
        .spawn(move || {
            let client = net::accept_one(&listener)?;
            drop(listener);
            serve(client, log, followers)
        })?;
    Ok(Leader { addr, thread })
}

fn serve(
    client: TcpStream,
    mut log: ProbeLog,
    followers: Vec<TcpStream>,
) -> Result<ProbeLog, BenchError> {
    let committer = Arc::new(Mutex::new(Committer {
        quorum: Quorum::new(1 + followers.len()),
        client: client.try_clone()?,
    }));
    let mut ack_readers = Vec::new();
    for (i, follower) in followers.iter().enumerate() {
        let mut acks = follower.try_clone()?;
        let committer = committer.clone();
        ack_readers.push(
            std::thread::Builder::new()
                .name("probe-acks".into())
                .spawn(move || -> std::io::Result<()> {
                    while let Some(seq) = read_ack(&mut acks)? {
                        Committer::appended(&committer, i + 1, seq)?;
                    }
                    Ok(())
                })?,
        );
    }
    let result = replicate(client, &mut log, &followers, &committer);
    for follower in &followers {
        // The followers see the end of the stream, ack what they have and close.
        let _ = follower.shutdown(Shutdown::Write);
    }
    for reader in ack_readers {
        match reader.join() {
            Ok(outcome) => outcome?,
            Err(_) => return Err(BenchError::Failed("a probe ack reader panicked".into())),
        }
    }
    result.map(|()| log)
}

/// Frames from the client until it closes: stamp, append, count the leader's vote, forward.
fn replicate(
    client: TcpStream,
    log: &mut ProbeLog,
    followers: &[TcpStream],
    committer: &Mutex<Committer>,
) -> Result<(), BenchError> {
    let mut reader = BufReader::with_capacity(256 << 10, client);
    let mut frame = Vec::new();
    while let Some(header) = read_frame(&mut reader, &mut frame)? {
        stamp_crcs(&mut frame[FRAME_HEADER_LEN..], header.count)?;
        log.append(&frame[FRAME_HEADER_LEN..])?;
        Committer::appended(committer, 0, header.seq)?;
        for mut follower in followers {
            std::io::Write::write_all(&mut follower, &frame)?;
        }
    }
    Ok(())
}
