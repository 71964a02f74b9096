//! The latest complete sync of each tenant and app, as SCIM User resources: what listings are
//! served from, so an IdP's import of 10,000 users is one sync and not 10,000 upstream reads.
//!
//! One copy per tenant and app: a sync renders each page into resources as it arrives (the
//! accounts of a page are dropped once rendered), and replaces the previous snapshot only
//! when it is complete. An action or a single read updates the one resource it touched in
//! place. Each resource keeps `meta.lastModified`: when this server first saw it as it is now.

use crate::resources::{self, ACTIVITY_EXTENSION};
use chrono::{DateTime, SecondsFormat, Utc};
use connector_host::types::Account;
use connector_host::{CallError, Host, Tenant};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

/// A snapshot this young is fresh enough for a request that asks for a fresh one.
pub const FRESH_ENOUGH: Duration = Duration::from_secs(30);

/// One User resource and when it last changed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The resource, with `meta.resourceType`, `created` (where known), `lastModified` and
    /// `version`; `meta.location` is added when it is served.
    pub resource: Value,
    pub user_name: String,
    pub version: String,
}

/// A complete listing.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub taken_at: Option<DateTime<Utc>>,
    pub entries: Vec<Entry>,
    index: HashMap<String, usize>,
    /// Usernames more than one account carries (their userName is the id).
    shared: std::collections::HashSet<String>,
    /// The Groups of this snapshot, as served: built on the first read that needs them, and
    /// dropped when an account changes.
    groups: std::sync::OnceLock<Arc<Vec<Value>>>,
}

impl Snapshot {
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).map(|&i| &self.entries[i])
    }

    /// The entry whose userName is `name` (case-insensitively, as userName's caseExact is
    /// false).
    pub fn by_user_name(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.user_name.eq_ignore_ascii_case(name))
    }

    fn user_name_of(&self, a: &Account) -> String {
        match a.username.as_deref() {
            Some(n) if !n.trim().is_empty() && !self.shared.contains(n) => n.to_string(),
            _ => a.id.clone(),
        }
    }

    /// The snapshot's Groups: `build` runs once per snapshot (and again after a change).
    pub fn groups(&self, build: impl FnOnce(&[Entry]) -> Vec<Value>) -> Arc<Vec<Value>> {
        self.groups
            .get_or_init(|| Arc::new(build(&self.entries)))
            .clone()
    }

    /// Put `entry` in place of the account's old one (or append it).
    fn put(&mut self, entry: Entry) {
        self.groups = Default::default();
        let id = entry.resource["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match self.index.get(&id) {
            Some(&i) => self.entries[i] = entry,
            None => {
                self.index.insert(id, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(i) = self.index.remove(id) {
            self.groups = Default::default();
            self.entries.remove(i);
            for v in self.index.values_mut() {
                if *v > i {
                    *v -= 1;
                }
            }
        }
    }
}

/// The resource's version: a digest of what the account is (RFC 7644 §3.14 weak ETag): all
/// but `meta` and what changes without the account changing — when it was last active (its
/// own and per entitlement) and the connector's warnings. A user who merely signs in keeps
/// its version, so an IdP's `If-Match` still holds and `lastModified` does not move.
pub fn version_of(resource: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut r = resource.clone();
    if let Some(o) = r.as_object_mut() {
        o.remove("meta");
    }
    if let Some(ext) = r.get_mut(ACTIVITY_EXTENSION).and_then(Value::as_object_mut) {
        ext.remove("lastActivity");
        ext.remove("warnings");
        for e in ext
            .get_mut("entitlementActivity")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(e) = e.as_object_mut() {
                e.remove("lastActivity");
            }
        }
    }
    let digest = Sha256::digest(r.to_string().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("W/\"{hex}\"")
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Render one account; `before` is its entry in the previous snapshot, whose lastModified
/// stays when nothing changed.
fn entry(
    a: &Account,
    app: &str,
    tenant: &str,
    user_name: String,
    before: Option<&Entry>,
    now: DateTime<Utc>,
) -> Entry {
    let mut resource = resources::user(a, app, Some(tenant), &user_name);
    let version = version_of(&resource);
    let last_modified = match before {
        Some(b) if b.version == version => b.resource["meta"]["lastModified"].clone(),
        _ => json!(rfc3339(now)),
    };
    // `created` only where the app says: a guess would tell an IdP something untrue.
    resource["meta"] = json!({
        "resourceType": "User",
        "lastModified": last_modified,
        "version": version,
    });
    if let Some(c) = resources::created(a) {
        resource["meta"]["created"] = json!(c);
    }
    Entry {
        resource,
        user_name,
        version,
    }
}

/// A change made to one account while a sync runs: replayed onto the new snapshot before it
/// replaces the old, so an action's result is never lost to a sync that read the account
/// before the action.
enum Change {
    Put(Entry),
    Remove(String),
}

#[derive(Default)]
struct Slot {
    current: RwLock<Option<Snapshot>>,
    /// While a sync runs, the changes made meanwhile (`None` when no sync runs).
    journal: Mutex<Option<Vec<Change>>>,
    /// When the current snapshot was completed (monotonic), for its age.
    completed: Mutex<Option<Instant>>,
    /// Held by the one sync in progress: a burst of requests starts one sync.
    syncing: tokio::sync::Mutex<()>,
}

/// The snapshots of every tenant and app this server has served.
pub struct Snapshots {
    host: Arc<Host>,
    slots: Mutex<HashMap<(String, String), Arc<Slot>>>,
    /// A snapshot older than this is refreshed (in the background; served meanwhile).
    pub max_age: Duration,
}

/// A read of a snapshot, held while a listing is filtered and paged.
pub struct Reading<'a>(RwLockReadGuard<'a, Option<Snapshot>>);

impl Reading<'_> {
    pub fn snapshot(&self) -> &Snapshot {
        self.0
            .as_ref()
            .expect("a reading is only made of a present snapshot")
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

impl Snapshots {
    pub fn new(host: Arc<Host>, max_age: Duration) -> Self {
        Self {
            host,
            slots: Mutex::new(HashMap::new()),
            max_age,
        }
    }

    fn slot(&self, tenant: &Tenant) -> Arc<Slot> {
        lock(&self.slots)
            .entry((tenant.name.clone(), tenant.app.clone()))
            .or_default()
            .clone()
    }

    /// The tenant's snapshot, synced first when there is none or when `fresh` asks for one
    /// newer than the request; an old one is served while a refresh runs in the background.
    pub async fn ensure(
        self: &Arc<Self>,
        tenant: &Tenant,
        fresh: bool,
    ) -> Result<SlotRef, CallError> {
        let slot = self.slot(tenant);
        let asked = Instant::now();
        let age = lock(&slot.completed).map(|t| t.elapsed());
        match age {
            // A client's `no-cache` gets a sync only when the snapshot is older than
            // FRESH_ENOUGH: a client sending it on every request cannot make each one a full
            // upstream sync.
            Some(age) if !fresh || age < FRESH_ENOUGH => {
                if age > self.max_age {
                    self.refresh_in_background(tenant.clone());
                }
            }
            _ => {
                let _one = slot.syncing.lock().await;
                let done_after_asked = lock(&slot.completed).is_some_and(|t| t >= asked);
                if !done_after_asked {
                    self.sync(tenant, &slot).await?;
                }
            }
        }
        Ok(SlotRef(slot))
    }

    /// Refresh every snapshot older than `max_age` (the schedule).
    pub async fn refresh_stale(self: &Arc<Self>, tenants: &[Tenant]) {
        for t in tenants {
            let slot = match lock(&self.slots).get(&(t.name.clone(), t.app.clone())) {
                Some(s) => s.clone(),
                None => continue,
            };
            let stale = lock(&slot.completed).is_none_or(|c| c.elapsed() > self.max_age);
            if stale
                && let Ok(_one) = slot.syncing.try_lock()
                && let Err(e) = self.sync(t, &slot).await
            {
                tracing::warn!(tenant = %t.name, app = %t.app, "scheduled sync failed: {e}");
            }
        }
    }

    fn refresh_in_background(self: &Arc<Self>, tenant: Tenant) {
        let me = self.clone();
        tokio::spawn(async move {
            let slot = me.slot(&tenant);
            let Ok(_one) = slot.syncing.try_lock() else {
                return;
            };
            if let Err(e) = me.sync(&tenant, &slot).await {
                tracing::warn!(tenant = %tenant.name, app = %tenant.app, "background sync failed: {e}");
            }
        });
    }

    /// A full sync, page by page, rendered as it goes; it replaces the snapshot when complete.
    async fn sync(&self, tenant: &Tenant, slot: &Slot) -> Result<(), CallError> {
        *lock(&slot.journal) = Some(Vec::new());
        let result = self.sync_pages(tenant, slot).await;
        if result.is_err() {
            *lock(&slot.journal) = None;
        }
        result
    }

    async fn sync_pages(&self, tenant: &Tenant, slot: &Slot) -> Result<(), CallError> {
        let now = Utc::now();
        let mut entries: Vec<Entry> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        // Which entries carry each username, to give shared ones their id (after the last page).
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut seen_cursors = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.host.list_page(tenant, cursor.as_deref()).await?;
            {
                let before = read(&slot.current);
                for a in &page.accounts {
                    if index.contains_key(&a.id) {
                        continue;
                    }
                    let name = a
                        .username
                        .as_deref()
                        .filter(|n| !n.trim().is_empty())
                        .map(str::to_string);
                    let user_name = name.clone().unwrap_or_else(|| a.id.clone());
                    let old = before.as_ref().and_then(|s| s.get(&a.id));
                    let e = entry(a, &tenant.app, &tenant.name, user_name, old, now);
                    if let Some(n) = name {
                        by_name.entry(n).or_default().push(entries.len());
                    }
                    index.insert(a.id.clone(), entries.len());
                    entries.push(e);
                }
            }
            match page.next_cursor {
                Some(next) if !seen_cursors.insert(next.clone()) => {
                    return Err(CallError::Host(format!(
                        "the plugin returned cursor {next:?} twice; stopping to avoid a loop"
                    )));
                }
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut shared = std::collections::HashSet::new();
        for (name, at) in by_name {
            if at.len() > 1 {
                for i in at {
                    let e = &mut entries[i];
                    let id = e.resource["id"].as_str().unwrap_or_default().to_string();
                    e.resource["userName"] = json!(id);
                    e.user_name = id;
                    let version = version_of(&e.resource);
                    e.resource["meta"]["version"] = json!(version);
                    e.version = version;
                }
                shared.insert(name);
            }
        }
        let mut fresh = Snapshot {
            taken_at: Some(now),
            entries,
            index,
            shared,
            groups: Default::default(),
        };
        // Under the write lock, so no change slips between the replay and the swap.
        let mut current = write(&slot.current);
        for change in lock(&slot.journal).take().unwrap_or_default() {
            match change {
                Change::Put(e) => fresh.put(e),
                Change::Remove(id) => fresh.remove(&id),
            }
        }
        *current = Some(fresh);
        drop(current);
        *lock(&slot.completed) = Some(Instant::now());
        Ok(())
    }

    /// One account read through to the upstream, rendered as the snapshot would, and put in
    /// the snapshot (or taken out of it when the upstream no longer has it).
    pub async fn read_through(&self, tenant: &Tenant, id: &str) -> Result<Entry, CallError> {
        let slot = self.slot(tenant);
        match self.host.get_account(tenant, id).await {
            Ok(a) => Ok(self.put(tenant, &a)),
            Err(e) => {
                if matches!(
                    e,
                    CallError::Connector {
                        error: connector_host::types::ConnectorError::NotFound(_),
                        ..
                    }
                ) {
                    if let Some(s) = write(&slot.current).as_mut() {
                        s.remove(id);
                    }
                    if let Some(j) = lock(&slot.journal).as_mut() {
                        j.push(Change::Remove(id.to_string()));
                    }
                }
                Err(e)
            }
        }
    }

    /// Render `a` and keep it in the tenant's snapshot, if there is one.
    pub fn put(&self, tenant: &Tenant, a: &Account) -> Entry {
        let slot = self.slot(tenant);
        let mut current = write(&slot.current);
        let (user_name, before) = match current.as_ref() {
            Some(s) => (s.user_name_of(a), s.get(&a.id).cloned()),
            None => (
                resources::user_name(a, &Default::default()).to_string(),
                None,
            ),
        };
        let e = entry(
            a,
            &tenant.app,
            &tenant.name,
            user_name,
            before.as_ref(),
            Utc::now(),
        );
        if let Some(s) = current.as_mut() {
            s.put(e.clone());
        }
        if let Some(j) = lock(&slot.journal).as_mut() {
            j.push(Change::Put(e.clone()));
        }
        e
    }

    /// A handle on the tenant's snapshot, whether or not it has one yet.
    pub fn handle(&self, tenant: &Tenant) -> SlotRef {
        SlotRef(self.slot(tenant))
    }
}

/// A handle on one tenant's slot (kept while a request uses it).
pub struct SlotRef(Arc<Slot>);

impl SlotRef {
    pub fn read(&self) -> Option<Reading<'_>> {
        let g = read(&self.0.current);
        g.is_some().then(|| Reading(g))
    }
}

/// The status an entry's extension reports.
pub fn status(e: &Entry) -> &str {
    e.resource[ACTIVITY_EXTENSION]["status"]
        .as_str()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_ignores_activity_and_warnings_but_not_what_the_account_is() {
        let user = |active: bool, last: &str| {
            json!({
                "id": "US1", "userName": "alice", "active": active,
                "meta": {"lastModified": last},
                ACTIVITY_EXTENSION: {
                    "status": if active { "active" } else { "suspended" },
                    "lastActivity": last,
                    "warnings": [format!("seen {last}")],
                    "entitlementActivity": [{"type": "role", "value": "agent", "lastActivity": last}],
                },
            })
        };
        let monday = version_of(&user(true, "2026-11-30T09:00:00Z"));
        assert_eq!(monday, version_of(&user(true, "2026-12-01T09:00:00Z")));
        assert_ne!(monday, version_of(&user(false, "2026-11-30T09:00:00Z")));
        assert!(monday.starts_with("W/\""), "{monday}");
    }
}
