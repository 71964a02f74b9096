//! Last activity from usage records: a record counts when its `price` is non-null and
//! non-zero (a number or a numeric string; negative credits count). The account's last
//! activity is the latest `end_date` of such records; each service's is the latest of its own.
//! Read cheaply: Monthly records find each service's last priced month, then one Daily query
//! per distinct month gives the exact day.

use super::services::service_for_category;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The fields of a UsageRecord the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct UsageRecord {
    pub category: String,
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

/// Latest priced dates found in a set of records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// Latest priced `end_date` over every record, aggregates included.
    pub last: Option<NaiveDate>,
    /// Latest priced `end_date` per service.
    pub services: BTreeMap<String, NaiveDate>,
}

impl Activity {
    /// Summarise records.
    pub fn from_records(records: &[UsageRecord]) -> Self {
        let mut a = Activity::default();
        for r in records.iter().filter(|r| is_priced(&r.price)) {
            let Some(end) = r.end_date.as_deref().and_then(crate::time::parse_date) else {
                continue;
            };
            a.last = a.last.max(Some(end));
            if let Some(service) = service_for_category(&r.category) {
                let e = a.services.entry(service).or_insert(end);
                *e = (*e).max(end);
            }
        }
        a
    }

    /// The months (first day) whose daily records are needed to make every date exact.
    pub fn months_to_refine(&self) -> BTreeSet<NaiveDate> {
        self.last
            .iter()
            .chain(self.services.values())
            .map(|d| crate::time::month_bounds(*d).0)
            .collect()
    }

    /// Replace monthly dates with the exact days found in `daily`. A service whose daily
    /// records show nothing priced keeps its monthly date rather than losing its activity.
    pub fn refine(&self, daily: &Activity) -> Activity {
        let mut out = self.clone();
        if daily.last.is_some() {
            out.last = daily.last;
        }
        for (service, date) in out.services.iter_mut() {
            if let Some(d) = daily.services.get(service) {
                *date = *d;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(category: &str, price: Value, end: &str) -> UsageRecord {
        UsageRecord {
            category: category.into(),
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
        assert_eq!(a.last, NaiveDate::from_ymd_opt(2024, 4, 5));
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
        let daily = Activity::from_records(&[
            rec("sms-outbound", json!("1"), "2024-04-17"),
            rec("calls-inbound", json!("1"), "2024-02-03"),
        ]);
        let exact = monthly.refine(&daily);
        assert_eq!(exact.last, NaiveDate::from_ymd_opt(2024, 4, 17));
        assert_eq!(
            exact.services["Voice"],
            NaiveDate::from_ymd_opt(2024, 2, 3).unwrap()
        );
    }

    #[test]
    fn nothing_priced_means_no_activity() {
        let a = Activity::from_records(&[rec("sms", json!("0"), "2024-01-31")]);
        assert_eq!(a, Activity::default());
        assert!(a.months_to_refine().is_empty());
    }
}
