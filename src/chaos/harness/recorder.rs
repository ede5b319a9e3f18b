//! The run's one clock and its history: every task of the harness records through a shared
//! [`Recorder`], which stamps events in milliseconds since the run began, keeps them for the
//! checker and appends each as a line to the history file at once (a run that is killed
//! still leaves what it saw). It never judges anything.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use crate::chaos::history::{Event, History};

/// The shared clock and history of one run.
pub struct Recorder {
    started: Instant,
    /// Unix time of `started`, in ms: converts the third-party producers' stamps.
    started_unix_ms: u64,
    state: Mutex<State>,
}

struct State {
    history: History,
    file: BufWriter<File>,
}

impl Recorder {
    /// A recorder whose history file is `path` (created or truncated).
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = BufWriter::new(File::create(path)?);
        let started_unix_ms = u64::try_from(crate::common::clock::now_ms()).unwrap_or(0);
        Ok(Recorder {
            started: Instant::now(),
            started_unix_ms,
            state: Mutex::new(State {
                history: History::new(),
                file,
            }),
        })
    }

    /// Milliseconds since the run began.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A Unix-epoch millisecond stamp as run time (0 for a stamp before the run).
    pub fn from_unix_ms(&self, unix_ms: u64) -> u64 {
        unix_ms.saturating_sub(self.started_unix_ms)
    }

    /// Keeps `event` and appends it to the file.
    pub fn record(&self, event: impl Into<Event>) {
        let event = event.into();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let line = event.to_line();
        // The file is a convenience copy; the kept history is what gets judged.
        let _ = writeln!(state.file, "{line}").and_then(|()| state.file.flush());
        state.history.push(event);
    }

    /// A copy of everything recorded so far.
    pub fn history(&self) -> History {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.history.clone()
    }
}
