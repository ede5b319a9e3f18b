//! Locking plain data without caring about poison: the mutexes of this crate guard data that
//! stays consistent between statements, and are never held across an `.await`, so a holder
//! that panicked leaves nothing half-done and the next holder simply goes on.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, taking the data back from a panicked holder.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
