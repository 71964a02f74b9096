//! The calls that change an account (status changes and provisioning), each audited whether
//! it succeeds, fails or cannot even start.

use crate::audit::ActionEvent;
use crate::bindings::types::{ActionResult, ProvisionRequest};
use crate::errors::CallError;
use crate::host::{Host, guest_call};
use crate::request_policy::CallKind;
use crate::tenant::Tenant;

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

impl Host {
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
            guest_call!(
                self,
                Some(tenant),
                CallKind::Action {
                    action: action.name(),
                    dry_run
                },
                |api, store| api.call_status_change(store, action.name(), &cfg, id, dry_run)
            )
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
            guest_call!(
                self,
                Some(tenant),
                CallKind::Action {
                    action: "provision",
                    dry_run
                },
                |api, store| api.call_provision(store, &cfg, request, dry_run)
            )
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
            let ok = result.is_ok();
            a.action(&ActionEvent {
                tenant: tenant.name.clone(),
                app: tenant.app.clone(),
                account: id.to_string(),
                action: action.to_string(),
                dry_run,
                ok,
                result: text,
                warnings,
            });
        }
    }
}
