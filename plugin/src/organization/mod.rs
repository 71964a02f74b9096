//! The `organization` app: the users of a Twilio Organization (its SCIM Users on
//! preview-iam.twilio.com), their role assignments as entitlements, and their last activity
//! from Monitor Events; suspend / reactivate (SCIM PATCH of `active`), deprovision (SCIM
//! DELETE, which Twilio answers by deactivating the user), provision (SCIM POST), and grant /
//! revoke of a role at a scope (RoleAssignments).
//!
//! The organization APIs take only an OAuth bearer token, which the host mints and attaches;
//! Monitor takes the connecting account's own (Basic) credentials, which the host attaches
//! when the tenant has them. The plugin never sees either.

pub mod actions;
pub mod activity;
pub mod errors;
pub mod roles;
pub mod users;

use crate::app::App;
use crate::errors::ConnectorError;
use crate::model::{
    Account, AccountPage, ActionResult, AppInfo, Capability, Config, EntitlementPage,
    ProvisionRequest, Result, RouteSpec, StatusChange,
};
use crate::retry::Client;
use crate::sid::is_sid;
use crate::state::State;
use connector_routes::Method;

/// The organization APIs' host (SCIM Users, Accounts, RoleAssignments).
pub const PREVIEW_IAM_HOST: &str = "preview-iam.twilio.com";
/// Monitor Events' host (last activity).
pub const MONITOR_HOST: &str = "monitor.twilio.com";

/// The plugin option naming the organization (`OR…`); the CLI's `TWILIO_ORGANIZATION_SID`.
pub const ORGANIZATION_SID: &str = "organization_sid";
/// The plugin option naming the organization user (`US…`) the connecting OAuth client acts
/// as, when it acts as one: that user is never suspended, deprovisioned, granted or revoked
/// through its own client.
pub const CLIENT_USER_SID: &str = "organization_client_user_sid";

/// Static description of the app.
pub const INFO: AppInfo = AppInfo {
    name: "organization",
    description: "Twilio Organization users (SCIM), their role assignments and Monitor activity",
    hosts: &[PREVIEW_IAM_HOST, MONITOR_HOST],
    capabilities: &[
        Capability::ListAccounts,
        Capability::GetAccount,
        Capability::Suspend,
        Capability::Reactivate,
        Capability::Deprovision,
        Capability::Provision,
        Capability::ListEntitlements,
        Capability::Grant,
        Capability::Revoke,
    ],
    routes: &[
        RouteSpec::get(PREVIEW_IAM_HOST, "/Organizations/{OR}/scim/Users"),
        RouteSpec::get(PREVIEW_IAM_HOST, "/Organizations/{OR}/scim/Users/{US}"),
        RouteSpec::write(
            Method::Post,
            PREVIEW_IAM_HOST,
            "/Organizations/{OR}/scim/Users",
            &["provision"],
        ),
        RouteSpec::write(
            Method::Patch,
            PREVIEW_IAM_HOST,
            "/Organizations/{OR}/scim/Users/{US}",
            &["suspend", "reactivate"],
        ),
        RouteSpec::write(
            Method::Delete,
            PREVIEW_IAM_HOST,
            "/Organizations/{OR}/scim/Users/{US}",
            &["deprovision"],
        ),
        RouteSpec::get(PREVIEW_IAM_HOST, "/Organizations/{OR}/Accounts"),
        RouteSpec::get(PREVIEW_IAM_HOST, "/Organizations/{OR}/Accounts/{AC}"),
        RouteSpec::get(PREVIEW_IAM_HOST, "/Organizations/{OR}/RoleAssignments"),
        RouteSpec::write(
            Method::Post,
            PREVIEW_IAM_HOST,
            "/Organizations/{OR}/RoleAssignments",
            &["grant"],
        ),
        RouteSpec::write(
            Method::Delete,
            PREVIEW_IAM_HOST,
            "/Organizations/{OR}/RoleAssignments/{IY}",
            &["revoke"],
        ),
        RouteSpec::get(MONITOR_HOST, "/v1/Events"),
    ],
};

/// The organization SID from the plugin options, checked before it goes into a URL.
pub fn organization(cfg: &Config) -> Result<&str> {
    match cfg
        .option(ORGANIZATION_SID)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(or) if is_sid(or, "OR") => Ok(or),
        Some(or) => Err(ConnectorError::InvalidConfig(format!(
            "{or:?} is not a Twilio Organization SID ({}); set the plugin option {ORGANIZATION_SID} (TWILIO_ORGANIZATION_SID)",
            crate::sid::describe("OR")
        ))),
        None => Err(ConnectorError::InvalidConfig(format!(
            "the organization app needs the Organization SID (OR…): set the plugin option {ORGANIZATION_SID} (TWILIO_ORGANIZATION_SID)"
        ))),
    }
}

/// The user the connecting OAuth client acts as, when the options name one.
pub fn client_user(cfg: &Config) -> Result<Option<&str>> {
    match cfg
        .option(CLIENT_USER_SID)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(us) if is_sid(us, "US") => Ok(Some(us)),
        Some(us) => Err(ConnectorError::InvalidConfig(format!(
            "{us:?} (plugin option {CLIENT_USER_SID}) is not a Twilio user SID ({})",
            crate::sid::describe("US")
        ))),
    }
}

/// Absolute URL of `path` under organization `or` on preview-iam.
pub fn org_url(or: &str, path: &str) -> String {
    format!("https://{PREVIEW_IAM_HOST}/Organizations/{or}{path}")
}

/// The `organization` app, as `crate::apps` registers it.
pub struct Organization;

impl App for Organization {
    fn info(&self) -> &'static AppInfo {
        &INFO
    }

    /// One page of one account of the organization: the token reaches its APIs.
    fn check(&self, client: &mut Client<'_>, cfg: &Config) -> Result<String> {
        let or = organization(cfg)?;
        let page = roles::accounts_page(client, or, None, 1)?;
        Ok(format!(
            "connected to Twilio Organization {or}: its Accounts are readable{}",
            page.items
                .first()
                .map(|a| format!(" (first: {})", a.account_sid))
                .unwrap_or_default()
        ))
    }

    fn list_page(
        &self,
        client: &mut Client<'_>,
        _state: &mut dyn State,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> Result<AccountPage> {
        users::list_page(client, cfg, cursor)
    }

    fn get(&self, client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
        users::get(client, cfg, id)
    }

    fn status_change(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        change: StatusChange,
        dry_run: bool,
    ) -> Result<ActionResult> {
        actions::status_change(client, cfg, id, change, dry_run)
    }

    fn provision(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        request: &ProvisionRequest,
        dry_run: bool,
    ) -> Result<ActionResult> {
        actions::provision(client, cfg, request, dry_run)
    }

    fn list_entitlements(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        cursor: Option<&str>,
    ) -> Result<EntitlementPage> {
        roles::list_entitlements(client, cfg, cursor)
    }

    fn grant(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> Result<ActionResult> {
        actions::grant(client, cfg, id, entitlement, dry_run)
    }

    fn revoke(
        &self,
        client: &mut Client<'_>,
        cfg: &Config,
        id: &str,
        entitlement: &str,
        dry_run: bool,
    ) -> Result<ActionResult> {
        actions::revoke(client, cfg, id, entitlement, dry_run)
    }
}

#[cfg(test)]
pub(crate) mod fake_org;

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(options: &[(&str, &str)]) -> Config {
        Config {
            app: "organization".into(),
            account_id: "AC0000000000000000000000000000a001".into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_organization_sid_is_required_and_checked() {
        let e = organization(&cfg(&[])).unwrap_err();
        assert!(
            matches!(&e, ConnectorError::InvalidConfig(m)
                if m.contains(ORGANIZATION_SID) && m.contains("TWILIO_ORGANIZATION_SID")),
            "{e:?}"
        );
        let e = organization(&cfg(&[(ORGANIZATION_SID, "OR12")])).unwrap_err();
        assert!(matches!(e, ConnectorError::InvalidConfig(m) if m.contains("OR12")));
        let or = "OR0000000000000000000000000000aa01";
        assert_eq!(organization(&cfg(&[(ORGANIZATION_SID, or)])), Ok(or));
        assert_eq!(client_user(&cfg(&[])), Ok(None));
        assert!(client_user(&cfg(&[(CLIENT_USER_SID, "me")])).is_err());
    }

    #[test]
    fn without_the_organization_sid_nothing_is_sent() {
        let mut t = crate::fake::FakeTransport::for_app(&INFO);
        let mut c = Client::new(&mut t, crate::retry::Policy::default());
        let mut state = crate::state::MemoryState::default();
        let cfg = cfg(&[]);
        let app = Organization;
        let us = "US0000000000000000000000000000ab02";
        let outcomes = [
            app.check(&mut c, &cfg).map(drop),
            app.list_page(&mut c, &mut state, &cfg, None).map(drop),
            app.get(&mut c, &cfg, us).map(drop),
            app.status_change(&mut c, &cfg, us, StatusChange::Suspend, false)
                .map(drop),
            app.list_entitlements(&mut c, &cfg, None).map(drop),
            app.grant(&mut c, &cfg, us, "x", false).map(drop),
            app.revoke(&mut c, &cfg, us, "x", false).map(drop),
        ];
        for o in outcomes {
            assert!(matches!(o, Err(ConnectorError::InvalidConfig(_))), "{o:?}");
        }
        assert!(t.requests.is_empty());
    }
}
