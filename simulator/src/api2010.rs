//! api.twilio.com: Accounts (list, fetch, update) and Usage Records (all granularities).

use crate::paging::{page_2010, page_2010_of};
use crate::state::{Answer, State, error, not_found};
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Route one request to the 2010 API.
pub fn handle(
    state: &mut State,
    caller: &str,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    form: &BTreeMap<String, String>,
) -> Answer {
    let Some(rest) = path.strip_prefix("/2010-04-01/Accounts") else {
        return not_found(path);
    };
    let scope = state.scope_of(caller);
    if let Some(own) = &scope
        && rest.starts_with('/')
        && !rest.starts_with(&format!("/{own}"))
    {
        return not_found(path);
    }
    if rest == ".json" {
        return match method {
            "GET" => list_accounts(state, scope.as_deref(), path, query),
            _ => error(405, 20004, "Method not allowed"),
        };
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return not_found(path);
    };
    if let Some(sid) = rest.strip_suffix(".json").filter(|s| !s.contains('/')) {
        return match method {
            "GET" => {
                account(state, sid).map_or_else(|| not_found(path), |a| (200, Some(a.clone())))
            }
            "POST" => update_account(state, sid, path, form),
            _ => error(405, 20004, "Method not allowed"),
        };
    }
    if let Some((sid, sub)) = rest.split_once("/Usage/Records") {
        if method != "GET" {
            return error(405, 20004, "Method not allowed");
        }
        let Some(acc) = account(state, sid) else {
            return not_found(path);
        };
        let inactive = matches!(acc["status"].as_str(), Some("suspended" | "closed"));
        if inactive
            && sid != state.fixture.main_account_sid
            && state.fixture.behaviour.refuse_inactive_usage
        {
            return error(401, 20003, "Authenticate");
        }
        let granularity = match sub {
            ".json" | "/AllTime.json" => Granularity::AllTime,
            "/Daily.json" => Granularity::Daily,
            "/Monthly.json" => Granularity::Monthly,
            _ => return not_found(path),
        };
        let rows = usage(state, sid, granularity, query);
        let decimals = state.fixture.behaviour.price_decimals.unwrap_or(5);
        let page = page_2010_of(path, query, "usage_records", rows.len(), |range| {
            rows[range]
                .iter()
                .map(|row| row.to_json(sid, decimals))
                .collect()
        });
        return (200, Some(page));
    }
    not_found(path)
}

fn account<'a>(state: &'a State, sid: &str) -> Option<&'a Value> {
    state.fixture.accounts.iter().find(|a| a["sid"] == sid)
}

fn list_accounts(
    state: &State,
    scope: Option<&str>,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Answer {
    let items: Vec<Value> = state
        .fixture
        .accounts
        .iter()
        .filter(|a| scope.is_none_or(|own| a["sid"] == own))
        .filter(|a| {
            query
                .get("Status")
                .is_none_or(|s| a["status"] == s.as_str())
        })
        .filter(|a| {
            query
                .get("FriendlyName")
                .is_none_or(|s| a["friendly_name"] == s.as_str())
        })
        .cloned()
        .collect();
    (200, Some(page_2010(path, query, "accounts", &items)))
}

fn update_account(
    state: &mut State,
    sid: &str,
    path: &str,
    form: &BTreeMap<String, String>,
) -> Answer {
    let Some(a) = state.fixture.accounts.iter_mut().find(|a| a["sid"] == sid) else {
        return not_found(path);
    };
    if let Some(status) = form.get("Status") {
        if !["active", "suspended", "closed"].contains(&status.as_str()) {
            return error(400, 20001, &format!("Invalid Status {status}"));
        }
        if a["status"] == "closed" && status != "closed" {
            return error(400, 20001, "A closed account cannot be reopened");
        }
        a["status"] = json!(status);
    }
    if let Some(name) = form.get("FriendlyName") {
        a["friendly_name"] = json!(name);
    }
    a["date_updated"] = json!(chrono::Utc::now().to_rfc2822());
    (200, Some(a.clone()))
}

#[derive(Clone, Copy, PartialEq)]
enum Granularity {
    AllTime,
    Monthly,
    Daily,
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Aggregate the fixture's records the way Twilio reports them for a granularity, plus a
/// `totalprice` record per period. The main account's usage includes its subaccounts' unless
/// `IncludeSubaccounts=false`.
fn usage(
    state: &State,
    sid: &str,
    g: Granularity,
    query: &BTreeMap<String, String>,
) -> Vec<UsageRow> {
    let main = &state.fixture.main_account_sid;
    let include_subs = query.get("IncludeSubaccounts").is_none_or(|v| v != "false");
    let date = |k: &str| {
        query
            .get(k)
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    };
    let (from, to) = (date("StartDate"), date("EndDate"));
    let mut sources: Vec<&Value> = state
        .fixture
        .usage_records
        .get(sid)
        .into_iter()
        .flatten()
        .collect();
    if sid == main && include_subs {
        for (other, recs) in &state.fixture.usage_records {
            if other != main {
                sources.extend(recs);
            }
        }
    }
    // (period start, period end, category) -> (price sum, any string price, any price, count, usage)
    // The category is nullable in the UsageRecord schema (api v2010 OpenAPI); a null one stays
    // null in the answer.
    let mut groups: Groups = BTreeMap::new();
    let mut all_time_bounds: BTreeMap<String, (NaiveDate, NaiveDate)> = BTreeMap::new();
    for r in sources {
        let Some(end) = r["end_date"]
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let start = r["start_date"]
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .unwrap_or(end);
        if from.is_some_and(|f| end < f) || to.is_some_and(|t| end > t) {
            continue;
        }
        let category = r["category"].as_str().map(str::to_string);
        if query
            .get("Category")
            .is_some_and(|c| Some(c) != category.as_ref())
        {
            continue;
        }
        let (ps, pe) = match g {
            Granularity::Daily => (end, end),
            Granularity::Monthly => month(end),
            Granularity::AllTime => {
                let b = all_time_bounds
                    .entry(category.clone().unwrap_or_default())
                    .or_insert((start, end));
                *b = (b.0.min(start), b.1.max(end));
                (NaiveDate::MIN, NaiveDate::MIN)
            }
        };
        let total = Some("totalprice".to_string());
        for cat in [category.clone(), total.clone()] {
            if cat == total && category == total {
                continue;
            }
            let e = groups
                .entry((ps, pe, cat))
                .or_insert((0.0, false, false, 0.0, 0.0));
            if let Some(p) = num(&r["price"]) {
                e.0 += p;
                e.2 = true;
            }
            e.1 |= r["price"].is_string();
            e.3 += num(&r["count"]).unwrap_or(1.0);
            e.4 += num(&r["usage"]).unwrap_or(1.0);
        }
    }
    if g != Granularity::AllTime
        && let Some(since) = state
            .fixture
            .behaviour
            .every_category_since
            .as_deref()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        zero_fill(&mut groups, g, since.max(from.unwrap_or(since)), to, query);
    }
    let overall = all_time_bounds
        .values()
        .fold(None, |acc: Option<(NaiveDate, NaiveDate)>, b| {
            Some(acc.map_or(*b, |a| (a.0.min(b.0), a.1.max(b.1))))
        });
    let mut out: Vec<UsageRow> = groups
        .into_iter()
        .map(|((ps, pe, cat), (price, stringy, priced, count, usage))| {
            let (start, end) = if g == Granularity::AllTime {
                if cat.as_deref() == Some("totalprice") {
                    overall.unwrap_or((ps, pe))
                } else {
                    all_time_bounds[&cat.clone().unwrap_or_default()]
                }
            } else {
                (ps, pe)
            };
            UsageRow {
                start,
                end,
                category: cat,
                price,
                stringy,
                priced,
                count,
                usage,
            }
        })
        .collect();
    // Newest periods first, as Twilio lists them.
    out.sort_by_key(|r| std::cmp::Reverse(r.start));
    out
}

/// Usage aggregated by (period start, period end, category): price sum, any string price,
/// any price, count, usage.
type Groups = BTreeMap<(NaiveDate, NaiveDate, Option<String>), (f64, bool, bool, f64, f64)>;

/// One aggregated usage record, turned into Twilio's JSON only when its page is served.
struct UsageRow {
    start: NaiveDate,
    end: NaiveDate,
    category: Option<String>,
    price: f64,
    stringy: bool,
    priced: bool,
    count: f64,
    usage: f64,
}

impl UsageRow {
    fn to_json(&self, sid: &str, decimals: u32) -> Value {
        let scale = 10f64.powi(decimals as i32);
        let rounded = (self.price * scale).round() / scale;
        let price = match (self.priced, self.stringy) {
            (false, _) => Value::Null,
            (true, true) => json!(format!("{rounded}")),
            (true, false) => json!(rounded),
        };
        let cat = self.category.as_deref();
        json!({
            "account_sid": sid,
            "api_version": "2010-04-01",
            "as_of": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
            "category": cat,
            "count": format!("{}", self.count),
            "count_unit": "",
            "description": format!("Usage of {}", cat.unwrap_or("uncategorised")),
            "start_date": self.start.to_string(),
            "end_date": self.end.to_string(),
            "price": price,
            "price_unit": "usd",
            "usage": format!("{}", self.usage),
            "usage_unit": "",
            "subresource_uris": {},
            "uri": format!("/2010-04-01/Accounts/{sid}/Usage/Records.json?Category={}", cat.unwrap_or("")),
        })
    }
}

/// Add a zero-priced record for every category in every period from `since` to `to` (or
/// today) that has none (the `every_category_since` mode).
fn zero_fill(
    groups: &mut Groups,
    g: Granularity,
    since: NaiveDate,
    to: Option<NaiveDate>,
    query: &BTreeMap<String, String>,
) {
    let end = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut day = if g == Granularity::Monthly {
        month(since).0
    } else {
        since
    };
    while day <= end {
        let (ps, pe) = match g {
            Granularity::Monthly => month(day),
            _ => (day, day),
        };
        for cat in crate::fixture::usage_categories() {
            if query.get("Category").is_some_and(|c| c != cat) {
                continue;
            }
            groups
                .entry((ps, pe, Some(cat.to_string())))
                .or_insert((0.0, false, true, 0.0, 0.0));
        }
        day = pe.succ_opt().expect("valid");
    }
}

fn month(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("valid");
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("valid");
    (first, next.pred_opt().expect("valid"))
}
