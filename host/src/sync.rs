//! Small synchronisation helpers shared by the host's modules.

use std::sync::{Mutex, MutexGuard};

/// Lock a mutex even if a panicking thread poisoned it: every value the host keeps behind a
/// mutex (traffic notes, audit file) stays valid after a panic elsewhere.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
