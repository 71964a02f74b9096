//! Listing and reading accounts: a page of the account list, or one account, each with the
//! activity its usage shows (`usage_reads.rs`).

use super::account_resource::AccountResource;
use super::usage_reads::with_usage;
use super::{API_HOST, url, validate_sid};
use crate::http::Request;
use crate::model::{Account, AccountPage, Config, Result};
use crate::paging;
use crate::retry::Client;
use crate::state::State;

/// Accounts per `list-accounts` page (Twilio's largest): what one call holds is these accounts
/// (each reduced to its latest priced day per service) and the usage pages in flight, whatever
/// the tenant's size. A call's first request (the account page) and its last stragglers wait
/// with slots idle, so fewer, larger pages come closer to the latency floor (measured: 250 per
/// page gave 1.20× the floor at 40 ms, 1,000 gives 1.11×).
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

/// One page of accounts, each with its usage-derived activity.
pub fn list_page(
    client: &mut Client<'_>,
    state: &mut dyn State,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    let response = client.send(Request::get(list_url(cfg, cursor)?))?;
    response.ok("account list")?;
    let page: paging::Page<AccountResource> =
        paging::parse_page(API_HOST, &response.body, "accounts", "account list")?;
    let next_url = page.next_url;
    let resources = page.items;
    let accounts = with_usage(client, Some(state), cfg, &resources)?;
    Ok(AccountPage {
        accounts,
        next_cursor: next_url.map(|u| u.trim_start_matches("https://api.twilio.com").to_string()),
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
    Ok(with_usage(client, None, cfg, &[resource])?.remove(0))
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
