//! Last activity from Monitor Events (`GET https://monitor.twilio.com/v1/Events`, newest
//! first): the date of the newest event whose actor is the user. Monitor is per account and
//! takes the account's own credentials (Basic), which the host attaches when the tenant has
//! them; the organization's OAuth token does not reach it. A Monitor that cannot be read
//! leaves last activity unknown and says why on the account; it never fails a listing.

use super::MONITOR_HOST;
use crate::errors::{self as twilio_errors, ConnectorError};
use crate::http::{Request, Response};
use crate::paging::{Page, parse_page};
use crate::retry::Client;
use crate::time::{parse_timestamp, rfc3339};
use serde::Deserialize;

/// What to configure for Monitor last activity.
pub const CONFIGURE: &str = "configure the account's own credentials (TWILIO_ACCOUNT_SID + \
    TWILIO_AUTH_TOKEN, or an API key: TWILIO_API_KEY + TWILIO_API_SECRET) for Monitor last activity";

/// The fields of a Monitor Event the connector reads (`monitor.v1.event`).
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    event_date: Option<String>,
}

/// The newest event of `actor`: one event, newest first.
pub fn events_url(actor: &str) -> String {
    format!("https://{MONITOR_HOST}/v1/Events?ActorSid={actor}&PageSize=1")
}

/// A user's last activity as Monitor tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// Monitor answered: the newest event's date (RFC 3339), or none in its retention.
    Read(Option<String>),
    /// Monitor refused the credentials (or the host had none to send): unknown, and why.
    NoCredentials(String),
    /// Monitor could not be read for another reason: unknown, and why.
    Unreadable(String),
}

impl Activity {
    /// The last activity, when known.
    pub fn last(&self) -> Option<String> {
        match self {
            Self::Read(d) => d.clone(),
            _ => None,
        }
    }

    /// The warning the account carries, if any.
    pub fn warning(&self, actor: &str) -> Option<String> {
        match self {
            Self::Read(_) => None,
            Self::NoCredentials(why) => Some(format!(
                "last activity of {actor} is unknown: Monitor Events ({MONITOR_HOST}) take the account's own credentials, not the organization's OAuth token ({why}); {CONFIGURE}"
            )),
            Self::Unreadable(why) => Some(format!(
                "last activity of {actor} is unknown: its Monitor Events could not be read ({why})"
            )),
        }
    }
}

/// Read one answer of Monitor.
fn read(answer: Result<Response, ConnectorError>, actor: &str) -> Activity {
    let what = format!("Monitor events of {actor}");
    let r = match answer {
        Ok(r) => r,
        // The host would not send it (no credentials it may attach, or a route it does not
        // grant): Monitor is not possible here.
        Err(ConnectorError::Refused(m)) => return Activity::NoCredentials(m),
        Err(e) => return Activity::Unreadable(e.to_string()),
    };
    match r.status {
        200..=299 => {}
        401 | 403 => {
            let e = twilio_errors::from_status(r.status, &r.body, r.retry_after_ms, &what);
            return Activity::NoCredentials(format!("HTTP {}: {e}", r.status));
        }
        _ => {
            let e = twilio_errors::from_status(r.status, &r.body, r.retry_after_ms, &what);
            return Activity::Unreadable(e.to_string());
        }
    }
    let page: Page<Event> = match parse_page(MONITOR_HOST, &r.body, "events", &what) {
        Ok(p) => p,
        Err(e) => return Activity::Unreadable(e.to_string()),
    };
    match page.items.into_iter().next().and_then(|e| e.event_date) {
        None => Activity::Read(None),
        Some(d) => match parse_timestamp(&d) {
            Some(t) => Activity::Read(Some(rfc3339(t))),
            None => Activity::Unreadable(format!("event_date {d:?} is not a timestamp")),
        },
    }
}

/// The last activity of each of `actors`, in order. The first is asked alone: when Monitor
/// refuses the credentials, the others are not asked (the answer would be the same) and all
/// are unknown, for the same reason; otherwise the others are asked together.
pub fn last_activity(client: &mut Client<'_>, actors: &[&str]) -> Vec<Activity> {
    let Some((first, rest)) = actors.split_first() else {
        return Vec::new();
    };
    let probe = read(client.send(Request::get(events_url(first))), first);
    if let Activity::NoCredentials(why) = &probe {
        return actors
            .iter()
            .map(|_| Activity::NoCredentials(why.clone()))
            .collect();
    }
    let answers = client.send_all(rest.iter().map(|a| Request::get(events_url(a))).collect());
    std::iter::once(probe)
        .chain(answers.into_iter().zip(rest).map(|(r, a)| read(r, a)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fake_org::{self, BEN, DANA, NORA};
    use super::*;
    use crate::retry::Policy;

    #[test]
    fn the_newest_event_is_the_last_activity() {
        let org = fake_org::demo();
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        let got = last_activity(&mut c, &[DANA, BEN, NORA]);
        assert_eq!(
            got,
            vec![
                Activity::Read(Some("2025-11-21T09:15:00Z".into())),
                Activity::Read(Some("2025-11-18T16:40:00Z".into())),
                Activity::Read(None),
            ]
        );
        assert!(
            t.requests[0]
                .url
                .ends_with(&format!("ActorSid={DANA}&PageSize=1"))
        );
    }

    #[test]
    fn refused_credentials_are_asked_once_and_told_on_every_account() {
        let org = fake_org::demo();
        org.borrow_mut().monitor_status = 401;
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        let got = last_activity(&mut c, &[DANA, BEN, NORA]);
        assert_eq!(t.requests.len(), 1);
        assert!(got.iter().all(|a| matches!(a, Activity::NoCredentials(_))));
        let w = got[1].warning(BEN).unwrap();
        assert!(
            w.contains(BEN) && w.contains("TWILIO_AUTH_TOKEN") && w.contains("401"),
            "{w}"
        );
        assert_eq!(got[1].last(), None);
    }

    #[test]
    fn other_failures_are_told_per_account() {
        let bad = read(
            Ok(crate::fake::answer(200, b"{\"events\":7}".to_vec())),
            DANA,
        );
        assert!(matches!(bad, Activity::Unreadable(_)));
        let gone = read(Err(ConnectorError::Transport("reset".into())), DANA);
        assert!(gone.warning(DANA).unwrap().contains("reset"));
        let denied = read(
            Err(ConnectorError::Refused("denied by the host".into())),
            DANA,
        );
        assert!(matches!(denied, Activity::NoCredentials(_)));
    }
}
