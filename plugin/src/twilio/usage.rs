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
use std::collections::{BTreeMap, BTreeSet};

/// The fields of a UsageRecord the connector reads (each may be null, as the schema allows).
#[derive(Debug, Clone, Deserialize)]
pub struct UsageRecord {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub price: Value,
    #[serde(default)]
    pub end_date: Option<String>,
}

/// Whether a `price` is non-null and non-zero. Unparseable text counts as no price.
pub fn is_priced(price: &Value) -> bool {
    match price {
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .is_ok_and(|f| f != 0.0 && f.is_finite()),
        _ => false,
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
    /// Summarise records.
    pub fn from_records(records: &[UsageRecord]) -> Self {
        let mut a = Activity::default();
        for r in records.iter().filter(|r| is_priced(&r.price)) {
            let Some(end) = r.end_date.as_deref().and_then(crate::time::parse_date) else {
                continue;
            };
            let Some(category) = r.category.as_deref() else {
                a.uncategorised += 1;
                continue;
            };
            if let Some(service) = service_for_category(category) {
                let e = a.services.entry(service).or_insert(end);
                *e = (*e).max(end);
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

    fn rec(category: &str, price: Value, end: &str) -> UsageRecord {
        UsageRecord {
            category: Some(category.into()),
            price,
            end_date: Some(end.into()),
        }
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
                price: json!("1"),
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
