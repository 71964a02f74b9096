//! Per-call resource limits.

use std::time::Duration;

/// A per-call limit the host stopped a plugin at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// Linear memory growth past the limit.
    #[error(
        "memory limit exceeded: the plugin asked for {asked_mib} MiB, the limit is {limit_mib} MiB"
    )]
    Memory { asked_mib: usize, limit_mib: usize },
    /// Table growth past the limit.
    #[error("table limit exceeded: {elements} elements")]
    Table { elements: usize },
    /// More wasi resources (requests, fields, streams…) held at once than one call may.
    #[error("resource limit exceeded: the plugin held more than {max} wasi resources at once")]
    Resources { max: usize },
    /// A request body past the limit: cut before it left the host.
    #[error(
        "request body limit exceeded: the plugin sent more than {limit_bytes} bytes in one request body"
    )]
    RequestBody { limit_bytes: usize },
    /// More denied requests than one call may make.
    #[error("denial limit exceeded: the plugin made more than {max} requests the policy denies")]
    Denials { max: u64 },
    /// Guest execution time past the CPU budget.
    #[error("CPU time limit exceeded: the plugin ran for more than {budget_ms} ms")]
    Cpu { budget_ms: u64 },
}

/// Limits applied to every plugin call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest linear memory the guest may grow to.
    pub memory_bytes: usize,
    /// CPU budget: time the guest may spend executing (not waiting on HTTP).
    pub cpu_time: Duration,
    /// Wall-clock budget of a whole call.
    pub call_timeout: Duration,
    /// Outbound requests one call may make.
    pub max_requests: u64,
    /// Largest response body handed to the guest.
    pub max_response_bytes: usize,
    /// Largest request body a plugin may send (counted as it streams, cut before it leaves).
    pub max_request_bytes: usize,
    /// Time allowed for one outbound request, answer body included.
    pub request_timeout: Duration,
    /// Requests one call may have in flight at once (the plugin climbs to it unless the upstream
    /// throttles first; each connecting account's gate holds all its calls to what the upstream
    /// accepts, see `upstream_gate.rs`).
    pub max_in_flight: usize,
    /// Largest size of each state bucket (keys plus values) a plugin may keep.
    pub state_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            cpu_time: Duration::from_secs(60),
            call_timeout: Duration::from_secs(300),
            max_requests: 50_000,
            max_response_bytes: 16 << 20,
            max_request_bytes: 64 << 10,
            request_timeout: Duration::from_secs(60),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            state_bytes: 32 << 20,
        }
    }
}

/// Requests one call may have in flight by default: about as many as an upstream account
/// commonly allows at once (vendors' per-account concurrency limits are often of this order).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100;

/// Most wasi resources (requests, fields, streams, pollables…) one call may hold at once: far
/// above what a connector with a few dozen requests in flight needs, far below what would
/// let a guest fill the host's memory.
pub const MAX_RESOURCES: usize = 4096;

/// Largest in-memory size of one wasi-http `fields` (headers) resource.
pub const MAX_FIELDS_BYTES: usize = 16 * 1024;

/// Largest single draw from `wasi:random` (a guest asking for more traps).
pub const MAX_RANDOM_DRAW: u64 = 1 << 20;

/// How often the engine's epoch advances; the CPU budget is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Caps linear memory and table growth; the error it returns becomes the call's trap reason.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// Largest total of linear memory granted so far.
    pub peak: usize,
    /// Linear memory granted now, over every memory.
    total: usize,
}

impl MemoryLimiter {
    /// A limiter allowing `max_bytes` of linear memory, summed over every memory the
    /// component has (a second memory cannot double the budget).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            peak: 0,
            total: 0,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.max_bytes {
            return Err(wasmtime::Error::new(LimitExceeded::Memory {
                asked_mib: total >> 20,
                limit_mib: self.max_bytes >> 20,
            }));
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > 100_000 {
            return Err(wasmtime::Error::new(LimitExceeded::Table {
                elements: desired,
            }));
        }
        Ok(true)
    }
}
