//! One binding module per released version of the contract (as Zed's extension host keeps
//! one per `since_v…` API): a plugin is linked against the newest version it implements, and
//! every call's values are converted to the latest types the rest of the host uses.

pub mod latest;
pub mod v0_1_0;
pub mod v0_2_0;

pub use latest::types;

use crate::store::HostState;
use types::{
    Account, AccountPage, ActionResult, Config, ConnectorError, ConnectorInfo, ProvisionRequest,
};
use wasmtime::Store;
use wasmtime::component::InstancePre;

/// The contract version a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractVersion {
    /// `governance:connector@0.1.0`: no declared routes.
    V0_1_0,
    /// `governance:connector@0.2.0`: routes declared per app.
    V0_2_0,
    /// `governance:connector@0.3.0`: host-kept state through `wasi:keyvalue`.
    V0_3_0,
}

impl ContractVersion {
    /// As written in the WIT package.
    pub fn name(self) -> &'static str {
        match self {
            Self::V0_1_0 => "0.1.0",
            Self::V0_2_0 => "0.2.0",
            Self::V0_3_0 => "0.3.0",
        }
    }
}

/// A pre-linked plugin of either version.
#[derive(Clone)]
pub enum PluginPre {
    Latest(latest::ConnectorPluginPre<HostState>),
    V0_2_0(v0_2_0::ConnectorPluginPre<HostState>),
    V0_1_0(v0_1_0::ConnectorPluginPre<HostState>),
}

/// An instance of either version.
pub enum Plugin {
    Latest(latest::ConnectorPlugin),
    V0_2_0(v0_2_0::ConnectorPlugin),
    V0_1_0(v0_1_0::ConnectorPlugin),
}

impl PluginPre {
    /// Link `pre` against the newest contract version its exports match.
    pub fn new(pre: InstancePre<HostState>) -> anyhow::Result<Self> {
        if let Ok(p) = latest::ConnectorPluginPre::new(pre.clone()) {
            return Ok(Self::Latest(p));
        }
        if let Ok(p) = v0_2_0::ConnectorPluginPre::new(pre.clone()) {
            return Ok(Self::V0_2_0(p));
        }
        match v0_1_0::ConnectorPluginPre::new(pre) {
            Ok(p) => Ok(Self::V0_1_0(p)),
            Err(e) => Err(anyhow::anyhow!(
                "the plugin exports no known version of governance:connector/connector (0.3.0, 0.2.0 or 0.1.0): {e:#}"
            )),
        }
    }

    /// The version the plugin implements.
    pub fn version(&self) -> ContractVersion {
        match self {
            Self::Latest(_) => ContractVersion::V0_3_0,
            Self::V0_2_0(_) => ContractVersion::V0_2_0,
            Self::V0_1_0(_) => ContractVersion::V0_1_0,
        }
    }

    /// A fresh instance in `store`.
    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Plugin> {
        Ok(match self {
            Self::Latest(p) => Plugin::Latest(p.instantiate_async(store).await?),
            Self::V0_2_0(p) => Plugin::V0_2_0(p.instantiate_async(store).await?),
            Self::V0_1_0(p) => Plugin::V0_1_0(p.instantiate_async(store).await?),
        })
    }
}

/// The result of a guest call: a trap, or the plugin's own answer.
type Answer<T> = wasmtime::Result<Result<T, ConnectorError>>;

/// Convert an old answer to the latest types.
fn up<T, U: Into<T>, E: Into<ConnectorError>>(r: wasmtime::Result<Result<U, E>>) -> Answer<T> {
    r.map(|inner| inner.map(Into::into).map_err(Into::into))
}

impl Plugin {
    /// `metadata`.
    pub async fn call_metadata(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<ConnectorInfo> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_metadata(store)
                    .await
            }
            Self::V0_2_0(p) => {
                p.governance_connector_connector()
                    .call_metadata(store)
                    .await
            }
            Self::V0_1_0(p) => p
                .governance_connector_connector()
                .call_metadata(store)
                .await
                .map(Into::into),
        }
    }

    /// `check`.
    pub async fn call_check(&self, store: &mut Store<HostState>, cfg: &Config) -> Answer<String> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_check(store, cfg)
                    .await
            }
            Self::V0_2_0(p) => {
                p.governance_connector_connector()
                    .call_check(store, cfg)
                    .await
            }
            Self::V0_1_0(p) => up(p
                .governance_connector_connector()
                .call_check(store, &cfg.into())
                .await),
        }
    }

    /// `list-accounts`.
    pub async fn call_list_accounts(
        &self,
        store: &mut Store<HostState>,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> Answer<AccountPage> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_list_accounts(store, cfg, cursor)
                    .await
            }
            Self::V0_2_0(p) => {
                p.governance_connector_connector()
                    .call_list_accounts(store, cfg, cursor)
                    .await
            }
            Self::V0_1_0(p) => up(p
                .governance_connector_connector()
                .call_list_accounts(store, &cfg.into(), cursor)
                .await),
        }
    }

    /// `get-account`.
    pub async fn call_get_account(
        &self,
        store: &mut Store<HostState>,
        cfg: &Config,
        id: &str,
    ) -> Answer<Account> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_get_account(store, cfg, id)
                    .await
            }
            Self::V0_2_0(p) => {
                p.governance_connector_connector()
                    .call_get_account(store, cfg, id)
                    .await
            }
            Self::V0_1_0(p) => up(p
                .governance_connector_connector()
                .call_get_account(store, &cfg.into(), id)
                .await),
        }
    }

    /// `suspend`, `reactivate` or `deprovision`, by name.
    pub async fn call_status_change(
        &self,
        store: &mut Store<HostState>,
        action: &str,
        cfg: &Config,
        id: &str,
        dry_run: bool,
    ) -> Answer<ActionResult> {
        match self {
            Self::Latest(p) => {
                let api = p.governance_connector_connector();
                match action {
                    "suspend" => api.call_suspend(store, cfg, id, dry_run).await,
                    "reactivate" => api.call_reactivate(store, cfg, id, dry_run).await,
                    _ => api.call_deprovision(store, cfg, id, dry_run).await,
                }
            }
            Self::V0_2_0(p) => {
                let api = p.governance_connector_connector();
                match action {
                    "suspend" => api.call_suspend(store, cfg, id, dry_run).await,
                    "reactivate" => api.call_reactivate(store, cfg, id, dry_run).await,
                    _ => api.call_deprovision(store, cfg, id, dry_run).await,
                }
            }
            Self::V0_1_0(p) => {
                let api = p.governance_connector_connector();
                let cfg = cfg.into();
                up(match action {
                    "suspend" => api.call_suspend(store, &cfg, id, dry_run).await,
                    "reactivate" => api.call_reactivate(store, &cfg, id, dry_run).await,
                    _ => api.call_deprovision(store, &cfg, id, dry_run).await,
                })
            }
        }
    }

    /// `provision`.
    pub async fn call_provision(
        &self,
        store: &mut Store<HostState>,
        cfg: &Config,
        request: &ProvisionRequest,
        dry_run: bool,
    ) -> Answer<ActionResult> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_provision(store, cfg, request, dry_run)
                    .await
            }
            Self::V0_2_0(p) => {
                p.governance_connector_connector()
                    .call_provision(store, cfg, request, dry_run)
                    .await
            }
            Self::V0_1_0(p) => up(p
                .governance_connector_connector()
                .call_provision(store, &cfg.into(), &request.into(), dry_run)
                .await),
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// A released contract never changes: each `wit/since_v*` tree is pinned whole, its
    /// dependencies included, by a digest of every file's path and bytes (a change of the
    /// contract is a new version beside it). No link may stand in for a file: a link to the
    /// live `wit/deps` would let a change there change a released contract.
    #[test]
    fn released_versions_stay_frozen_with_their_dependencies() {
        for (version, pinned, files) in [
            (
                "0.1.0",
                "41eb567b4084ef75c69c946d907ea1b17bcd7e59b678f2247302f968ab97cd71",
                8,
            ),
            (
                "0.2.0",
                "a2cf15dd916e1f5938f23cba88f8f16c7a1603faafe08cc10f80f60449ae416d",
                8,
            ),
        ] {
            let root = std::path::PathBuf::from(format!(
                "{}/../wit/since_v{version}",
                env!("CARGO_MANIFEST_DIR")
            ));
            let mut found = Vec::new();
            let mut todo = vec![root.clone()];
            while let Some(dir) = todo.pop() {
                for e in std::fs::read_dir(&dir).unwrap() {
                    let e = e.unwrap();
                    let kind = e.file_type().unwrap();
                    assert!(
                        !kind.is_symlink(),
                        "{} is a link: a released version holds its own copy",
                        e.path().display()
                    );
                    if kind.is_dir() {
                        todo.push(e.path());
                    } else {
                        let rel = e.path().strip_prefix(&root).unwrap().to_path_buf();
                        found.push(rel.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
            found.sort();
            let mut h = Sha256::new();
            for rel in &found {
                let data = std::fs::read(root.join(rel)).unwrap();
                h.update(rel.as_bytes());
                h.update(b"\0");
                h.update(data.len().to_string().as_bytes());
                h.update(b"\0");
                h.update(&data);
            }
            let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(found.len(), files, "wit/since_v{version}: {found:?}");
            assert_eq!(
                digest, pinned,
                "wit/since_v{version} is released: add a new version instead of editing it or its deps"
            );
        }
    }
}
