//! One binding module per released version of the contract (as Zed's extension host keeps
//! one per `since_v…` API): a plugin is linked against the newest version it implements, and
//! every call's values are converted to the latest types the rest of the host uses (0.1.0 and
//! 0.2.0 through 0.3.0's conversions).

pub mod latest;
pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

pub use latest::types;

use crate::store::HostState;
use types::{
    Account, AccountPage, ActionKind, ActionResult, Config, ConnectorError, ConnectorInfo,
    EntitlementPage, ProvisionRequest,
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
    /// `governance:connector@0.4.0`: grant, revoke, list-entitlements; typed actions.
    V0_4_0,
}

impl ContractVersion {
    /// As written in the WIT package.
    pub fn name(self) -> &'static str {
        match self {
            Self::V0_1_0 => "0.1.0",
            Self::V0_2_0 => "0.2.0",
            Self::V0_3_0 => "0.3.0",
            Self::V0_4_0 => "0.4.0",
        }
    }
}

/// A pre-linked plugin of any released version.
#[derive(Clone)]
pub enum PluginPre {
    Latest(latest::ConnectorPluginPre<HostState>),
    V0_3_0(v0_3_0::ConnectorPluginPre<HostState>),
    V0_2_0(v0_2_0::ConnectorPluginPre<HostState>),
    V0_1_0(v0_1_0::ConnectorPluginPre<HostState>),
}

/// An instance of any released version.
pub enum Plugin {
    Latest(latest::ConnectorPlugin),
    V0_3_0(v0_3_0::ConnectorPlugin),
    V0_2_0(v0_2_0::ConnectorPlugin),
    V0_1_0(v0_1_0::ConnectorPlugin),
}

impl PluginPre {
    /// Link `pre` against the newest contract version its exports match; when none does,
    /// the error says why each one failed.
    pub fn new(pre: InstancePre<HostState>) -> anyhow::Result<Self> {
        let mut why = Vec::new();
        match latest::ConnectorPluginPre::new(pre.clone()) {
            Ok(p) => return Ok(Self::Latest(p)),
            Err(e) => why.push(format!("0.4.0: {e:#}")),
        }
        match v0_3_0::ConnectorPluginPre::new(pre.clone()) {
            Ok(p) => return Ok(Self::V0_3_0(p)),
            Err(e) => why.push(format!("0.3.0: {e:#}")),
        }
        match v0_2_0::ConnectorPluginPre::new(pre.clone()) {
            Ok(p) => return Ok(Self::V0_2_0(p)),
            Err(e) => why.push(format!("0.2.0: {e:#}")),
        }
        match v0_1_0::ConnectorPluginPre::new(pre) {
            Ok(p) => return Ok(Self::V0_1_0(p)),
            Err(e) => why.push(format!("0.1.0: {e:#}")),
        }
        Err(anyhow::anyhow!(
            "the plugin exports no known version of governance:connector/connector; {}",
            why.join("; ")
        ))
    }

    /// The version the plugin implements.
    pub fn version(&self) -> ContractVersion {
        match self {
            Self::Latest(_) => ContractVersion::V0_4_0,
            Self::V0_3_0(_) => ContractVersion::V0_3_0,
            Self::V0_2_0(_) => ContractVersion::V0_2_0,
            Self::V0_1_0(_) => ContractVersion::V0_1_0,
        }
    }

    /// A fresh instance in `store`.
    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Plugin> {
        Ok(match self {
            Self::Latest(p) => Plugin::Latest(p.instantiate_async(store).await?),
            Self::V0_3_0(p) => Plugin::V0_3_0(p.instantiate_async(store).await?),
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

/// A 0.1.0 answer: up to 0.3.0's values, then to the latest.
fn up2<T, M, U, E1, E2>(r: wasmtime::Result<Result<U, E1>>) -> Answer<T>
where
    U: Into<M>,
    M: Into<T>,
    E1: Into<E2>,
    E2: Into<ConnectorError>,
{
    r.map(|inner| inner.map(|v| v.into().into()).map_err(|e| e.into().into()))
}

/// An action's result from a 0.3.0-typed answer.
fn up_result(
    r: wasmtime::Result<Result<v0_3_0::types::ActionResult, v0_3_0::types::ConnectorError>>,
    called: ActionKind,
) -> Answer<ActionResult> {
    r.map(|inner| {
        inner
            .map(|a| v0_3_0::action_result(a, called))
            .map_err(Into::into)
    })
}

/// What a plugin of an older contract answers for a call it does not have.
fn not_in(version: ContractVersion, call: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "the plugin implements governance:connector@{}, which has no {call} (0.4.0 added it)",
        version.name()
    ))
}

/// The action a status change names.
fn status_action(action: &str) -> ActionKind {
    match action {
        "suspend" => ActionKind::Suspend,
        "reactivate" => ActionKind::Reactivate,
        _ => ActionKind::Deprovision,
    }
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
            Self::V0_3_0(p) => p
                .governance_connector_connector()
                .call_metadata(store)
                .await
                .map(Into::into),
            Self::V0_2_0(p) => p
                .governance_connector_connector()
                .call_metadata(store)
                .await
                .map(Into::into),
            Self::V0_1_0(p) => p
                .governance_connector_connector()
                .call_metadata(store)
                .await
                .map(|i| ConnectorInfo::from(v0_3_0::types::ConnectorInfo::from(i))),
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
            Self::V0_3_0(p) => up(p
                .governance_connector_connector()
                .call_check(store, &cfg.into())
                .await),
            Self::V0_2_0(p) => up(p
                .governance_connector_connector()
                .call_check(store, &cfg.into())
                .await),
            Self::V0_1_0(p) => {
                let cfg3: v0_3_0::types::Config = cfg.into();
                up2::<
                    String,
                    String,
                    _,
                    v0_1_0::governance::connector::types::ConnectorError,
                    v0_3_0::types::ConnectorError,
                >(
                    p.governance_connector_connector()
                        .call_check(store, &(&cfg3).into())
                        .await,
                )
            }
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
            Self::V0_3_0(p) => up(p
                .governance_connector_connector()
                .call_list_accounts(store, &cfg.into(), cursor)
                .await),
            Self::V0_2_0(p) => up(p
                .governance_connector_connector()
                .call_list_accounts(store, &cfg.into(), cursor)
                .await),
            Self::V0_1_0(p) => {
                let cfg3: v0_3_0::types::Config = cfg.into();
                up2::<AccountPage, v0_3_0::types::AccountPage, _, _, v0_3_0::types::ConnectorError>(
                    p.governance_connector_connector()
                        .call_list_accounts(store, &(&cfg3).into(), cursor)
                        .await,
                )
            }
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
            Self::V0_3_0(p) => up(p
                .governance_connector_connector()
                .call_get_account(store, &cfg.into(), id)
                .await),
            Self::V0_2_0(p) => up(p
                .governance_connector_connector()
                .call_get_account(store, &cfg.into(), id)
                .await),
            Self::V0_1_0(p) => {
                let cfg3: v0_3_0::types::Config = cfg.into();
                up2::<Account, v0_3_0::types::Account, _, _, v0_3_0::types::ConnectorError>(
                    p.governance_connector_connector()
                        .call_get_account(store, &(&cfg3).into(), id)
                        .await,
                )
            }
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
        let called = status_action(action);
        match self {
            Self::Latest(p) => {
                let api = p.governance_connector_connector();
                match called {
                    ActionKind::Suspend => api.call_suspend(store, cfg, id, dry_run).await,
                    ActionKind::Reactivate => api.call_reactivate(store, cfg, id, dry_run).await,
                    _ => api.call_deprovision(store, cfg, id, dry_run).await,
                }
            }
            Self::V0_3_0(p) => {
                let api = p.governance_connector_connector();
                let cfg = cfg.into();
                up_result(
                    match called {
                        ActionKind::Suspend => api.call_suspend(store, &cfg, id, dry_run).await,
                        ActionKind::Reactivate => {
                            api.call_reactivate(store, &cfg, id, dry_run).await
                        }
                        _ => api.call_deprovision(store, &cfg, id, dry_run).await,
                    },
                    called,
                )
            }
            Self::V0_2_0(p) => {
                let api = p.governance_connector_connector();
                let cfg = cfg.into();
                up_result(
                    match called {
                        ActionKind::Suspend => api.call_suspend(store, &cfg, id, dry_run).await,
                        ActionKind::Reactivate => {
                            api.call_reactivate(store, &cfg, id, dry_run).await
                        }
                        _ => api.call_deprovision(store, &cfg, id, dry_run).await,
                    },
                    called,
                )
            }
            Self::V0_1_0(p) => {
                let api = p.governance_connector_connector();
                let cfg3: v0_3_0::types::Config = cfg.into();
                let cfg = (&cfg3).into();
                let r = match called {
                    ActionKind::Suspend => api.call_suspend(store, &cfg, id, dry_run).await,
                    ActionKind::Reactivate => api.call_reactivate(store, &cfg, id, dry_run).await,
                    _ => api.call_deprovision(store, &cfg, id, dry_run).await,
                };
                up_result(
                    r.map(|inner| inner.map(Into::into).map_err(Into::into)),
                    called,
                )
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
        let called = ActionKind::Provision;
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_provision(store, cfg, request, dry_run)
                    .await
            }
            Self::V0_3_0(p) => up_result(
                p.governance_connector_connector()
                    .call_provision(store, &cfg.into(), &request.into(), dry_run)
                    .await,
                called,
            ),
            Self::V0_2_0(p) => up_result(
                p.governance_connector_connector()
                    .call_provision(store, &cfg.into(), &request.into(), dry_run)
                    .await,
                called,
            ),
            Self::V0_1_0(p) => {
                let cfg3: v0_3_0::types::Config = cfg.into();
                let req3: v0_3_0::types::ProvisionRequest = request.into();
                let r = p
                    .governance_connector_connector()
                    .call_provision(store, &(&cfg3).into(), &(&req3).into(), dry_run)
                    .await;
                up_result(
                    r.map(|inner| inner.map(Into::into).map_err(Into::into)),
                    called,
                )
            }
        }
    }

    fn version(&self) -> ContractVersion {
        match self {
            Self::Latest(_) => ContractVersion::V0_4_0,
            Self::V0_3_0(_) => ContractVersion::V0_3_0,
            Self::V0_2_0(_) => ContractVersion::V0_2_0,
            Self::V0_1_0(_) => ContractVersion::V0_1_0,
        }
    }

    /// `list-entitlements` (0.4.0 and later).
    pub async fn call_list_entitlements(
        &self,
        store: &mut Store<HostState>,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> Answer<EntitlementPage> {
        match self {
            Self::Latest(p) => {
                p.governance_connector_connector()
                    .call_list_entitlements(store, cfg, cursor)
                    .await
            }
            _ => Ok(Err(not_in(self.version(), "list-entitlements"))),
        }
    }

    /// `grant` or `revoke` (0.4.0 and later).
    pub async fn call_entitlement_change(
        &self,
        store: &mut Store<HostState>,
        action: ActionKind,
        cfg: &Config,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> Answer<ActionResult> {
        let name = if action == ActionKind::Grant {
            "grant"
        } else {
            "revoke"
        };
        match self {
            Self::Latest(p) => {
                let api = p.governance_connector_connector();
                if action == ActionKind::Grant {
                    api.call_grant(store, cfg, id, entitlement, dry_run).await
                } else {
                    api.call_revoke(store, cfg, id, entitlement, dry_run).await
                }
            }
            _ => Ok(Err(not_in(self.version(), name))),
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
            (
                "0.3.0",
                "ac28a91f8ee38cf00de1a19256db4074e89b4a8e3d616ee69d23767473d554c6",
                13,
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
