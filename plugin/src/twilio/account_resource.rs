//! The Account resource as the connector reads it (`auth_token` deliberately absent), its
//! status mapping, and the connector's account built from it and its usage activity.

use super::usage::Activity;
use crate::model::{Account, Entitlement, EntitlementKind, Status};
use crate::time::{date_rfc3339, parse_timestamp, rfc3339};
use serde::{Deserialize, Serialize};

/// The fields of an Account resource the connector reads. `auth_token` is deliberately absent.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AccountResource {
    pub sid: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// Null is allowed by the schema: read as an unknown status, with a warning.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub status: String,
    #[serde(default, rename = "type")]
    pub account_type: Option<String>,
    #[serde(default)]
    pub owner_account_sid: Option<String>,
    #[serde(default)]
    pub date_created: Option<String>,
}

impl AccountResource {
    /// What the host needs pass on of a page of the account list (`Request::reading`): the
    /// fields above. The rest of each account (its `auth_token` above all, which the host
    /// would otherwise parse the page whole to blank, and its links) never reaches the guest.
    pub const FIELDS: &'static str =
        "accounts=sid,friendly_name,status,type,owner_account_sid,date_created";
}

/// Read a nullable string as empty when null.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Map Twilio's account status; `None` for a value Twilio does not document.
pub fn map_status(status: &str) -> Option<Status> {
    match status {
        "active" => Some(Status::Active),
        "suspended" => Some(Status::Suspended),
        "closed" => Some(Status::Deprovisioned),
        _ => None,
    }
}

/// Build the connector's account from the resource and its usage activity.
pub fn to_account(
    r: &AccountResource,
    activity: Option<&Activity>,
    warnings: Vec<String>,
) -> Account {
    let mut warnings = warnings;
    let status = map_status(&r.status).unwrap_or_else(|| {
        warnings.push(format!(
            "unknown Twilio account status {:?}; reported as active",
            r.status
        ));
        Status::Active
    });
    let mut entitlements = Vec::new();
    if let Some(t) = r.account_type.as_deref().filter(|t| !t.is_empty()) {
        entitlements.push(Entitlement {
            kind: EntitlementKind::AccountType,
            id: t.to_string(),
            name: t.to_string(),
            last_activity: None,
        });
    }
    if let Some(a) = activity {
        for (service, date) in &a.services {
            entitlements.push(Entitlement {
                kind: EntitlementKind::Service,
                id: service.clone(),
                name: service.clone(),
                last_activity: Some(date_rfc3339(*date)),
            });
        }
    }
    let mut attributes = Vec::new();
    if let Some(o) = &r.owner_account_sid {
        attributes.push(("owner_account_sid".to_string(), o.clone()));
    }
    if let Some(t) = r.date_created.as_deref().and_then(parse_timestamp) {
        attributes.push(("date_created".to_string(), rfc3339(t)));
    }
    Account {
        id: r.sid.clone(),
        username: r.friendly_name.clone(),
        email: None,
        display_name: r.friendly_name.clone(),
        status,
        last_activity: activity.and_then(Activity::last).map(date_rfc3339),
        entitlements,
        attributes,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(status: &str) -> AccountResource {
        serde_json::from_value(json!({
            "sid": "AC00000000000000000000000000000001",
            "friendly_name": "Sales team",
            "status": status,
            "type": "Trial",
            "auth_token": "secret",
            "owner_account_sid": "AC00000000000000000000000000000000",
            "date_created": "Thu, 30 Jul 2015 20:00:00 +0000"
        }))
        .unwrap()
    }

    /// An Account resource as Twilio's OpenAPI example shows it (`api.v2010.account`), every
    /// field the connector reads set.
    fn whole_resource() -> serde_json::Value {
        json!({
            "auth_token": "auth_token",
            "date_created": "Thu, 30 Jul 2015 20:00:00 +0000",
            "date_updated": "Thu, 30 Jul 2015 20:00:00 +0000",
            "friendly_name": "friendly_name",
            "owner_account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            "status": "active",
            "subresource_uris": {"calls": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab/Calls.json"},
            "type": "Full",
            "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab.json"
        })
    }

    #[test]
    fn an_account_narrowed_to_its_fields_reads_as_the_whole_account() {
        assert!(AccountResource::FIELDS.starts_with("accounts="));
        let whole = whole_resource();
        let narrow = crate::http::narrowed_item(AccountResource::FIELDS, &whole);
        assert!(narrow.get("auth_token").is_none());
        let read = |v: serde_json::Value| {
            format!(
                "{:?}",
                serde_json::from_value::<AccountResource>(v).unwrap()
            )
        };
        // Every field the connector reads is set in the whole account, so a field missing
        // from FIELDS (read as its default) reads differently here.
        assert_eq!(read(narrow), read(whole));
    }

    #[test]
    fn statuses_map_as_documented() {
        assert_eq!(map_status("active"), Some(Status::Active));
        assert_eq!(map_status("suspended"), Some(Status::Suspended));
        assert_eq!(map_status("closed"), Some(Status::Deprovisioned));
        assert_eq!(map_status("frozen"), None);
        let a = to_account(&resource("frozen"), None, vec![]);
        assert_eq!(a.status, Status::Active);
        assert!(a.warnings[0].contains("frozen"));
    }

    #[test]
    fn account_carries_type_services_and_rfc3339_dates() {
        let mut act = Activity::default();
        act.services.insert(
            "Messaging".into(),
            chrono::NaiveDate::from_ymd_opt(2024, 4, 17).unwrap(),
        );
        let a = to_account(&resource("closed"), Some(&act), vec![]);
        assert_eq!(a.status, Status::Deprovisioned);
        assert_eq!(a.last_activity.as_deref(), Some("2024-04-17T00:00:00Z"));
        assert_eq!(a.entitlements[0].kind, EntitlementKind::AccountType);
        assert_eq!(a.entitlements[0].name, "Trial");
        assert_eq!(a.entitlements[1].name, "Messaging");
        assert!(
            a.attributes
                .contains(&("date_created".into(), "2015-07-30T20:00:00Z".into()))
        );
    }
}
