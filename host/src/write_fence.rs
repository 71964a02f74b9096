//! A caller's proof, asked for before each write an action sends upstream, that it may still
//! write: e.g. a cluster worker's lease on the tenant, checked with the server by
//! compare-and-set. A worker that was paused (a GC or VM pause, SIGSTOP, a network stall) past
//! its lease, while another worker took the job over, wakes up to a refused check: the write is
//! not sent, the call fails with [`crate::CallError::Fenced`], and an action that sent no
//! write is not audited (nothing happened). The host only asks; what the proof is belongs to
//! the caller.
//!
//! A check is a round trip to whatever holds the proof, so a pause that falls between the
//! check and the write still lets that one write go: the upstream cannot check a fencing
//! token, so the window is narrowed to that moment, not closed (SECURITY.md's known limits).

use std::future::Future;
use std::pin::Pin;

/// What [`WriteFence::check`] returns: `Ok` while the caller may write, else why not.
pub type FenceCheck<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Asked before each upstream write of a fenced call.
pub trait WriteFence: Send + Sync {
    fn check(&self) -> FenceCheck<'_>;
}
