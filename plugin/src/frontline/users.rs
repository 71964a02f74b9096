//! Frontline User resources: fetch by SID or identity, status mapping, and state changes.

use super::FRONTLINE_HOST;
use crate::errors::ConnectorError;
use crate::http::{Request, form_encode};
use crate::model::{Account, ActionKind, ActionResult, Config, Result, Status};
use crate::options::AVAILABLE;
use crate::retry::Client;
use serde::Deserialize;

/// Told on every deactivation (Twilio's own warning).
pub const SSO_WARNING: &str = "deactivating a Frontline user does not block a future SSO login: remove their \
    Frontline access in the identity provider too, or their next login re-activates them";

/// The fields of a Frontline User the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct FrontlineUser {
    pub sid: String,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub is_available: Option<bool>,
}

/// `active` -> active, `deactivated` -> suspended.
pub fn map_state(state: Option<&str>) -> Option<Status> {
    match state {
        Some("active") => Some(Status::Active),
        Some("deactivated") => Some(Status::Suspended),
        _ => None,
    }
}

/// The account of a Frontline user.
pub fn to_account(u: &FrontlineUser) -> Account {
    let mut warnings = Vec::new();
    let status = map_state(u.state.as_deref()).unwrap_or_else(|| {
        warnings.push(format!(
            "unknown Frontline state {:?}; reported as active",
            u.state
        ));
        Status::Active
    });
    let mut attributes = Vec::new();
    if let Some(a) = u.is_available {
        attributes.push(("is_available".to_string(), a.to_string()));
    }
    if let Some(a) = &u.avatar {
        attributes.push(("avatar".to_string(), a.clone()));
    }
    Account {
        id: u.sid.clone(),
        username: u.identity.clone(),
        email: u.identity.clone().filter(|i| i.contains('@')),
        display_name: u.friendly_name.clone(),
        status,
        last_activity: None,
        entitlements: Vec::new(),
        attributes,
        warnings,
    }
}

fn user_url(id: &str) -> String {
    format!("https://{FRONTLINE_HOST}/v1/Users/{}", form_encode(id))
}

/// Fetch a user by SID or identity.
pub fn fetch(client: &mut Client<'_>, id: &str) -> Result<FrontlineUser> {
    if id.trim().is_empty() {
        return Err(ConnectorError::InvalidInput(
            "a Frontline user SID or identity is required".into(),
        ));
    }
    client
        .send(Request::get(user_url(id)))?
        .json(&format!("Frontline user {id}"))
}

/// The desired availability from the config, if given.
fn availability(cfg: &Config) -> Result<Option<bool>> {
    match cfg.option(AVAILABLE) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ConnectorError::InvalidInput(format!(
            "available must be true or false, not {other:?}"
        ))),
    }
}

/// Set `State` (and `IsAvailable` when asked); a no-op when already so.
pub fn set_state(
    client: &mut Client<'_>,
    cfg: &Config,
    id: &str,
    action: ActionKind,
    target: &str,
    dry_run: bool,
) -> Result<ActionResult> {
    let available = availability(cfg)?;
    let current = fetch(client, id)?;
    let mut r = ActionResult {
        account_id: current.sid.clone(),
        action,
        dry_run,
        changed: false,
        status: map_state(current.state.as_deref()),
        message: String::new(),
        warnings: if target == "deactivated" {
            vec![SSO_WARNING.to_string()]
        } else {
            Vec::new()
        },
    };
    let mut fields: Vec<(&str, &str)> = Vec::new();
    if current.state.as_deref() != Some(target) {
        fields.push(("State", target));
    }
    let avail_text = available.map(|a| if a { "true" } else { "false" });
    if let Some(a) = available.filter(|a| current.is_available != Some(*a)) {
        fields.push(("IsAvailable", if a { "true" } else { "false" }));
    }
    if fields.is_empty() {
        r.message = format!(
            "Frontline user {} is already {target}{}; nothing sent",
            current.sid,
            avail_text
                .map(|a| format!(" with availability {a}"))
                .unwrap_or_default()
        );
        return Ok(r);
    }
    r.changed = true;
    let summary = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    if dry_run {
        r.message = format!("would set {summary} on Frontline user {}", current.sid);
        return Ok(r);
    }
    let updated: FrontlineUser = client
        .send(Request::post_form(user_url(&current.sid), &fields))?
        .json(&format!("update of Frontline user {}", current.sid))?;
    // Twilio answers with the user as it now is: it must show what was asked.
    let state_ok = updated.state.as_deref() == Some(target);
    let available_ok = available.is_none_or(|a| updated.is_available == Some(a));
    if !(state_ok && available_ok) {
        return Err(ConnectorError::Upstream {
            status: 200,
            code: None,
            message: format!(
                "Twilio accepted {summary} for Frontline user {} but answered with state {:?} and availability {:?}; the change was not applied",
                current.sid, updated.state, updated.is_available
            ),
        });
    }
    r.status = map_state(updated.state.as_deref());
    r.message = format!("set {summary} on Frontline user {}", current.sid);
    Ok(r)
}

#[cfg(test)]
mod flows {
    //! Whole flows over the fake transport: what each state change sends.

    use super::*;
    use crate::fake::{FakeTransport, answer};
    use crate::http::Method;
    use crate::retry::Policy;
    use std::cell::RefCell;
    use std::rc::Rc;

    const URL: &str = "https://frontline-api.twilio.com/v1/Users/*";

    /// One user, `erin@acme.example` (SID US1), whose `State` a POST changes.
    fn frontline(state: &str) -> FakeTransport {
        let state = Rc::new(RefCell::new(state.to_string()));
        let read = state.clone();
        let user = |s: &str| {
            serde_json::json!({"sid": "US1", "identity": "erin@acme.example", "state": s})
                .to_string()
                .into_bytes()
        };
        let known = |url: &str| url.ends_with("/US1") || url.ends_with("/erin%40acme.example");
        FakeTransport::for_app(&crate::frontline::INFO)
            .on(Method::Get, URL, move |req| {
                Ok(if known(&req.url) {
                    answer(200, user(&read.borrow()))
                } else {
                    answer(404, br#"{"code":20404,"status":404}"#.to_vec())
                })
            })
            .on(Method::Post, URL, move |req| {
                let form = String::from_utf8_lossy(&req.body).to_string();
                if let Some(v) = form.strip_prefix("State=") {
                    *state.borrow_mut() = v.split('&').next().unwrap_or(v).to_string();
                }
                Ok(answer(200, user(&state.borrow())))
            })
    }

    fn change(t: &mut FakeTransport, id: &str, target: &str, dry: bool) -> Result<ActionResult> {
        let mut c = Client::new(t, Policy::default());
        set_state(
            &mut c,
            &Config::default(),
            id,
            ActionKind::Suspend,
            target,
            dry,
        )
    }

    #[test]
    fn dry_runs_read_only() {
        for (from, to) in [("active", "deactivated"), ("deactivated", "active")] {
            let mut t = frontline(from);
            let r = change(&mut t, "erin@acme.example", to, true).unwrap();
            assert!(r.dry_run && r.changed, "{to}: {r:?}");
            assert!(t.writes().is_empty(), "{to}: {:?}", t.writes());
        }
    }

    #[test]
    fn repeating_a_state_change_writes_once() {
        let mut t = frontline("active");
        let first = change(&mut t, "erin@acme.example", "deactivated", false).unwrap();
        let second = change(&mut t, "erin@acme.example", "deactivated", false).unwrap();
        assert!(first.changed && !second.changed);
        assert_eq!(first.status, Some(Status::Suspended));
        assert_eq!(t.writes().len(), 1);
        assert_eq!(
            String::from_utf8_lossy(&t.writes()[0].body),
            "State=deactivated"
        );
    }

    #[test]
    fn a_state_twilio_did_not_apply_is_an_error() {
        let user =
            serde_json::json!({"sid": "US1", "identity": "erin@acme.example", "state": "active"});
        let mut t = FakeTransport::for_app(&crate::frontline::INFO)
            .json(Method::Get, URL, 200, user.clone())
            .json(Method::Post, URL, 200, user);
        let e = change(&mut t, "erin@acme.example", "deactivated", false).unwrap_err();
        assert!(e.to_string().contains("not applied"), "{e}");
    }

    #[test]
    fn a_missing_user_is_not_found_and_nothing_is_written() {
        let mut t = frontline("active");
        let e = change(&mut t, "nobody@nowhere.example", "deactivated", false).unwrap_err();
        assert!(matches!(e, ConnectorError::NotFound(_)), "{e:?}");
        assert!(t.writes().is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_as_documented() {
        assert_eq!(map_state(Some("active")), Some(Status::Active));
        assert_eq!(map_state(Some("deactivated")), Some(Status::Suspended));
        assert_eq!(map_state(Some("gone")), None);
    }

    #[test]
    fn identities_are_encoded_into_the_path() {
        assert_eq!(
            user_url("john@example.com"),
            "https://frontline-api.twilio.com/v1/Users/john%40example.com"
        );
        assert_eq!(
            user_url("../x"),
            "https://frontline-api.twilio.com/v1/Users/..%2Fx"
        );
    }

    #[test]
    fn account_fields() {
        let u: FrontlineUser = serde_json::from_str(
            r#"{"sid":"US1","identity":"john@example.com","friendly_name":"John","state":"deactivated","is_available":false}"#,
        )
        .unwrap();
        let a = to_account(&u);
        assert_eq!(a.status, Status::Suspended);
        assert_eq!(a.email.as_deref(), Some("john@example.com"));
        assert_eq!(
            a.attributes[0],
            ("is_available".to_string(), "false".to_string())
        );
    }
}
