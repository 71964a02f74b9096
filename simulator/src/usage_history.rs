//! Generated usage history: for each subaccount, a record per category per month over the last
//! months, zeros included, the shape a real active subaccount's `Usage/Records/Monthly.json`
//! answer has (hundreds of records). Records are kept compactly ([`UsageEntry`], 40 bytes):
//! only what the usage aggregation reads, so a 1,000-subaccount fixture with two years of a
//! dozen categories stays around ten megabytes.

use crate::fixture::{Fixture, usage_categories};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How much usage history [`Fixture::with_usage_history`] gives each active subaccount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Months of history, ending with the current month.
    pub months: u32,
    /// Categories listed in every one of those months (priced or zero).
    pub categories_per_month: usize,
}

impl History {
    /// Two years of a dozen categories a month: 288 records a subaccount.
    pub const TWO_YEARS: History = History {
        months: 24,
        categories_per_month: 12,
    };
}

/// One usage record, compactly: the fields of a UsageRecord (`category`, `end_date`, `price`,
/// `count`; api.v2010 `ListUsageRecord*` operations) that the usage aggregation reads. Its
/// `start_date` is its `end_date` (a day's usage) and its `usage` is its `count`. In fixture JSON
/// it reads and writes as `{"category", "end_date", "price", "count"}`, `price` a number or a
/// string (Twilio sends either, DESIGN.md section 4); `category` must be one of
/// [`usage_categories`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageEntry {
    /// One of the documented categories ([`usage_categories`]).
    pub category: &'static str,
    /// The day of the usage (its `start_date` and `end_date`).
    pub date: NaiveDate,
    /// Total price of the usage (0 for a zero-priced record, which Twilio lists too).
    pub price: f64,
    /// Number of usage events (also reported as `usage`).
    pub count: u32,
    /// Whether Twilio sent the price as a JSON string (`"0.75"`) rather than a number.
    pub price_is_string: bool,
}

#[derive(Serialize, Deserialize)]
struct EntryJson {
    category: String,
    end_date: String,
    price: Value,
    #[serde(default)]
    count: u32,
}

impl Serialize for UsageEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EntryJson::from(*self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for UsageEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        UsageEntry::try_from(EntryJson::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl From<UsageEntry> for EntryJson {
    fn from(e: UsageEntry) -> Self {
        EntryJson {
            category: e.category.to_string(),
            end_date: e.date.to_string(),
            price: if e.price_is_string {
                json!(format!("{}", e.price))
            } else {
                json!(e.price)
            },
            count: e.count,
        }
    }
}

impl TryFrom<EntryJson> for UsageEntry {
    type Error = String;

    fn try_from(j: EntryJson) -> Result<Self, String> {
        let category = usage_categories()
            .find(|c| *c == j.category)
            .ok_or_else(|| format!("usage category {:?} is not documented", j.category))?;
        let date = NaiveDate::parse_from_str(&j.end_date, "%Y-%m-%d")
            .map_err(|e| format!("end_date {:?}: {e}", j.end_date))?;
        let (price, price_is_string) = match &j.price {
            Value::Number(n) => (n.as_f64().unwrap_or(0.0), false),
            Value::String(s) => (
                s.trim().parse().map_err(|e| format!("price {s:?}: {e}"))?,
                true,
            ),
            other => return Err(format!("price {other} is neither a number nor a string")),
        };
        Ok(UsageEntry {
            category,
            date,
            price,
            count: j.count,
            price_is_string,
        })
    }
}

/// A realistic mix of documented categories an active subaccount uses, most common first
/// (every one is in `fixtures/usage-categories.txt`; a test checks it).
const MIX: [&str; 24] = [
    "phonenumbers",
    "sms-outbound",
    "sms-inbound",
    "calls-inbound",
    "calls-outbound",
    "recordings",
    "recordingstorage",
    "lookups",
    "verify-push",
    "verify-totp",
    "verify-voice-sms",
    "mms-outbound",
    "mms-inbound",
    "calls-client",
    "transcriptions",
    "phonenumbers-local",
    "phonenumbers-tollfree",
    "calleridlookups",
    "conversations",
    "taskrouter-tasks",
    "voice-insights",
    "studio-engagements",
    "sync-actions",
    "calls-recordings",
];

/// A unit price (USD) and a most events a month for a category, roughly Twilio's US list prices.
fn tariff(category: &str) -> (f64, u64) {
    let starts = |p: &str| category.starts_with(p);
    if starts("phonenumbers") {
        (1.15, 5)
    } else if starts("sms") {
        (0.0079, 3000)
    } else if starts("mms") {
        (0.02, 500)
    } else if starts("recordingstorage") {
        (0.0005, 10_000)
    } else if starts("calls") {
        (0.014, 1500)
    } else if starts("recordings") {
        (0.0025, 1000)
    } else if starts("transcriptions") {
        (0.05, 200)
    } else if starts("lookups") || starts("calleridlookups") {
        (0.005, 1000)
    } else if starts("verify") {
        (0.05, 400)
    } else {
        (0.01, 500)
    }
}

/// SplitMix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn for_account(main: &str, sid: &str) -> Self {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in main.bytes().chain([b'/']).chain(sid.bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// `n` distinct documented categories: `phonenumbers`, then a shuffle of the rest of [`MIX`],
/// then (past the mix) the documented list in order, never `totalprice` (the aggregation adds
/// that one).
fn pick_categories(rng: &mut Rng, n: usize) -> Vec<&'static str> {
    let mut rest: Vec<&'static str> = MIX[1..].to_vec();
    for i in (1..rest.len()).rev() {
        rest.swap(i, rng.below(i as u64 + 1) as usize);
    }
    std::iter::once(MIX[0])
        .chain(rest)
        .chain(usage_categories().filter(|c| *c != "totalprice" && !MIX.contains(c)))
        .take(n)
        .collect()
}

fn days_in_month(first: NaiveDate) -> u32 {
    let next = first + Months::new(1);
    (next - first).num_days() as u32
}

/// One subaccount's history up to `today`. An active account lists every chosen category in
/// every one of the `months` months; it last used Twilio (its latest priced record) in the
/// current month or some months ago, and lists zeros after that. A suspended or closed one has
/// three months of three categories, ending at least half the history ago.
fn account_history(rng: &mut Rng, active: bool, h: History, today: NaiveDate) -> Vec<UsageEntry> {
    let months = u64::from(h.months);
    if months == 0 || h.categories_per_month == 0 {
        return Vec::new();
    }
    let this_month = today.with_day(1).expect("day 1 exists");
    let (categories, idle, oldest) = if active {
        let idle = match rng.below(8) {
            0..=3 => 0,
            4 | 5 => 1 + rng.below(3),
            6 => 4 + rng.below(6),
            _ => 10 + rng.below(months),
        }
        .min(months - 1);
        let categories = pick_categories(rng, h.categories_per_month);
        (categories, idle, months - 1)
    } else {
        let idle = (months / 2 + rng.below(months / 2 + 1)).min(months - 1);
        let categories = pick_categories(rng, h.categories_per_month.min(3));
        (categories, idle, (idle + 2).min(months - 1))
    };
    let first = if active { 0 } else { idle };
    let mut out = Vec::with_capacity(((oldest - first + 1) as usize) * categories.len());
    for ago in first..=oldest {
        let month = this_month - Months::new(ago as u32);
        let last_day = if ago == 0 {
            today.day()
        } else {
            days_in_month(month)
        };
        for (i, &category) in categories.iter().enumerate() {
            let priced = match ago.cmp(&idle) {
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal if i == 0 => true,
                _ => rng.below(5) != 0,
            };
            let day = 1 + rng.below(u64::from(last_day)) as u32;
            let (unit, most) = tariff(category);
            let count = if priced { 1 + rng.below(most) } else { 0 };
            let price = (count as f64 * unit * 10_000.0).round() / 10_000.0;
            out.push(UsageEntry {
                category,
                date: month.with_day(day).expect("day inside the month"),
                price,
                count: count as u32,
                price_is_string: rng.below(3) == 0,
            });
        }
    }
    out
}

impl Fixture {
    /// [`Fixture::generate`]'s accounts (same SIDs and statuses for the same `seed`) with a
    /// realistic usage history up to today (UTC) instead of its few records: see
    /// [`Fixture::with_usage_history`].
    pub fn generate_with_history(accounts: usize, seed: u64, history: History) -> Self {
        Self::generate(accounts, seed).with_usage_history(history)
    }

    /// Replace every subaccount's usage with a generated history up to today (UTC): see
    /// [`Fixture::with_usage_history_as_of`].
    pub fn with_usage_history(self, history: History) -> Self {
        let today = chrono::Utc::now().date_naive();
        self.with_usage_history_as_of(history, today)
    }

    /// Replace every subaccount's usage (its `usage_records` and `usage_history`) with a
    /// generated history ending on `today`, deterministic for the account SIDs and `today`.
    ///
    /// An active subaccount gets, for each of the last `history.months` months (the current one
    /// included, up to `today`), a record for each of `history.categories_per_month` categories
    /// from the documented list ([`usage_categories`]; the UsageRecord `category` of the api
    /// v2010 OpenAPI, `ListUsageRecordMonthly`), each on a day inside its month: about four in
    /// five priced, the rest zero-priced (`0` or `"0"`; the OpenAPI does not say Twilio leaves
    /// zero records out, and DESIGN.md has `price` arrive as a number or a string). Its latest
    /// priced month varies: about half the accounts used Twilio this month, others one to many
    /// months ago and list only zeros since. A suspended or closed subaccount keeps three
    /// months of three categories, from at least half the history ago. The main account's own
    /// usage is left as it is.
    pub fn with_usage_history_as_of(mut self, history: History, today: NaiveDate) -> Self {
        let main = self.main_account_sid.clone();
        let subaccounts: Vec<(String, bool)> = self
            .accounts
            .iter()
            .filter_map(|a| {
                let sid = a["sid"].as_str()?;
                (sid != main).then(|| (sid.to_string(), a["status"] == "active"))
            })
            .collect();
        for (sid, active) in subaccounts {
            let mut rng = Rng::for_account(&main, &sid);
            let entries = account_history(&mut rng, active, history, today);
            self.usage_records.remove(&sid);
            self.usage_history.insert(sid, entries);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_category_mix_is_documented() {
        let documented: BTreeSet<&str> = usage_categories().collect();
        for c in MIX {
            assert!(documented.contains(c), "{c} is not a documented category");
        }
        let mut rng = Rng(1);
        let many = pick_categories(&mut rng, 40);
        assert_eq!(many.len(), 40);
        assert_eq!(many.iter().collect::<BTreeSet<_>>().len(), 40, "distinct");
        assert!(!many.contains(&"totalprice"));
        assert!(many.iter().all(|c| documented.contains(c)));
    }

    #[test]
    fn active_subaccounts_get_months_times_categories_on_days_inside_each_month() {
        let today = day("2026-03-17");
        let f = Fixture::generate(40, 3).with_usage_history_as_of(History::TWO_YEARS, today);
        let again = Fixture::generate(40, 3).with_usage_history_as_of(History::TWO_YEARS, today);
        assert_eq!(f.usage_history, again.usage_history, "deterministic");
        let mut latest_months = BTreeSet::new();
        let mut active = 0;
        for a in f.accounts.iter().skip(1) {
            let sid = a["sid"].as_str().unwrap();
            assert!(!f.usage_records.contains_key(sid), "old records replaced");
            let h = &f.usage_history[sid];
            if a["status"] != "active" {
                assert!(h.len() <= 9, "a small history for {sid}");
                assert!(h.iter().all(|e| e.date <= day("2025-04-30")));
                continue;
            }
            active += 1;
            assert_eq!(h.len(), 24 * 12);
            let months: BTreeSet<(i32, u32)> =
                h.iter().map(|e| (e.date.year(), e.date.month())).collect();
            assert_eq!(months.len(), 24);
            assert_eq!(months.first(), Some(&(2024, 4)));
            assert_eq!(months.last(), Some(&(2026, 3)));
            assert!(h.iter().all(|e| e.date <= today), "nothing after today");
            let categories: BTreeSet<&str> = h.iter().map(|e| e.category).collect();
            assert_eq!(categories.len(), 12);
            assert!(categories.contains("phonenumbers"));
            let priced = h.iter().filter(|e| e.price > 0.0).count();
            assert!(priced > 0 && priced < h.len(), "a mix of priced and zero");
            assert!(h.iter().all(|e| (e.price > 0.0) == (e.count > 0)));
            let latest = h.iter().filter(|e| e.price > 0.0).map(|e| e.date).max();
            latest_months.insert(latest.map(|d| (d.year(), d.month())));
        }
        assert!(active >= 15, "{active} active subaccounts");
        assert!(
            latest_months.len() >= 4,
            "last activity varies: {latest_months:?}"
        );
        let strings = f
            .usage_history
            .values()
            .flatten()
            .filter(|e| e.price_is_string);
        assert!(strings.count() > 0, "some prices arrive as strings");
    }

    #[test]
    fn entries_read_and_write_as_usage_record_json() {
        let e = UsageEntry {
            category: "sms-outbound",
            date: day("2026-02-03"),
            price: 0.75,
            count: 3,
            price_is_string: true,
        };
        let v = serde_json::to_value(e).unwrap();
        assert_eq!(
            v,
            json!({"category": "sms-outbound", "end_date": "2026-02-03", "price": "0.75", "count": 3})
        );
        assert_eq!(serde_json::from_value::<UsageEntry>(v).unwrap(), e);
        let bad = json!({"category": "no-such-category", "end_date": "2026-02-03", "price": 1});
        assert!(serde_json::from_value::<UsageEntry>(bad).is_err());
    }

    #[test]
    fn a_large_history_stays_small_in_memory() {
        assert!(std::mem::size_of::<UsageEntry>() <= 40);
        let f = Fixture::generate(1000, 9).with_usage_history(History::TWO_YEARS);
        let records: usize = f.usage_history.values().map(Vec::len).sum();
        let bytes: usize = f
            .usage_history
            .values()
            .map(|v| v.capacity() * std::mem::size_of::<UsageEntry>())
            .sum();
        assert!(records > 150_000, "{records} records");
        assert!(bytes < 16 << 20, "{bytes} bytes of records");
    }
}
