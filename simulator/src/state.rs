//! Mutable simulator state and Twilio's error body.

use crate::fixture::Fixture;
use serde_json::{Value, json};

/// Everything the simulator knows; actions change it.
pub struct State {
    pub fixture: Fixture,
    /// Accepted `(user, secret)` Basic-auth pairs.
    pub accepted: Vec<(String, String)>,
    /// Counter for SIDs the simulator creates.
    pub next_sid: u64,
    /// The OAuth access tokens minted so far.
    pub tokens: crate::oauth::Tokens,
    /// Usage pages already written, by path and query, while
    /// [`Behaviour::reuse_usage_answers`](crate::fixture::Behaviour::reuse_usage_answers) is
    /// on; emptied by every write and fixture change.
    pub usage_answers: std::collections::HashMap<String, axum::body::Bytes>,
}

impl State {
    /// State from a fixture; the main account's token and any API keys are accepted.
    pub fn new(fixture: Fixture) -> Self {
        // Every account's own SID and token work, as on Twilio; a subaccount sees only itself.
        let mut accepted: Vec<(String, String)> = fixture
            .accounts
            .iter()
            .filter_map(|a| {
                Some((
                    a["sid"].as_str()?.to_string(),
                    a["auth_token"].as_str()?.to_string(),
                ))
            })
            .collect();
        if let Some(t) = fixture.main_auth_token() {
            accepted.push((fixture.main_account_sid.clone(), t));
        }
        for k in &fixture.api_keys {
            if let (Some(s), Some(p)) = (k["sid"].as_str(), k["secret"].as_str()) {
                accepted.push((s.to_string(), p.to_string()));
            }
        }
        Self {
            fixture,
            accepted,
            next_sid: 1,
            tokens: crate::oauth::Tokens::default(),
            usage_answers: std::collections::HashMap::new(),
        }
    }

    /// The account a caller is confined to: a subaccount's own credentials reach only it.
    pub fn scope_of(&self, user: &str) -> Option<String> {
        (user.starts_with("AC") && user != self.fixture.main_account_sid).then(|| user.to_string())
    }

    /// The simulated present: the fixture's `now` when it sets one, else the wall clock. Only
    /// windows Twilio documents relative to the present use it (Monitor's retention).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.fixture
            .now
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(chrono::Utc::now)
    }

    /// A new SID with a two-letter prefix.
    pub fn new_sid(&mut self, prefix: &str) -> String {
        self.next_sid += 1;
        format!("{prefix}{:032x}", 0xf000_0000_0000u64 + self.next_sid)
    }
}

/// A handler's answer: status and JSON body (`None` for an empty 204).
pub type Answer = (u16, Option<Value>);

/// What a handler replies: an [`Answer`], or a status and a JSON body already written as text
/// (long usage pages are serialised as they are built, without a `Value` tree).
pub enum Reply {
    Answer(Answer),
    /// A body written as text already (shared, so an answer served again is not copied).
    Text(u16, axum::body::Bytes),
    /// An [`Answer`] with its own content type (SCIM's `application/scim+json`) and extra
    /// headers (`WWW-Authenticate`, `Allow`, `ETag`).
    Typed {
        answer: Answer,
        content_type: &'static str,
        headers: Vec<(&'static str, String)>,
    },
}

impl From<Answer> for Reply {
    fn from(a: Answer) -> Self {
        Reply::Answer(a)
    }
}

/// Twilio's error body.
pub fn error(status: u16, code: u32, message: &str) -> Answer {
    (
        status,
        Some(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        })),
    )
}

/// The 404 Twilio sends for an unknown resource.
pub fn not_found(path: &str) -> Answer {
    error(
        404,
        20404,
        &format!("The requested resource {path} was not found"),
    )
}
