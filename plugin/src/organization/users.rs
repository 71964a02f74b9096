//! The organization's SCIM Users as accounts: read (the list is not paged, so one page holds
//! every user), fetched, looked up by `userName`, and joined with their role assignments and
//! their Monitor last activity.

use super::activity::{self, Activity};
use super::errors;
use super::roles::{self, same_sid};
use super::{org_url, organization};
use crate::errors::ConnectorError;
use crate::http::{Request, form_encode};
use crate::model::{Account, AccountPage, Config, Result, Status};
use crate::retry::Client;
use crate::sid::{is_sid, require};
use crate::time::{parse_timestamp, rfc3339};
use serde::Deserialize;
use std::collections::HashMap;

/// A SCIM User's name (`ScimName`; `formatted` is RFC 7643's, read when given).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScimName {
    #[serde(default)]
    pub formatted: Option<String>,
    #[serde(default, rename = "givenName")]
    pub given_name: Option<String>,
    #[serde(default, rename = "familyName")]
    pub family_name: Option<String>,
}

/// One of a SCIM User's emails (`ScimEmailAddress`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScimEmail {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub primary: Option<bool>,
}

/// A SCIM resource's `meta` (`ScimMeta`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScimMeta {
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default, rename = "lastModified")]
    pub last_modified: Option<String>,
}

/// The fields of a SCIM User (`ScimUser`) the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ScimUser {
    pub id: String,
    #[serde(default, rename = "userName")]
    pub user_name: Option<String>,
    #[serde(default, rename = "externalId")]
    pub external_id: Option<String>,
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub name: Option<ScimName>,
    #[serde(default)]
    pub emails: Option<Vec<ScimEmail>>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub meta: Option<ScimMeta>,
}

/// Text that says something.
fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ScimUser {
    /// Whether the user is active (`active` false: suspended or deactivated).
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }

    /// The primary email, else the first.
    pub fn email(&self) -> Option<&str> {
        let emails = self.emails.as_deref().unwrap_or_default();
        emails
            .iter()
            .find(|e| e.primary == Some(true) && text(&e.value).is_some())
            .or_else(|| emails.iter().find(|e| text(&e.value).is_some()))
            .and_then(|e| text(&e.value))
    }

    /// `displayName`, else the name formatted, else given and family names.
    pub fn display(&self) -> Option<String> {
        if let Some(d) = text(&self.display_name) {
            return Some(d.to_string());
        }
        let name = self.name.as_ref()?;
        if let Some(f) = text(&name.formatted) {
            return Some(f.to_string());
        }
        let parts: Vec<&str> = [text(&name.given_name), text(&name.family_name)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// `active` as the connector's status.
    pub fn status(&self) -> Status {
        if self.is_active() {
            Status::Active
        } else {
            Status::Suspended
        }
    }
}

/// What the account of a user is joined from.
pub struct Joined<'a> {
    pub assignments: Vec<roles::RoleAssignment>,
    pub activity: &'a Activity,
    /// Whether the user owns one of the organization's accounts (the Organization Owner).
    pub owner: bool,
}

/// The account of a user.
pub fn to_account(u: &ScimUser, joined: Joined<'_>) -> Account {
    let mut warnings = Vec::new();
    if u.active.is_none() {
        warnings.push(format!(
            "SCIM user {} has no active attribute; reported as active",
            u.id
        ));
    }
    warnings.extend(joined.activity.warning(&u.id));
    let mut attributes = Vec::new();
    let meta = u.meta.clone().unwrap_or_default();
    for (key, value) in [
        ("date_created", &meta.created),
        ("date_updated", &meta.last_modified),
    ] {
        if let Some(v) = text(value) {
            let v = parse_timestamp(v).map_or_else(|| v.to_string(), rfc3339);
            attributes.push((key.to_string(), v));
        }
    }
    if let Some(x) = text(&u.external_id) {
        attributes.push(("external_id".to_string(), x.to_string()));
    }
    if joined.owner {
        attributes.push(("organization_owner".to_string(), "true".to_string()));
    }
    let mut entitlements: Vec<_> = joined
        .assignments
        .iter()
        .map(roles::RoleAssignment::entitlement)
        .collect();
    entitlements.sort_by(|a, b| a.id.cmp(&b.id));
    entitlements.dedup_by(|a, b| a.id == b.id);
    Account {
        id: u.id.clone(),
        username: text(&u.user_name).map(str::to_string),
        email: u.email().map(str::to_string),
        display_name: u.display(),
        status: u.status(),
        last_activity: joined.activity.last(),
        entitlements,
        attributes,
        warnings,
    }
}

/// `ScimUserPage`.
#[derive(Debug, Deserialize)]
struct ScimUserPage {
    #[serde(default, rename = "Resources")]
    resources: Option<Vec<ScimUser>>,
    #[serde(default, rename = "totalResults")]
    total_results: Option<u64>,
}

/// The SCIM user list, filtered by `filter` when given (the list is not paged: every user
/// matching is in the one answer).
fn scim_list(client: &mut Client<'_>, or: &str, filter: Option<&str>) -> Result<Vec<ScimUser>> {
    let url = match filter {
        None => org_url(or, "/scim/Users"),
        Some(f) => org_url(or, &format!("/scim/Users?filter={}", form_encode(f))),
    };
    let what = format!("SCIM user list of organization {or}");
    let r = client.send(Request::get(url))?;
    let page: ScimUserPage = errors::json(&r, &what)?;
    let users = page.resources.unwrap_or_default();
    if let Some(total) = page.total_results
        && total > users.len() as u64
    {
        return Err(ConnectorError::MalformedResponse(format!(
            "{what}: {} of totalResults {total} users answered; the list has no paging to read the rest",
            users.len()
        )));
    }
    for u in &users {
        if !is_sid(&u.id, "US") {
            return Err(ConnectorError::MalformedResponse(format!(
                "{what}: {:?} is not a user SID",
                u.id
            )));
        }
    }
    Ok(users)
}

/// The filter of the user named `user_name` (`userName eq "…"`, a JSON string).
pub fn user_name_filter(user_name: &str) -> String {
    format!(
        "userName eq {}",
        serde_json::to_string(user_name).expect("a string serialises")
    )
}

/// The user whose `userName` is `user_name` (compared as SCIM does, ignoring case).
pub fn by_user_name(
    client: &mut Client<'_>,
    or: &str,
    user_name: &str,
) -> Result<Option<ScimUser>> {
    let users = scim_list(client, or, Some(&user_name_filter(user_name)))?;
    Ok(users.into_iter().find(|u| {
        u.user_name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
    }))
}

/// One user by SID; `None` when the organization has none of that SID.
pub fn fetch(client: &mut Client<'_>, or: &str, id: &str) -> Result<Option<ScimUser>> {
    require(id, "US", "user")?;
    let r = client.send(Request::get(org_url(or, &format!("/scim/Users/{id}"))))?;
    if r.status == 404 {
        return Ok(None);
    }
    let u: ScimUser = errors::json(&r, &format!("SCIM user {id}"))?;
    if !same_sid(&u.id, id) {
        return Err(ConnectorError::MalformedResponse(format!(
            "SCIM user {id}: the answer is user {:?}",
            u.id
        )));
    }
    Ok(Some(u))
}

/// One user by SID, or not found.
pub fn fetch_existing(client: &mut Client<'_>, or: &str, id: &str) -> Result<ScimUser> {
    fetch(client, or, id)?
        .ok_or_else(|| ConnectorError::NotFound(format!("organization {or} has no user {id}")))
}

/// Whether `id` is one of `owners`.
pub fn is_owner(owners: &[String], id: &str) -> bool {
    owners.iter().any(|o| same_sid(o, id))
}

/// The one page of the listing: every user, with their role assignments (every page of the
/// list read once and joined as it comes, so one page of assignments is held at a time beside
/// the users), the owners marked, and each user's last activity from Monitor.
pub fn list_page(
    client: &mut Client<'_>,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<AccountPage> {
    let or = organization(cfg)?;
    if let Some(c) = cursor {
        return Err(ConnectorError::InvalidInput(format!(
            "{c:?} is not a cursor of the organization listing: it has one page (the SCIM user list is not paged); start again without a cursor"
        )));
    }
    let users = scim_list(client, or, None)?;
    let index: HashMap<String, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.to_ascii_lowercase(), i))
        .collect();
    let mut assignments: Vec<Vec<roles::RoleAssignment>> = vec![Vec::new(); users.len()];
    roles::walk_assignments(client, or, None, None, |page| {
        for a in page {
            if let Some(&i) = index.get(&a.identity.to_ascii_lowercase()) {
                assignments[i].push(a);
            }
        }
        Ok(())
    })?;
    let owners = roles::owners(client, or)?;
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let activity = activity::last_activity(client, &ids);
    let accounts = users
        .iter()
        .zip(assignments)
        .zip(&activity)
        .map(|((u, assignments), activity)| {
            to_account(
                u,
                Joined {
                    assignments,
                    activity,
                    owner: is_owner(&owners, &u.id),
                },
            )
        })
        .collect();
    Ok(AccountPage {
        accounts,
        next_cursor: None,
    })
}

/// One user as the listing shows it.
pub fn get(client: &mut Client<'_>, cfg: &Config, id: &str) -> Result<Account> {
    let or = organization(cfg)?;
    require(id, "US", "user")?;
    let u = fetch_existing(client, or, id)?;
    let assignments = roles::assignments_of(client, or, &u.id, None)?;
    let owners = roles::owners(client, or)?;
    let activity = activity::last_activity(client, &[&u.id]);
    Ok(to_account(
        &u,
        Joined {
            assignments,
            activity: &activity[0],
            owner: is_owner(&owners, &u.id),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fake_org::{
        self, AC_MAIN, AC_SUB, ADMIN, BEN, BILLING, DANA, NORA, OR, OWNER, SAM, SUPPORT,
    };
    use super::*;
    use crate::model::EntitlementKind;
    use crate::retry::Policy;

    fn list(org: &std::rc::Rc<std::cell::RefCell<fake_org::FakeOrg>>) -> (AccountPage, usize) {
        let mut t = fake_org::transport(org);
        let mut c = Client::new(&mut t, Policy::default());
        let page = list_page(&mut c, &fake_org::cfg(), None).unwrap();
        assert!(t.writes().is_empty());
        let sent = t.requests.len();
        (page, sent)
    }

    fn find<'a>(page: &'a AccountPage, id: &str) -> &'a Account {
        page.accounts.iter().find(|a| a.id == id).unwrap()
    }

    #[test]
    fn the_listing_joins_every_users_roles_with_readable_names() {
        let org = fake_org::demo();
        // Pages of two assignments: the join reads all three pages.
        org.borrow_mut().page_size_cap = Some(2);
        let (page, _) = list(&org);
        assert_eq!(page.next_cursor, None, "one page holds every user");
        assert_eq!(page.accounts.len(), 5);
        let ben = find(&page, BEN);
        let roles: Vec<(&str, &str)> = ben
            .entitlements
            .iter()
            .map(|e| (e.id.as_str(), e.name.as_str()))
            .collect();
        let billing = format!("{BILLING}@{AC_MAIN}");
        let support = format!("{SUPPORT}@{AC_SUB}");
        let (billing_name, support_name) = (
            format!("Billing on {AC_MAIN}"),
            format!("Support on {AC_SUB}"),
        );
        assert_eq!(
            roles,
            vec![
                (billing.as_str(), billing_name.as_str()),
                (support.as_str(), support_name.as_str())
            ]
        );
        assert!(
            ben.entitlements
                .iter()
                .all(|e| e.kind == EntitlementKind::Role)
        );
        assert_eq!(ben.username.as_deref(), Some("ben.billing@acme.example"));
        assert_eq!(ben.email.as_deref(), Some("ben.billing@acme.example"));
        assert_eq!(ben.display_name.as_deref(), Some("Ben Billing"));
        assert_eq!(ben.status, Status::Active);
        assert_eq!(ben.last_activity.as_deref(), Some("2025-11-18T16:40:00Z"));
        assert_eq!(
            ben.attributes,
            vec![
                ("date_created".into(), "2023-04-02T08:00:00Z".into()),
                ("date_updated".into(), "2023-04-02T08:00:00Z".into()),
                ("external_id".into(), format!("okta-{BEN}")),
            ]
        );
        assert!(ben.warnings.is_empty(), "{:?}", ben.warnings);
        assert!(find(&page, NORA).entitlements.is_empty());
        let sam = find(&page, SAM);
        assert_eq!(sam.status, Status::Suspended);
        assert_eq!(sam.entitlements[0].name, format!("Admin on {AC_SUB}"));
        let owner = find(&page, OWNER);
        assert!(
            owner
                .attributes
                .contains(&("organization_owner".into(), "true".into()))
        );
        assert_eq!(owner.entitlements[0].id, format!("{ADMIN}@{AC_MAIN}"));
        assert_eq!(
            find(&page, DANA).last_activity.as_deref(),
            Some("2025-11-21T09:15:00Z")
        );
    }

    #[test]
    fn an_unknown_role_is_named_by_its_sid() {
        let org = fake_org::demo();
        let custom = "IX0000000000000000000000000000ffff";
        org.borrow_mut().assignments.push(serde_json::json!({
            "sid": "IY0000000000000000000000000000ffff", "role_sid": custom, "scope": OR, "identity": NORA
        }));
        let (page, _) = list(&org);
        let nora = find(&page, NORA);
        assert_eq!(nora.entitlements[0].id, format!("{custom}@{OR}"));
        assert_eq!(nora.entitlements[0].name, format!("{custom} on {OR}"));
    }

    #[test]
    fn monitor_refusing_the_credentials_is_a_warning_not_a_failure() {
        let org = fake_org::demo();
        org.borrow_mut().monitor_status = 401;
        let (page, sent) = list(&org);
        assert_eq!(page.accounts.len(), 5);
        for a in &page.accounts {
            assert_eq!(a.last_activity, None);
            assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
            assert!(a.warnings[0].contains("TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN"));
            assert!(a.warnings[0].contains("for Monitor last activity"));
        }
        // Users, one page of assignments, one of accounts, one Monitor probe.
        assert_eq!(sent, 4);
        let org = fake_org::demo();
        org.borrow_mut().monitor_status = 403;
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        let a = get(&mut c, &fake_org::cfg(), DANA).unwrap();
        assert_eq!(a.last_activity, None);
        assert!(a.warnings[0].contains("403"), "{:?}", a.warnings);
    }

    #[test]
    fn one_user_is_read_as_the_listing_shows_it() {
        let org = fake_org::demo();
        let (page, _) = list(&org);
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        for id in [OWNER, DANA, BEN, SAM, NORA] {
            assert_eq!(&get(&mut c, &fake_org::cfg(), id).unwrap(), find(&page, id));
        }
        let missing = "US0000000000000000000000000000dead";
        assert!(matches!(
            get(&mut c, &fake_org::cfg(), missing),
            Err(ConnectorError::NotFound(_))
        ));
        let sent = t.requests.len();
        let mut c = Client::new(&mut t, Policy::default());
        assert!(matches!(
            get(&mut c, &fake_org::cfg(), "../x"),
            Err(ConnectorError::InvalidInput(_))
        ));
        assert_eq!(t.requests.len(), sent);
    }

    #[test]
    fn the_listing_has_one_page() {
        let org = fake_org::demo();
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        let e = list_page(&mut c, &fake_org::cfg(), Some("x")).unwrap_err();
        assert!(matches!(e, ConnectorError::InvalidInput(_)));
        assert!(t.requests.is_empty());
    }

    #[test]
    fn names_and_emails_fall_back_as_scim_allows() {
        let u: ScimUser = serde_json::from_value(serde_json::json!({
            "id": "US1", "userName": "a@b.example",
            "name": {"givenName": "Ann", "familyName": "Bee"},
            "emails": [{"value": "other@b.example"}, {"value": "a@b.example", "primary": true}],
        }))
        .unwrap();
        assert_eq!(u.display().as_deref(), Some("Ann Bee"));
        assert_eq!(u.email(), Some("a@b.example"));
        let u: ScimUser = serde_json::from_value(serde_json::json!({
            "id": "US1", "name": {"formatted": "Dr Ann Bee"}, "emails": [{"value": "x@b.example"}], "active": false
        }))
        .unwrap();
        assert_eq!(u.display().as_deref(), Some("Dr Ann Bee"));
        assert_eq!(u.email(), Some("x@b.example"));
        assert_eq!(u.status(), Status::Suspended);
        assert_eq!(
            user_name_filter(r#"a"b@c.example"#),
            r#"userName eq "a\"b@c.example""#
        );
    }
}
