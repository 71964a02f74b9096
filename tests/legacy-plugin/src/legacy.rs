//! The legacy guest: 0.1.0 by default, 0.2.0 with the `contract-0-2-0` feature, 0.3.0 with
//! `contract-0-3-0` (with both, 0.3.0: features add up, and the newest one chosen wins).

#[cfg(not(any(feature = "contract-0-2-0", feature = "contract-0-3-0")))]
wit_bindgen::generate!({
    path: "../../wit/since_v0.1.0",
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
    },
});

#[cfg(all(feature = "contract-0-2-0", not(feature = "contract-0-3-0")))]
wit_bindgen::generate!({
    path: "../../wit/since_v0.2.0",
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
    },
});

// 0.3.0's world also imports `wasi:keyvalue/store`; this guest keeps no state and never opens
// a bucket, but the bindings of the world are generated whole.
#[cfg(feature = "contract-0-3-0")]
wit_bindgen::generate!({
    path: "../../wit/since_v0.3.0",
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
use governance::connector::types::*;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

/// Send one request; the status, or the error as text.
fn send(method: Method, path: &str, payload: &[u8]) -> Result<u16, String> {
    let req = OutgoingRequest::new(Fields::new());
    req.set_method(&method).map_err(|_| "method")?;
    req.set_scheme(Some(&Scheme::Https)).map_err(|_| "scheme")?;
    req.set_authority(Some("api.twilio.com"))
        .map_err(|_| "authority")?;
    req.set_path_with_query(Some(path)).map_err(|_| "path")?;
    let body = req.body().map_err(|_| "body")?;
    let fut = wasip2::http::outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
    if !payload.is_empty()
        && let Ok(out) = body.write()
    {
        let _ = out.blocking_write_and_flush(payload);
        drop(out);
    }
    let _ = OutgoingBody::finish(body, None);
    fut.subscribe().block();
    let resp = fut
        .get()
        .ok_or("not ready")?
        .map_err(|_| "taken")?
        .map_err(|e| format!("{e:?}"))?;
    Ok(resp.status())
}

/// The contract version this build implements.
#[cfg(not(any(feature = "contract-0-2-0", feature = "contract-0-3-0")))]
const CONTRACT: &str = "0.1.0";
#[cfg(all(feature = "contract-0-2-0", not(feature = "contract-0-3-0")))]
const CONTRACT: &str = "0.2.0";
#[cfg(feature = "contract-0-3-0")]
const CONTRACT: &str = "0.3.0";

struct Legacy;

impl Guest for Legacy {
    fn metadata() -> ConnectorInfo {
        ConnectorInfo {
            name: "legacy".into(),
            version: CONTRACT.into(),
            apps: vec![AppInfo {
                name: "twilio".into(),
                description: format!("built against governance:connector@{CONTRACT}"),
                hosts: vec!["api.twilio.com".into()],
                capabilities: vec![Capability::ListAccounts, Capability::Suspend],
                // 0.2.0 and 0.3.0 declare their routes: the account list, and suspending by SID.
                #[cfg(any(feature = "contract-0-2-0", feature = "contract-0-3-0"))]
                routes: vec![
                    Route {
                        method: HttpMethod::Get,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts.json".into(),
                        actions: vec![],
                    },
                    Route {
                        method: HttpMethod::Post,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts/{AC}.json".into(),
                        actions: vec!["suspend".into()],
                    },
                ],
            }],
        }
    }

    fn check(_cfg: Config) -> Result<String, ConnectorError> {
        Ok("legacy".into())
    }

    fn list_accounts(_cfg: Config, _cursor: Option<String>) -> Result<AccountPage, ConnectorError> {
        let status = send(Method::Get, "/2010-04-01/Accounts.json", b"")
            .map_err(ConnectorError::Transport)?;
        Ok(AccountPage {
            accounts: vec![Account {
                id: "listed".into(),
                username: None,
                email: None,
                display_name: Some(format!("accounts answered {status}")),
                status: AccountStatus::Active,
                last_activity: None,
                entitlements: vec![],
                attributes: vec![],
                warnings: vec![],
            }],
            next_cursor: None,
        })
    }

    fn get_account(_cfg: Config, id: String) -> Result<Account, ConnectorError> {
        Err(ConnectorError::NotFound(id))
    }

    fn suspend(_cfg: Config, id: String, dry_run: bool) -> Result<ActionResult, ConnectorError> {
        let outcome = send(
            Method::Post,
            &format!("/2010-04-01/Accounts/{id}.json"),
            b"Status=suspended",
        );
        Ok(ActionResult {
            account_id: id,
            action: "suspend".into(),
            dry_run,
            changed: outcome.is_ok(),
            status: None,
            message: format!("{outcome:?}"),
            warnings: vec![],
        })
    }

    fn reactivate(_c: Config, _i: String, _d: bool) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("legacy".into()))
    }

    fn deprovision(_c: Config, _i: String, _d: bool) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("legacy".into()))
    }

    fn provision(
        _c: Config,
        _r: ProvisionRequest,
        _d: bool,
    ) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("legacy".into()))
    }
}

export!(Legacy);
