//! Group commit: one thread makes appended bytes durable and then completes the callbacks of
//! every append that was waiting, in the order they were registered.
//!
//! An appender registers a callback after its bytes are in the mmap. The flush thread takes
//! *all* waiting callbacks, then the dirty ranges (which therefore include every taken
//! appender's bytes), issues `msync(MS_SYNC)` on them, and completes the callbacks: one msync
//! covers every append made meanwhile. Without waiters it still flushes every `interval`, which
//! bounds what `ASYNC_FLUSH` can lose on power failure. The thread never runs on an async
//! reactor; callers hand it closures and never block on it unless they ask to (`wait`).

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::StoreError;

/// Called once the bytes appended before registration are durable, or with the error that
/// stopped the store.
pub type FlushCallback = Box<dyn FnOnce(Result<(), Arc<StoreError>>) + Send + 'static>;

/// What the flush thread drives: the commitlog's inner state.
pub(crate) trait FlushTarget: Send + Sync + 'static {
    /// Makes every dirty range durable.
    fn flush_dirty(&self) -> Result<(), Arc<StoreError>>;
    /// Periodic bookkeeping after a flush (checkpoint, lazily saved meta).
    fn after_flush(&self);
}

#[derive(Default)]
struct Queue {
    waiters: Vec<FlushCallback>,
    stopping: bool,
    final_flush: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Handle to the flush thread; stopping it joins the thread.
pub(crate) struct Flusher {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Flusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher").finish_non_exhaustive()
    }
}

impl Flusher {
    /// Starts the flush thread for `target`, flushing at least every `interval`.
    pub(crate) fn start<T: FlushTarget>(
        target: Arc<T>,
        interval: Duration,
    ) -> std::io::Result<Flusher> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("commitlog-flush".into())
            .spawn(move || run(&thread_shared, target.as_ref(), interval))?;
        Ok(Flusher {
            shared,
            handle: Some(handle),
        })
    }

    /// Registers `callback` to run once everything appended so far is durable.
    pub(crate) fn enqueue(&self, callback: FlushCallback) {
        let mut q = self.lock();
        if q.stopping {
            drop(q);
            callback(Err(Arc::new(StoreError::Stopped(
                "the commitlog is closed".into(),
            ))));
            return;
        }
        q.waiters.push(callback);
        drop(q);
        self.shared.wake.notify_one();
    }

    /// Stops the thread. With `final_flush`, pending callbacks are completed after one last
    /// flush; without it (a simulated crash), they fail and nothing more is flushed.
    pub(crate) fn stop(&mut self, final_flush: bool) {
        {
            let mut q = self.lock();
            q.stopping = true;
            q.final_flush = final_flush;
        }
        self.shared.wake.notify_one();
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("commitlog flush thread panicked");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.stop(false);
        }
    }
}

fn run<T: FlushTarget>(shared: &Shared, target: &T, interval: Duration) {
    loop {
        let (waiters, stopping, final_flush) = {
            let mut q = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.waiters.is_empty() && !q.stopping {
                q = shared
                    .wake
                    .wait_timeout(q, interval)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            (std::mem::take(&mut q.waiters), q.stopping, q.final_flush)
        };
        if stopping && !final_flush {
            let err = Arc::new(StoreError::Stopped(
                "the commitlog closed before the flush".into(),
            ));
            for callback in waiters {
                callback(Err(err.clone()));
            }
            return;
        }
        let result = target.flush_dirty();
        for callback in waiters {
            callback(result.clone());
        }
        target.after_flush();
        if stopping {
            return;
        }
    }
}
