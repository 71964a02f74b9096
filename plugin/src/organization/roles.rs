//! Role assignments as entitlements (one per role and scope, id `{role_sid}@{scope}`), the
//! organization's accounts (paged; their `owner_sid` names the Organization Owner), and what
//! can be granted: each built-in role at each account.

use super::errors;
use super::{PREVIEW_IAM_HOST, org_url, organization};
use crate::errors::ConnectorError;
use crate::http::{Request, Response};
use crate::model::{
    Config, Entitlement, EntitlementInfo, EntitlementKind, EntitlementPage, Result,
};
use crate::paging::{self, Page, parse_page};
use crate::retry::Client;
use crate::sid::is_sid;
use serde::Deserialize;

/// Twilio's built-in roles (the roles a role assignment may name), by SID.
pub const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("IX00000000000000000000000000000102", "Admin"),
    ("IX00000000000000000000000000000103", "Developer"),
    ("IX00000000000000000000000000000104", "Billing"),
    ("IX00000000000000000000000000000105", "Support"),
];

/// Role assignments per page of the list (its `PageSize` maximum).
pub const ASSIGNMENTS_PER_PAGE: u32 = 100;
/// Accounts per page of the list (its `PageSize` maximum).
pub const ACCOUNTS_PER_PAGE: u32 = 100;

/// Whether two SIDs name the same resource (the hex digits are case-insensitive).
pub fn same_sid(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A role's readable name: the built-in role's, else its SID.
pub fn role_name(role_sid: &str) -> &str {
    BUILT_IN_ROLES
        .iter()
        .find(|(sid, _)| same_sid(sid, role_sid))
        .map_or(role_sid, |(_, name)| name)
}

/// Whether `role_sid` is one of Twilio's built-in roles.
pub fn is_built_in(role_sid: &str) -> bool {
    BUILT_IN_ROLES
        .iter()
        .any(|(sid, _)| same_sid(sid, role_sid))
}

/// An entitlement's id: the role at the scope.
pub fn entitlement_id(role_sid: &str, scope: &str) -> String {
    format!("{role_sid}@{scope}")
}

/// An entitlement's name: the role's name at the scope.
pub fn entitlement_name(role_sid: &str, scope: &str) -> String {
    format!("{} on {scope}", role_name(role_sid))
}

/// A role at a scope, as an entitlement id names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAtScope {
    pub role_sid: String,
    pub scope: String,
}

impl RoleAtScope {
    /// Whether an assignment is of this role at this scope.
    pub fn is(&self, a: &RoleAssignment) -> bool {
        same_sid(&a.role_sid, &self.role_sid) && same_sid(&a.scope, &self.scope)
    }

    /// The entitlement id.
    pub fn id(&self) -> String {
        entitlement_id(&self.role_sid, &self.scope)
    }

    /// The readable name.
    pub fn name(&self) -> String {
        entitlement_name(&self.role_sid, &self.scope)
    }
}

/// Read an entitlement id, `{role_sid}@{scope}`: an `IX` role at an account (`AC`) or the
/// organization itself (`OR`), checked before either goes into a request.
pub fn parse_entitlement(id: &str) -> Result<RoleAtScope> {
    let bad = |why: &str| {
        ConnectorError::InvalidInput(format!(
            "{id:?} is not an organization entitlement id ({why}); ids are ROLE@SCOPE, e.g. {}@AC… (list-entitlements names them)",
            BUILT_IN_ROLES[0].0
        ))
    };
    let (role, scope) = id.trim().split_once('@').ok_or_else(|| bad("no @"))?;
    if !is_sid(role, "IX") {
        return Err(bad(&format!(
            "the role must be an IX SID, {}",
            crate::sid::describe("IX")
        )));
    }
    if !(is_sid(scope, "AC") || is_sid(scope, "OR")) {
        return Err(bad(
            "the scope must be an account (AC…) or organization (OR…) SID",
        ));
    }
    Ok(RoleAtScope {
        role_sid: role.to_string(),
        scope: scope.to_string(),
    })
}

/// A role assignment (`PublicApiRoleAssignmentResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RoleAssignment {
    pub sid: String,
    pub role_sid: String,
    pub scope: String,
    pub identity: String,
}

impl RoleAssignment {
    /// The entitlement the assignment gives its identity.
    pub fn entitlement(&self) -> Entitlement {
        Entitlement {
            kind: EntitlementKind::Role,
            id: entitlement_id(&self.role_sid, &self.scope),
            name: entitlement_name(&self.role_sid, &self.scope),
            last_activity: None,
        }
    }
}

/// The first page of role assignments, filtered by identity and scope when given.
pub fn assignments_url(or: &str, identity: Option<&str>, scope: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(i) = identity {
        query.push(format!("Identity={i}"));
    }
    if let Some(s) = scope {
        query.push(format!("Scope={s}"));
    }
    query.push(format!("PageSize={ASSIGNMENTS_PER_PAGE}"));
    org_url(or, &format!("/RoleAssignments?{}", query.join("&")))
}

/// Read one page of a list under `content` (the organization lists' key), in the organization
/// APIs' error shapes.
fn content_page<I: serde::de::DeserializeOwned>(r: &Response, what: &str) -> Result<Page<I>> {
    errors::ok(r, what)?;
    parse_page(PREVIEW_IAM_HOST, &r.body, "content", what)
}

/// Walk every page of role assignments (filtered when asked), handing each page to `on_page`
/// as it comes and keeping nothing of it: one page is held at a time.
pub fn walk_assignments(
    client: &mut Client<'_>,
    or: &str,
    identity: Option<&str>,
    scope: Option<&str>,
    mut on_page: impl FnMut(Vec<RoleAssignment>) -> Result<()>,
) -> Result<()> {
    let what = "role assignment list";
    paging::walk_pages(
        client,
        vec![((), assignments_url(or, identity, scope))],
        |_, r| {
            let page: Page<RoleAssignment> = content_page(r, what)?;
            Ok((page.items, page.next_url))
        },
        what,
        |_, page, _| {
            on_page(page?)?;
            Ok(Vec::new())
        },
    )
}

/// Every role assignment of `identity` (at `scope`, when given).
pub fn assignments_of(
    client: &mut Client<'_>,
    or: &str,
    identity: &str,
    scope: Option<&str>,
) -> Result<Vec<RoleAssignment>> {
    let mut out = Vec::new();
    walk_assignments(client, or, Some(identity), scope, |page| {
        out.extend(
            page.into_iter()
                .filter(|a| same_sid(&a.identity, identity))
                .filter(|a| scope.is_none_or(|s| same_sid(&a.scope, s))),
        );
        Ok(())
    })?;
    Ok(out)
}

/// An account of the organization (`PublicApiAccountResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrgAccount {
    pub account_sid: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// The account's owner: the Organization Owner unless the account was given another.
    #[serde(default)]
    pub owner_sid: Option<String>,
}

fn accounts_first_page(or: &str, page_size: u32) -> String {
    org_url(or, &format!("/Accounts?PageSize={page_size}"))
}

/// One page of the organization's accounts: the first (of `page_size`), or the one `next`
/// links to, which must be a page of this organization's Accounts on preview-iam.
pub fn accounts_page(
    client: &mut Client<'_>,
    or: &str,
    next: Option<&str>,
    page_size: u32,
) -> Result<Page<OrgAccount>> {
    let url = match next {
        None => accounts_first_page(or, page_size),
        Some(n) => {
            let url = paging::resolve_link(PREVIEW_IAM_HOST, n)?;
            let list = org_url(or, "/Accounts");
            let path = url.split(['?', '#']).next().unwrap_or_default();
            if path != list {
                return Err(ConnectorError::InvalidInput(format!(
                    "{n:?} is not a cursor of organization {or}'s entitlement listing"
                )));
            }
            url
        }
    };
    let r = client.send(Request::get(url))?;
    content_page(&r, &format!("account list of organization {or}"))
}

/// The owners (`owner_sid`) of the organization's accounts, every page read: the
/// Organization Owner, and any other user an account was given to.
pub fn owners(client: &mut Client<'_>, or: &str) -> Result<Vec<String>> {
    let what = format!("account list of organization {or}");
    let mut out: Vec<String> = Vec::new();
    paging::walk_pages(
        client,
        vec![((), accounts_first_page(or, ACCOUNTS_PER_PAGE))],
        |_, r| {
            let page: Page<OrgAccount> = content_page(r, &what)?;
            Ok((page.items, page.next_url))
        },
        &what,
        |_, page, _| {
            for a in page? {
                if let Some(o) = a.owner_sid
                    && !out.iter().any(|x| same_sid(x, &o))
                {
                    out.push(o);
                }
            }
            Ok(Vec::new())
        },
    )?;
    Ok(out)
}

/// One account of the organization; `None` when it is not one of its accounts.
pub fn account(client: &mut Client<'_>, or: &str, ac: &str) -> Result<Option<OrgAccount>> {
    let r = client.send(Request::get(org_url(or, &format!("/Accounts/{ac}"))))?;
    if r.status == 404 {
        return Ok(None);
    }
    errors::json(&r, &format!("account {ac} of organization {or}")).map(Some)
}

/// One page of what can be granted: each built-in role at each account of a page of the
/// organization's accounts; the cursor is the Accounts list's next page.
pub fn list_entitlements(
    client: &mut Client<'_>,
    cfg: &Config,
    cursor: Option<&str>,
) -> Result<EntitlementPage> {
    let or = organization(cfg)?;
    let page = accounts_page(client, or, cursor, ACCOUNTS_PER_PAGE)?;
    let mut entitlements = Vec::with_capacity(page.items.len() * BUILT_IN_ROLES.len());
    for a in &page.items {
        if !is_sid(&a.account_sid, "AC") {
            return Err(ConnectorError::MalformedResponse(format!(
                "account list of organization {or}: {:?} is not an account SID",
                a.account_sid
            )));
        }
        let about = match (&a.friendly_name, &a.status) {
            (Some(n), Some(s)) => format!(" ({n}, {s})"),
            (Some(n), None) => format!(" ({n})"),
            (None, Some(s)) => format!(" ({s})"),
            (None, None) => String::new(),
        };
        for (role, name) in BUILT_IN_ROLES {
            entitlements.push(EntitlementInfo {
                kind: EntitlementKind::Role,
                id: entitlement_id(role, &a.account_sid),
                name: entitlement_name(role, &a.account_sid),
                description: Some(format!(
                    "Twilio's built-in {name} role on account {}{about}",
                    a.account_sid
                )),
            });
        }
    }
    Ok(EntitlementPage {
        entitlements,
        next_cursor: page.next_url,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fake_org::{self, AC_MAIN, AC_SUB, OR};
    use super::*;
    use crate::retry::Policy;

    #[test]
    fn entitlement_ids_are_a_role_at_a_scope() {
        let e = parse_entitlement(
            "IX00000000000000000000000000000102@AC0000000000000000000000000000a001",
        )
        .unwrap();
        assert_eq!(e.name(), "Admin on AC0000000000000000000000000000a001");
        assert_eq!(
            e.id(),
            "IX00000000000000000000000000000102@AC0000000000000000000000000000a001"
        );
        assert!(parse_entitlement(&format!("IX00000000000000000000000000000103@{OR}")).is_ok());
        for bad in [
            "supervisor",
            "IX00000000000000000000000000000102",
            "IX00000000000000000000000000000102@",
            "IX00000000000000000000000000000102@US0000000000000000000000000000ab01",
            "IX0000000000000000000000000000010@AC0000000000000000000000000000a001",
            "AC0000000000000000000000000000a001@IX00000000000000000000000000000102",
            "IX00000000000000000000000000000102@AC0000000000000000000000000000a001/x",
        ] {
            assert!(
                matches!(parse_entitlement(bad), Err(ConnectorError::InvalidInput(_))),
                "{bad}"
            );
        }
        assert_eq!(role_name("IX00000000000000000000000000000105"), "Support");
        assert_eq!(
            role_name("IXffffffffffffffffffffffffffffffff"),
            "IXffffffffffffffffffffffffffffffff"
        );
        assert_eq!(
            entitlement_name("IXffffffffffffffffffffffffffffffff", AC_MAIN),
            format!("IXffffffffffffffffffffffffffffffff on {AC_MAIN}")
        );
    }

    #[test]
    fn grantable_entitlements_are_each_built_in_role_at_each_account_paged() {
        let org = fake_org::demo();
        org.borrow_mut().page_size_cap = Some(1);
        let mut t = fake_org::transport(&org);
        let cfg = fake_org::cfg();
        let mut c = Client::new(&mut t, Policy::default());
        let first = list_entitlements(&mut c, &cfg, None).unwrap();
        let ids: Vec<_> = first.entitlements.iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            ids,
            BUILT_IN_ROLES
                .iter()
                .map(|(r, _)| format!("{r}@{AC_MAIN}"))
                .collect::<Vec<_>>()
        );
        assert!(
            first
                .entitlements
                .iter()
                .all(|e| e.kind == EntitlementKind::Role)
        );
        assert_eq!(first.entitlements[0].name, format!("Admin on {AC_MAIN}"));
        assert!(
            first.entitlements[0]
                .description
                .as_deref()
                .unwrap()
                .contains("Acme Main")
        );
        let cursor = first.next_cursor.expect("a second page");
        let second = list_entitlements(&mut c, &cfg, Some(&cursor)).unwrap();
        assert_eq!(
            second.entitlements[3].id,
            format!("IX00000000000000000000000000000105@{AC_SUB}")
        );
        assert_eq!(second.next_cursor, None);
        // A cursor that is not a page of this organization's accounts is refused unsent.
        let sent = t.requests.len();
        let mut c = Client::new(&mut t, Policy::default());
        for forged in [
            "https://evil.example/Organizations/x/Accounts",
            "https://preview-iam.twilio.com/Organizations/OR0000000000000000000000000000ffff/Accounts",
            "https://preview-iam.twilio.com/Organizations/OR0000000000000000000000000000aa01/scim/Users",
        ] {
            assert!(
                list_entitlements(&mut c, &cfg, Some(forged)).is_err(),
                "{forged}"
            );
        }
        assert_eq!(t.requests.len(), sent);
    }

    #[test]
    fn owners_are_read_from_every_page_of_accounts() {
        let org = fake_org::demo();
        org.borrow_mut().page_size_cap = Some(1);
        let mut t = fake_org::transport(&org);
        let mut c = Client::new(&mut t, Policy::default());
        assert_eq!(
            owners(&mut c, OR).unwrap(),
            vec![fake_org::OWNER.to_string()]
        );
        assert_eq!(t.requests.len(), 2, "two pages of one account");
    }
}
