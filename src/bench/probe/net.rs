//! Socket set-up shared by the probe's nodes and client: loopback listeners on ephemeral ports,
//! an accept that gives up after a deadline, `TCP_NODELAY`, and read timeouts so that no thread of
//! the probe can wait forever on a peer that died.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// How long a node waits for its peer to connect.
pub(crate) const ACCEPT_DEADLINE: Duration = Duration::from_secs(10);
/// How long any read may block before the run is declared stuck.
pub(crate) const READ_DEADLINE: Duration = Duration::from_secs(30);

/// A listener on 127.0.0.1 and a port the kernel picks.
pub(crate) fn listen() -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Accepts one connection within [`ACCEPT_DEADLINE`], set up by [`configure`].
pub(crate) fn accept_one(listener: &TcpListener) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + ACCEPT_DEADLINE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                configure(&stream)?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no peer connected within the accept deadline",
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Connects to `addr`, set up by [`configure`].
pub(crate) fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, ACCEPT_DEADLINE)?;
    configure(&stream)?;
    Ok(stream)
}

/// `TCP_NODELAY` (every ack and one-message frame goes out at once) and the read deadline.
pub(crate) fn configure(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(READ_DEADLINE))
}
