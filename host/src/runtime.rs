//! Running plugin calls: one `Store` per call with its own wasi context, egress hooks,
//! memory limiter and CPU budget; typed results or a clear error when a plugin misbehaves.

use crate::audit::ActionEvent;
use crate::bindings::types::{
    Account, AccountPage, ActionResult, Config, ConnectorError, ConnectorInfo, ProvisionRequest,
};
use crate::bindings::{ConnectorPlugin, ConnectorPluginPre};
use crate::egress::{CallTraffic, EgressHooks, EgressPolicy};
use crate::engine::{self, EngineCache, EpochTicker, HostOptions};
use crate::limits::{Limits, MemoryLimiter};
use crate::tenant::Tenant;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Per-call store data.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    limiter: MemoryLimiter,
    cpu_ticks: u64,
    cpu_budget: u64,
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

/// Why a call failed.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The plugin answered with a typed connector error.
    Connector {
        error: ConnectorError,
        host_notes: Vec<String>,
    },
    /// The plugin trapped or broke a limit; the host stopped it.
    Plugin {
        reason: String,
        host_notes: Vec<String>,
    },
    /// The whole call ran past its wall-clock budget.
    Timeout(Duration),
    /// The host itself could not run the call.
    Host(String),
}

impl CallError {
    /// A stable short name of the error's kind (`unauthorized`, `not-found`, `plugin-stopped`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connector { error, .. } => match error {
                ConnectorError::Unauthorized(_) => "unauthorized",
                ConnectorError::Forbidden(_) => "forbidden",
                ConnectorError::NotFound(_) => "not-found",
                ConnectorError::RateLimited(_) => "rate-limited",
                ConnectorError::InvalidConfig(_) => "invalid-config",
                ConnectorError::InvalidInput(_) => "invalid-input",
                ConnectorError::Unsupported(_) => "unsupported",
                ConnectorError::Refused(_) => "refused",
                ConnectorError::Upstream(_) => "upstream",
                ConnectorError::Transport(_) => "transport",
                ConnectorError::MalformedResponse(_) => "malformed-response",
            },
            Self::Plugin { .. } => "plugin-stopped",
            Self::Timeout(_) => "timeout",
            Self::Host(_) => "host-error",
        }
    }

    /// Host-side notes (denied requests, limits reached) gathered during the call.
    pub fn host_notes(&self) -> &[String] {
        match self {
            Self::Connector { host_notes, .. } | Self::Plugin { host_notes, .. } => host_notes,
            _ => &[],
        }
    }
}

/// One-line description of a connector error.
pub fn describe(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Unauthorized(m) => format!("authentication failed: {m}"),
        ConnectorError::Forbidden(m) => format!("forbidden: {m}"),
        ConnectorError::NotFound(m) => format!("not found: {m}"),
        ConnectorError::RateLimited(r) => format!(
            "rate limited by Twilio after retries: {}{}",
            r.message,
            r.retry_after_ms
                .map(|ms| format!(" (retry after {ms} ms)"))
                .unwrap_or_default()
        ),
        ConnectorError::InvalidConfig(m) => format!("invalid configuration: {m}"),
        ConnectorError::InvalidInput(m) => format!("invalid input: {m}"),
        ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
        ConnectorError::Refused(m) => format!("refused: {m}"),
        ConnectorError::Upstream(u) => match u.code {
            Some(c) => format!("Twilio error {c} (HTTP {}): {}", u.status, u.message),
            None => format!("Twilio answered HTTP {}: {}", u.status, u.message),
        },
        ConnectorError::Transport(m) => format!("network error: {m}"),
        ConnectorError::MalformedResponse(m) => format!("unexpected answer from Twilio: {m}"),
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connector { error, .. } => write!(f, "{}", describe(error))?,
            Self::Plugin { reason, .. } => write!(f, "plugin stopped: {reason}")?,
            Self::Timeout(d) => write!(
                f,
                "plugin call exceeded its {}s time limit and was stopped",
                d.as_secs()
            )?,
            Self::Host(m) => write!(f, "host error: {m}")?,
        }
        let notes = self.host_notes();
        if !notes.is_empty() {
            write!(f, " [host: {}]", notes.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

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

/// Run one export of the plugin in a fresh sandboxed instance (for `tenant`, or none), under
/// the call's wall-clock limit, and turn the outcome into a typed result.
macro_rules! guest_call {
    ($host:expr, $tenant:expr, |$api:ident, $store:ident| $call:expr) => {{
        let mut call = $host.start($tenant).await?;
        let $api = call.plugin.governance_connector_connector();
        let $store = &mut call.store;
        let r = tokio::time::timeout($host.options.limits.call_timeout, $call).await;
        $host.finish(r, &call)
    }};
}

/// A loaded plugin, ready to serve calls for any tenant.
pub struct Host {
    engine: wasmtime::Engine,
    pre: ConnectorPluginPre<HostState>,
    options: HostOptions,
    info: ConnectorInfo,
    cache: EngineCache,
    peak_memory: std::sync::atomic::AtomicUsize,
    _ticker: EpochTicker,
}

struct Call {
    store: Store<HostState>,
    plugin: ConnectorPlugin,
    traffic: Arc<Mutex<CallTraffic>>,
    stderr: MemoryOutputPipe,
}

impl Host {
    /// Load a plugin component (compiled once, then cached on disk) and read its metadata.
    pub async fn load(path: &Path, options: HostOptions) -> Result<Self, CallError> {
        let engine =
            engine::new_engine(&options.limits).map_err(|e| CallError::Host(format!("{e:#}")))?;
        let cache_dir = options
            .cache_dir
            .clone()
            .unwrap_or_else(engine::default_cache_dir);
        let (component, cache) = engine::load_component(&engine, path, &cache_dir)
            .map_err(|e| CallError::Host(format!("{e:#}")))?;
        let pre = engine::instance_pre(&engine, &component)
            .map_err(|e| CallError::Host(format!("{e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        let placeholder = ConnectorInfo {
            name: String::new(),
            version: String::new(),
            apps: Vec::new(),
        };
        let mut host = Self {
            engine,
            pre,
            options,
            info: placeholder,
            cache,
            peak_memory: Default::default(),
            _ticker: ticker,
        };
        let info = guest_call!(host, None, |api, store| async {
            api.call_metadata(store).await.map(Ok)
        })?;
        host.info = info;
        Ok(host)
    }

    /// The plugin's self-description.
    pub fn info(&self) -> &ConnectorInfo {
        &self.info
    }

    /// Whether the compiled plugin came from the disk cache.
    pub fn cache(&self) -> EngineCache {
        self.cache
    }

    /// Largest linear memory any call of this host has used, in bytes.
    pub fn peak_guest_memory(&self) -> usize {
        self.peak_memory.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Instantiate the plugin and drop it: the per-call setup cost (benchmarks, health checks).
    pub async fn instantiate_only(&self) -> Result<(), CallError> {
        self.start(None).await.map(drop)
    }

    /// Call the plugin's `metadata` in a fresh instance: a minimal whole call.
    pub async fn call_metadata(&self) -> Result<ConnectorInfo, CallError> {
        guest_call!(self, None, |api, store| async {
            api.call_metadata(store).await.map(Ok)
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// The hosts a tenant's app may reach: its declared hosts that the host trusts.
    pub fn policy_for(&self, app: &str) -> Result<EgressPolicy, CallError> {
        let app_info = self
            .info
            .apps
            .iter()
            .find(|a| a.name == app)
            .ok_or_else(|| {
                let known: Vec<_> = self.info.apps.iter().map(|a| a.name.as_str()).collect();
                CallError::Host(format!(
                    "unknown app {app:?}; the plugin serves: {}",
                    known.join(", ")
                ))
            })?;
        Ok(EgressPolicy::for_hosts(
            &app_info.hosts,
            self.options.connect_to,
        ))
    }

    async fn start(&self, tenant: Option<&Tenant>) -> Result<Call, CallError> {
        let policy = match tenant {
            Some(t) => self.policy_for(&t.app)?,
            None => EgressPolicy::default(),
        };
        let hooks = EgressHooks::new(
            Arc::new(policy),
            tenant.map(|t| t.credentials.clone()),
            self.options.limits.clone(),
            tenant.map(|t| t.name.clone()).unwrap_or_default(),
            self.options.audit.clone(),
        );
        let traffic = hooks.traffic();
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let mut wasi = WasiCtx::builder();
        wasi.stderr(stderr.clone());
        if let Some(now) = self.options.now {
            let since_epoch = Duration::from_secs(now.timestamp().max(0) as u64);
            wasi.wall_clock(FixedClock(since_epoch));
        }
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks,
            limiter: MemoryLimiter::new(self.options.limits.memory_bytes),
            cpu_ticks: 0,
            cpu_budget: self.options.limits.cpu_ticks(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(1);
        // Counts ticks in which the guest was running; waiting on HTTP does not consume budget.
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            s.cpu_ticks += 1;
            if s.cpu_ticks > s.cpu_budget {
                return Err(wasmtime::Error::msg(format!(
                    "CPU time limit exceeded: the plugin ran for more than {} ms",
                    s.cpu_budget * crate::limits::EPOCH_TICK.as_millis() as u64
                )));
            }
            Ok(UpdateDeadline::Yield(1))
        });
        let plugin =
            self.pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| CallError::Plugin {
                    reason: format!("instantiation failed: {e:#}"),
                    host_notes: Vec::new(),
                })?;
        Ok(Call {
            store,
            plugin,
            traffic,
            stderr,
        })
    }

    fn finish<T>(
        &self,
        outcome: Result<wasmtime::Result<Result<T, ConnectorError>>, tokio::time::error::Elapsed>,
        call: &Call,
    ) -> Result<T, CallError> {
        self.peak_memory.fetch_max(
            call.store.data().limiter.peak,
            std::sync::atomic::Ordering::Relaxed,
        );
        let notes = {
            let t = call.traffic.lock().unwrap_or_else(|p| p.into_inner());
            t.violations.clone()
        };
        match outcome {
            Err(_) => Err(CallError::Timeout(self.options.limits.call_timeout)),
            Ok(Err(trap)) => {
                let mut reason = format!("{trap:#}");
                if let Some(limit) = trap
                    .chain()
                    .map(|c| c.to_string())
                    .find(|m| m.contains("limit exceeded"))
                {
                    reason = limit;
                } else if let Some(code) = trap.downcast_ref::<wasmtime::Trap>() {
                    reason = format!("the plugin trapped ({code})");
                }
                let stderr = String::from_utf8_lossy(&call.stderr.contents())
                    .trim()
                    .to_string();
                if !stderr.is_empty() {
                    let tail: String = stderr
                        .lines()
                        .rev()
                        .take(3)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join(" | ");
                    reason.push_str(&format!("; plugin stderr: {tail}"));
                }
                Err(CallError::Plugin {
                    reason,
                    host_notes: notes,
                })
            }
            Ok(Ok(Err(error))) => Err(CallError::Connector {
                error,
                host_notes: notes,
            }),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }

    fn config(&self, tenant: &Tenant) -> Config {
        let mut options: Vec<(String, String)> = tenant
            .options
            .iter()
            .filter(|(k, _)| k != "host_max_in_flight")
            .cloned()
            .collect();
        // The plugin keeps its own concurrency under what the egress hooks will let through.
        options.push((
            "host_max_in_flight".into(),
            self.options.limits.max_in_flight.to_string(),
        ));
        Config {
            app: tenant.app.clone(),
            account_id: tenant.credentials.account_sid().to_string(),
            options,
        }
    }

    /// Check configuration and credentials.
    pub async fn check(&self, tenant: &Tenant) -> Result<String, CallError> {
        let cfg = self.config(tenant);
        guest_call!(self, Some(tenant), |api, store| api.call_check(store, &cfg))
    }

    /// One page of accounts.
    pub async fn list_page(
        &self,
        tenant: &Tenant,
        cursor: Option<&str>,
    ) -> Result<AccountPage, CallError> {
        let cfg = self.config(tenant);
        guest_call!(self, Some(tenant), |api, store| api
            .call_list_accounts(store, &cfg, cursor))
    }

    /// Every account, page after page; `progress` hears the running total. A cursor that
    /// repeats is an error, so a broken plugin cannot loop forever.
    pub async fn list_all(
        &self,
        tenant: &Tenant,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Account>, CallError> {
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.list_page(tenant, cursor.as_deref()).await?;
            all.extend(page.accounts);
            progress(all.len());
            match page.next_cursor {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(CallError::Host(format!(
                        "the plugin returned cursor {next:?} twice; stopping to avoid a loop"
                    )));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// One account.
    pub async fn get_account(&self, tenant: &Tenant, id: &str) -> Result<Account, CallError> {
        let cfg = self.config(tenant);
        guest_call!(self, Some(tenant), |api, store| api
            .call_get_account(store, &cfg, id))
    }

    /// Run an action (suspend, reactivate, deprovision) and audit it.
    pub async fn act(
        &self,
        tenant: &Tenant,
        action: Action,
        id: &str,
        dry_run: bool,
    ) -> Result<ActionResult, CallError> {
        let cfg = self.config(tenant);
        // In a block so that even a failure to start the call is audited.
        let result = async {
            guest_call!(self, Some(tenant), |api, store| async {
                match action {
                    Action::Suspend => api.call_suspend(store, &cfg, id, dry_run).await,
                    Action::Reactivate => api.call_reactivate(store, &cfg, id, dry_run).await,
                    Action::Deprovision => api.call_deprovision(store, &cfg, id, dry_run).await,
                }
            })
        }
        .await;
        self.audit_action(tenant, action.name(), id, dry_run, &result);
        result
    }

    /// Provision a user and audit it.
    pub async fn provision(
        &self,
        tenant: &Tenant,
        request: &ProvisionRequest,
        dry_run: bool,
    ) -> Result<ActionResult, CallError> {
        let cfg = self.config(tenant);
        let result = async {
            guest_call!(self, Some(tenant), |api, store| api
                .call_provision(store, &cfg, request, dry_run))
        }
        .await;
        self.audit_action(tenant, "provision", &request.username, dry_run, &result);
        result
    }

    fn audit_action(
        &self,
        tenant: &Tenant,
        action: &str,
        id: &str,
        dry_run: bool,
        result: &Result<ActionResult, CallError>,
    ) {
        if let Some(a) = &self.options.audit {
            let (text, warnings) = match result {
                Ok(r) => (r.message.clone(), r.warnings.clone()),
                Err(e) => (format!("error: {e}"), Vec::new()),
            };
            a.action(&ActionEvent {
                tenant: tenant.name.clone(),
                app: tenant.app.clone(),
                account: id.to_string(),
                action: action.to_string(),
                dry_run,
                result: text,
                warnings,
            });
        }
    }
}

/// Status-changing actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Reactivate,
    Deprovision,
}

impl Action {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reactivate => "reactivate",
            Self::Deprovision => "deprovision",
        }
    }
}

/// One tenant's outcome in a multi-tenant sync.
#[derive(Debug)]
pub struct TenantSync {
    /// The tenant's name.
    pub tenant: String,
    /// The tenant's app.
    pub app: String,
    /// Its accounts, or why its sync failed.
    pub result: Result<Vec<Account>, CallError>,
}

impl Host {
    /// Sync many tenants concurrently (at most `concurrency` at once), each in its own stores
    /// with only its own credentials; one tenant's failure does not stop the others. Results
    /// come back in the order of `tenants`.
    pub async fn sync_tenants(
        self: &Arc<Self>,
        tenants: Vec<Tenant>,
        concurrency: usize,
    ) -> Vec<TenantSync> {
        let gate = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, tenant) in tenants.into_iter().enumerate() {
            let (host, gate) = (self.clone(), gate.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let result = host.list_all(&tenant, |_| {}).await;
                (
                    i,
                    TenantSync {
                        tenant: tenant.name.clone(),
                        app: tenant.app.clone(),
                        result,
                    },
                )
            });
        }
        let mut out: Vec<(usize, TenantSync)> = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(r) => out.push(r),
                Err(e) => tracing::error!("a tenant sync task failed: {e}"),
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out.into_iter().map(|(_, r)| r).collect()
    }
}
