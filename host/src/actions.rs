//! The calls that change an account (status changes and provisioning), each audited whether
//! it succeeds, fails or cannot even start.

use crate::audit::ActionEvent;
use crate::bindings::types::{ActionKind, ActionResult, EntitlementPage, ProvisionRequest};
use crate::errors::CallError;
use crate::host::{Host, guest_call};
use crate::request_policy::{ActionCall, CallKind};
use crate::tenant::Tenant;
use crate::write_fence::WriteFence;
use std::sync::Arc;

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

/// The contract's action kinds by the names the host's policies and audit use.
pub fn kind_name(k: crate::bindings::types::ActionKind) -> &'static str {
    use crate::bindings::types::ActionKind as K;
    match k {
        K::Suspend => "suspend",
        K::Reactivate => "reactivate",
        K::Deprovision => "deprovision",
        K::Provision => "provision",
        K::Grant => "grant",
        K::Revoke => "revoke",
    }
}

impl Host {
    /// Run an action (suspend, reactivate, deprovision) and audit it.
    pub async fn act(
        &self,
        tenant: &Tenant,
        action: Action,
        id: &str,
        dry_run: bool,
    ) -> Result<ActionResult, CallError> {
        self.act_fenced(tenant, action, id, dry_run, None).await
    }

    /// [`Host::act`], asking `fence` before each write the action sends: a refused check
    /// sends nothing more and fails the call with [`CallError::Fenced`]; an action fenced
    /// before its first write is not audited (nothing happened).
    pub async fn act_fenced(
        &self,
        tenant: &Tenant,
        action: Action,
        id: &str,
        dry_run: bool,
        fence: Option<Arc<dyn WriteFence>>,
    ) -> Result<ActionResult, CallError> {
        let cfg = self.config(tenant);
        // In a block so that even a failure to start the call is audited.
        let result = async {
            guest_call!(
                self,
                Some(tenant),
                CallKind::Action(ActionCall {
                    action: action.name().into(),
                    dry_run,
                    target: id.into(),
                    request: None,
                    configured: Vec::new(),
                }),
                fence: fence,
                |api, store| api.call_status_change(store, action.name(), &cfg, id, dry_run)
            )
        }
        .await;
        if !matches!(result, Err(CallError::Fenced { writes_sent: 0, .. })) {
            self.audit_action(tenant, action.name(), id, dry_run, &result);
        }
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
            guest_call!(
                self,
                Some(tenant),
                CallKind::Action(ActionCall {
                    action: "provision".into(),
                    dry_run,
                    target: request.username.clone(),
                    request: Some(provision_fields(request)),
                    configured: Vec::new(),
                }),
                |api, store| api.call_provision(store, &cfg, request, dry_run)
            )
        }
        .await;
        self.audit_action(tenant, "provision", &request.username, dry_run, &result);
        result
    }

    /// Give account `id` the entitlement `entitlement`, and audit it.
    pub async fn grant(
        &self,
        tenant: &Tenant,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> Result<ActionResult, CallError> {
        self.entitlement_change(tenant, ActionKind::Grant, id, entitlement, dry_run, None)
            .await
    }

    /// Take the entitlement `entitlement` from account `id`, and audit it.
    pub async fn revoke(
        &self,
        tenant: &Tenant,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> Result<ActionResult, CallError> {
        self.entitlement_change(tenant, ActionKind::Revoke, id, entitlement, dry_run, None)
            .await
    }

    /// A grant (`grant` true) or a revoke, each upstream write first asking `fence` (a
    /// cluster job's lease), as [`Host::act_fenced`] does.
    pub async fn entitlement_fenced(
        &self,
        tenant: &Tenant,
        grant: bool,
        id: &str,
        entitlement: &str,
        dry_run: bool,
        fence: Option<Arc<dyn WriteFence>>,
    ) -> Result<ActionResult, CallError> {
        let kind = if grant {
            ActionKind::Grant
        } else {
            ActionKind::Revoke
        };
        self.entitlement_change(tenant, kind, id, entitlement, dry_run, fence)
            .await
    }

    async fn entitlement_change(
        &self,
        tenant: &Tenant,
        action: ActionKind,
        id: &str,
        entitlement: &str,
        dry_run: bool,
        fence: Option<Arc<dyn WriteFence>>,
    ) -> Result<ActionResult, CallError> {
        let cfg = self.config(tenant);
        let name = kind_name(action);
        let result = async {
            guest_call!(
                self,
                Some(tenant),
                CallKind::Action(ActionCall {
                    action: name.into(),
                    dry_run,
                    target: id.into(),
                    // What the vendor policy's body rules read of a grant or a revoke.
                    request: Some(serde_json::json!({ "entitlement": entitlement })),
                    configured: Vec::new(),
                }),
                fence: fence,
                |api, store| api.call_entitlement_change(
                    store,
                    action,
                    &cfg,
                    id,
                    entitlement,
                    dry_run
                )
            )
        }
        .await;
        if !matches!(result, Err(CallError::Fenced { writes_sent: 0, .. })) {
            self.audit_entitlement(tenant, name, id, entitlement, dry_run, &result);
        }
        result
    }

    /// What can be granted in the tenant's app, one page at a time.
    pub async fn list_entitlements(
        &self,
        tenant: &Tenant,
        cursor: Option<&str>,
    ) -> Result<EntitlementPage, CallError> {
        let cfg = self.config(tenant);
        guest_call!(self, Some(tenant), CallKind::Entitlements, |api, store| api
            .call_list_entitlements(store, &cfg, cursor))
    }

    fn audit_entitlement(
        &self,
        tenant: &Tenant,
        action: &str,
        id: &str,
        entitlement: &str,
        dry_run: bool,
        result: &Result<ActionResult, CallError>,
    ) {
        self.audit_event(tenant, action, id, Some(entitlement), dry_run, result);
    }

    fn audit_action(
        &self,
        tenant: &Tenant,
        action: &str,
        id: &str,
        dry_run: bool,
        result: &Result<ActionResult, CallError>,
    ) {
        self.audit_event(tenant, action, id, None, dry_run, result);
    }

    fn audit_event(
        &self,
        tenant: &Tenant,
        action: &str,
        id: &str,
        entitlement: Option<&str>,
        dry_run: bool,
        result: &Result<ActionResult, CallError>,
    ) {
        if let Some(a) = &self.options.audit {
            let (text, warnings) = match result {
                Ok(r) => (r.message.clone(), r.warnings.clone()),
                Err(e) => (format!("error: {e}"), Vec::new()),
            };
            let ok = result.is_ok();
            a.action(&ActionEvent {
                tenant: tenant.name.clone(),
                app: tenant.app.clone(),
                account: id.to_string(),
                action: action.to_string(),
                entitlement: entitlement.map(str::to_string),
                dry_run,
                ok,
                result: text,
                warnings,
            });
        }
    }
}

/// A provisioning request as the vendor policy's body rules read it: `username`, `email`,
/// `full_name`, `roles`, and `attributes` (the JSON object given, `{}` when none or when it is
/// not an object: the plugin must then send none).
pub fn provision_fields(request: &ProvisionRequest) -> serde_json::Value {
    let attributes = request
        .attributes_json
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    let mut roles: Vec<&str> = Vec::new();
    for r in &request.roles {
        if !roles.contains(&r.as_str()) {
            roles.push(r);
        }
    }
    serde_json::json!({
        "username": request.username,
        "email": request.email,
        "full_name": request.full_name,
        "roles": roles,
        "attributes": attributes,
    })
}
