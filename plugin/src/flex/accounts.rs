//! Reading Flex users: every worker of every workspace, joined with the Flex Users API when an
//! instance is configured (users without a worker, e.g. deactivated ones, are listed too).

use super::instance;
use super::users_api::{self, FlexUser};
use super::workers::{self, Worker, find_worker};
use crate::errors::ConnectorError;
use crate::model::{Account, AccountPage, Config, Result};
use crate::retry::Client;
use crate::sid::is_sid;

/// Join workers with Flex Users on the worker SID.
pub fn join(
    workers: &[Worker],
    users: &[FlexUser],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Account> {
    let mut out: Vec<Account> = workers
        .iter()
        .map(|w| {
            workers::to_account(
                w,
                users.iter().find(|u| u.worker() == Some(w.sid.as_str())),
                now,
            )
        })
        .collect();
    for u in users {
        let has_worker = u
            .worker()
            .is_some_and(|wk| workers.iter().any(|w| w.sid == wk));
        if !has_worker {
            out.push(users_api::to_account(u));
        }
    }
    out
}

/// All Flex users in one page: the join needs every worker and user anyway.
pub fn list_page(
    client: &mut Client<'_>,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    if let Some(c) = cursor {
        return Err(ConnectorError::InvalidInput(format!(
            "the flex app lists everything in one page; unexpected cursor {c:?}"
        )));
    }
    let go = instance(cfg)?;
    let now = client.now();
    let workers = workers::all_workers(client, None)?;
    let users = match go {
        Some(go) => users_api::list(client, go)?,
        None => Vec::new(),
    };
    Ok(AccountPage {
        accounts: join(&workers, &users, now),
        next_cursor: None,
    })
}

/// One Flex user by worker SID, Flex user SID or username.
pub fn get(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    let go = instance(cfg)?;
    let now = client.now();
    let not_found = || ConnectorError::NotFound(format!("no Flex user or worker {id:?}"));
    if is_sid(id, "WK") {
        let w = find_worker(client, id)?.ok_or_else(not_found)?;
        let user = match (go, &w.friendly_name) {
            (Some(go), Some(name)) => users_api::by_username(client, go, name)?
                .filter(|u| u.worker() == Some(w.sid.as_str())),
            _ => None,
        };
        return Ok(workers::to_account(&w, user.as_ref(), now));
    }
    let user = match go {
        Some(go) if is_sid(id, "FU") => users_api::by_sid(client, go, id)?,
        Some(go) => users_api::by_username(client, go, id)?,
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
    use crate::fake::FakeTransport;
    use crate::http::Method;
    use crate::retry::Policy;

    #[test]
    fn a_missing_worker_or_user_is_not_found() {
        let mut t = FakeTransport::new().json(
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
