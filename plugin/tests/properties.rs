//! Property tests of the pure rules: pricing, last activity and its cheap two-step reading,
//! category mapping, status mapping, page links and the retry client.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use serde_json::{Value, json};
use twilio_connector::fake::FakeTransport;
use twilio_connector::http::Request;
use twilio_connector::paging::resolve_link;
use twilio_connector::retry::{Client, Policy};
use twilio_connector::time::parse_date;
use twilio_connector::twilio::account_resource::map_status;
use twilio_connector::twilio::services::{Category, classify, service_for_category};
use twilio_connector::twilio::usage::{Activity, UsageRecord, is_priced};

const CATEGORIES: &[&str] = &[
    "sms",
    "sms-outbound",
    "mms",
    "calls-inbound",
    "verify-push",
    "lookups",
    "totalprice",
    "brand-new-thing",
];

fn day() -> impl Strategy<Value = NaiveDate> {
    (2019i32..2026, 1u32..=12, 1u32..=28)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn price() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(0)),
        Just(json!("0.00")),
        Just(json!("-0.00")),
        (1u32..100_000).prop_map(|c| json!(format!("{}.{:02}", c / 100, c % 100))),
        (1u32..100_000).prop_map(|c| json!(c as f64 / 100.0)),
        (1u32..100_000).prop_map(|c| json!(format!("-{}.{:02}", c / 100, c % 100))),
    ]
}

fn record() -> impl Strategy<Value = UsageRecord<'static>> {
    (prop::sample::select(CATEGORIES), price(), day()).prop_map(|(c, p, d)| UsageRecord {
        category: Some(c.into()),
        price: p.into(),
        end_date: Some(d.to_string().into()),
    })
}

proptest! {
    /// The digits read directly give the date chrono's format parser gives, on dates written
    /// as Twilio writes them and on text that only looks like one.
    #[test]
    fn a_date_is_read_as_chronos_parser_reads_it(
        text in prop_oneof![
            "[0-9]{4}-[0-9]{2}-[0-9]{2}.{0,4}",
            "[0-9+ -]{4}-[0-9 ]{2}-[0-9]{1,3}",
            ".{0,12}",
        ],
        day in day(),
    ) {
        let chrono = |s: &str| s.get(..10).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        prop_assert_eq!(parse_date(&text), chrono(&text), "{:?}", text);
        let written = day.to_string();
        prop_assert_eq!(parse_date(&written), Some(day));
    }

    #[test]
    fn priced_iff_the_number_is_not_zero(cents in -1_000_000i64..1_000_000, decimals in 0usize..5) {
        let text = format!("{:.*}", decimals, cents as f64 / 100.0);
        let value: f64 = text.parse().unwrap();
        prop_assert_eq!(is_priced(&json!(text)), value != 0.0);
        prop_assert_eq!(is_priced(&json!(value)), value != 0.0);
    }

    #[test]
    fn last_activity_is_the_latest_priced_end_date(records in prop::collection::vec(record(), 0..40)) {
        let a = Activity::from_records(&records);
        // Totals are nobody's activity.
        let expected = records.iter().filter(|r| r.price.is_priced() && r.category.as_deref() != Some("totalprice")).filter_map(|r| r.end_date.as_deref()).filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).max();
        prop_assert_eq!(a.last(), expected);
        for (service, date) in &a.services {
            prop_assert!(Some(*date) <= a.last());
            prop_assert!(service != "totalprice");
        }
    }

    /// Monthly totals, then Daily records of only the needed months, give the same answer as
    /// reading every daily record (for positive prices, where monthly sums cannot cancel out).
    #[test]
    fn two_step_reading_equals_the_full_scan(days in prop::collection::vec((prop::sample::select(CATEGORIES), 1u32..5000, day()), 0..40)) {
        let daily: Vec<UsageRecord> = days.iter().map(|(c, p, d)| UsageRecord { category: Some(c.to_string().into()), price: json!(format!("{}.{:02}", p / 100, p % 100)).into(), end_date: Some(d.to_string().into()) }).collect();
        let mut monthly: std::collections::BTreeMap<(String, i32, u32), f64> = Default::default();
        for (c, p, d) in &days {
            *monthly.entry((c.to_string(), d.year(), d.month())).or_default() += *p as f64;
        }
        let monthly: Vec<UsageRecord> = monthly.into_iter().map(|((c, y, m), p)| {
            let (_, last) = twilio_connector::time::month_bounds(NaiveDate::from_ymd_opt(y, m, 1).unwrap());
            UsageRecord { category: Some(c.into()), price: json!(p).into(), end_date: Some(last.to_string().into()) }
        }).collect();
        let mut exact = Activity::from_records(&monthly);
        for month in exact.months_to_refine() {
            // What a Daily query with that month's StartDate/EndDate returns.
            let fetched: Vec<UsageRecord> = daily.iter().filter(|r| {
                let d = NaiveDate::parse_from_str(r.end_date.as_deref().unwrap(), "%Y-%m-%d").unwrap();
                twilio_connector::time::month_bounds(d).0 == month
            }).cloned().collect();
            exact.refine(month, &Activity::from_records(&fetched));
        }
        prop_assert_eq!(exact, Activity::from_records(&daily));
    }

    #[test]
    fn every_category_has_one_answer(category in "[a-z0-9-]{0,30}") {
        let s = service_for_category(&category);
        let adjustment = category.ends_with("-bucket-adjustment") || category.ends_with("-bucket-adjustments");
        if category == "totalprice" || category.is_empty() || adjustment {
            prop_assert_eq!(s, None);
        } else {
            // Anything else is a service: a documented one, or one of its own name.
            prop_assert!(s.is_some() || classify(&category) == Category::NotActivity);
        }
    }

    #[test]
    fn sms_and_mms_subcategories_are_messaging(suffix in "[a-z0-9]{1,12}", mms in any::<bool>()) {
        let c = format!("{}-{suffix}", if mms { "mms" } else { "sms" });
        let service = service_for_category(&c);
        prop_assert_eq!(service.as_deref(), Some("Messaging"));
    }

    #[test]
    fn only_three_statuses_map(s in ".{0,12}") {
        let mapped = map_status(&s);
        prop_assert_eq!(mapped.is_some(), ["active", "suspended", "closed"].contains(&s.as_str()));
    }

    /// Absolute links built from scheme, host, user-info and port variants: only an HTTPS link
    /// whose authority is exactly the host (any case) is followed.
    #[test]
    fn absolute_page_links_are_followed_only_to_the_exact_host(
        scheme in prop::sample::select(vec!["https://", "http://", "HTTPS://", "//", "https:/", ""]),
        host in prop::sample::select(vec![
            "api.twilio.com", "API.Twilio.com", "api.twilio.com.evil.example", "evil.example",
            "api.twilio.com@evil.example", "evil.example@api.twilio.com", "api.twilio.co",
            "xapi.twilio.com", "api.twilio.com\\@evil.example", "",
        ]),
        port in prop::sample::select(vec!["", ":443", ":8443", ":"]),
        path in "(/[A-Za-z0-9._%?=&#-]{0,12}){0,3}",
    ) {
        let link = format!("{scheme}{host}{port}{path}");
        let followed = resolve_link("api.twilio.com", &link);
        let exact = scheme == "https://" && host.eq_ignore_ascii_case("api.twilio.com") && port.is_empty()
            && (path.is_empty() || path.starts_with('/'));
        if exact {
            prop_assert!(followed.is_ok(), "{link} refused");
        } else if let Ok(url) = followed {
            let authority = url["https://".len()..].split(['/', '?', '#']).next().unwrap().to_string();
            prop_assert!(authority.eq_ignore_ascii_case("api.twilio.com"), "{link} -> {url}");
            // Only a relative path may be completed with the host.
            prop_assert!(link.starts_with('/') && !link.starts_with("//"), "{link} -> {url}");
        }
    }

    #[test]
    fn page_links_never_leave_the_host(link in ".{0,60}") {
        if let Ok(url) = resolve_link("api.twilio.com", &link) {
            prop_assert!(url.starts_with("https://api.twilio.com/") || url == "https://api.twilio.com");
            let authority = url["https://".len()..].split(['/', '?', '#']).next().unwrap().to_string();
            prop_assert_eq!(authority, "api.twilio.com");
        }
    }

    #[test]
    fn retries_answer_every_request_once_and_stay_bounded(statuses in prop::collection::vec(prop::sample::select(vec![200u16, 200, 404, 429, 500, 503]), 1..200), n in 1usize..40, limit in 1usize..20) {
        // A 429 is retried within the call's time budget, not a count (a rate limit costs a
        // wait, never the listing): each scripted one may cost one more send.
        let throttled = statuses.iter().filter(|s| **s == 429).count() as u64;
        let mut t = FakeTransport::new().script(statuses);
        let policy = Policy { max_in_flight: limit, base_backoff_ms: 1, max_backoff_ms: 4, ..Policy::default() };
        let mut c = Client::new(&mut t, policy);
        let requests: Vec<Request> = (0..n).map(|i| Request::get(format!("https://h/{i}"))).collect();
        let out = c.send_all(requests);
        prop_assert_eq!(out.len(), n);
        prop_assert!(c.sent <= (n as u64) * policy.max_attempts as u64 + throttled);
        prop_assert!(c.sent >= n as u64);
        prop_assert!(c.in_flight_limit() >= 1 && c.in_flight_limit() <= limit);
        prop_assert!(t.in_flight_at_start.iter().all(|b| *b <= limit));
    }
}
