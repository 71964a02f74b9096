//! Listing and reading accounts: the Account resource, its status mapping, and the usage
//! look-ups that give last activity and service entitlements.

use super::usage::{Activity, UsageRecord};
use super::{API_HOST, url, validate_sid};
use crate::errors::ConnectorError;
use crate::http::Request;
use crate::model::{Account, AccountPage, Config, Entitlement, EntitlementKind, Result, Status};
use crate::paging;
use crate::retry::Client;
use crate::time::{date_rfc3339, month_bounds, parse_timestamp, rfc3339};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Largest page the 2010 API serves (used for usage lists, which are reduced page by page).
pub const PAGE_SIZE: u32 = 1000;

/// Accounts per `list-accounts` page: what one call holds is these accounts and their usage
/// reads in flight, whatever the tenant's size. Large enough that the call's first request
/// (the account page) and its last stragglers are a small share of its time.
pub const ACCOUNTS_PER_PAGE: u32 = 250;

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

/// First URL of the account list, or the page a cursor points at.
fn list_url(cursor: Option<&str>) -> Result<String> {
    match cursor {
        None => Ok(url(&format!(
            "/2010-04-01/Accounts.json?PageSize={ACCOUNTS_PER_PAGE}"
        ))),
        // The cursor is the next page link; checked again so a forged cursor cannot leave the host.
        Some(c) => paging::resolve_link(API_HOST, c),
    }
}

/// One page of accounts, each with its usage-derived activity.
pub fn list_page(
    client: &mut Client<'_>,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    let response = client.send(Request::get(list_url(cursor)?))?;
    response.ok("account list")?;
    let page = paging::parse_page(API_HOST, &response.body, "accounts", "account list")?;
    let next_url = page.next_url.clone();
    let resources: Vec<AccountResource> = paging::items(page.items, "account list")?;
    let accounts = with_usage(client, cfg, &resources)?;
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
    Ok(with_usage(client, cfg, &[resource])?.remove(0))
}

/// Usage list URL for an account; the connecting account's own usage must exclude its
/// subaccounts (`IncludeSubaccounts` defaults to true).
fn usage_url(
    cfg: &Config,
    sid: &str,
    granularity: &str,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> String {
    url(&usage_path(
        cfg,
        sid,
        &format!("Records/{granularity}.json"),
        range,
    ))
}

/// Path and query of a usage list (`resource` is e.g. `Records/Monthly.json`).
fn usage_path(
    cfg: &Config,
    sid: &str,
    resource: &str,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> String {
    let mut u = format!("/2010-04-01/Accounts/{sid}/Usage/{resource}?PageSize={PAGE_SIZE}");
    if sid.eq_ignore_ascii_case(cfg.account_id.trim()) {
        u.push_str("&IncludeSubaccounts=false");
    }
    if let Some((start, end)) = range {
        u.push_str(&format!("&StartDate={start}&EndDate={end}"));
    }
    u
}

/// Which usage list a page belongs to.
#[derive(Debug, Clone, Copy)]
enum UsageList {
    /// The Monthly records of account `i`.
    Monthly(usize),
    /// The Daily records of account `i` in the month starting on the date.
    Daily(usize, chrono::NaiveDate),
}

/// Read usage for many accounts at once, one pipeline: each account's Monthly records, and as
/// soon as they are complete, one Daily query per distinct month that holds a service's latest
/// priced date (each month refined by its own Daily records). Every page is reduced to the
/// latest priced date per service as it arrives, so memory does not grow with usage history.
fn with_usage(
    client: &mut Client<'_>,
    cfg: &Config,
    resources: &[AccountResource],
) -> Result<Vec<Account>> {
    let n = resources.len();
    let mut activity: Vec<Option<Activity>> = vec![Some(Activity::default()); n];
    let mut warnings: Vec<Vec<String>> = vec![Vec::new(); n];
    // Daily records of a month being read, reduced as pages arrive.
    let mut months: BTreeMap<(usize, chrono::NaiveDate), Activity> = BTreeMap::new();
    let starts = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                UsageList::Monthly(i),
                usage_url(cfg, &r.sid, "Monthly", None),
            )
        })
        .collect();
    paging::walk_lists(
        client,
        API_HOST,
        starts,
        "usage_records",
        "usage",
        |list, page, last| {
            let mut more = Vec::new();
            match *list {
                UsageList::Monthly(i) => {
                    let r = &resources[i];
                    match page {
                        Ok(values) => {
                            if let Some(a) = activity[i].as_mut() {
                                a.merge(Activity::from_records(&records(values, &r.sid)?));
                            }
                        }
                        Err(e) => {
                            activity[i] = None;
                            usage_unreadable(r, e, &mut warnings[i])?;
                        }
                    }
                    if let (true, Some(a)) = (last, activity[i].as_ref()) {
                        for m in a.months_to_refine() {
                            months.insert((i, m), Activity::default());
                            more.push((
                                UsageList::Daily(i, m),
                                usage_url(cfg, &r.sid, "Daily", Some(month_bounds(m))),
                            ));
                        }
                    }
                }
                UsageList::Daily(i, month) => {
                    let r = &resources[i];
                    let days = page.and_then(|values| records(values, &r.sid));
                    match days {
                        Ok(days) => {
                            if let Some(d) = months.get_mut(&(i, month)) {
                                d.merge(Activity::from_records(&days));
                            }
                            if last {
                                let d = months.remove(&(i, month)).unwrap_or_default();
                                if let Some(a) = activity[i].as_mut() {
                                    a.refine(month, &d);
                                }
                            }
                        }
                        // The month's total stands: the day is less exact, never lost.
                        Err(e) => {
                            months.remove(&(i, month));
                            warnings[i].push(format!(
                                "daily usage of {} for {} could not be read, so dates in that month are the month's end: {e}",
                                r.sid,
                                month.format("%Y-%m")
                            ));
                        }
                    }
                }
            }
            Ok(more)
        },
    )?;

    Ok(resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if let Some(a) = activity[i].as_ref().filter(|a| a.uncategorised > 0) {
                warnings[i].push(format!(
                    "{} priced usage record(s) of {} have no category; they count for no service",
                    a.uncategorised, r.sid
                ));
            }
            to_account(r, activity[i].as_ref(), std::mem::take(&mut warnings[i]))
        })
        .collect())
}

/// Decode usage records of one account.
fn records(values: Vec<serde_json::Value>, sid: &str) -> Result<Vec<UsageRecord>> {
    values
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| {
                ConnectorError::MalformedResponse(format!(
                    "usage records of {sid}: unexpected record ({e})"
                ))
            })
        })
        .collect()
}

/// Usage that Twilio says is not there (a closed account's, or an API without the usage
/// resources) or not permitted is told on the account, whose last activity stays unknown; so
/// is a 401 on a suspended or closed subaccount (Twilio answers 20003 there). Anything else
/// (bad credentials on an active account, rate limits, transport, malformed answers) fails the
/// call, so a partial result is never presented as complete.
fn usage_unreadable(
    r: &AccountResource,
    e: ConnectorError,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let inactive = matches!(r.status.as_str(), "suspended" | "closed");
    match e {
        ConnectorError::NotFound(_) | ConnectorError::Forbidden(_) => {
            warnings.push(format!(
                "usage records of {} ({}) are not readable, so its last activity and services are unknown: {e}",
                r.sid, r.status
            ));
            Ok(())
        }
        ConnectorError::Unauthorized(_) if inactive => {
            warnings.push(format!(
                "usage records of {} ({}) are refused to these credentials, so its last activity and services are unknown: {e}",
                r.sid, r.status
            ));
            Ok(())
        }
        e => Err(e),
    }
}

#[cfg(test)]
mod flows {
    use super::*;
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
    fn main_account_usage_excludes_subaccounts() {
        let cfg = Config {
            account_id: "AC1".into(),
            ..Config::default()
        };
        assert!(usage_url(&cfg, "AC1", "Monthly", None).ends_with("IncludeSubaccounts=false"));
        assert!(!usage_url(&cfg, "AC2", "Monthly", None).contains("IncludeSubaccounts"));
    }

    #[test]
    fn forged_cursors_cannot_leave_the_api_host() {
        assert!(list_url(Some("https://evil.example/x")).is_err());
        assert!(list_url(Some("/2010-04-01/Accounts.json?Page=2")).is_ok());
    }
}
