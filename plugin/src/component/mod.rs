//! The thin wasm layer: the wit-bindgen `Guest` shim. Each export converts its arguments
//! (`convert`), runs the plain rules in `crate::apps` over the wasi-http executor
//! (`transport`), and converts the answer back.

mod convert;
mod kv;
mod transport;

use crate::model;
use crate::model::StatusChange;
use crate::retry::{Client, Policy};
use transport::WasiTransport;

wit_bindgen::generate!({
    path: "../wit",
    world: "connector-plugin",
    with: {
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        "wasi:random/random@0.2.12": wasip2::random::random,
        "wasi:keyvalue/store@0.2.0-draft": generate,
    },
});

use exports::governance::connector::connector::Guest;
use governance::connector::types as wit;

/// Run `f` with a fresh client over wasi-http, converting its answer and error to WIT.
fn with_client<T, W: From<T>>(
    cfg: &model::Config,
    f: impl FnOnce(&mut Client<'_>) -> model::Result<T>,
) -> Result<W, wit::ConnectorError> {
    let mut transport = WasiTransport::default();
    let mut client = Client::new(&mut transport, Policy::for_config(cfg));
    f(&mut client).map(W::from).map_err(Into::into)
}

struct Component;

impl Guest for Component {
    fn metadata() -> wit::ConnectorInfo {
        wit::ConnectorInfo {
            name: crate::apps::NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            apps: crate::apps::infos().map(Into::into).collect(),
        }
    }

    fn check(cfg: wit::Config) -> Result<String, wit::ConnectorError> {
        let cfg = cfg.into();
        with_client(&cfg, |c| crate::apps::check(c, &cfg))
    }

    fn list_accounts(
        cfg: wit::Config,
        cursor: Option<String>,
    ) -> Result<wit::AccountPage, wit::ConnectorError> {
        let cfg = cfg.into();
        let mut state = kv::KvState::default();
        with_client(&cfg, |c| {
            crate::apps::list_accounts(c, &mut state, &cfg, cursor.as_deref())
        })
    }

    fn get_account(cfg: wit::Config, id: String) -> Result<wit::Account, wit::ConnectorError> {
        let cfg = cfg.into();
        with_client(&cfg, |c| crate::apps::get_account(c, &cfg, &id))
    }

    fn suspend(
        cfg: wit::Config,
        id: String,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        change(cfg, id, StatusChange::Suspend, dry_run)
    }

    fn reactivate(
        cfg: wit::Config,
        id: String,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        change(cfg, id, StatusChange::Reactivate, dry_run)
    }

    fn deprovision(
        cfg: wit::Config,
        id: String,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        change(cfg, id, StatusChange::Deprovision, dry_run)
    }

    fn provision(
        cfg: wit::Config,
        request: wit::ProvisionRequest,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        let cfg = cfg.into();
        let request = request.into();
        with_client(&cfg, |c| crate::apps::provision(c, &cfg, &request, dry_run))
    }

    fn list_entitlements(
        cfg: wit::Config,
        cursor: Option<String>,
    ) -> Result<wit::EntitlementPage, wit::ConnectorError> {
        let cfg = cfg.into();
        with_client(&cfg, |c| {
            crate::apps::list_entitlements(c, &cfg, cursor.as_deref())
        })
    }

    fn grant(
        cfg: wit::Config,
        id: String,
        entitlement: String,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        let cfg = cfg.into();
        with_client(&cfg, |c| {
            crate::apps::grant(c, &cfg, &id, &entitlement, dry_run)
        })
    }

    fn revoke(
        cfg: wit::Config,
        id: String,
        entitlement: String,
        dry_run: bool,
    ) -> Result<wit::ActionResult, wit::ConnectorError> {
        let cfg = cfg.into();
        with_client(&cfg, |c| {
            crate::apps::revoke(c, &cfg, &id, &entitlement, dry_run)
        })
    }
}

fn change(
    cfg: wit::Config,
    id: String,
    change: StatusChange,
    dry_run: bool,
) -> Result<wit::ActionResult, wit::ConnectorError> {
    let cfg = cfg.into();
    with_client(&cfg, |c| {
        crate::apps::change_status(c, &cfg, &id, change, dry_run)
    })
}

export!(Component);
