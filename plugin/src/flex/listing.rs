//! The Flex listing, in bounded pages: first every worker of every workspace, a page of
//! TaskRouter workers per call (each joined with its Flex User), then, with an instance, the
//! Flex Users that no listed worker stands for (e.g. deactivated ones), a Users page per call.
//!
//! The join needs every Flex User by worker, and the last phase needs every worker listed:
//! both live in the listing's state bucket (the first page builds the index, reading the
//! Users list page by page), so no call holds more than one page of either.

use super::users_api::{self, FlexUser};
use super::workers::{self, Worker};
use super::{FLEX_API_HOST, TASKROUTER_HOST, flex_api, instance, taskrouter};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{Account, AccountPage, Config, Result};
use crate::paging::{self, Page, parse_page};
use crate::retry::Client;
use crate::state::{Scope, State, get_json, set_json};
use serde::{Deserialize, Serialize};

/// Workers per `list-accounts` page (each needs its own fetch: lists hide attributes).
pub const WORKERS_PER_PAGE: u32 = 500;
/// Flex Users per page of the Users list.
pub const USERS_PER_PAGE: u32 = 1000;

/// Where a listing stands (the plugin's cursor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlexCursor {
    /// Workers of the `workspace`-th workspace, from `next` (its first page when none).
    Workers {
        workspace: usize,
        next: Option<String>,
    },
    /// Flex Users without a listed worker, from this page of the Users list.
    Users { next: String },
}

/// What the first page keeps for the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listing {
    workspaces: Vec<String>,
}

const LISTING_KEY: &str = "flex/listing";

fn user_of_worker_key(worker: &str) -> String {
    format!("flex/user-of/{worker}")
}

fn listed_worker_key(worker: &str) -> String {
    format!("flex/listed/{worker}")
}

/// A state write that must hold for the join to be right.
fn must_keep<T: Serialize>(state: &mut dyn State, key: &str, value: &T) -> Result<()> {
    set_json(state, Scope::Listing, key, value).map_err(|e| {
        ConnectorError::Refused(format!(
            "the host would not keep the Flex listing's state ({e}); the join of workers and Flex Users needs it"
        ))
    })
}

/// One page of the Flex listing.
pub fn list_page(
    client: &mut Client<'_>,
    state: &mut dyn State,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    let go = instance(cfg)?;
    let (listing, at) = match cursor {
        None => (
            begin(client, state, go)?,
            FlexCursor::Workers {
                workspace: 0,
                next: None,
            },
        ),
        Some(c) => {
            let at: FlexCursor = serde_json::from_str(c).map_err(|_| {
                ConnectorError::InvalidInput(format!("{c:?} is not a cursor of the flex listing"))
            })?;
            let listing = get_json::<Listing>(state, Scope::Listing, LISTING_KEY).ok_or_else(|| {
                ConnectorError::InvalidInput(
                    "the host no longer holds this Flex listing's state (expired or restarted); start the listing again without a cursor".into(),
                )
            })?;
            (listing, at)
        }
    };
    match at {
        FlexCursor::Workers { workspace, next } => {
            worker_page(client, state, go, &listing, workspace, next.as_deref())
        }
        FlexCursor::Users { next } => user_page(client, state, &next),
    }
}

/// The first call: the workspaces, and the Flex Users index by worker (read page by page).
fn begin(client: &mut Client<'_>, state: &mut dyn State, go: Option<&str>) -> Result<Listing> {
    let listing = Listing {
        workspaces: workers::workspaces(client)?
            .into_iter()
            .map(|w| w.sid)
            .collect(),
    };
    if let Some(go) = go {
        let first = users_list_url(go);
        let mut refused = None;
        paging::walk_lists(
            client,
            FLEX_API_HOST,
            vec![((), first)],
            "users",
            "Flex user list",
            |_, page, _| {
                let users: Vec<FlexUser> = page?;
                for u in users {
                    let Some(wk) = u.worker().map(user_of_worker_key) else {
                        continue;
                    };
                    // The first user naming a worker is its user, as a lookup in list order.
                    if state.get(Scope::Listing, &wk).is_none()
                        && let Err(e) = must_keep(state, &wk, &u)
                    {
                        refused.get_or_insert(e);
                    }
                }
                Ok(Vec::new())
            },
        )?;
        if let Some(e) = refused {
            return Err(e);
        }
    }
    must_keep(state, LISTING_KEY, &listing)?;
    Ok(listing)
}

fn users_list_url(go: &str) -> String {
    flex_api(&format!(
        "/v1/Instances/{go}/Users?PageSize={USERS_PER_PAGE}"
    ))
}

/// One page of one workspace's workers, each with its attributes and its Flex User.
fn worker_page(
    client: &mut Client<'_>,
    state: &mut dyn State,
    go: Option<&str>,
    listing: &Listing,
    workspace: usize,
    next: Option<&str>,
) -> Result<AccountPage> {
    let Some(ws) = listing.workspaces.get(workspace) else {
        return Ok(AccountPage {
            accounts: Vec::new(),
            next_cursor: after_workers(go),
        });
    };
    let url = match next {
        // Checked again, so a forged cursor cannot leave TaskRouter.
        Some(n) => paging::resolve_link(TASKROUTER_HOST, n)?,
        None => taskrouter(&format!(
            "/v1/Workspaces/{ws}/Workers?PageSize={WORKERS_PER_PAGE}"
        )),
    };
    let r = client.send(Request::get(url))?;
    r.ok("worker list")?;
    let page: Page<Worker> = parse_page(TASKROUTER_HOST, &r.body, "workers", "worker list")?;
    drop(r);
    let mut list = page.items;
    for w in &mut list {
        w.workspace_sid.get_or_insert_with(|| ws.clone());
    }
    workers::fill_attributes(client, &mut list);
    let now = client.now();
    let mut accounts: Vec<Account> = Vec::with_capacity(list.len());
    for w in &list {
        let user: Option<FlexUser> = get_json(state, Scope::Listing, &user_of_worker_key(&w.sid));
        if go.is_some() {
            must_keep(state, &listed_worker_key(&w.sid), &true)?;
        }
        accounts.push(workers::to_account(w, user.as_ref(), now));
    }
    let next_cursor = match page.next_url {
        Some(n) => Some(cursor(&FlexCursor::Workers {
            workspace,
            next: Some(n),
        })),
        None if workspace + 1 < listing.workspaces.len() => Some(cursor(&FlexCursor::Workers {
            workspace: workspace + 1,
            next: None,
        })),
        None => after_workers(go),
    };
    Ok(AccountPage {
        accounts,
        next_cursor,
    })
}

/// Where the listing goes once every worker is listed.
fn after_workers(go: Option<&str>) -> Option<String> {
    go.map(|go| {
        cursor(&FlexCursor::Users {
            next: users_list_url(go),
        })
    })
}

/// One page of Flex Users: those that no listed worker stands for.
fn user_page(client: &mut Client<'_>, state: &mut dyn State, next: &str) -> Result<AccountPage> {
    let url = paging::resolve_link(FLEX_API_HOST, next)?;
    let r = client.send(Request::get(url))?;
    r.ok("Flex user list")?;
    let page: Page<FlexUser> = parse_page(FLEX_API_HOST, &r.body, "users", "Flex user list")?;
    drop(r);
    let mut accounts = Vec::new();
    for u in page.items {
        let listed = u
            .worker()
            .is_some_and(|wk| state.get(Scope::Listing, &listed_worker_key(wk)).is_some());
        if !listed {
            accounts.push(users_api::to_account(&u));
        }
    }
    Ok(AccountPage {
        accounts,
        next_cursor: page
            .next_url
            .map(|n| cursor(&FlexCursor::Users { next: n })),
    })
}

fn cursor(c: &FlexCursor) -> String {
    serde_json::to_string(c).expect("a cursor serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [
            FlexCursor::Workers {
                workspace: 2,
                next: Some("https://taskrouter.twilio.com/v1/Workspaces/WS1/Workers?Page=1".into()),
            },
            FlexCursor::Users {
                next: "https://flex-api.twilio.com/v1/Instances/GO1/Users?Page=3".into(),
            },
        ] {
            assert_eq!(serde_json::from_str::<FlexCursor>(&cursor(&c)).unwrap(), c);
        }
    }
}
