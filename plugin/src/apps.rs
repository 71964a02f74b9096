//! The apps this connector serves, registered in one place, and the dispatch of each contract
//! call to the configured app's [`App`] implementation (in the app's own module).
//!
//! A new app is a module implementing [`App`] and one line in [`APPS`].

use crate::app::App;
use crate::errors::ConnectorError;
use crate::model::{
    Account, AccountPage, ActionResult, AppInfo, Config, EntitlementPage, ProvisionRequest, Result,
    StatusChange,
};
use crate::retry::Client;
use crate::state::State;
use crate::{flex, frontline, twilio};

/// Connector name reported in metadata.
pub const NAME: &str = "twilio-governance-connector";

/// Every app, in the order they are reported.
pub const APPS: &[&dyn App] = &[
    &twilio::Twilio,
    &flex::Flex,
    &frontline::Frontline,
    &crate::organization::Organization,
];

/// The static description of every app, in the order they are reported (the metadata).
pub fn infos() -> impl Iterator<Item = &'static AppInfo> {
    APPS.iter().map(|app| app.info())
}

/// Look the configured app up, and check the connecting account is named.
pub fn lookup(cfg: &Config) -> Result<&'static dyn App> {
    let Some(&app) = APPS.iter().find(|app| app.info().name == cfg.app) else {
        let known: Vec<_> = infos().map(|a| a.name).collect();
        return Err(ConnectorError::InvalidConfig(format!(
            "unknown app {:?}; this connector serves: {}",
            cfg.app,
            known.join(", ")
        )));
    };
    if cfg.account_id.trim().is_empty() {
        return Err(ConnectorError::InvalidConfig(
            "the connecting account SID is missing (TWILIO_ACCOUNT_SID)".into(),
        ));
    }
    Ok(app)
}

/// Verify configuration and credentials with one cheap read.
pub fn check(client: &mut Client<'_>, cfg: &Config) -> Result<String> {
    lookup(cfg)?.check(client, cfg)
}

/// One page of accounts.
pub fn list_accounts(
    client: &mut Client<'_>,
    state: &mut dyn State,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    lookup(cfg)?.list_page(client, state, cfg, cursor)
}

/// One account.
pub fn get_account(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    lookup(cfg)?.get(client, cfg, id)
}

/// A status change (suspend, reactivate, deprovision).
pub fn change_status(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    change: StatusChange,
    dry_run: bool,
) -> Result<ActionResult> {
    lookup(cfg)?.status_change(client, cfg, id, change, dry_run)
}

/// Provision a user where the app supports it.
pub fn provision(
    client: &mut Client<'_>,
    cfg: &Config,
    request: &ProvisionRequest,
    dry_run: bool,
) -> Result<ActionResult> {
    lookup(cfg)?.provision(client, cfg, request, dry_run)
}

/// One page of what the app can grant.
pub fn list_entitlements(
    client: &mut Client<'_>,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<EntitlementPage> {
    lookup(cfg)?.list_entitlements(client, cfg, cursor)
}

/// Grant an account one entitlement where the app supports it.
pub fn grant(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    entitlement: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    lookup(cfg)?.grant(client, cfg, id, entitlement, dry_run)
}

/// Revoke one entitlement of an account where the app supports it.
pub fn revoke(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    entitlement: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    lookup(cfg)?.revoke(client, cfg, id, entitlement, dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeTransport;
    use crate::model::{Capability, route_actions};
    use crate::options;
    use crate::retry::Policy;
    use crate::sid::SID_SHAPE;
    use crate::state::MemoryState;
    use connector_routes::Route;

    const MAIN: &str = "AC00000000000000000000000000000000";
    const SUB: &str = "AC00000000000000000000000000000001";
    const INSTANCE: &str = "GO00000000000000000000000000000001";

    /// A configuration of `app` under which each of its calls gets as far as it can: the
    /// connecting account named, and a Flex instance (read only by the flex app).
    fn cfg(app: &str) -> Config {
        Config {
            app: app.into(),
            account_id: MAIN.into(),
            options: vec![(options::FLEX_INSTANCE.into(), INSTANCE.into())],
        }
    }

    /// A provisioning request every app's validation accepts.
    fn request() -> ProvisionRequest {
        ProvisionRequest {
            username: "erin".into(),
            email: "erin@acme.example".into(),
            full_name: "Erin Example".into(),
            roles: vec!["agent".into()],
            attributes_json: None,
        }
    }

    /// Every capability of the contract. (`call` matches on them exhaustively: a new one has
    /// to be added there, and so here.)
    const CAPABILITIES: [Capability; 9] = [
        Capability::ListAccounts,
        Capability::GetAccount,
        Capability::Suspend,
        Capability::Reactivate,
        Capability::Deprovision,
        Capability::Provision,
        Capability::ListEntitlements,
        Capability::Grant,
        Capability::Revoke,
    ];

    /// An entitlement id to grant and revoke (a Flex role).
    const ENTITLEMENT: &str = "supervisor";

    /// Call `app`'s method of `capability` (actions as dry-runs) over a fake that refuses what
    /// the app does not declare and answers 404 to the rest; the outcome and what was sent.
    fn call(app: &dyn App, capability: Capability) -> (Result<()>, usize) {
        let cfg = cfg(app.info().name);
        let mut t = FakeTransport::for_app(app.info());
        let mut state = MemoryState::default();
        let mut c = Client::new(&mut t, Policy::default());
        let outcome = match capability {
            Capability::ListAccounts => app.list_page(&mut c, &mut state, &cfg, None).map(drop),
            Capability::GetAccount => app.get(&mut c, &cfg, SUB).map(drop),
            Capability::Suspend => app
                .status_change(&mut c, &cfg, SUB, StatusChange::Suspend, true)
                .map(drop),
            Capability::Reactivate => app
                .status_change(&mut c, &cfg, SUB, StatusChange::Reactivate, true)
                .map(drop),
            Capability::Deprovision => app
                .status_change(&mut c, &cfg, SUB, StatusChange::Deprovision, true)
                .map(drop),
            Capability::Provision => app.provision(&mut c, &cfg, &request(), true).map(drop),
            Capability::ListEntitlements => app.list_entitlements(&mut c, &cfg, None).map(drop),
            Capability::Grant => app.grant(&mut c, &cfg, SUB, ENTITLEMENT, true).map(drop),
            Capability::Revoke => app.revoke(&mut c, &cfg, SUB, ENTITLEMENT, true).map(drop),
        };
        (outcome, t.requests.len())
    }

    #[test]
    fn every_app_does_exactly_what_it_declares() {
        for app in APPS {
            let info = app.info();
            for capability in CAPABILITIES {
                let (outcome, sent) = call(*app, capability);
                let what = format!("{} {}", info.name, capability.action());
                if info.capabilities.contains(&capability) {
                    assert!(
                        !matches!(outcome, Err(ConnectorError::Unsupported(_))),
                        "{what} is declared but answers {outcome:?}"
                    );
                } else {
                    assert_eq!(
                        outcome,
                        Err(app.unsupported(capability)),
                        "{what} is not declared"
                    );
                    assert!(
                        matches!(outcome, Err(ConnectorError::Unsupported(_))),
                        "{what}: {outcome:?}"
                    );
                    assert_eq!(sent, 0, "{what} is not declared but sent requests");
                }
            }
        }
    }

    /// The metadata declares a route's actions as the contract's `action-kind`s
    /// ([`route_actions`]): a name that is none would leave the route out of the metadata (so
    /// the host would refuse its requests), and fails here first.
    #[test]
    fn every_action_a_route_names_is_an_action_kind_and_a_declared_capability() {
        for app in infos() {
            for spec in app.routes {
                let what = format!("{}: {} {}", app.name, spec.method, spec.path);
                let actions = route_actions(spec).unwrap_or_else(|unknown| {
                    panic!("{what} serves {unknown:?}, which is no action of the contract")
                });
                assert_eq!(actions.len(), spec.actions.len(), "{what}");
                for action in actions {
                    assert!(
                        app.capabilities.contains(&action.capability()),
                        "{what} serves {:?}, which the app does not declare",
                        action.name()
                    );
                }
            }
        }
    }

    #[test]
    fn the_registry_holds_the_four_apps_in_order_and_finds_each_by_name() {
        let names: Vec<_> = infos().map(|a| a.name).collect();
        assert_eq!(names, ["twilio", "flex", "frontline", "organization"]);
        for name in names {
            assert_eq!(lookup(&cfg(name)).unwrap().info().name, name);
        }
        let unknown = Config {
            app: "studio".into(),
            account_id: String::new(),
            ..Config::default()
        };
        assert_eq!(
            lookup(&unknown).err(),
            Some(ConnectorError::InvalidConfig(
                "unknown app \"studio\"; this connector serves: twilio, flex, frontline, organization"
                    .into()
            ))
        );
        for account_id in ["", "  "] {
            let unnamed = Config {
                account_id: account_id.into(),
                ..cfg("flex")
            };
            assert_eq!(
                lookup(&unnamed).err(),
                Some(ConnectorError::InvalidConfig(
                    "the connecting account SID is missing (TWILIO_ACCOUNT_SID)".into()
                ))
            );
        }
    }

    #[test]
    fn what_an_app_cannot_do_is_explained_without_sending_anything() {
        let mut t = FakeTransport::new();
        let mut c = Client::new(&mut t, Policy::default());
        fn unsupported<T>(m: &str) -> Result<T> {
            Err(ConnectorError::Unsupported(m.into()))
        }
        let mut state = MemoryState::default();
        assert_eq!(
            list_accounts(&mut c, &mut state, &cfg("frontline"), None),
            unsupported(
                "Twilio Frontline has no user listing API; fetch users by SID or identity (accounts --identities FILE)"
            )
        );
        for change in [StatusChange::Suspend, StatusChange::Reactivate] {
            assert_eq!(
                change_status(&mut c, &cfg("flex"), SUB, change, false),
                unsupported(&format!(
                    "Twilio Flex has no suspended state for a user, so {} is not possible; use deprovision",
                    change.name()
                ))
            );
        }
        assert_eq!(
            provision(&mut c, &cfg("twilio"), &request(), false),
            unsupported(
                "the twilio app cannot provision: subaccounts are created in the Twilio Console or API by an owner"
            )
        );
        assert_eq!(
            provision(&mut c, &cfg("frontline"), &request(), false),
            unsupported(
                "Frontline users are provisioned by the SSO identity provider, not through the API"
            )
        );
        // Subaccounts and Frontline users have no entitlement to grant or revoke.
        for app in ["twilio", "frontline"] {
            let cfg = cfg(app);
            let not = |call: &str| format!("the {app} app does not support {call}");
            assert_eq!(
                list_entitlements(&mut c, &cfg, None),
                unsupported(&not("list-entitlements"))
            );
            assert_eq!(
                grant(&mut c, &cfg, SUB, ENTITLEMENT, false),
                unsupported(&not("grant"))
            );
            assert_eq!(
                revoke(&mut c, &cfg, SUB, ENTITLEMENT, false),
                unsupported(&not("revoke"))
            );
        }
        assert!(t.requests.is_empty(), "{:?}", t.requests);
    }

    /// An app that declares only what it must implement: every other call answers the
    /// default, naming the app and the call.
    #[test]
    fn an_app_that_overrides_nothing_optional_names_itself_and_the_call() {
        struct Bare;
        const BARE: AppInfo = AppInfo {
            name: "bare",
            description: "an app with only the required methods",
            hosts: &["bare.example"],
            capabilities: &[Capability::GetAccount],
            routes: &[],
        };
        impl App for Bare {
            fn info(&self) -> &'static AppInfo {
                &BARE
            }
            fn check(&self, _: &mut Client<'_>, _: &Config) -> Result<String> {
                Ok("bare".into())
            }
            fn get(&self, _: &mut Client<'_>, _: &Config, id: &str) -> Result<Account> {
                Err(ConnectorError::NotFound(id.into()))
            }
        }
        for capability in CAPABILITIES {
            let (outcome, sent) = call(&Bare, capability);
            assert_eq!(sent, 0);
            if capability == Capability::GetAccount {
                assert_eq!(outcome, Err(ConnectorError::NotFound(SUB.into())));
            } else {
                let m = format!("the bare app does not support {}", capability.action());
                assert_eq!(outcome, Err(ConnectorError::Unsupported(m)));
            }
        }
    }

    #[test]
    fn every_declared_route_parses_names_a_resource_and_fits_the_contract() {
        for app in infos() {
            assert!(!app.routes.is_empty(), "{} declares no route", app.name);
            for spec in app.routes {
                let route = Route::from_spec(spec, SID_SHAPE).unwrap_or_else(|e| {
                    panic!(
                        "{}: {} {} does not parse: {e:?}",
                        app.name, spec.method, spec.path
                    )
                });
                assert!(
                    !route.template.is_placeholders_only(),
                    "{}: {route} names no resource",
                    app.name
                );
                assert!(
                    app.hosts.contains(&spec.host),
                    "{}: {route} is on a host the app does not declare",
                    app.name
                );
                assert_eq!(
                    route.method.is_read(),
                    route.actions.is_empty(),
                    "{}: {route}: reads name no action, writes at least one",
                    app.name
                );
            }
        }
    }
}
