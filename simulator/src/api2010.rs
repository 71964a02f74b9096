//! api.twilio.com: Accounts (list, fetch, update) and Usage Records (all granularities).

use crate::fixture::UsageEntry;
use crate::paging::{page_2010, page_2010_text};
use crate::state::{Answer, Reply, State, error, not_found};
use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Display;

/// Route one request to the 2010 API.
pub fn handle(
    state: &mut State,
    caller: &str,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    form: &BTreeMap<String, String>,
) -> Reply {
    let Some(rest) = path.strip_prefix("/2010-04-01/Accounts") else {
        return not_found(path).into();
    };
    let scope = state.scope_of(caller);
    if let Some(own) = &scope
        && rest.starts_with('/')
        && !rest.starts_with(&format!("/{own}"))
    {
        return not_found(path).into();
    }
    if rest == ".json" {
        return match method {
            "GET" => list_accounts(state, scope.as_deref(), path, query),
            _ => error(405, 20004, "Method not allowed"),
        }
        .into();
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return not_found(path).into();
    };
    if let Some(sid) = rest.strip_suffix(".json").filter(|s| !s.contains('/')) {
        return match method {
            "GET" => {
                account(state, sid).map_or_else(|| not_found(path), |a| (200, Some(a.clone())))
            }
            "POST" => update_account(state, sid, path, form),
            _ => error(405, 20004, "Method not allowed"),
        }
        .into();
    }
    if let Some((sid, sub)) = rest.split_once("/Usage/Records") {
        return usage_records(state, sid, sub, method, path, query);
    }
    not_found(path).into()
}

/// A UsageRecord list (`ListUsageRecord`, `ListUsageRecordAllTime`, `ListUsageRecordDaily`,
/// `ListUsageRecordMonthly` in the api v2010 OpenAPI), its page written straight to JSON text:
/// a Monthly page of an account with two years of history is hundreds of records.
fn usage_records(
    state: &mut State,
    sid: &str,
    sub: &str,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Reply {
    if method != "GET" {
        return error(405, 20004, "Method not allowed").into();
    }
    // An answer kept for reuse stands until anything changes (a write or a fixture update
    // clears them all), so it is served before anything else is looked up.
    let reuse = state.fixture.behaviour.reuse_usage_answers;
    let key = format!("{path}?{query:?}");
    if reuse && let Some(text) = state.usage_answers.get(&key) {
        return Reply::Text(200, text.clone());
    }
    let Some(acc) = account(state, sid) else {
        return not_found(path).into();
    };
    let inactive = matches!(acc["status"].as_str(), Some("suspended" | "closed"));
    if inactive
        && sid != state.fixture.main_account_sid
        && state.fixture.behaviour.refuse_inactive_usage
    {
        return error(401, 20003, "Authenticate").into();
    }
    let granularity = match sub {
        ".json" | "/AllTime.json" => Granularity::AllTime,
        "/Daily.json" => Granularity::Daily,
        "/Monthly.json" => Granularity::Monthly,
        _ => return not_found(path).into(),
    };
    let rows = usage(state, sid, granularity, query);
    let decimals = state.fixture.behaviour.price_decimals.unwrap_or(5);
    let as_of = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    let records = format!("/2010-04-01/Accounts/{sid}/Usage/Records");
    let page = page_2010_text(path, query, "usage_records", rows.len(), |range| {
        rows[range]
            .iter()
            .map(|row| row.resource(sid, &records, decimals, &as_of))
            .collect::<Vec<_>>()
    });
    drop(rows);
    let page = axum::body::Bytes::from(page);
    if reuse {
        state.usage_answers.insert(key, page.clone());
    }
    Reply::Text(200, page)
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

/// A `YYYY-MM-DD` date; the common exact form is read without chrono's format parser (the
/// aggregation runs on every usage request), anything else as before.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10))
    {
        return NaiveDate::from_ymd_opt(y as i32, m, d);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// One usage record as the aggregation reads it, from a fixture record or a history entry.
struct Event<'a> {
    start: NaiveDate,
    end: NaiveDate,
    category: Option<&'a str>,
    price: Option<f64>,
    stringy: bool,
    count: f64,
    usage: f64,
}

impl<'a> Event<'a> {
    /// A fixture record (a UsageRecord resource); none without a readable `end_date`.
    fn of_record(r: &'a Value) -> Option<Self> {
        let end = r["end_date"].as_str().and_then(parse_day)?;
        Some(Event {
            start: r["start_date"].as_str().and_then(parse_day).unwrap_or(end),
            end,
            category: r["category"].as_str(),
            price: num(&r["price"]),
            stringy: r["price"].is_string(),
            count: num(&r["count"]).unwrap_or(1.0),
            usage: num(&r["usage"]).unwrap_or(1.0),
        })
    }

    /// A compact history entry (its dates already parsed).
    fn of_entry(e: &UsageEntry) -> Event<'static> {
        Event {
            start: e.date,
            end: e.date,
            category: Some(e.category),
            price: Some(e.price),
            stringy: e.price_is_string,
            count: f64::from(e.count),
            usage: f64::from(e.count),
        }
    }
}

/// The grouping of one usage request.
struct Aggregation<'a> {
    g: Granularity,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    category: Option<&'a str>,
    groups: Groups<'a>,
    all_time_bounds: BTreeMap<&'a str, (NaiveDate, NaiveDate)>,
}

impl<'a> Aggregation<'a> {
    fn add(&mut self, ev: Event<'a>) {
        if self.from.is_some_and(|f| ev.end < f) || self.to.is_some_and(|t| ev.end > t) {
            return;
        }
        if self.category.is_some_and(|c| Some(c) != ev.category) {
            return;
        }
        let (ps, pe) = match self.g {
            Granularity::Daily => (ev.end, ev.end),
            Granularity::Monthly => month(ev.end),
            Granularity::AllTime => {
                let b = self
                    .all_time_bounds
                    .entry(ev.category.unwrap_or_default())
                    .or_insert((ev.start, ev.end));
                *b = (b.0.min(ev.start), b.1.max(ev.end));
                (NaiveDate::MIN, NaiveDate::MIN)
            }
        };
        const TOTAL: Option<&str> = Some("totalprice");
        // A record of the aggregate category itself adds to no period (as before).
        if ev.category == TOTAL {
            return;
        }
        for cat in [ev.category, TOTAL] {
            let e = self
                .groups
                .entry((ps, pe, cat))
                .or_insert((0.0, false, false, 0.0, 0.0));
            if let Some(p) = ev.price {
                e.0 += p;
                e.2 = true;
            }
            e.1 |= ev.stringy;
            e.3 += ev.count;
            e.4 += ev.usage;
        }
    }
}

/// Aggregate the fixture's records (`usage_records` and the compact `usage_history`) the way
/// Twilio reports them for a granularity, plus a `totalprice` record per period. The main
/// account's usage includes its subaccounts' unless `IncludeSubaccounts=false`. History entries
/// carry parsed dates, so a request costs one pass over the account's records without parsing.
fn usage<'a>(
    state: &'a State,
    sid: &str,
    g: Granularity,
    query: &'a BTreeMap<String, String>,
) -> Vec<UsageRow<'a>> {
    let main = &state.fixture.main_account_sid;
    let include_subs = query.get("IncludeSubaccounts").is_none_or(|v| v != "false");
    let date = |k: &str| query.get(k).and_then(|s| parse_day(s));
    let (from, to) = (date("StartDate"), date("EndDate"));
    // The category is nullable in the UsageRecord schema (api v2010 OpenAPI); a null one stays
    // null in the answer.
    let mut agg = Aggregation {
        g,
        from,
        to,
        category: query.get("Category").map(String::as_str),
        groups: BTreeMap::new(),
        all_time_bounds: BTreeMap::new(),
    };
    let subs = sid == main && include_subs;
    let records = &state.fixture.usage_records;
    let history = &state.fixture.usage_history;
    let own_records = records.get(sid).into_iter().flatten();
    let sub_records = records
        .iter()
        .filter(|(other, _)| subs && *other != main)
        .flat_map(|(_, recs)| recs);
    for ev in own_records.chain(sub_records).filter_map(Event::of_record) {
        agg.add(ev);
    }
    let own_history = history.get(sid).into_iter().flatten();
    let sub_history = history
        .iter()
        .filter(|(other, _)| subs && *other != main)
        .flat_map(|(_, entries)| entries);
    for e in own_history.chain(sub_history) {
        agg.add(Event::of_entry(e));
    }
    let Aggregation {
        mut groups,
        all_time_bounds,
        ..
    } = agg;
    if g != Granularity::AllTime
        && let Some(since) = state
            .fixture
            .behaviour
            .every_category_since
            .as_deref()
            .and_then(parse_day)
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
                if cat == Some("totalprice") {
                    overall.unwrap_or((ps, pe))
                } else {
                    all_time_bounds[cat.unwrap_or_default()]
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
type Groups<'a> = BTreeMap<(NaiveDate, NaiveDate, Option<&'a str>), (f64, bool, bool, f64, f64)>;

/// One aggregated usage record, turned into Twilio's JSON only when its page is served.
struct UsageRow<'a> {
    start: NaiveDate,
    end: NaiveDate,
    category: Option<&'a str>,
    price: f64,
    stringy: bool,
    priced: bool,
    count: f64,
    usage: f64,
}

/// The list subresources every UsageRecord names in its `subresource_uris` (a `uri-map` in
/// the api v2010 OpenAPI schemas `api.v2010.account.usage.usage_record.usage_record_monthly`,
/// `..._daily` and the other granularities, whose description points at
/// https://www.twilio.com/docs/usage/api/usage-record#list-subresources): one per list
/// operation under `/Usage/Records/` (`ListUsageRecordAllTime`, `...Daily`, `...LastMonth`,
/// `...Monthly`, `...ThisMonth`, `...Today`, `...Yearly`, `...Yesterday`), for the record's
/// category.
#[derive(Serialize)]
struct SubresourceUris<'a> {
    all_time: Uri<'a>,
    daily: Uri<'a>,
    last_month: Uri<'a>,
    monthly: Uri<'a>,
    this_month: Uri<'a>,
    today: Uri<'a>,
    yearly: Uri<'a>,
    yesterday: Uri<'a>,
}

/// `{records}{list}.json?Category={category}`, written without building a string.
struct Uri<'a> {
    records: &'a str,
    list: &'static str,
    category: &'a str,
}

impl Serialize for Uri<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "{}{}.json?Category={}",
            self.records, self.list, self.category
        ))
    }
}

/// A value serialised as the JSON string of its `Display` form.
struct Shown<T>(T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `Usage of {category}` (the record's `description`).
struct Description<'a>(Option<&'a str>);

impl Display for Description<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Usage of {}", self.0.unwrap_or("uncategorised"))
    }
}

/// A UsageRecord resource: every property of the OpenAPI schema
/// `api.v2010.account.usage.usage_record.usage_record_monthly` (the Daily, AllTime and other
/// granularities' schemas list the same ones), in the order a `serde_json::Value` object
/// writes them, so answers read as they did when they were built as `Value`s.
#[derive(Serialize)]
struct UsageRecord<'a> {
    account_sid: &'a str,
    api_version: &'static str,
    as_of: &'a str,
    category: Option<&'a str>,
    count: Shown<f64>,
    count_unit: &'static str,
    description: Shown<Description<'a>>,
    end_date: Shown<NaiveDate>,
    /// A number, a string or null (`price` arrives as either; DESIGN.md section 4).
    price: Value,
    price_unit: &'static str,
    start_date: Shown<NaiveDate>,
    subresource_uris: SubresourceUris<'a>,
    uri: Uri<'a>,
    usage: Shown<f64>,
    usage_unit: &'static str,
}

impl<'a> UsageRow<'a> {
    /// The row as a UsageRecord resource; `records` is the account's
    /// `/2010-04-01/Accounts/{sid}/Usage/Records`, `as_of` the request's timestamp.
    fn resource(
        &'a self,
        sid: &'a str,
        records: &'a str,
        decimals: u32,
        as_of: &'a str,
    ) -> UsageRecord<'a> {
        let scale = 10f64.powi(decimals as i32);
        let rounded = (self.price * scale).round() / scale;
        let price = match (self.priced, self.stringy) {
            (false, _) => Value::Null,
            (true, true) => json!(format!("{rounded}")),
            (true, false) => json!(rounded),
        };
        let cat = self.category;
        let uri = |list| Uri {
            records,
            list,
            category: cat.unwrap_or(""),
        };
        UsageRecord {
            account_sid: sid,
            api_version: "2010-04-01",
            as_of,
            category: cat,
            count: Shown(self.count),
            count_unit: "",
            description: Shown(Description(cat)),
            end_date: Shown(self.end),
            price,
            price_unit: "usd",
            start_date: Shown(self.start),
            subresource_uris: SubresourceUris {
                all_time: uri("/AllTime"),
                daily: uri("/Daily"),
                last_month: uri("/LastMonth"),
                monthly: uri("/Monthly"),
                this_month: uri("/ThisMonth"),
                today: uri("/Today"),
                yearly: uri("/Yearly"),
                yesterday: uri("/Yesterday"),
            },
            uri: uri(""),
            usage: Shown(self.usage),
            usage_unit: "",
        }
    }
}

/// Add a zero-priced record for every category in every period from `since` to `to` (or
/// today) that has none (the `every_category_since` mode).
fn zero_fill(
    groups: &mut Groups<'_>,
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
                .entry((ps, pe, Some(cat)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_http::get;
    use crate::{Fixture, History, Simulator};
    use chrono::Datelike;
    use std::collections::BTreeSet;

    /// Twilio's OpenAPI description of the 2010 API (as the e2e tests find it).
    fn api_v2010() -> Value {
        let dir = std::env::var_os("TWILIO_OAI_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/twilio-oai")
            });
        let path = dir.join("twilio_api_v2010.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} is needed by this test: {e}", path.display()));
        serde_json::from_str(&text).expect("OpenAPI JSON")
    }

    fn price(v: &Value) -> f64 {
        num(v).unwrap_or_else(|| panic!("price {v} is neither a number nor a numeric string"))
    }

    #[test]
    fn dates_read_as_chronos_parser_reads_them() {
        for s in [
            "2025-01-31",
            "2024-02-29",
            "2025-02-29",
            "2025-13-01",
            "2025-1-5",
            "+2025-01-01",
            "2025-01-01 ",
            "abcd-ef-gh",
            "",
            "0000-01-01",
        ] {
            assert_eq!(
                parse_day(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
                "{s:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generated_history_answers_hundreds_of_monthly_records_and_their_days() {
        let fixture = Fixture::generate_with_history(12, 17, History::TWO_YEARS);
        let today = chrono::Utc::now().date_naive();
        // The active subaccount with the most priced records.
        let sub = fixture
            .accounts
            .iter()
            .skip(1)
            .filter(|a| a["status"] == "active")
            .filter_map(|a| a["sid"].as_str())
            .max_by_key(|sid| {
                let h = &fixture.usage_history[*sid];
                h.iter().filter(|e| e.price > 0.0).count()
            })
            .expect("an active subaccount")
            .to_string();
        let history = fixture.usage_history[&sub].clone();
        let sim = Simulator::start(fixture, "127.0.0.1:0").await.unwrap();
        let (main, token) = sim.main_credentials();

        // Every Monthly page of 1,000, following `next_page_uri`.
        let mut records = Vec::new();
        let mut bytes = 0;
        let mut next = Some(format!(
            "/2010-04-01/Accounts/{sub}/Usage/Records/Monthly.json?PageSize=1000"
        ));
        while let Some(path) = next {
            let got = get(sim.addr(), &main, &token, &path).await;
            assert_eq!(got.status, 200, "{}", got.body);
            bytes += got.body.len();
            let page = got.json();
            assert_eq!(page["page_size"], 1000);
            records.extend(page["usage_records"].as_array().unwrap().iter().cloned());
            next = page["next_page_uri"].as_str().map(str::to_string);
        }
        let categorised: Vec<&Value> = records
            .iter()
            .filter(|r| r["category"] != "totalprice")
            .collect();
        assert_eq!(
            categorised.len(),
            24 * 12,
            "two years of a dozen categories"
        );
        assert_eq!(records.len(), 24 * 13, "and a totalprice record a month");
        assert!(
            bytes / records.len() > 1000,
            "{} bytes a record",
            bytes / records.len()
        );

        // Each record has the properties of Twilio's schema, and its list subresources.
        let spec = api_v2010();
        let schema = &spec["components"]["schemas"]["api.v2010.account.usage.usage_record.usage_record_monthly"]
            ["properties"];
        let properties: BTreeSet<&str> = schema
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let months: BTreeSet<NaiveDate> = (0..24)
            .map(|m| today.with_day(1).unwrap() - chrono::Months::new(m))
            .collect();
        for r in &records {
            let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, properties, "{r}");
            let cat = r["category"].as_str().unwrap();
            let uris = r["subresource_uris"].as_object().unwrap();
            let lists = [
                ("all_time", "AllTime"),
                ("today", "Today"),
                ("yesterday", "Yesterday"),
                ("this_month", "ThisMonth"),
                ("last_month", "LastMonth"),
                ("daily", "Daily"),
                ("monthly", "Monthly"),
                ("yearly", "Yearly"),
            ];
            assert_eq!(uris.len(), lists.len());
            for (key, list) in lists {
                assert_eq!(
                    uris[key],
                    format!("/2010-04-01/Accounts/{sub}/Usage/Records/{list}.json?Category={cat}")
                );
            }
            for k in ["count", "usage", "start_date", "end_date", "as_of", "uri"] {
                assert!(r[k].is_string(), "{k} of {r}");
            }
            assert_eq!(r["account_sid"], sub.as_str());
            let start =
                NaiveDate::parse_from_str(r["start_date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
            assert!(
                months.contains(&start),
                "{start} is one of the last 24 months"
            );
            assert_eq!(r["end_date"], month(start).1.to_string());
        }
        let priced = categorised
            .iter()
            .filter(|r| price(&r["price"]) > 0.0)
            .count();
        let zero = categorised
            .iter()
            .filter(|r| price(&r["price"]) == 0.0)
            .count();
        assert!(priced > 24 * 6, "mostly priced: {priced}");
        assert!(zero > 0, "zero-priced records are listed too");
        assert_eq!(priced + zero, categorised.len());
        assert!(categorised.iter().any(|r| r["price"].is_string()));
        assert!(categorised.iter().any(|r| r["price"].is_number()));

        // The Daily records of the latest priced month carry each record on its own day.
        let latest = categorised
            .iter()
            .filter(|r| price(&r["price"]) > 0.0)
            .map(|r| r["start_date"].as_str().unwrap())
            .max()
            .unwrap();
        let (first, last) = month(NaiveDate::parse_from_str(latest, "%Y-%m-%d").unwrap());
        let got = get(
            sim.addr(),
            &main,
            &token,
            &format!(
                "/2010-04-01/Accounts/{sub}/Usage/Records/Daily.json?StartDate={first}&EndDate={last}&PageSize=1000"
            ),
        )
        .await;
        assert_eq!(got.status, 200);
        let daily = got.json();
        let daily = daily["usage_records"].as_array().unwrap();
        let expected: Vec<_> = history
            .iter()
            .filter(|e| e.date >= first && e.date <= last)
            .collect();
        assert_eq!(expected.len(), 12);
        assert!(expected.iter().any(|e| e.price > 0.0));
        for e in expected {
            let day = e.date.to_string();
            let found = daily
                .iter()
                .find(|r| r["category"] == e.category && r["start_date"] == day.as_str())
                .unwrap_or_else(|| panic!("{} on {day} in {daily:?}", e.category));
            assert_eq!(found["end_date"], day.as_str());
            assert!((price(&found["price"]) - e.price).abs() < 1e-9);
            assert_eq!(found["price"].is_string(), e.price_is_string);
        }
        assert!(daily.iter().all(|r| r["start_date"] == r["end_date"]));

        // Smaller pages list the same records.
        let mut paged = Vec::new();
        let mut next = Some(format!(
            "/2010-04-01/Accounts/{sub}/Usage/Records/Monthly.json?PageSize=50"
        ));
        while let Some(path) = next {
            let page = get(sim.addr(), &main, &token, &path).await.json();
            paged.extend(page["usage_records"].as_array().unwrap().iter().cloned());
            next = page["next_page_uri"].as_str().map(str::to_string);
        }
        let strip = |rs: &[Value]| -> Vec<Value> {
            rs.iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.as_object_mut().unwrap().remove("as_of");
                    r
                })
                .collect()
        };
        assert_eq!(strip(&paged), strip(&records));
        sim.stop().await;
    }
}
