//! One sandboxed `Store` per call: its wasi context (stderr captured, clock optionally fixed),
//! its wasi-http egress hooks, its memory limiter and its CPU budget.

use crate::egress::EgressHooks;
use crate::limits::{Limits, MAX_FIELDS_BYTES, MAX_RANDOM_DRAW, MAX_RESOURCES, MemoryLimiter};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Per-call store data.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    pub(crate) table: ResourceTable,
    hooks: EgressHooks,
    /// The state buckets this call may open (`state/keyvalue.rs`).
    pub(crate) kv: crate::state::CallState,
    /// The call's memory limiter (its peak is read after the call).
    pub limiter: MemoryLimiter,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Wall clock fixed at one instant (`--now`).
struct FixedClock(Duration);

impl wasmtime_wasi::HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

/// A fresh store for one call: `hooks` decide its traffic, `stderr` receives what the guest
/// prints, `now` fixes its wall clock.
pub fn new_store(
    engine: &Engine,
    limits: &Limits,
    hooks: EgressHooks,
    stderr: MemoryOutputPipe,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Store<HostState> {
    let mut wasi = WasiCtx::builder();
    wasi.stderr(stderr);
    wasi.max_random_size(MAX_RANDOM_DRAW);
    if let Some(now) = now {
        let since_epoch = Duration::from_secs(now.timestamp().max(0) as u64);
        wasi.wall_clock(FixedClock(since_epoch));
    }
    // What the guest can make the host hold is bounded: resources, header sizes, draws.
    let mut http = WasiHttpCtx::new();
    http.set_field_size_limit(MAX_FIELDS_BYTES);
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_RESOURCES);
    let state = HostState {
        wasi: wasi.build(),
        http,
        table,
        hooks,
        kv: Default::default(),
        limiter: MemoryLimiter::new(limits.memory_bytes),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    // Every tick the guest yields back to the host, so the call's future returns and its CPU
    // budget (`cpu_budget.rs`, which also counts time inside host functions) is checked.
    store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
    store
}
