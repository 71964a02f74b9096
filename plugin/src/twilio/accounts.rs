//! Listing and reading accounts: a page of the account list, or one account, each with the
//! activity its usage shows (`usage_reads.rs`).

use super::account_resource::AccountResource;
use super::usage_reads::{Ahead, Page, with_usage};
use super::{API_HOST, url, validate_sid};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{Account, AccountPage, Config, Result};
use crate::paging;
use crate::retry::Client;
use crate::state::{Scope, State, get_json, set_json};
use serde::{Deserialize, Serialize};

/// Accounts per page of Twilio's list (its largest). What one call holds is a page of accounts
/// (each reduced to its latest priced day per service), the next page read ahead (at most as
/// large, and joined when it is the list's last), and the usage pages in flight, whatever the
/// tenant's size. A call's first request (the account page) and its last stragglers wait with
/// slots idle, so fewer, larger pages come closer to the latency floor (measured: 250 per page
/// gave 1.20× the floor at 40 ms, 1,000 gives 1.11×), and so does joining a short last page
/// instead of giving it a call of its own.
pub const ACCOUNTS_PER_PAGE: u32 = 1000;

/// Accounts per page: the `page_size` option within 1 to [`ACCOUNTS_PER_PAGE`], else that.
fn page_size(cfg: &Config) -> u32 {
    cfg.option(crate::options::PAGE_SIZE)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .map_or(ACCOUNTS_PER_PAGE, |n| n.clamp(1, ACCOUNTS_PER_PAGE))
}

/// First URL of the account list, or the page a cursor points at.
fn list_url(cfg: &Config, cursor: Option<&str>) -> Result<String> {
    match cursor {
        None => Ok(url(&format!(
            "/2010-04-01/Accounts.json?PageSize={}",
            page_size(cfg)
        ))),
        // The cursor is the next page link; checked again so a forged cursor cannot leave the host.
        Some(c) => paging::resolve_link(API_HOST, c),
    }
}

/// The cursor of the page a link points at: its path on the API host.
fn cursor_of(link: &str) -> String {
    link.trim_start_matches("https://api.twilio.com")
        .to_string()
}

/// A page of the account list read ahead by the call before, kept for the call its cursor is
/// for, so that call starts its usage reads at once (in the listing's bucket, which lives until
/// the listing ends; without it the page is read again).
#[derive(Debug, Serialize, Deserialize)]
struct PageAhead {
    accounts: Vec<AccountResource>,
    next: String,
}

fn ahead_key(cursor: &str) -> String {
    format!("twilio/accounts-ahead/{cursor}")
}

/// The SIDs the last sync's first call listed (its page and a joined last page), with the
/// connecting account and the URL the page was read from: a re-sync's first call reads their
/// usage while the page itself is read (`usage_reads::Page::Reading`).
#[derive(Debug, Serialize, Deserialize)]
struct ListingHead {
    account: String,
    url: String,
    sids: Vec<String>,
}

const HEAD_KEY: &str = "twilio/listing-head";

/// One page of accounts, each with its usage-derived activity. While their usage is read, the
/// next page of the list is read too: when it is the last, its accounts join this page (the
/// list ends in this call instead of one more whose reads no concurrency overlaps); otherwise
/// it is kept for the next call. A first call whose page the last sync kept the head of starts
/// those accounts' usage reads with the page read.
pub fn list_page(
    client: &mut Client<'_>,
    state: &mut dyn State,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    let kept = cursor.and_then(|c| {
        let key = ahead_key(c);
        let page = get_json::<PageAhead>(state, Scope::Listing, &key);
        state.delete(Scope::Listing, &key);
        page
    });
    let most = page_size(cfg) as usize;
    let page = match kept {
        Some(page) => Page::Read(page.accounts, Some(page.next)),
        None => {
            let url = list_url(cfg, cursor)?;
            // Another account's, another page size's, or longer than a first call lists (its
            // page and a joined one): not this listing's head.
            let early = match cursor {
                None => get_json::<ListingHead>(state, Scope::Tenant, HEAD_KEY)
                    .filter(|head| {
                        head.account == cfg.account_id
                            && head.url == url
                            && head.sids.len() <= 2 * most
                    })
                    .map(|head| head.sids)
                    .unwrap_or_default(),
                Some(_) => Vec::new(),
            };
            Page::Reading { url, early }
        }
    };
    let listing = with_usage(client, Some(state), cfg, page, most)?;
    if cursor.is_none() {
        let head = ListingHead {
            account: cfg.account_id.clone(),
            url: list_url(cfg, None)?,
            sids: listing.accounts.iter().map(|a| a.id.clone()).collect(),
        };
        // Refused (the bucket is full): the next sync reads its first page before its usage.
        if set_json(state, Scope::Tenant, HEAD_KEY, &head).is_err() {
            state.delete(Scope::Tenant, HEAD_KEY);
        }
    }
    let next_cursor = match listing.ahead {
        Ahead::Joined => None,
        Ahead::Unread => listing.next.as_deref().map(cursor_of),
        Ahead::Read(accounts, next) => {
            let cursor = listing.next.as_deref().map(cursor_of);
            if let Some(c) = &cursor {
                // Refused (the bucket is full): the next call reads the page again.
                let _ = set_json(
                    state,
                    Scope::Listing,
                    &ahead_key(c),
                    &PageAhead { accounts, next },
                );
            }
            cursor
        }
    };
    Ok(AccountPage {
        accounts: listing.accounts,
        next_cursor,
    })
}

/// Fetch the Account resource itself.
pub fn fetch_resource(client: &mut Client<'_>, id: &str) -> Result<AccountResource> {
    validate_sid(id)?;
    client
        .send(Request::get(url(&format!(
            "/2010-04-01/Accounts/{id}.json"
        ))))?
        .json(&format!("account {id}"))
}

/// One account with its activity.
pub fn get(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    let resource = fetch_resource(client, id)?;
    with_usage(client, None, cfg, Page::Read(vec![resource], None), 0)?
        .accounts
        .pop()
        .ok_or_else(|| ConnectorError::MalformedResponse(format!("account {id}: not read")))
}

#[cfg(test)]
mod flows {
    use super::*;
    use crate::errors::ConnectorError;
    use crate::fake::FakeTransport;
    use crate::retry::Policy;

    #[test]
    fn a_missing_account_is_not_found() {
        let mut t = FakeTransport::for_app(&crate::twilio::INFO);
        let cfg = Config {
            app: "twilio".into(),
            account_id: "AC00000000000000000000000000000000".into(),
            options: vec![],
        };
        let e = get(
            &mut Client::new(&mut t, Policy::default()),
            &cfg,
            "AC00000000000000000000000000000bad",
        )
        .unwrap_err();
        assert!(matches!(e, ConnectorError::NotFound(_)), "{e:?}");
        assert_eq!(t.requests.len(), 1, "one read, no usage queries for nobody");
    }

    const MAIN: &str = "AC00000000000000000000000000000000";
    const SUB: &str = "AC000000000000000000000000000000a1";

    /// A re-sync's first call whose kept head names `SUB`, against a list that shows it with
    /// `status` (after one 503) and a usage list that refuses its credentials (401, as Twilio
    /// answers for a suspended subaccount).
    fn resync_with_refused_usage(status: &str) -> (Result<AccountPage>, FakeTransport) {
        let (got, t, _) = resync_with_usage(status, 401);
        (got, t)
    }

    /// The same, the usage list answering `usage_status` (a 200: an empty list); with the
    /// state the call left.
    fn resync_with_usage(
        status: &str,
        usage_status: u16,
    ) -> (
        Result<AccountPage>,
        FakeTransport,
        crate::state::MemoryState,
    ) {
        let cfg = Config {
            app: "twilio".into(),
            account_id: MAIN.into(),
            options: vec![],
        };
        let mut state = crate::state::MemoryState::default();
        let head = ListingHead {
            account: MAIN.into(),
            url: list_url(&cfg, None).unwrap(),
            sids: vec![SUB.into()],
        };
        set_json(&mut state, Scope::Tenant, HEAD_KEY, &head).unwrap();
        let page = serde_json::json!({
            "accounts": [{"sid": SUB, "status": status, "friendly_name": "sub"}],
            "next_page_uri": null
        });
        let usage = match usage_status {
            200 => serde_json::json!({"usage_records": [], "next_page_uri": null}),
            _ => serde_json::json!({"code": 20003, "message": "Authenticate", "status": 401}),
        };
        // The page's first answer is a 503, so its retry comes after the usage answer: the
        // refusal is met before the page says what the account is.
        let mut answers = 0;
        let page = page.to_string().into_bytes();
        let mut t = FakeTransport::for_app(&crate::twilio::INFO)
            .on(
                crate::http::Method::Get,
                "https://api.twilio.com/2010-04-01/Accounts.json",
                move |_| {
                    answers += 1;
                    Ok(match answers {
                        1 => crate::fake::answer(503, b"{}".to_vec()),
                        _ => crate::fake::answer(200, page.clone()),
                    })
                },
            )
            .json(
                crate::http::Method::Get,
                &format!("https://api.twilio.com/2010-04-01/Accounts/{SUB}/Usage/*"),
                usage_status,
                usage,
            );
        let got = list_page(
            &mut Client::new(&mut t, Policy::default()),
            &mut state,
            &cfg,
            None,
        );
        (got, t, state)
    }

    #[test]
    fn an_account_read_before_its_page_arrived_is_kept_once_the_page_lists_it() {
        let (got, _, mut state) = resync_with_usage("active", 200);
        assert!(got.unwrap().accounts[0].warnings.is_empty());
        assert!(
            get_json::<super::super::kept_usage::KeptUsage>(
                &mut state,
                Scope::Tenant,
                &super::super::kept_usage::key(SUB)
            )
            .is_some(),
            "its usage is kept for the next sync"
        );
    }

    #[test]
    fn accounts_of_a_joined_last_page_are_read_once_and_the_page_ahead_goes_first() {
        const SUBS: [&str; 3] = [
            "AC000000000000000000000000000000b1",
            "AC000000000000000000000000000000b2",
            "AC000000000000000000000000000000b3",
        ];
        let cfg = Config {
            app: "twilio".into(),
            account_id: MAIN.into(),
            options: vec![(crate::options::PAGE_SIZE.into(), "2".into())],
        };
        // Last sync's first call listed all three (its page of two and a joined last page).
        let mut state = crate::state::MemoryState::default();
        let head = ListingHead {
            account: MAIN.into(),
            url: list_url(&cfg, None).unwrap(),
            sids: SUBS.iter().map(|s| s.to_string()).collect(),
        };
        set_json(&mut state, Scope::Tenant, HEAD_KEY, &head).unwrap();
        let account = |sid: &str| serde_json::json!({"sid": sid, "status": "active"});
        let first = serde_json::json!({
            "accounts": [account(SUBS[0]), account(SUBS[1])],
            "next_page_uri": "/2010-04-01/Accounts.json?PageSize=2&Page=1&PageToken=PAb2"
        })
        .to_string()
        .into_bytes();
        let last = serde_json::json!({"accounts": [account(SUBS[2])], "next_page_uri": null})
            .to_string()
            .into_bytes();
        let mut t = FakeTransport::for_app(&crate::twilio::INFO)
            .on(
                crate::http::Method::Get,
                "https://api.twilio.com/2010-04-01/Accounts.json",
                move |r| {
                    let body = if r.url.contains("Page=1") {
                        &last
                    } else {
                        &first
                    };
                    Ok(crate::fake::answer(200, body.clone()))
                },
            )
            .json(
                crate::http::Method::Get,
                "https://api.twilio.com/2010-04-01/Accounts/*",
                200,
                serde_json::json!({"usage_records": [], "next_page_uri": null}),
            );
        // Two in flight: the page and one early read; the others wait in the queue.
        let policy = Policy {
            max_in_flight: 2,
            start_in_flight: 2,
            ..Policy::default()
        };
        let page = list_page(&mut Client::new(&mut t, policy), &mut state, &cfg, None).unwrap();
        let ids: Vec<&str> = page.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, SUBS, "the joined page's account is this call's");
        assert_eq!(page.next_cursor, None);
        let urls: Vec<&str> = t.requests.iter().map(|r| r.url.as_str()).collect();
        for sid in SUBS {
            let reads = urls
                .iter()
                .filter(|u| u.contains(&format!("{sid}/Usage")))
                .count();
            assert_eq!(reads, 1, "{sid}'s usage is read once: {urls:#?}");
        }
        let ahead = urls.iter().position(|u| u.contains("Page=1")).unwrap();
        let queued = urls.iter().position(|u| u.contains(SUBS[2])).unwrap();
        assert!(
            ahead < queued,
            "the page ahead goes before the early reads still queued: {urls:#?}"
        );
    }

    #[test]
    fn an_early_read_is_judged_by_the_status_the_page_gives() {
        let (got, t) = resync_with_refused_usage("suspended");
        assert!(
            t.requests[1].url.contains(SUB) && t.in_flight_at_start[1] == 2,
            "the kept account's usage is asked for while the page is: {:?}",
            t.requests
        );
        let page = got.expect("a suspended account's refused usage is a warning");
        assert_eq!(page.accounts.len(), 1);
        assert!(
            page.accounts[0]
                .warnings
                .iter()
                .any(|w| w.contains("refused")),
            "{:?}",
            page.accounts[0].warnings
        );
        let (got, _) = resync_with_refused_usage("active");
        assert!(
            matches!(got, Err(ConnectorError::Unauthorized(_))),
            "an active account's refused usage fails the call: {got:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_cursors_cannot_leave_the_api_host() {
        let cfg = Config::default();
        assert!(list_url(&cfg, Some("https://evil.example/x")).is_err());
        assert!(list_url(&cfg, Some("/2010-04-01/Accounts.json?Page=2")).is_ok());
    }

    #[test]
    fn the_page_size_option_is_kept_within_twilios_bound() {
        let with = |v: &str| Config {
            options: vec![(crate::options::PAGE_SIZE.into(), v.into())],
            ..Config::default()
        };
        assert_eq!(page_size(&Config::default()), 1000);
        assert_eq!(page_size(&with("10")), 10);
        assert_eq!(page_size(&with("5000")), 1000);
        assert_eq!(page_size(&with("0")), 1);
        assert_eq!(page_size(&with("lots")), 1000);
    }
}
