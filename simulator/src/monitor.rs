//! monitor.twilio.com: Monitor Events (`twilio_monitor_v1.json`, `ListEvent` and `FetchEvent`),
//! with the account's own credentials (`security` `accountSid_authToken`, Basic as the 2010
//! API). An account reads its own events only, within Twilio's retention, newest first.

use crate::fixture::MONITOR_RETENTION_DAYS;
use crate::hosts::MONITOR;
use crate::paging::page_v1;
use crate::state::{Answer, State, error, not_found};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Route one request to Monitor. `caller` is the Basic-auth user (an `AC` or an `SK`).
pub fn handle(
    state: &State,
    caller: &str,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Answer {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["v1", "Events"]) => list(state, caller, path, query),
        ("GET", ["v1", "Events", sid]) => visible(state, caller)
            .into_iter()
            .find(|e| e["sid"] == *sid)
            .map_or_else(|| not_found(path), |e| (200, Some(e.clone()))),
        (_, ["v1", "Events"] | ["v1", "Events", _]) => error(405, 20004, "Method not allowed"),
        _ => not_found(path),
    }
}

/// Whether an event of `event_date` is still kept at `now` with `days` of retention.
pub fn within_retention(event_date: DateTime<Utc>, now: DateTime<Utc>, days: u32) -> bool {
    event_date >= now - Duration::days(i64::from(days))
}

/// An event's `event_date`.
fn event_date(e: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(e["event_date"].as_str()?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The events `caller` may read, newest first: those of its account (a subaccount's
/// credentials reach only it; the main account's and an API key's reach the main account),
/// within the retention ([`crate::fixture::Behaviour::monitor_retention_days`], 30 days unless
/// the fixture buys more).
fn visible<'a>(state: &'a State, caller: &str) -> Vec<&'a Value> {
    let account = state
        .scope_of(caller)
        .unwrap_or_else(|| state.fixture.main_account_sid.clone());
    let days = state
        .fixture
        .behaviour
        .monitor_retention_days
        .unwrap_or(MONITOR_RETENTION_DAYS);
    let now = state.now();
    let mut events: Vec<(&Value, DateTime<Utc>)> = state
        .fixture
        .monitor_events
        .iter()
        .filter(|e| e["account_sid"] == account.as_str())
        .filter_map(|e| Some((e, event_date(e)?)))
        .filter(|(_, d)| within_retention(*d, now, days))
        .collect();
    // ListEvent: "Returns a list of events in the account, sorted by event-date", newest first.
    events.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0["sid"].as_str().cmp(&b.0["sid"].as_str()))
    });
    events.into_iter().map(|(e, _)| e).collect()
}

/// A `StartDate`/`EndDate` (`format: date-time`, "in GMT and ISO 8601 format"). A plain
/// `YYYY-MM-DD` is read as that whole day: its first instant for a start, its last for an end.
pub fn parse_bound(text: &str, end: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let t = if end {
        day.and_hms_opt(23, 59, 59)?
    } else {
        day.and_hms_opt(0, 0, 0)?
    };
    Some(t.and_utc())
}

/// `ListEvent`: filtered by `ActorSid`, `EventType`, `ResourceSid`, `SourceIpAddress` (each an
/// exact match) and `StartDate`/`EndDate` ("on or after", "on or before"); paged as every v1
/// list (`PageSize` default 50, maximum 1000; `Page`, `PageToken`; `meta.key` `events`).
fn list(state: &State, caller: &str, path: &str, query: &BTreeMap<String, String>) -> Answer {
    let mut bounds = [None, None];
    for (i, k) in ["StartDate", "EndDate"].into_iter().enumerate() {
        if let Some(v) = query.get(k) {
            match parse_bound(v, i == 1) {
                Some(t) => bounds[i] = Some(t),
                None => return error(400, 20001, &format!("Invalid {k} {v:?}: not ISO 8601")),
            }
        }
    }
    let [start, end] = bounds;
    let exact = [
        ("ActorSid", "actor_sid"),
        ("EventType", "event_type"),
        ("ResourceSid", "resource_sid"),
        ("SourceIpAddress", "source_ip_address"),
    ];
    let items: Vec<Value> = visible(state, caller)
        .into_iter()
        .filter(|e| {
            exact
                .iter()
                .all(|(q, f)| query.get(*q).is_none_or(|v| e[*f] == v.as_str()))
        })
        .filter(|e| {
            let d = event_date(e);
            start.is_none_or(|s| d.is_some_and(|d| d >= s))
                && end.is_none_or(|x| d.is_some_and(|d| d <= x))
        })
        .cloned()
        .collect();
    (200, Some(page_v1(MONITOR, path, query, "events", &items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn retention_keeps_the_last_days_only() {
        let now = at("2025-11-23T12:00:00Z");
        assert!(within_retention(at("2025-11-23T11:00:00Z"), now, 30));
        assert!(
            within_retention(at("2025-10-24T12:00:00Z"), now, 30),
            "the edge is kept"
        );
        assert!(!within_retention(at("2025-10-24T11:59:59Z"), now, 30));
        assert!(!within_retention(at("2025-06-01T00:00:00Z"), now, 30));
        assert!(
            within_retention(at("2025-06-01T00:00:00Z"), now, 395),
            "13 months"
        );
        assert!(
            within_retention(at("2025-12-01T00:00:00Z"), now, 30),
            "later events stay"
        );
    }

    #[test]
    fn date_bounds_read_iso_8601_or_a_whole_day() {
        assert_eq!(
            parse_bound("2015-07-30T20:00:00Z", false),
            Some(at("2015-07-30T20:00:00Z"))
        );
        assert_eq!(
            parse_bound("2015-07-30T22:00:00+02:00", true),
            Some(at("2015-07-30T20:00:00Z"))
        );
        assert_eq!(
            parse_bound("2015-07-30", false),
            Some(at("2015-07-30T00:00:00Z"))
        );
        assert_eq!(
            parse_bound("2015-07-30", true),
            Some(at("2015-07-30T23:59:59Z"))
        );
        assert_eq!(parse_bound("yesterday", false), None);
        assert_eq!(parse_bound("2015-13-01", false), None);
    }
}
