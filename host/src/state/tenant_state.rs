//! Each tenant's and app's kept state, between runs: in a private directory
//! (`DIR/<tenant>/<account>/<app>.json`, files 0600, written whole and renamed into place),
//! or in the host's memory when no directory is set. The path holds the tenant's name and
//! connecting account, so two tenants never share a bucket even if one is renamed.

use super::backend::{StateBackend, StateFuture, decode, encode, merged};
use super::bucket::Bucket;
use crate::private_files::{
    check_private, create_new_private, create_private_dir, nonce, read_no_follow,
};
use crate::sync::lock;
use crate::tenant::Tenant;
use crate::tenants_file::TenantIdentity;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where tenants' state lives.
pub struct TenantStates {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<PathBuf, Bucket>>,
    /// Serialises read-modify-write of one host's commits.
    commit: Mutex<()>,
}

/// A path segment from any text: letters, digits, `-` and `_` kept, every other byte `%XX`.
pub(crate) fn segment(s: &str) -> String {
    if s.is_empty() {
        return "%".into();
    }
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TenantStates {
    /// State kept in `dir` (created private), or in memory for `None`.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            memory: Mutex::default(),
            commit: Mutex::default(),
        }
    }

    /// The directory, when state is kept on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Where a tenant's state is filed: by its name, connecting account and app.
    fn relative(name: &str, account: &str, app: &str) -> PathBuf {
        PathBuf::from(segment(name))
            .join(segment(account))
            .join(format!("{}.json", segment(app)))
    }

    fn relative_of(tenant: &Tenant) -> PathBuf {
        Self::relative(&tenant.name, tenant.credentials.account_sid(), &tenant.app)
    }

    fn relative_for(id: &TenantIdentity) -> PathBuf {
        Self::relative(&id.name, &id.account, &id.app)
    }

    /// The tenant's bucket as last committed (empty when there is none).
    pub fn load(&self, tenant: &Tenant) -> Result<Bucket, String> {
        self.load_at(&Self::relative_of(tenant))
    }

    /// The bucket of the tenant named by `id` as last committed (empty when there is none):
    /// what [`load`](Self::load) reads, found without the tenant's secret.
    pub fn load_for(&self, id: &TenantIdentity) -> Result<Bucket, String> {
        self.load_at(&Self::relative_for(id))
    }

    fn load_at(&self, rel: &Path) -> Result<Bucket, String> {
        let Some(dir) = &self.dir else {
            return Ok(lock(&self.memory).get(rel).cloned().unwrap_or_default());
        };
        let path = dir.join(rel);
        let bytes = match read_no_follow(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Bucket::default()),
            Err(e) => return Err(format!("cannot read the state {}: {e}", path.display())),
        };
        check_private(&path, false)?;
        decode(&bytes, &format!("the state {}", path.display()))
    }

    /// Apply a call's writes: every key in `touched` takes its value in `after`, or is removed.
    pub fn commit(
        &self,
        tenant: &Tenant,
        after: &Bucket,
        touched: &BTreeSet<String>,
    ) -> Result<(), String> {
        if touched.is_empty() {
            return Ok(());
        }
        let _one = lock(&self.commit);
        let current = self.load(tenant)?;
        self.store(tenant, merged(&current, after, touched))
    }

    /// Forget the tenant's state.
    pub fn clear(&self, tenant: &Tenant) -> Result<bool, String> {
        self.clear_at(&Self::relative_of(tenant))
    }

    /// Forget the state of the tenant named by `id`: what [`clear`](Self::clear) removes,
    /// found without the tenant's secret.
    pub fn clear_for(&self, id: &TenantIdentity) -> Result<bool, String> {
        self.clear_at(&Self::relative_for(id))
    }

    fn clear_at(&self, rel: &Path) -> Result<bool, String> {
        let _one = lock(&self.commit);
        let Some(dir) = &self.dir else {
            return Ok(lock(&self.memory).remove(rel).is_some());
        };
        match std::fs::remove_file(dir.join(rel)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("cannot remove the state: {e}")),
        }
    }

    fn store(&self, tenant: &Tenant, bucket: Bucket) -> Result<(), String> {
        let rel = Self::relative_of(tenant);
        let Some(dir) = &self.dir else {
            lock(&self.memory).insert(rel, bucket);
            return Ok(());
        };
        let path = dir.join(&rel);
        let parent = path.parent().expect("a file in a directory");
        create_private_dir(parent)?;
        for d in [dir.as_path(), parent] {
            check_private(d, true)?;
        }
        let text = encode(tenant, &bucket);
        let tmp = parent.join(format!(".state.{}.{}.tmp", std::process::id(), nonce()));
        let mut f = create_new_private(&tmp)?;
        if let Err(e) = f.write_all(&text).and_then(|_| f.sync_all()) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("writing {}: {e}", tmp.display()));
        }
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("storing the state {}: {e}", path.display())
        })
    }
}

impl StateBackend for TenantStates {
    fn load<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, Bucket> {
        Box::pin(async move { TenantStates::load(self, tenant) })
    }

    fn commit<'a>(
        &'a self,
        tenant: &'a Tenant,
        after: &'a Bucket,
        touched: &'a BTreeSet<String>,
    ) -> StateFuture<'a, ()> {
        Box::pin(async move { TenantStates::commit(self, tenant, after, touched) })
    }

    fn clear<'a>(&'a self, tenant: &'a Tenant) -> StateFuture<'a, bool> {
        Box::pin(async move { TenantStates::clear(self, tenant) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;

    fn tenant(name: &str, account: &str) -> Tenant {
        Tenant::new(
            name,
            "twilio",
            Credentials::AuthToken {
                account_sid: account.into(),
                auth_token: "token-value".into(),
            },
        )
    }

    fn bucket(pairs: &[(&str, &str)]) -> Bucket {
        Bucket::from_entries(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn commits_merge_touched_keys_and_persist() {
        let dir = std::env::temp_dir().join(format!("ts-{}-{}", std::process::id(), nonce()));
        let states = TenantStates::new(Some(dir.clone()));
        let t = tenant("acme/../x", "AC1");
        let touched = |ks: &[&str]| ks.iter().map(|k| k.to_string()).collect();
        states
            .commit(
                &t,
                &bucket(&[("a", "1"), ("b", "2")]),
                &touched(&["a", "b"]),
            )
            .unwrap();
        // A second call changed b and removed a; c untouched by it stays as it was (absent).
        states
            .commit(&t, &bucket(&[("b", "3")]), &touched(&["a", "b"]))
            .unwrap();
        let again = TenantStates::new(Some(dir.clone()));
        assert_eq!(again.load(&t).unwrap(), bucket(&[("b", "3")]));
        // The name cannot leave the directory; other tenants and accounts see nothing.
        assert!(dir.join("acme%2F%2E%2E%2Fx/AC1/twilio.json").exists());
        assert!(again.load(&tenant("acme/../x", "AC2")).unwrap().is_empty());
        assert!(again.load(&tenant("other", "AC1")).unwrap().is_empty());
        assert!(again.clear(&t).unwrap());
        assert!(again.load(&t).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn state_committed_through_a_tenant_is_found_by_its_identity_alone() {
        let dir = std::env::temp_dir().join(format!("ts-id-{}-{}", std::process::id(), nonce()));
        let touched: BTreeSet<String> = ["k".to_string()].into();
        let id = |name: &str, account: &str, app: &str| TenantIdentity {
            name: name.into(),
            account: account.into(),
            app: app.into(),
        };
        for states in [
            TenantStates::new(Some(dir.clone())),
            TenantStates::new(None),
        ] {
            let t = tenant("acme/../x", "AC1");
            states.commit(&t, &bucket(&[("k", "v")]), &touched).unwrap();
            let found = TenantIdentity::of(&t);
            assert_eq!(found, id("acme/../x", "AC1", "twilio"));
            assert_eq!(states.load_for(&found).unwrap(), bucket(&[("k", "v")]));
            // Another name, account or app finds nothing, and clears nothing.
            for other in [
                id("acme", "AC1", "twilio"),
                id("acme/../x", "AC2", "twilio"),
                id("acme/../x", "AC1", "flex"),
            ] {
                assert!(states.load_for(&other).unwrap().is_empty(), "{other:?}");
                assert!(!states.clear_for(&other).unwrap(), "{other:?}");
            }
            assert!(states.clear_for(&found).unwrap());
            assert!(
                states.load(&t).unwrap().is_empty(),
                "cleared for the tenant too"
            );
            assert!(!states.clear_for(&found).unwrap());
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
