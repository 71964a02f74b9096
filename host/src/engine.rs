//! The wasmtime engine, the on-disk cache of precompiled components, the epoch ticker that
//! enforces CPU budgets, and the linker with exactly the imports a plugin may use.

use crate::audit::AuditLog;
use crate::bindings::PluginPre;
use crate::compile_cache::CompileCache;
use crate::limits::{EPOCH_TICK, Limits};
use crate::store::HostState;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

/// How the host runs plugins.
#[derive(Clone, Default)]
pub struct HostOptions {
    /// Limits applied to every call.
    pub limits: Limits,
    /// The vendor policy the front hands the host: the hosts and routes a plugin may ever be
    /// granted, what each write may say, and which answer headers pass. The default trusts
    /// nothing, so a host that is told nothing reaches nothing.
    pub vendor_policy: Arc<crate::vendor_policy::VendorPolicy>,
    /// The approved build: when set, a plugin file whose SHA-256 (hex) differs is refused
    /// before it is compiled.
    pub approved_sha256: Option<String>,
    /// Reach every allowed host at this address over plain HTTP (simulators, proxies).
    pub connect_to: Option<crate::connect_to::ConnectTo>,
    /// Where precompiled components are kept; `None` uses the default cache directory.
    pub cache_dir: Option<PathBuf>,
    /// The key that signs cached artifacts; `None` uses the default (outside the cache).
    pub cache_key_file: Option<PathBuf>,
    /// Fix the wall clock the plugin sees.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Append audit lines here.
    pub audit: Option<AuditLog>,
    /// Where each tenant's kept plugin state lives between runs; `None` keeps it in this
    /// host's memory only.
    pub state_dir: Option<PathBuf>,
    /// Keep tenants' state elsewhere (e.g. a cluster's store); overrides `state_dir`.
    pub state_backend: Option<std::sync::Arc<dyn crate::state::StateBackend>>,
    /// Where each account's learned concurrency limit is kept between runs
    /// (`gate_memory.rs`); `None` keeps it under `state_dir` (in `.limits`) when that is set,
    /// else in this host's memory only.
    pub gate_memory: Option<Arc<dyn crate::gate_memory::GateMemory>>,
    /// Told when each upstream request starts and ends, with its status (metrics).
    pub request_observer: Option<Arc<dyn crate::request_observer::RequestObserver>>,
}

/// Where a component's compiled form came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineCache {
    /// Compiled now (and stored for next time).
    Compiled,
    /// Loaded from the on-disk cache.
    Cached,
}

/// Concurrent plugin instances the pooling allocator keeps slots for.
pub const POOL_SLOTS: u32 = 128;

/// Engine configuration shared by every plugin: epoch interruption for CPU budgets and, for
/// many concurrent tenants, the pooling allocator (slots sized to the memory limit). Falls back
/// to on-demand allocation where the pool cannot be reserved.
pub fn new_engine(limits: &Limits) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // `make profile-guest`: a perf map of the guest's compiled functions.
    #[cfg(feature = "perfmap")]
    config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    let mut pool = wasmtime::PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 8)
        .total_memories(POOL_SLOTS * 2)
        .total_tables(POOL_SLOTS * 4)
        .max_memory_size(limits.memory_bytes.max(1 << 20));
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&config) {
        Ok(e) => Ok(e),
        Err(pooled) => {
            tracing::warn!("pooling allocator unavailable ({pooled:#}); allocating on demand");
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
                .map_err(|e| anyhow::anyhow!("cannot create the wasmtime engine: {e:#}"))
        }
    }
}

/// Compile a component, or load its precompiled form from `cache` (when there is one),
/// keyed by the component's bytes, the wasmtime version and the engine's configuration.
pub fn load_component(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    cache: Option<&CompileCache>,
) -> anyhow::Result<(Component, EngineCache)> {
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(compat.finish().to_le_bytes());
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    let key: String = h
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    // Read into memory rather than mapping the file: another process replacing or truncating
    // a mapped cache file would crash this one (SIGBUS).
    if let Some(compiled) = cache.and_then(|c| c.get(&key)) {
        // SAFETY: the artifact's MAC proves this host stored it under this name, which holds
        // the component's digest and the engine's compatibility hash; wasmtime also checks
        // the header and version before using it.
        match unsafe { Component::deserialize(engine, &compiled) } {
            Ok(c) => return Ok((c, EngineCache::Cached)),
            Err(e) => tracing::warn!("ignoring an unusable cache entry {key}: {e}"),
        }
    }
    let component = Component::new(engine, bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid WebAssembly component: {e:#}",
            path.display()
        )
    })?;
    if let Some(cache) = cache {
        let stored = engine
            .precompile_component(bytes)
            .map_err(|e| format!("{e:#}"))
            .and_then(|compiled| cache.put(&key, &compiled));
        if let Err(e) = stored {
            tracing::warn!("could not cache the compiled plugin: {e}");
        }
    }
    Ok((component, EngineCache::Compiled))
}

/// The linker: wasi (no files, sockets, env or inherited stdio are granted by the context)
/// plus wasi-http's outgoing handler, whose sends go through the egress hooks.
pub fn linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    // Host-kept state: the host's own buckets (`state/`), not a store the plugin can name.
    crate::bindings::latest::wasi::keyvalue::store::add_to_linker::<
        HostState,
        wasmtime::component::HasSelf<HostState>,
    >(&mut linker, |s| s)
    .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    Ok(linker)
}

/// Pre-linked component ready to instantiate per call, at the newest contract version it
/// implements.
pub fn instance_pre(engine: &Engine, component: &Component) -> anyhow::Result<PluginPre> {
    let pre = linker(engine)?
        .instantiate_pre(component)
        .map_err(|e| anyhow::anyhow!("the plugin needs imports this host does not grant: {e:#}"))?;
    PluginPre::new(pre)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Start ticking `engine`.
    pub fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the epoch ticker thread");
        Self { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
