//! A loaded plugin and its calls: compile once, then run each call in a fresh sandboxed
//! instance under the call's limits and turn the outcome into a typed result.

use crate::bindings::types::HttpMethod;
use crate::bindings::types::{Account, AccountPage, Config, ConnectorError, ConnectorInfo};
use crate::bindings::{ContractVersion, Plugin, PluginPre};
use crate::compile_cache::{self, CompileCache};
use crate::egress::{CallTraffic, EgressHooks, EgressPolicy};
use crate::engine::{self, EngineCache, EpochTicker, HostOptions};
use crate::errors::{CallError, LimitExceeded};
use crate::limits::Limits;
use crate::options::{
    HOST_ACCOUNT_IN_FLIGHT, HOST_CALL_BUDGET_MS, HOST_MAX_IN_FLIGHT, HOST_WRITTEN,
};
use crate::request_policy::CallKind;
use crate::state::listings::{HostCursor, Listings};
use crate::state::tenant_state::TenantStates;
use crate::state::{Bucket, CallState, StateBackend};
use crate::store::{HostState, new_store};
use crate::sync::lock;
use crate::tenant::Tenant;
use crate::upstream_gate::UpstreamGates;
use crate::vendor_policy::{Declared, GrantedRoute, Ungranted};
use std::path::Path;
use std::sync::{Arc, Mutex};
use wasmtime::Store;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

/// Run one export of the plugin in a fresh sandboxed instance (for `tenant`, or none), under
/// the call's wall-clock limit, and turn the outcome into a typed result.
macro_rules! guest_call {
    ($host:expr, $tenant:expr, $kind:expr, |$api:ident, $store:ident| $call:expr) => {{
        $crate::host::guest_call!($host, $tenant, $kind, fence: None, |$api, $store| $call)
    }};
    // With the caller's fence, asked before each write.
    ($host:expr, $tenant:expr, $kind:expr, fence: $fence:expr, |$api:ident, $store:ident| $call:expr) => {{
        let mut call = $host.start($tenant, $kind, $fence).await?;
        let $api = &call.plugin;
        let $store = &mut call.store;
        // CPU is charged per poll (guest and synchronous host work, not network waits); the
        // wall clock bounds the whole call.
        let budgeted = $crate::cpu_budget::CpuBudget::new($call, $host.options.limits.cpu_time);
        let r = tokio::time::timeout($host.options.limits.call_timeout, budgeted).await;
        $host.finish(r, &call)
    }};
    // With state buckets: the call gets `kv`; the result comes back with what the buckets
    // hold after it (whatever its outcome; the caller decides what to keep).
    ($host:expr, $tenant:expr, $kind:expr, state: $kv:expr, |$api:ident, $store:ident| $call:expr) => {{
        match $host.start($tenant, $kind, None).await {
            Err(e) => (Err(e), $crate::state::CallState::default()),
            Ok(mut call) => {
                call.store.data_mut().kv = $kv;
                let $api = &call.plugin;
                let $store = &mut call.store;
                let budgeted =
                    $crate::cpu_budget::CpuBudget::new($call, $host.options.limits.cpu_time);
                let r = tokio::time::timeout($host.options.limits.call_timeout, budgeted).await;
                let out = $host.finish(r, &call);
                (out, std::mem::take(&mut call.store.data_mut().kv))
            }
        }
    }};
}
pub(crate) use guest_call;

/// A plugin as an operator reviews it before approving it.
pub struct Review {
    pub info: ConnectorInfo,
    /// The contract version the host links it against.
    pub contract: ContractVersion,
    /// Each declared route, granted or not.
    pub routes: Vec<crate::vendor_policy::RouteReview>,
}

/// A loaded plugin, ready to serve calls for any tenant.
pub struct Host {
    engine: wasmtime::Engine,
    pre: PluginPre,
    pub(crate) options: HostOptions,
    info: ConnectorInfo,
    cache: EngineCache,
    peak_memory: std::sync::atomic::AtomicUsize,
    listings: Listings,
    states: std::sync::Arc<dyn StateBackend>,
    /// Each app's egress policy: its trusted hosts and the routes granted to it at load.
    policies: std::collections::HashMap<String, Arc<EgressPolicy>>,
    /// Each connecting account's share of the upstream's concurrency, across all calls.
    gates: UpstreamGates,
    /// Open connections to the upstream, reused by every call.
    connections: crate::upstream_connections::UpstreamConnections,
    _ticker: EpochTicker,
}

pub(crate) struct Call {
    pub(crate) store: Store<HostState>,
    pub(crate) plugin: Plugin,
    traffic: Arc<Mutex<CallTraffic>>,
    stderr: MemoryOutputPipe,
    /// The key of the account gate the call's requests went through.
    gate_key: Option<String>,
}

/// Where the host keeps what account gates learned: the options' memory, else a directory
/// under the state directory (`.limits`: a name no tenant's state directory can have, since
/// those are `%`-escaped), else none.
fn gate_memory(options: &HostOptions) -> Option<Arc<dyn crate::gate_memory::GateMemory>> {
    if let Some(memory) = &options.gate_memory {
        return Some(memory.clone());
    }
    let dir = options.state_dir.as_ref()?;
    Some(Arc::new(crate::gate_memory::GateMemoryDir::new(
        dir.join(crate::gate_memory::DIR_NAME),
    )))
}

impl Host {
    /// Load a plugin component (compiled once, then cached on disk), read its metadata and
    /// grant each app its declared routes under the vendor policy: a plugin that declares a
    /// route the policy does not grant is refused ([`CallError::RoutesNotGranted`]).
    pub async fn load(path: &Path, options: HostOptions) -> Result<Self, CallError> {
        let mut host = Self::open(path, options).await?;
        host.policies = host.grant_routes(&host.info)?;
        Ok(host)
    }

    /// Review a plugin before approving it: its metadata and each declared route, granted or
    /// not, with the constraints the host would hold it to. Nothing is granted, nothing sent.
    pub async fn review(path: &Path, options: HostOptions) -> Result<Review, CallError> {
        let host = Self::open(path, options).await?;
        let vendor = &host.options.vendor_policy;
        let mut reviews = Vec::new();
        for app in &host.info.apps {
            if host.pre.version() == ContractVersion::V0_1_0 {
                for g in vendor.reads_on(&app.hosts) {
                    reviews.push(crate::vendor_policy::RouteReview {
                        app: app.name.clone(),
                        route: g.declared.to_string(),
                        granted: true,
                        refusal: None,
                        constraints: vec![
                            "contract 0.1.0 declares no routes: the vendor policy's reads on its hosts".into(),
                        ],
                    });
                }
                continue;
            }
            let declared: Vec<Declared> = app.routes.iter().map(declared).collect();
            reviews.extend(vendor.review(&app.name, &declared));
        }
        Ok(Review {
            info: host.info.clone(),
            contract: host.pre.version(),
            routes: reviews,
        })
    }

    /// Compile (or read from the cache), instantiate once and read the metadata; no routes are
    /// granted yet.
    async fn open(path: &Path, options: HostOptions) -> Result<Self, CallError> {
        let engine =
            engine::new_engine(&options.limits).map_err(|e| CallError::Host(format!("{e:#}")))?;
        let cache = options
            .cache_dir
            .clone()
            .or_else(compile_cache::default_cache_dir)
            .and_then(|dir| {
                let key = options
                    .cache_key_file
                    .clone()
                    .unwrap_or_else(|| compile_cache::default_key_file(&dir));
                CompileCache::open(&dir, &key)
                    .map_err(|e| tracing::warn!("not caching compiled plugins: {e}"))
                    .ok()
            });
        if cache.is_none() {
            tracing::info!("no usable compile cache: the plugin is compiled on every load");
        }
        let bytes = approved_bytes(path, options.approved_sha256.as_deref())?;
        let (component, cache) = engine::load_component(&engine, path, &bytes, cache.as_ref())
            .map_err(|e| CallError::Host(format!("{e:#}")))?;
        let pre = engine::instance_pre(&engine, &component)
            .map_err(|e| CallError::Host(format!("{e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        let placeholder = ConnectorInfo {
            name: String::new(),
            version: String::new(),
            apps: Vec::new(),
        };
        let states: std::sync::Arc<dyn StateBackend> = match &options.state_backend {
            Some(b) => b.clone(),
            None => std::sync::Arc::new(TenantStates::new(options.state_dir.clone())),
        };
        let connections =
            crate::upstream_connections::UpstreamConnections::new(options.limits.request_timeout);
        let gates = match gate_memory(&options) {
            Some(memory) => UpstreamGates::remembered_in(memory),
            None => UpstreamGates::default(),
        }
        .starting_at(options.vendor_policy.first_in_flight());
        let mut host = Self {
            engine,
            pre,
            options,
            info: placeholder,
            cache,
            peak_memory: Default::default(),
            listings: Listings::default(),
            states,
            policies: Default::default(),
            gates,
            connections,
            _ticker: ticker,
        };
        let info = guest_call!(host, None, CallKind::Metadata, |api, store| async {
            api.call_metadata(store).await.map(Ok)
        })?;
        host.info = info;
        Ok(host)
    }

    /// Grant each app its declared routes under the vendor policy (a 0.1.0 plugin declares
    /// none and gets the policy's reads on its hosts). Any route not granted refuses the
    /// plugin, with the list of every such route.
    fn grant_routes(
        &self,
        info: &ConnectorInfo,
    ) -> Result<std::collections::HashMap<String, Arc<EgressPolicy>>, CallError> {
        let vendor = &self.options.vendor_policy;
        let mut policies = std::collections::HashMap::new();
        let mut refused: Vec<Ungranted> = Vec::new();
        for app in &info.apps {
            let routes: Vec<GrantedRoute> = if self.pre.version() == ContractVersion::V0_1_0 {
                vendor.reads_on(&app.hosts)
            } else {
                let declared: Vec<Declared> = app.routes.iter().map(declared).collect();
                match vendor.grant(&app.name, &declared) {
                    Ok(g) => g,
                    Err(mut r) => {
                        refused.append(&mut r);
                        continue;
                    }
                }
            };
            let policy = EgressPolicy::new(
                vendor.clone(),
                &app.hosts,
                routes,
                self.options.connect_to.clone(),
            );
            policies.insert(app.name.clone(), Arc::new(policy));
        }
        if refused.is_empty() {
            Ok(policies)
        } else {
            Err(CallError::RoutesNotGranted(refused))
        }
    }

    /// The contract version the plugin implements.
    pub fn contract_version(&self) -> ContractVersion {
        self.pre.version()
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
        self.start(None, CallKind::Metadata, None).await.map(drop)
    }

    /// Call the plugin's `metadata` in a fresh instance: a minimal whole call.
    pub async fn call_metadata(&self) -> Result<ConnectorInfo, CallError> {
        guest_call!(self, None, CallKind::Metadata, |api, store| async {
            api.call_metadata(store).await.map(Ok)
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// The requests this host now lets in flight at once for `tenant`'s connecting account,
    /// over all the calls made with its credentials (learned from the upstream's throttles; see
    /// `upstream_gate.rs`).
    pub fn account_in_flight_limit(&self, tenant: &Tenant) -> usize {
        self.gates.gate(&tenant.credentials.gate_key()).limit()
    }

    /// What a tenant's app may reach: its declared hosts that the vendor policy trusts, and the
    /// routes granted to it at load.
    pub fn policy_for(&self, app: &str) -> Result<Arc<EgressPolicy>, CallError> {
        self.policies.get(app).cloned().ok_or_else(|| {
            let known: Vec<_> = self.info.apps.iter().map(|a| a.name.as_str()).collect();
            CallError::Host(format!(
                "unknown app {app:?}; the plugin serves: {}",
                known.join(", ")
            ))
        })
    }

    pub(crate) async fn start(
        &self,
        tenant: Option<&Tenant>,
        mut kind: CallKind,
        fence: Option<Arc<dyn crate::write_fence::WriteFence>>,
    ) -> Result<Call, CallError> {
        let policy = match tenant {
            Some(t) => self.policy_for(&t.app)?,
            None => Arc::new(EgressPolicy::default()),
        };
        let gate_key = tenant.map(|t| t.credentials.gate_key());
        // An action's writes are held to what its tenant configured (`{GO}` to its instance…).
        if let (CallKind::Action(action), Some(t)) = (&mut kind, tenant) {
            action.configured = configured_values(&policy, t);
        }
        let hooks = EgressHooks::new(
            policy,
            tenant.map(|t| t.credentials.clone()),
            self.options.limits.clone(),
            tenant.map(|t| t.name.clone()).unwrap_or_default(),
            self.options.audit.clone(),
            kind,
            crate::egress::Upstream {
                gate: gate_key.as_deref().map(|k| self.gates.gate(k)),
                bound: tenant.map(|t| t.bound.clone()).unwrap_or_default(),
                connections: self.connections.clone(),
                fence,
                observer: self.options.request_observer.clone(),
            },
        );
        let traffic = hooks.traffic();
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let mut store = new_store(
            &self.engine,
            &self.options.limits,
            hooks,
            stderr.clone(),
            self.options.now,
        );
        let plugin = self
            .pre
            .instantiate(&mut store)
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
            gate_key,
        })
    }

    pub(crate) fn finish<T>(
        &self,
        outcome: Result<wasmtime::Result<Result<T, ConnectorError>>, tokio::time::error::Elapsed>,
        call: &Call,
    ) -> Result<T, CallError> {
        self.peak_memory.fetch_max(
            call.store.data().limiter.peak,
            std::sync::atomic::Ordering::Relaxed,
        );
        // What the account's gate learned during the call outlives it, whatever the call's
        // outcome (the upstream's answers taught it, not the plugin).
        if let Some(key) = &call.gate_key {
            self.gates.remember(key);
        }
        let (mut notes, stopped_at, network, fenced, writes_sent, unauthorized) = {
            let traffic = lock(&call.traffic);
            (
                traffic.violations.clone(),
                traffic.limit.clone(),
                traffic.network.clone(),
                traffic.fenced.clone(),
                traffic.writes_sent,
                traffic.unauthorized.clone(),
            )
        };
        notes.extend(call.store.data().kv.refusals.iter().cloned());
        // A refused fence fails the call whatever the plugin made of the refused write: the
        // caller must learn that it lost the right to write, not a plugin's transport error.
        if let Some(reason) = fenced {
            return Err(CallError::Fenced {
                reason,
                writes_sent,
            });
        }
        // A credential the host could not attach (a token it could not mint) fails the call as
        // unauthorized, naming the client, whatever the plugin made of the refused request.
        if let Some(why) = unauthorized
            && !matches!(outcome, Ok(Ok(Ok(_))))
        {
            return Err(CallError::Connector {
                error: ConnectorError::Unauthorized(why),
                host_notes: notes,
            });
        }
        // A limit the egress hooks stopped a request at fails the call, whatever the plugin
        // made of the refusal.
        if let Some(limit) = stopped_at
            && outcome.is_ok()
        {
            return Err(CallError::Limit {
                limit,
                host_notes: notes,
            });
        }
        match outcome {
            Err(_) => Err(CallError::Timeout(self.options.limits.call_timeout)),
            Ok(Err(trap)) => {
                if let Some(wasmtime::component::ResourceTableError::Full) =
                    trap.downcast_ref::<wasmtime::component::ResourceTableError>()
                {
                    return Err(CallError::Limit {
                        limit: LimitExceeded::Resources {
                            max: crate::limits::MAX_RESOURCES,
                        },
                        host_notes: notes,
                    });
                }
                if let Some(limit) = trap.downcast_ref::<LimitExceeded>() {
                    return Err(CallError::Limit {
                        limit: limit.clone(),
                        host_notes: notes,
                    });
                }
                let mut reason = match trap.downcast_ref::<wasmtime::Trap>() {
                    Some(code) => format!("the plugin trapped ({code})"),
                    None => format!("{trap:#}"),
                };
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
            // A plugin that gave up on the network: the host knows why, in words.
            Ok(Ok(Err(ConnectorError::Transport(message)))) => match network {
                Some(failure) => Err(CallError::Network {
                    failure,
                    host_notes: notes,
                }),
                None => Err(CallError::Connector {
                    error: ConnectorError::Transport(message),
                    host_notes: notes,
                }),
            },
            Ok(Ok(Err(error))) => Err(CallError::Connector {
                error,
                host_notes: notes,
            }),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }

    pub(crate) fn config(&self, tenant: &Tenant) -> Config {
        let limits = &self.options.limits;
        let account = tenant.credentials.account_sid();
        let mut options: Vec<(String, String)> = tenant
            .options
            .iter()
            .filter(|(k, _)| !HOST_WRITTEN.contains(&k.as_str()))
            .cloned()
            .collect();
        // The plugin keeps its own concurrency under what the egress hooks will let through,
        // learns where the account's gate is, and retries a throttled request only while the
        // call has time left for it.
        options.push((HOST_MAX_IN_FLIGHT.into(), limits.max_in_flight.to_string()));
        options.push((
            HOST_ACCOUNT_IN_FLIGHT.into(),
            self.gates
                .gate(&tenant.credentials.gate_key())
                .offered()
                .to_string(),
        ));
        options.push((
            HOST_CALL_BUDGET_MS.into(),
            limits.call_timeout.as_millis().to_string(),
        ));
        Config {
            app: tenant.app.clone(),
            account_id: account.to_string(),
            options,
        }
    }

    /// Check configuration and credentials.
    pub async fn check(&self, tenant: &Tenant) -> Result<String, CallError> {
        let cfg = self.config(tenant);
        guest_call!(self, Some(tenant), CallKind::Check, |api, store| api
            .call_check(store, &cfg))
    }

    /// One page of accounts. The cursor is the host's own (it names the listing, whose state
    /// bucket the next page gets); the plugin's cursor travels inside it.
    pub async fn list_page(
        &self,
        tenant: &Tenant,
        cursor: Option<&str>,
    ) -> Result<AccountPage, CallError> {
        let cfg = self.config(tenant);
        let scope = state_scope(tenant);
        // A cursor this host did not issue (or whose listing expired) continues with an empty
        // listing bucket: the contract lets the plugin find it empty at any time.
        let (listing, plugin_cursor, kept) = match cursor.map(|c| (c, HostCursor::parse(c))) {
            None => (self.listings.begin(), None, Bucket::default()),
            Some((_, Some(hc))) => (
                hc.listing,
                Some(hc.plugin),
                self.listings.take(&scope, hc.listing).unwrap_or_default(),
            ),
            Some((raw, None)) => (self.listings.begin(), Some(raw), Bucket::default()),
        };
        let kv = self.call_state(tenant, Some(kept.clone())).await?;
        let (page, kv) = guest_call!(self, Some(tenant), CallKind::List, state: kv, |api, store| api
            .call_list_accounts(store, &cfg, plugin_cursor));
        let mut page = match page {
            Ok(p) => p,
            Err(e) => {
                // The same page can be asked again: its listing state is as it was. A first
                // page that failed leaves nothing to continue.
                if cursor.is_some() {
                    self.listings.keep(&scope, listing, kept);
                }
                return Err(e);
            }
        };
        self.commit_tenant_state(tenant, &kv).await?;
        if let Some(next) = page.next_cursor.take() {
            self.listings
                .keep(&scope, listing, kv.listing.unwrap_or_default());
            page.next_cursor = Some(HostCursor::format(listing, &next));
        }
        Ok(page)
    }

    /// The state buckets of a call for `tenant`: its kept tenant bucket, and `listing`.
    async fn call_state(
        &self,
        tenant: &Tenant,
        listing: Option<Bucket>,
    ) -> Result<CallState, CallError> {
        let kept = self
            .states
            .load(tenant)
            .await
            .map_err(|e| CallError::Host(format!("tenant {}: {e}", tenant.name)))?;
        Ok(CallState {
            listing,
            tenant: Some(kept),
            max_bytes: self.options.limits.state_bytes,
            secret_forms: tenant.secret_forms(),
            ..CallState::default()
        })
    }

    /// Keep what a successful call wrote to its tenant bucket.
    async fn commit_tenant_state(&self, tenant: &Tenant, kv: &CallState) -> Result<(), CallError> {
        if let Some(after) = &kv.tenant
            && !kv.touched.is_empty()
        {
            self.states
                .commit(tenant, after, &kv.touched)
                .await
                .map_err(|e| CallError::Host(format!("tenant {}: {e}", tenant.name)))?;
        }
        Ok(())
    }

    /// Forget a tenant's kept state (its next sync reads everything); whether there was any.
    pub async fn clear_state(&self, tenant: &Tenant) -> Result<bool, CallError> {
        self.states
            .clear(tenant)
            .await
            .map_err(|e| CallError::Host(format!("tenant {}: {e}", tenant.name)))
    }

    /// A tenant's kept state: each key and its value.
    pub async fn state(&self, tenant: &Tenant) -> Result<Bucket, CallError> {
        self.states
            .load(tenant)
            .await
            .map_err(|e| CallError::Host(format!("tenant {}: {e}", tenant.name)))
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

    /// One account (the plugin may read and update the tenant's kept state).
    pub async fn get_account(&self, tenant: &Tenant, id: &str) -> Result<Account, CallError> {
        let cfg = self.config(tenant);
        let kv = self.call_state(tenant, None).await?;
        let (account, kv) = guest_call!(self, Some(tenant), CallKind::Get, state: kv, |api, store| api
            .call_get_account(store, &cfg, id));
        let account = account?;
        self.commit_tenant_state(tenant, &kv).await?;
        Ok(account)
    }
}

/// A route as the plugin declared it, in the host's words.
fn declared(r: &crate::bindings::types::Route) -> Declared {
    let method = match &r.method {
        HttpMethod::Get => "GET".to_string(),
        HttpMethod::Post => "POST".to_string(),
        HttpMethod::Put => "PUT".to_string(),
        HttpMethod::Patch => "PATCH".to_string(),
        HttpMethod::Delete => "DELETE".to_string(),
        // Any other method by its token, as the plugin spelled it: the vendor policy grants
        // only the methods it names, compared exactly.
        HttpMethod::Other(m) => crate::request_policy::truncated(m),
    };
    Declared {
        method,
        host: r.host.clone(),
        path: r.path.clone(),
        actions: r
            .actions
            .iter()
            .map(|a| crate::actions::kind_name(*a).to_string())
            .collect(),
    }
}

/// The plugin's bytes, read once; with an approved digest, refused unless they match it.
fn approved_bytes(path: &Path, approved: Option<&str>) -> Result<Vec<u8>, CallError> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path)
        .map_err(|e| CallError::Host(format!("cannot read plugin {}: {e}", path.display())))?;
    if let Some(expected) = approved {
        let found: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !found.eq_ignore_ascii_case(expected.trim()) {
            return Err(CallError::NotApproved {
                path: path.display().to_string(),
                expected: expected.trim().to_ascii_lowercase(),
                found,
            });
        }
    }
    Ok(bytes)
}

/// The scope of a tenant's listings: name, connecting account and app.
fn state_scope(tenant: &Tenant) -> String {
    format!(
        "{}\u{0}{}\u{0}{}",
        tenant.name,
        tenant.credentials.account_sid(),
        tenant.app
    )
}

/// The tenant's value of each placeholder the vendor policy says it configures (`None` when
/// the tenant set no such option).
fn configured_values(policy: &EgressPolicy, tenant: &Tenant) -> Vec<(String, Option<String>)> {
    policy
        .vendor
        .configured_placeholders()
        .iter()
        .map(|(placeholder, option)| {
            let value = tenant
                .options
                .iter()
                .find(|(k, _)| k == option)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty());
            (placeholder.clone(), value)
        })
        .collect()
}
