//! Last activity from usage records: a record counts when its `price` is non-null and
//! non-zero (a number or a numeric string; negative credits count) and its category is a
//! service's (totals and billing adjustments are nobody's activity). Each service's last
//! activity is the latest `end_date` of its records; the account's is the latest of its
//! services'. Read cheaply: Monthly records find each service's last priced month, then one
//! Daily query per such month gives the exact day; a month is refined only by its own Daily
//! records, and keeps the Monthly `end_date` when none of its days is priced (sub-cent daily
//! charges can add up to a priced month).

use super::services::service_for_category;
use crate::time::month_bounds;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The fields of a UsageRecord the connector reads (each may be null, as the schema allows).
/// Every other field of a record is skipped unread.
/// Its text is borrowed from the page it was read from (copied only when written with escapes),
/// so reading a page allocates nothing per record.
#[derive(Debug, Clone, Deserialize)]
pub struct UsageRecord<'a> {
    #[serde(default, borrow)]
    pub category: Option<Text<'a>>,
    #[serde(default)]
    pub price: Price,
    #[serde(default, borrow)]
    pub end_date: Option<Text<'a>>,
}

/// A JSON string as read: borrowed from the page when it had no escapes, decoded otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text<'static> {
    fn from(s: &str) -> Self {
        Text(Cow::Owned(s.to_string()))
    }
}

impl From<String> for Text<'static> {
    fn from(s: String) -> Self {
        Text(Cow::Owned(s))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl UsageRecord<'_> {
    /// What the host needs pass on of a usage page (`Request::reading`): the fields above, of
    /// each item of `usage_records`. A usage page is mostly fields the rules never read (an
    /// active account's two-year Monthly page is ~400 KB, ~1.5 KB a record), so this is most
    /// of what the sandbox would otherwise copy and parse.
    pub const FIELDS: &'static str = "usage_records=category,price,end_date";
}

/// What a record's `price` says for activity: priced when non-null and non-zero (a number or a
/// numeric string; negative credits count). Read as the record is parsed, without keeping the
/// text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Price {
    #[default]
    Unpriced,
    Priced,
}

impl Price {
    fn of(priced: bool) -> Self {
        if priced {
            Price::Priced
        } else {
            Price::Unpriced
        }
    }

    fn of_number(f: f64) -> Self {
        Price::of(f != 0.0 && f.is_finite())
    }

    fn of_text(s: &str) -> Self {
        Price::of(
            s.trim()
                .parse::<f64>()
                .is_ok_and(|f| f != 0.0 && f.is_finite()),
        )
    }

    /// Whether the record counts as activity.
    pub fn is_priced(self) -> bool {
        self == Price::Priced
    }
}

impl From<&Value> for Price {
    fn from(v: &Value) -> Self {
        match v {
            Value::Number(n) => n.as_f64().map_or(Price::Unpriced, Price::of_number),
            Value::String(s) => Price::of_text(s),
            _ => Price::Unpriced,
        }
    }
}

impl From<Value> for Price {
    fn from(v: Value) -> Self {
        Price::from(&v)
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PriceVisitor)
    }
}

/// Any JSON value as a price: numbers and numeric text decide, anything else is no price.
struct PriceVisitor;

impl<'de> serde::de::Visitor<'de> for PriceVisitor {
    type Value = Price;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a price")
    }

    fn visit_f64<E>(self, v: f64) -> Result<Price, E> {
        Ok(Price::of_number(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Price, E> {
        Ok(Price::of(v != 0))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Price, E> {
        Ok(Price::of(v != 0))
    }

    fn visit_str<E>(self, v: &str) -> Result<Price, E> {
        Ok(Price::of_text(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Price, E> {
        Ok(Price::Unpriced)
    }

    fn visit_unit<E>(self) -> Result<Price, E> {
        Ok(Price::Unpriced)
    }

    fn visit_none<E>(self) -> Result<Price, E> {
        Ok(Price::Unpriced)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Price, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Price, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Price::Unpriced)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Price, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Price::Unpriced)
    }
}

/// Whether a `price` is non-null and non-zero. Unparseable text counts as no price.
pub fn is_priced(price: &Value) -> bool {
    Price::from(price).is_priced()
}

/// The services of the categories met in one set of records: a few, looked up in a short list;
/// many (a listing of every category), in a map.
#[derive(Default)]
struct Classified<'r> {
    few: Vec<(&'r str, Option<String>)>,
    many: HashMap<&'r str, Option<String>>,
}

impl<'r> Classified<'r> {
    const FEW: usize = 32;

    fn service(&mut self, category: &'r str) -> &Option<String> {
        if let Some(i) = self.few.iter().position(|(c, _)| *c == category) {
            return &self.few[i].1;
        }
        if self.few.len() < Self::FEW {
            self.few.push((category, service_for_category(category)));
            return &self.few[self.few.len() - 1].1;
        }
        self.many
            .entry(category)
            .or_insert_with(|| service_for_category(category))
    }
}

/// Latest priced dates found in a set of records, per service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Latest priced `end_date` per service.
    pub services: BTreeMap<String, NaiveDate>,
    /// Priced records that carried no category (null): counted for no service, and told.
    pub uncategorised: usize,
}

impl Activity {
    /// Summarise records. A page repeats a dozen categories hundreds of times: each distinct
    /// category is classified once per page.
    pub fn from_records(records: &[UsageRecord]) -> Self {
        let mut a = Activity::default();
        let mut classified = Classified::default();
        for r in records.iter().filter(|r| r.price.is_priced()) {
            let Some(end) = r.end_date.as_deref().and_then(crate::time::parse_date) else {
                continue;
            };
            let Some(category) = r.category.as_deref() else {
                a.uncategorised += 1;
                continue;
            };
            let service = classified.service(category);
            if let Some(service) = service {
                match a.services.get_mut(service) {
                    Some(e) => *e = (*e).max(end),
                    None => {
                        a.services.insert(service.clone(), end);
                    }
                }
            }
        }
        a
    }

    /// Add what another set of records of the same account showed (a later page).
    pub fn merge(&mut self, other: Activity) {
        for (service, date) in other.services {
            let e = self.services.entry(service).or_insert(date);
            *e = (*e).max(date);
        }
        self.uncategorised += other.uncategorised;
    }

    /// The account's last activity: the latest of its services'.
    pub fn last(&self) -> Option<NaiveDate> {
        self.services.values().max().copied()
    }

    /// The months (first day) whose daily records are needed to make every date exact.
    pub fn months_to_refine(&self) -> BTreeSet<NaiveDate> {
        self.services.values().map(|d| month_bounds(*d).0).collect()
    }

    /// Replace the dates that fall in `month` with the exact days `daily` (that month's Daily
    /// records) shows. Only days inside the month count; a service whose days show nothing
    /// priced keeps its Monthly date rather than losing its activity.
    pub fn refine(&mut self, month: NaiveDate, daily: &Activity) {
        let (first, last) = month_bounds(month);
        for (service, date) in self.services.iter_mut() {
            if month_bounds(*date).0 != first {
                continue;
            }
            if let Some(d) = daily
                .services
                .get(service)
                .filter(|d| (first..=last).contains(*d))
            {
                *date = *d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A record as Twilio's UsageRecord schema writes one, every field set.
    fn whole_record() -> Value {
        json!({
            "account_sid": "AC00000000000000000000000000000001",
            "api_version": "2010-04-01",
            "as_of": "2026-11-30T00:00:00+00:00",
            "category": "sms-outbound",
            "count": "12",
            "count_unit": "messages",
            "description": "SMS Outbound",
            "end_date": "2026-10-31",
            "price": "0.0950",
            "price_unit": "usd",
            "start_date": "2026-10-01",
            "subresource_uris": {"all_time": "/a", "daily": "/d", "monthly": "/m"},
            "uri": "/2010-04-01/Accounts/AC00000000000000000000000000000001/Usage/Records/Monthly?Category=sms-outbound",
            "usage": "12",
            "usage_unit": "messages"
        })
    }

    #[test]
    fn a_record_narrowed_to_its_fields_reads_as_the_whole_record() {
        assert!(UsageRecord::FIELDS.starts_with("usage_records="));
        let whole = whole_record();
        let narrow = crate::http::narrowed_item(UsageRecord::FIELDS, &whole);
        let read = |v: Value| {
            let text = v.to_string();
            format!("{:?}", serde_json::from_str::<UsageRecord>(&text).unwrap())
        };
        // Every field the rules read is set in the whole record, so a field missing from
        // FIELDS reads differently here.
        assert_eq!(read(narrow), read(whole));
    }

    fn rec(category: &str, price: Value, end: &str) -> UsageRecord<'static> {
        UsageRecord {
            category: Some(category.into()),
            price: price.into(),
            end_date: Some(end.into()),
        }
    }

    #[test]
    fn a_price_read_while_parsing_means_what_the_json_value_means() {
        for text in [
            r#""1.5""#,
            r#"" -0.20 ""#,
            "0.5",
            "-3",
            "7",
            r#""0.00""#,
            "0",
            r#""abc""#,
            "null",
            "true",
            "[1]",
            r#"{"a":1}"#,
            r#""""#,
            r#""inf""#,
            r#""NaN""#,
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let read: Price = serde_json::from_str(text).unwrap();
            assert_eq!(read, Price::from(&v), "{text}");
        }
        let r: UsageRecord = serde_json::from_str(
            r#"{"category":"sms","price":"2.50","end_date":"2025-01-31","subresource_uris":{"a":"/x"},"count":"3"}"#,
        )
        .unwrap();
        assert!(r.price.is_priced());
        let r: UsageRecord = serde_json::from_str(r#"{"category":"sms"}"#).unwrap();
        assert!(!r.price.is_priced(), "a missing price is no price");
    }

    #[test]
    fn priced_means_non_null_and_non_zero() {
        for p in [json!(1.5), json!("-1.50"), json!("0.0075"), json!(-0.01)] {
            assert!(is_priced(&p), "{p}");
        }
        for p in [
            json!(null),
            json!(0),
            json!("0"),
            json!("0.00"),
            json!("-0.00"),
            json!(""),
            json!("n/a"),
        ] {
            assert!(!is_priced(&p), "{p}");
        }
    }

    #[test]
    fn latest_priced_end_date_per_service_and_overall() {
        let a = Activity::from_records(&[
            rec("sms", json!("0.75"), "2024-03-10"),
            rec("mms-outbound", json!(2), "2024-04-02"),
            rec("calls", json!("0.00"), "2024-06-30"),
            rec("verify-sms", json!(null), "2024-07-01"),
            rec("totalprice", json!("9.00"), "2024-04-05"),
            rec("weird-new-thing", json!("-3"), "2023-01-01"),
        ]);
        // The total's later date is nobody's activity.
        assert_eq!(a.last(), NaiveDate::from_ymd_opt(2024, 4, 2));
        assert_eq!(a.services.len(), 2);
        assert_eq!(
            a.services["Messaging"],
            NaiveDate::from_ymd_opt(2024, 4, 2).unwrap()
        );
        assert_eq!(
            a.services["weird-new-thing"],
            NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
        );
    }

    #[test]
    fn refinement_months_and_exact_days() {
        let monthly = Activity::from_records(&[
            rec("sms", json!("5"), "2024-04-30"),
            rec("calls", json!("1"), "2024-02-29"),
        ]);
        let months: Vec<_> = monthly.months_to_refine().into_iter().collect();
        assert_eq!(
            months,
            vec![
                NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(),
                NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()
            ]
        );
        let mut exact = monthly.clone();
        exact.refine(
            months[1],
            &Activity::from_records(&[rec("sms-outbound", json!("1"), "2024-04-17")]),
        );
        exact.refine(
            months[0],
            &Activity::from_records(&[rec("calls-inbound", json!("1"), "2024-02-03")]),
        );
        assert_eq!(exact.last(), NaiveDate::from_ymd_opt(2024, 4, 17));
        assert_eq!(
            exact.services["Voice"],
            NaiveDate::from_ymd_opt(2024, 2, 3).unwrap()
        );
    }

    #[test]
    fn a_month_whose_days_round_to_zero_keeps_its_monthly_date() {
        // April is priced in total, but each April day is a sub-cent charge priced 0.00;
        // February's Daily records are priced. April must not fall back to February's day.
        let mut a = Activity::from_records(&[
            rec("sms", json!("0.02"), "2024-04-30"),
            rec("calls", json!("1"), "2024-02-29"),
        ]);
        let april = NaiveDate::from_ymd_opt(2024, 4, 1).unwrap();
        let february = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        a.refine(
            april,
            &Activity::from_records(&[rec("sms", json!("0.00"), "2024-04-12")]),
        );
        a.refine(
            february,
            &Activity::from_records(&[rec("calls", json!("1"), "2024-02-03")]),
        );
        assert_eq!(
            a.services["Messaging"],
            NaiveDate::from_ymd_opt(2024, 4, 30).unwrap()
        );
        assert_eq!(a.last(), NaiveDate::from_ymd_opt(2024, 4, 30));
        // Another month's Daily records never move a date.
        a.refine(
            february,
            &Activity::from_records(&[rec("sms", json!("1"), "2024-02-10")]),
        );
        assert_eq!(
            a.services["Messaging"],
            NaiveDate::from_ymd_opt(2024, 4, 30).unwrap()
        );
    }

    #[test]
    fn adjustments_are_not_activity_and_null_categories_are_counted_apart() {
        let a = Activity::from_records(&[
            rec("credit-transfer", json!("-5"), "2024-05-01"),
            rec("min-spend-adjustments", json!("10"), "2024-05-31"),
            UsageRecord {
                category: None,
                price: json!("1").into(),
                end_date: Some("2024-05-02".into()),
            },
        ]);
        assert_eq!(a.last(), None);
        assert_eq!(a.uncategorised, 1);
    }

    #[test]
    fn nothing_priced_means_no_activity() {
        let a = Activity::from_records(&[rec("sms", json!("0"), "2024-01-31")]);
        assert_eq!(a, Activity::default());
        assert_eq!(a.last(), None);
        assert!(a.months_to_refine().is_empty());
    }
}
