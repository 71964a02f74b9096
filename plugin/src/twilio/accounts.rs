//! Listing and reading accounts: the Account resource, its status mapping, and the usage
//! look-ups that give last activity and service entitlements.

use super::usage::Activity;
use super::usage_reads::with_usage;
use super::{API_HOST, url, validate_sid};
use crate::http::Request;
use crate::model::{Account, AccountPage, Config, Entitlement, EntitlementKind, Result, Status};
use crate::paging;
use crate::retry::Client;
use crate::state::State;
use crate::time::{date_rfc3339, parse_timestamp, rfc3339};
use serde::Deserialize;

/// Largest page the 2010 API serves (used for usage lists, which are reduced page by page).
pub const PAGE_SIZE: u32 = 1000;

/// Accounts per `list-accounts` page (Twilio's largest): what one call holds is these accounts
/// (each reduced to its latest priced day per service) and the usage pages in flight, whatever
/// the tenant's size. A call's first request (the account page) and its last stragglers wait
/// with slots idle, so fewer, larger pages come closer to the latency floor (measured: 250 per
/// page gave 1.20× the floor at 40 ms, 1,000 gives 1.11×).
pub const ACCOUNTS_PER_PAGE: u32 = 1000;

/// The fields of an Account resource the connector reads. `auth_token` is deliberately absent.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountResource {
    pub sid: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Null is allowed by the schema: read as an unknown status, with a warning.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub status: String,
    #[serde(default, rename = "type")]
    pub account_type: Option<String>,
    #[serde(default)]
    pub owner_account_sid: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
}

/// Read a nullable string as empty when null.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Map Twilio's account status; `None` for a value Twilio does not document.
pub fn map_status(status: &str) -> Option<Status> {
    match status {
        "active" => Some(Status::Active),
        "suspended" => Some(Status::Suspended),
        "closed" => Some(Status::Deprovisioned),
        _ => None,
    }
}

/// Build the connector's account from the resource and its usage activity.
pub fn to_account(
    r: &AccountResource,
    activity: Option<&Activity>,
    warnings: Vec<String>,
) -> Account {
    let mut warnings = warnings;
    let status = map_status(&r.status).unwrap_or_else(|| {
        warnings.push(format!(
            "unknown Twilio account status {:?}; reported as active",
            r.status
        ));
        Status::Active
    });
    let mut entitlements = Vec::new();
    if let Some(t) = r.account_type.as_deref().filter(|t| !t.is_empty()) {
        entitlements.push(Entitlement {
            kind: EntitlementKind::AccountType,
            id: t.to_string(),
            name: t.to_string(),
            last_activity: None,
        });
    }
    if let Some(a) = activity {
        for (service, date) in &a.services {
            entitlements.push(Entitlement {
                kind: EntitlementKind::Service,
                id: service.clone(),
                name: service.clone(),
                last_activity: Some(date_rfc3339(*date)),
            });
        }
    }
    let mut attributes = Vec::new();
    if let Some(o) = &r.owner_account_sid {
        attributes.push(("owner_account_sid".to_string(), o.clone()));
    }
    if let Some(t) = r.date_created.as_deref().and_then(parse_timestamp) {
        attributes.push(("date_created".to_string(), rfc3339(t)));
    }
    Account {
        id: r.sid.clone(),
        username: r.friendly_name.clone(),
        email: None,
        display_name: r.friendly_name.clone(),
        status,
        last_activity: activity.and_then(Activity::last).map(date_rfc3339),
        entitlements,
        attributes,
        warnings,
    }
}

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
    let page = paging::parse_page(API_HOST, &response.body, "accounts", "account list")?;
    let next_url = page.next_url.clone();
    let resources: Vec<AccountResource> = paging::items(page.items, "account list")?;
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
        let mut t = FakeTransport::new();
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
    use serde_json::json;

    fn resource(status: &str) -> AccountResource {
        serde_json::from_value(json!({
            "sid": "AC00000000000000000000000000000001",
            "friendly_name": "Sales team",
            "status": status,
            "type": "Trial",
            "auth_token": "secret",
            "owner_account_sid": "AC00000000000000000000000000000000",
            "date_created": "Thu, 30 Jul 2015 20:00:00 +0000"
        }))
        .unwrap()
    }

    #[test]
    fn statuses_map_as_documented() {
        assert_eq!(map_status("active"), Some(Status::Active));
        assert_eq!(map_status("suspended"), Some(Status::Suspended));
        assert_eq!(map_status("closed"), Some(Status::Deprovisioned));
        assert_eq!(map_status("frozen"), None);
        let a = to_account(&resource("frozen"), None, vec![]);
        assert_eq!(a.status, Status::Active);
        assert!(a.warnings[0].contains("frozen"));
    }

    #[test]
    fn account_carries_type_services_and_rfc3339_dates() {
        let mut act = Activity::default();
        act.services.insert(
            "Messaging".into(),
            chrono::NaiveDate::from_ymd_opt(2024, 4, 17).unwrap(),
        );
        let a = to_account(&resource("closed"), Some(&act), vec![]);
        assert_eq!(a.status, Status::Deprovisioned);
        assert_eq!(a.last_activity.as_deref(), Some("2024-04-17T00:00:00Z"));
        assert_eq!(a.entitlements[0].kind, EntitlementKind::AccountType);
        assert_eq!(a.entitlements[0].name, "Trial");
        assert_eq!(a.entitlements[1].name, "Messaging");
        assert!(
            a.attributes
                .contains(&("date_created".into(), "2015-07-30T20:00:00Z".into()))
        );
    }

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
