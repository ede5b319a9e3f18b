//! Real processes for integration tests: spawn a binary with arguments and environment, log its
//! stdout and stderr to files in a directory the test owns, wait (bounded) for a TCP port to
//! accept or for a line of output, signal it, and kill it on `Drop`.
//!
//! Generic on purpose: the name server, broker nodes and tools all start through [`ProcSpec`]
//! and [`Proc`]; a cluster harness composes several. Blocking (`std::process`, `std::net`), so
//! it works from plain `#[test]`s and, briefly, from multi-threaded tokio tests. Every wait has
//! a timeout, and every failure message carries the process's output. When a test panics while
//! a [`Proc`] is alive, its output is printed to stderr (the harness shows it with the failure)
//! before the temp directory goes away.
//!
//! ```ignore
//! let dir = tempfile::tempdir().unwrap();
//! let port = procs::free_port();
//! let spec = ProcSpec::new("namesrv", env!("CARGO_BIN_EXE_mqnamesrv")).args(["-c", conf]);
//! let mut ns = Proc::spawn(&spec, dir.path()).unwrap();
//! ns.wait_for_port(procs::loopback(port), Duration::from_secs(10)).unwrap();
//! ns.terminate().unwrap();
//! assert!(ns.wait_exit(Duration::from_secs(10)).unwrap().success());
//! ```

#![allow(dead_code, reason = "a shared helper; each test file uses part of it")]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often waits poll.
const POLL: Duration = Duration::from_millis(25);
/// Output shown in error messages and on panic: the last this many bytes of each stream.
const TAIL: usize = 8 * 1024;

/// A wait that timed out or a process that did not behave; the message includes its output.
pub(crate) struct ProcError(String);

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// `unwrap()` prints Debug: make that readable (real newlines, not `\n`).
impl fmt::Debug for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProcError {}

/// What to start: a program, its arguments and extra environment (the rest is inherited).
#[derive(Debug, Clone)]
pub(crate) struct ProcSpec {
    /// Names the log files (`<name>.stdout.log`, `<name>.stderr.log`) and error messages.
    pub(crate) name: String,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) current_dir: Option<PathBuf>,
}

impl ProcSpec {
    pub(crate) fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        ProcSpec {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub(crate) fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub(crate) fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }
}

/// A running (or exited, not yet dropped) child process. Dropping it kills it (SIGKILL) and
/// reaps it.
pub(crate) struct Proc {
    name: String,
    child: Child,
    stdout: LogFile,
    stderr: LogFile,
    exit: Option<ExitStatus>,
}

/// One output stream's file and where this run's output starts in it (a restarted process
/// with the same name appends to the same file).
#[derive(Clone)]
struct LogFile {
    path: PathBuf,
    start: u64,
}

impl LogFile {
    fn open(dir: &Path, name: &str, stream: &str) -> std::io::Result<(Self, File)> {
        let path = dir.join(format!("{name}.{stream}.log"));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let start = file.metadata()?.len();
        Ok((LogFile { path, start }, file))
    }

    /// This run's output so far (lossy UTF-8; empty if unreadable).
    fn read(&self) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut file) = File::open(&self.path)
            && file.seek(SeekFrom::Start(self.start)).is_ok()
        {
            let _ = file.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Proc {
    /// Starts `spec` with stdin closed and stdout/stderr appended to
    /// `<log_dir>/<name>.stdout.log` and `<name>.stderr.log`.
    pub(crate) fn spawn(spec: &ProcSpec, log_dir: &Path) -> Result<Proc, ProcError> {
        let fail =
            |what: &str, err: std::io::Error| ProcError(format!("{}: {what}: {err}", spec.name));
        let (stdout, out_file) =
            LogFile::open(log_dir, &spec.name, "stdout").map_err(|e| fail("stdout log", e))?;
        let (stderr, err_file) =
            LogFile::open(log_dir, &spec.name, "stderr").map_err(|e| fail("stderr log", e))?;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out_file)
            .stderr(err_file);
        if let Some(dir) = &spec.current_dir {
            command.current_dir(dir);
        }
        let child = command
            .spawn()
            .map_err(|e| fail(&format!("spawn {}", spec.program.display()), e))?;
        Ok(Proc {
            name: spec.name.clone(),
            child,
            stdout,
            stderr,
            exit: None,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything this run wrote to stdout so far.
    pub(crate) fn stdout(&self) -> String {
        self.stdout.read()
    }

    /// Everything this run wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.read()
    }

    /// The tails of both streams, labelled, for failure messages.
    pub(crate) fn output_tail(&self) -> String {
        format!(
            "---- {name} stdout ({out}) ----\n{}\n---- {name} stderr ({err}) ----\n{}",
            tail(&self.stdout()),
            tail(&self.stderr()),
            name = self.name,
            out = self.stdout.path.display(),
            err = self.stderr.path.display(),
        )
    }

    /// The exit status, if it has exited (reaps it).
    pub(crate) fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits until `addr` accepts a TCP connection. Fails at `timeout`, or at once if the
    /// process exits first.
    pub(crate) fn wait_for_port(
        &mut self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<(), ProcError> {
        self.wait_for(&format!("{addr} to accept"), timeout, || {
            TcpStream::connect_timeout(&addr, POLL * 4).is_ok()
        })
    }

    /// Waits until this run's stdout contains `needle`.
    pub(crate) fn wait_for_stdout(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), ProcError> {
        let log = self.stdout.clone();
        let what = format!("stdout to contain {needle:?}");
        self.wait_for(&what, timeout, || log.read().contains(needle))
    }

    /// Waits until this run's stderr contains `needle`.
    pub(crate) fn wait_for_stderr(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), ProcError> {
        let log = self.stderr.clone();
        let what = format!("stderr to contain {needle:?}");
        self.wait_for(&what, timeout, || log.read().contains(needle))
    }

    /// Polls `ready` until it holds; fails at `timeout` or when the process exits first.
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), ProcError> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(status) = self.try_exit() {
                // Output written just before exiting counts.
                if ready() {
                    return Ok(());
                }
                return Err(ProcError(format!(
                    "{} exited ({status}) while waiting for {what}\n{}",
                    self.name,
                    self.output_tail()
                )));
            }
            if Instant::now() >= deadline {
                return Err(ProcError(format!(
                    "{} did not get {what} within {timeout:?}\n{}",
                    self.name,
                    self.output_tail()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`, `libc::SIGSTOP`). Refused once the process has
    /// been reaped, as its pid may belong to someone else by then.
    #[expect(
        unsafe_code,
        reason = "kill(2) has no memory-safety preconditions; std can only send SIGKILL"
    )]
    pub(crate) fn signal(&mut self, signal: i32) -> Result<(), ProcError> {
        if let Some(status) = self.try_exit() {
            return Err(ProcError(format!(
                "{} already exited ({status}); not signalling {signal}",
                self.name
            )));
        }
        let pid = libc::pid_t::try_from(self.pid())
            .map_err(|_| ProcError(format!("{}: pid out of range", self.name)))?;
        // SAFETY: kill(2) takes two integers and touches no memory of ours. The child is not
        // reaped yet (checked above, and only `&mut self` reaps), so `pid` is still ours.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc == 0 {
            Ok(())
        } else {
            Err(ProcError(format!(
                "{}: kill({pid}, {signal}): {}",
                self.name,
                std::io::Error::last_os_error()
            )))
        }
    }

    /// SIGTERM: ask for a graceful shutdown.
    pub(crate) fn terminate(&mut self) -> Result<(), ProcError> {
        self.signal(libc::SIGTERM)
    }

    /// SIGKILL, then reap. Harmless if it has already exited.
    pub(crate) fn kill(&mut self) -> Option<ExitStatus> {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
        }
        self.exit
    }

    /// Waits for the process to exit; at `timeout` it is killed and this fails.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, ProcError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(ProcError(format!(
                    "{} did not exit within {timeout:?}; killed\n{}",
                    self.name,
                    self.output_tail()
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("{}", self.output_tail());
        }
    }
}

/// A process that ran to completion.
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `spec` to completion within `timeout` (killed and an error after that), e.g. a tool
/// invocation or a binary expected to refuse its config.
pub(crate) fn run(
    spec: &ProcSpec,
    log_dir: &Path,
    timeout: Duration,
) -> Result<Finished, ProcError> {
    let mut proc = Proc::spawn(spec, log_dir)?;
    let status = proc.wait_exit(timeout)?;
    Ok(Finished {
        status,
        stdout: proc.stdout(),
        stderr: proc.stderr(),
    })
}

/// A loopback port that was free a moment ago (bound to 127.0.0.1:0, then released). Another
/// process may take it in between; tests accept that small race.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind(loopback(0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out an ephemeral loopback port")
}

/// `127.0.0.1:port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// Polls `ready` every 25 ms until it holds or `timeout` passes; the error names `what`.
/// For conditions that do not belong to one process (e.g. a route changed).
pub(crate) fn wait_until(
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), ProcError> {
    let deadline = Instant::now() + timeout;
    while !ready() {
        if Instant::now() >= deadline {
            return Err(ProcError(format!("{what}: not within {timeout:?}")));
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Async [`wait_until`] for conditions that need requests (a route, a cluster view): awaits
/// `check` every 25 ms until it returns true; each check is bounded by what is left of `timeout`.
pub(crate) async fn eventually<F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<(), ProcError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(true) = tokio::time::timeout_at(deadline, check()).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProcError(format!("{what}: not within {timeout:?}")));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The last [`TAIL`] bytes of `text`, cut at a character boundary.
fn tail(text: &str) -> &str {
    let mut start = text.len().saturating_sub(TAIL);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_exits_early_fails_the_wait_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ProcSpec::new("early", "/bin/sh")
            .args(["-c", "echo to-out; echo to-err >&2; exit 3"])
            .env("T10_PROCS", "1");
        let mut proc = Proc::spawn(&spec, dir.path()).unwrap();
        let err = proc
            .wait_for_port(loopback(free_port()), Duration::from_secs(10))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited"), "{err}");
        assert!(err.contains("to-out") && err.contains("to-err"), "{err}");
        assert_eq!(proc.try_exit().and_then(|s| s.code()), Some(3));
        assert!(
            proc.terminate().is_err(),
            "a reaped process is not signalled"
        );
    }

    #[test]
    fn a_restarted_process_reads_only_its_own_output_and_is_killed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = run(
            &ProcSpec::new("node", "/bin/sh").args(["-c", "echo first"]),
            dir.path(),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(first.stdout, "first\n");
        let spec = ProcSpec::new("node", "/bin/sh").args(["-c", "echo second; exec sleep 60"]);
        let mut proc = Proc::spawn(&spec, dir.path()).unwrap();
        proc.wait_for_stdout("second", Duration::from_secs(10))
            .unwrap();
        assert_eq!(proc.stdout(), "second\n");
        let err = proc.wait_exit(Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        drop(proc);
    }
}
