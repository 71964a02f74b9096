//! The Flex Users API (public beta): fetch by SID or username (v4; its v1 list is read page by
//! page in `listing.rs`), and the account of a Flex User that has no TaskRouter worker (e.g.
//! deactivated).

use super::ACCOUNT_TYPE;
use super::{FLEX_API_HOST, flex_api};
use crate::http::{Request, form_encode};
use crate::model::{Account, Entitlement, EntitlementKind, Result, Status};
use crate::paging::parse_page;
use crate::retry::Client;
use serde::{Deserialize, Serialize};

/// The fields of a Flex User the connector reads (kept as they are in a listing's state).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct FlexUser {
    pub flex_user_sid: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub full_name: Option<String>,
    /// Null is allowed by the schema: no roles, and a warning.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub worker_sid: Option<String>,
    #[serde(default)]
    pub workspace_sid: Option<String>,
    /// Null is allowed by the schema: not deactivated, and a warning.
    #[serde(default)]
    pub deactivated: Option<bool>,
    /// v4 provisioning answers nest the worker.
    #[serde(default)]
    pub worker: Option<NestedWorker>,
}

/// `{"worker_sid", "workspace_sid"}` as the Provision answer nests it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct NestedWorker {
    #[serde(default)]
    pub worker_sid: Option<String>,
    #[serde(default)]
    pub workspace_sid: Option<String>,
}

impl FlexUser {
    /// The user's roles (none when the answer had null).
    pub fn roles(&self) -> &[String] {
        self.roles.as_deref().unwrap_or_default()
    }

    /// Whether the user is deactivated (not, when the answer had null).
    pub fn is_deactivated(&self) -> bool {
        self.deactivated.unwrap_or(false)
    }

    /// Warnings for fields the answer left null, each read as its default.
    pub fn null_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.roles.is_none() {
            out.push(format!(
                "Flex user {}: roles were null; read as no roles",
                self.flex_user_sid
            ));
        }
        if self.deactivated.is_none() {
            out.push(format!(
                "Flex user {}: deactivated was null; read as not deactivated",
                self.flex_user_sid
            ));
        }
        out
    }

    /// The worker SID, wherever the answer put it.
    pub fn worker(&self) -> Option<&str> {
        self.worker_sid
            .as_deref()
            .or_else(|| self.worker.as_ref().and_then(|w| w.worker_sid.as_deref()))
    }
}

/// A Flex User by SID; `None` when Twilio does not know it.
pub fn by_sid(client: &mut Client<'_>, instance: &str, sid: &str) -> Result<Option<FlexUser>> {
    let r = client.send(Request::get(flex_api(&format!(
        "/v4/Instances/{instance}/Users/{sid}"
    ))))?;
    if r.status == 404 {
        return Ok(None);
    }
    r.json(&format!("Flex user {sid}")).map(Some)
}

/// A Flex User by username (0 or 1 result).
pub fn by_username(
    client: &mut Client<'_>,
    instance: &str,
    username: &str,
) -> Result<Option<FlexUser>> {
    let url = flex_api(&format!(
        "/v4/Instances/{instance}/Users?Username={}",
        form_encode(username)
    ));
    let r = client.send(Request::get(url))?;
    if r.status == 404 {
        return Ok(None);
    }
    r.ok(&format!("Flex user {username}"))?;
    let page: crate::paging::Page<FlexUser> =
        parse_page(FLEX_API_HOST, &r.body, "users", "Flex user by username")?;
    Ok(page.items.into_iter().next())
}

/// The account of a Flex User that has no worker to describe it.
pub fn to_account(u: &FlexUser) -> Account {
    let mut entitlements = vec![Entitlement {
        kind: EntitlementKind::AccountType,
        id: ACCOUNT_TYPE.to_string(),
        name: ACCOUNT_TYPE.to_string(),
        last_activity: None,
    }];
    entitlements.extend(u.roles().iter().map(|r| Entitlement {
        kind: EntitlementKind::Role,
        id: r.clone(),
        name: r.clone(),
        last_activity: None,
    }));
    let mut attributes = vec![("flex_user_sid".to_string(), u.flex_user_sid.clone())];
    if let Some(ws) = &u.workspace_sid {
        attributes.push(("workspace_sid".into(), ws.clone()));
    }
    Account {
        id: u.flex_user_sid.clone(),
        username: u.username.clone(),
        email: u.email.clone(),
        display_name: u.full_name.clone().or_else(|| u.username.clone()),
        status: if u.is_deactivated() {
            Status::Deprovisioned
        } else {
            Status::Active
        },
        last_activity: None,
        entitlements,
        attributes,
        warnings: u.null_warnings(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deactivated_user_is_deprovisioned() {
        let u: FlexUser = serde_json::from_str(
            r#"{"flex_user_sid":"FU1","username":"jane","roles":["agent"],"deactivated":true,"worker_sid":null}"#,
        )
        .unwrap();
        let a = to_account(&u);
        assert_eq!(a.status, Status::Deprovisioned);
        assert_eq!(a.entitlements.len(), 2);
        assert_eq!(u.worker(), None);
    }

    #[test]
    fn provision_answer_nests_the_worker() {
        let u: FlexUser = serde_json::from_str(
            r#"{"flex_user_sid":"FU1","worker":{"worker_sid":"WK1","workspace_sid":"WS1"}}"#,
        )
        .unwrap();
        assert_eq!(u.worker(), Some("WK1"));
    }
}
