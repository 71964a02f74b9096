//! Reading usage for a page of accounts: one pipeline of Monthly reads, the Daily reads that
//! make each service's date exact, or, for an account whose usage the tenant's kept state
//! already knows, one Daily read of the days since (an incremental re-sync).

use super::account_resource::{AccountResource, to_account};
use super::kept_usage::{self, KeptUsage};
use super::usage::{Activity, UsageRecord};
use super::{API_HOST, url};
use crate::errors::ConnectorError;
use crate::model::{Account, Config, Result};
use crate::paging;
use crate::retry::Client;
use crate::state::State;
use crate::time::month_bounds;
use std::collections::BTreeMap;

/// Largest page the 2010 API serves: usage lists are read in pages this size and reduced page
/// by page.
const PAGE_SIZE: u32 = 1000;

/// Usage list URL for an account; the connecting account's own usage must exclude its
/// subaccounts (`IncludeSubaccounts` defaults to true).
pub(super) fn usage_url(
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
    /// The Daily records of account `i` since its kept read (a re-sync).
    Since(usize),
}

/// Read usage for many accounts at once, one pipeline: each account's Monthly records, and as
/// soon as they are complete, one Daily query per distinct month that holds a service's latest
/// priced date (each month refined by its own Daily records). An account whose usage `state`
/// kept from an earlier sync reads only the Daily records since instead. Every page is reduced
/// to the latest priced date per service as it arrives, so memory does not grow with usage
/// history. What was read completely is kept in `state` for the next sync.
pub fn with_usage(
    client: &mut Client<'_>,
    mut state: Option<&mut dyn State>,
    cfg: &Config,
    resources: &[AccountResource],
) -> Result<Vec<Account>> {
    let n = resources.len();
    let today = client.now().date_naive();
    let mut activity: Vec<Option<Activity>> = vec![Some(Activity::default()); n];
    let mut warnings: Vec<Vec<String>> = vec![Vec::new(); n];
    // Daily records of a month being read, reduced as pages arrive.
    let mut months: BTreeMap<(usize, chrono::NaiveDate), Activity> = BTreeMap::new();
    let mut starts = Vec::with_capacity(n);
    for (i, r) in resources.iter().enumerate() {
        let kept = state.as_deref_mut().and_then(|s| {
            crate::state::get_json::<KeptUsage>(
                s,
                crate::state::Scope::Tenant,
                &kept_usage::key(&r.sid),
            )
        });
        match kept.as_ref().and_then(|k| Some((k, k.window(today)?))) {
            Some((k, range)) => {
                activity[i] = Some(k.activity());
                starts.push((
                    UsageList::Since(i),
                    usage_url(cfg, &r.sid, "Daily", Some(range)),
                ));
            }
            None => starts.push((
                UsageList::Monthly(i),
                usage_url(cfg, &r.sid, "Monthly", None),
            )),
        }
    }
    paging::walk_lists(
        client,
        API_HOST,
        starts,
        "usage_records",
        "usage",
        |list, page: Result<Vec<UsageRecord>>, last| {
            let mut more = Vec::new();
            match *list {
                UsageList::Monthly(i) | UsageList::Since(i) => {
                    let r = &resources[i];
                    match page {
                        Ok(records) => {
                            if let Some(a) = activity[i].as_mut() {
                                a.merge(Activity::from_records(&records));
                            }
                        }
                        Err(e) => {
                            activity[i] = None;
                            usage_unreadable(r, e, &mut warnings[i])?;
                        }
                    }
                    if let (true, UsageList::Monthly(_), Some(a)) =
                        (last, list, activity[i].as_ref())
                    {
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
                    match page {
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

    if let Some(state) = state {
        keep(state, resources, &activity, &warnings, today);
    }
    Ok(resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if activity[i].as_ref().is_some_and(|a| a.uncategorised > 0) {
                warnings[i].push(format!(
                    "priced usage of {} has records with no category; they count for no service",
                    r.sid
                ));
            }
            to_account(r, activity[i].as_ref(), std::mem::take(&mut warnings[i]))
        })
        .collect())
}

/// Keep each account's usage if it was read completely (no warning); otherwise forget it, so
/// the next sync reads that account in full.
fn keep(
    state: &mut dyn State,
    resources: &[AccountResource],
    activity: &[Option<Activity>],
    warnings: &[Vec<String>],
    today: chrono::NaiveDate,
) {
    use crate::state::Scope::Tenant;
    for (i, r) in resources.iter().enumerate() {
        let key = kept_usage::key(&r.sid);
        match activity[i].as_ref().filter(|_| warnings[i].is_empty()) {
            Some(a) => {
                // A refused write only costs the next sync a full read of this account.
                if crate::state::set_json(state, Tenant, &key, &KeptUsage::new(a, today)).is_err() {
                    state.delete(Tenant, &key);
                }
            }
            None => state.delete(Tenant, &key),
        }
    }
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
        ConnectorError::MalformedResponse(m) => Err(ConnectorError::MalformedResponse(format!(
            "usage records of {}: {m}",
            r.sid
        ))),
        e => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_account_usage_excludes_subaccounts() {
        let cfg = Config {
            account_id: "AC1".into(),
            ..Config::default()
        };
        assert!(usage_url(&cfg, "AC1", "Monthly", None).ends_with("IncludeSubaccounts=false"));
        assert!(!usage_url(&cfg, "AC2", "Monthly", None).contains("IncludeSubaccounts"));
    }
}
