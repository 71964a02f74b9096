//! Reading one Flex user, as the listing (`listing.rs`) shows it.

use super::instance;
use super::users_api;
use super::workers::{self, find_worker};
use crate::errors::ConnectorError;
use crate::model::{Account, Config, Result};
use crate::retry::Client;
use crate::sid::is_sid;

/// One Flex user by worker SID, Flex user SID or username: the same account the listing
/// shows for it. The by-username answer carries no `worker_sid` (seed 003), so the join is made
/// on the username (a provisioned worker is named after it) or completed by a fetch by SID.
pub fn get(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    let go = instance(cfg)?;
    let now = client.now();
    let not_found = || ConnectorError::NotFound(format!("no Flex user or worker {id:?}"));
    if is_sid(id, "WK") {
        let w = find_worker(client, id)?.ok_or_else(not_found)?;
        let user = match (go, &w.friendly_name) {
            (Some(go), Some(name)) => users_api::by_username(client, go, name)?
                .filter(|u| u.worker().is_none_or(|wk| wk == w.sid)),
            _ => None,
        };
        // A listed user always names its worker; one found by username may not.
        let user = match user {
            Some(u) if u.worker().is_none() && !u.is_deactivated() => {
                let go = go.expect("a user was found through the instance");
                users_api::by_sid(client, go, &u.flex_user_sid)?
                    .filter(|full| full.worker() == Some(w.sid.as_str()))
            }
            other => other.filter(|u| u.worker() == Some(w.sid.as_str())),
        };
        return Ok(workers::to_account(&w, user.as_ref(), now));
    }
    let user = match go {
        Some(go) if is_sid(id, "FU") => users_api::by_sid(client, go, id)?,
        Some(go) => match users_api::by_username(client, go, id)? {
            Some(u) if u.worker().is_none() && !u.is_deactivated() => {
                users_api::by_sid(client, go, &u.flex_user_sid)?.or(Some(u))
            }
            other => other,
        },
        None => None,
    };
    if let Some(u) = user {
        return match u.worker() {
            Some(wk) => match find_worker(client, wk)? {
                Some(w) => Ok(workers::to_account(&w, Some(&u), now)),
                None => Ok(users_api::to_account(&u)),
            },
            None => Ok(users_api::to_account(&u)),
        };
    }
    if go.is_none() && !is_sid(id, "FU") {
        // Without the Flex Users API a username is the worker's friendly name.
        let mut matches = workers::all_workers(client, Some(id))?;
        if let Some(w) = matches.pop() {
            return Ok(workers::to_account(&w, None, now));
        }
    }
    Err(not_found())
}

#[cfg(test)]
mod flows {
    use super::*;
    use crate::fake::{FakeTransport, answer};
    use crate::http::Method;
    use crate::retry::Policy;
    use serde_json::json;

    const TR: &str = "https://taskrouter.twilio.com/v1/Workspaces";
    const WS: &str = "WS00000000000000000000000000000001";

    #[test]
    fn attributes_null_in_the_list_are_fetched_and_failures_told() {
        let worker = |sid: &str| json!({"sid": sid, "friendly_name": sid, "workspace_sid": WS, "attributes": null});
        let ok = "WK00000000000000000000000000000001";
        let broken = "WK00000000000000000000000000000002";
        let mut t = FakeTransport::for_app(&crate::flex::INFO)
            .json(
                Method::Get,
                TR,
                200,
                json!({"workspaces": [{"sid": WS}], "meta": {}}),
            )
            .json(
                Method::Get,
                &format!("{TR}/{WS}/Workers"),
                200,
                json!({"workers": [worker(ok), worker(broken)], "meta": {}}),
            )
            .on(Method::Get, &format!("{TR}/{WS}/Workers/*"), move |req| {
                Ok(if req.url.ends_with(ok) {
                    let mut w = worker(ok);
                    w["attributes"] = json!(r#"{"roles":["supervisor"]}"#);
                    answer(200, w.to_string().into_bytes())
                } else {
                    answer(500, br#"{"code":20500,"status":500}"#.to_vec())
                })
            });
        let cfg = Config {
            app: "flex".into(),
            account_id: "AC00000000000000000000000000000000".into(),
            options: vec![],
        };
        let mut state = crate::state::MemoryState::default();
        let page = super::super::listing::list_page(
            &mut Client::new(&mut t, Policy::default()),
            &mut state,
            &cfg,
            None,
        )
        .unwrap();
        let roles = |a: &Account| {
            a.entitlements
                .iter()
                .map(|e| e.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(roles(&page.accounts[0]), vec!["Flex UI User", "supervisor"]);
        assert_eq!(roles(&page.accounts[1]), vec!["Flex UI User"]);
        assert!(
            page.accounts[1]
                .warnings
                .iter()
                .any(|w| w.contains("could not be read"))
        );
        assert!(page.accounts[0].warnings.is_empty());
    }

    #[test]
    fn a_missing_worker_or_user_is_not_found() {
        let mut t = FakeTransport::for_app(&crate::flex::INFO).json(
            Method::Get,
            "https://taskrouter.twilio.com/v1/Workspaces",
            200,
            serde_json::json!({"workspaces": [{"sid": "WS00000000000000000000000000000001"}],
                               "meta": {"next_page_url": null}}),
        );
        let cfg = Config {
            app: "flex".into(),
            account_id: "AC00000000000000000000000000000000".into(),
            options: vec![],
        };
        for id in [
            "WK00000000000000000000000000000bad",
            "FU00000000000000000000000000000bad",
        ] {
            let mut c = Client::new(&mut t, Policy::default());
            let e = get(&mut c, &cfg, id).unwrap_err();
            assert!(matches!(e, ConnectorError::NotFound(_)), "{id}: {e:?}");
        }
        assert!(t.writes().is_empty());
    }
}
