//! What a SCIM client discovers before it reads (RFC 7644 §4): `ServiceProviderConfig`,
//! `ResourceTypes` and `Schemas`, each said truthfully per app from the capabilities the
//! plugin declares (an attribute the app cannot change is published `readOnly`).

use crate::resources::{ACTIVITY_EXTENSION, GROUP, USER};
use connector_host::types::{AppInfo, Capability};
use serde_json::{Value, json};

/// The most resources one list answer carries (`filter.maxResults`).
pub const MAX_RESULTS: usize = 1000;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// What an app lets SCIM do, from its declared capabilities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Support {
    pub list: bool,
    pub get: bool,
    pub suspend: bool,
    pub reactivate: bool,
    pub deprovision: bool,
    pub provision: bool,
    /// A Group's members can be added (grant) or removed (revoke).
    pub grant: bool,
    pub revoke: bool,
}

impl Support {
    /// The app's capabilities as SCIM sees them.
    pub fn of(app: &AppInfo) -> Self {
        let has = |c: Capability| app.capabilities.contains(&c);
        Self {
            list: has(Capability::ListAccounts),
            get: has(Capability::GetAccount),
            suspend: has(Capability::Suspend),
            reactivate: has(Capability::Reactivate),
            deprovision: has(Capability::Deprovision),
            provision: has(Capability::Provision),
            grant: has(Capability::Grant),
            revoke: has(Capability::Revoke),
        }
    }

    /// PATCH (and PUT) can change `active`.
    pub fn patch(self) -> bool {
        self.suspend || self.reactivate
    }
}

/// `ServiceProviderConfig` (RFC 7643 §5) of one app.
pub fn service_provider_config(base: &str, app: &AppInfo) -> Value {
    let s = Support::of(app);
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/governance-connector#scim",
        "patch": {"supported": s.patch()},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token from `connector serve new-client NAME`, sent as `Authorization: Bearer TOKEN`",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

/// The `ResourceTypes` (RFC 7643 §6): User, with the activity extension, and Group.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "An account of the app: status, last activity and entitlements",
            "schema": USER,
            "schemaExtensions": [{"schema": ACTIVITY_EXTENSION, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "An entitlement (role, account type or service) and the accounts holding it",
            "schema": GROUP,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

/// One attribute definition (RFC 7643 §7).
fn attr(name: &str, kind: &str, multi: bool, mutability: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": "none",
    })
}

fn complex(
    name: &str,
    multi: bool,
    mutability: &str,
    description: &str,
    subs: Vec<Value>,
) -> Value {
    let mut a = attr(name, "complex", multi, mutability, description);
    a["subAttributes"] = Value::Array(subs);
    a
}

/// The `Schemas` (RFC 7643 §7) of one app: core User, Group and the activity extension.
/// `roles`: the roles the app's accounts can be given (the front's vendor facts), published
/// as the `canonicalValues` of `roles.value`.
pub fn schemas(base: &str, app: &AppInfo, roles: &[String]) -> Vec<Value> {
    let s = Support::of(app);
    let on_create = if s.provision { "immutable" } else { "readOnly" };
    let active = if s.patch() { "readWrite" } else { "readOnly" };
    let (members, members_value) = if s.grant || s.revoke {
        ("readWrite", "immutable")
    } else {
        ("readOnly", "readOnly")
    };
    let mut id = attr(
        "id",
        "string",
        false,
        "readOnly",
        "The account's id in the app",
    );
    id["caseExact"] = json!(true);
    id["returned"] = json!("always");
    id["uniqueness"] = json!("server");
    let mut user_name = attr(
        "userName",
        "string",
        false,
        on_create,
        "The account's username, or its id where it has none or shares it",
    );
    user_name["required"] = json!(true);
    user_name["uniqueness"] = json!("server");
    let value_sub = |m: &str| attr("value", "string", false, m, "The value");
    // The contract's provision request needs an email: where the app provisions, a User
    // created through SCIM must carry one.
    let mut emails = complex(
        "emails",
        true,
        on_create,
        "The account's email address",
        vec![
            {
                let mut v = value_sub(on_create);
                v["required"] = json!(s.provision);
                v
            },
            attr("type", "string", false, on_create, "work"),
            attr(
                "primary",
                "boolean",
                false,
                on_create,
                "The primary address",
            ),
        ],
    );
    emails["required"] = json!(s.provision);
    let external_id = attr(
        "externalId",
        "string",
        false,
        "readOnly",
        "Not kept: the app's id is the account's id",
    );
    let mut role_value = value_sub(on_create);
    if !roles.is_empty() {
        role_value["canonicalValues"] = json!(roles);
    }
    let user = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER,
        "name": "User",
        "description": "An account of the app",
        "attributes": [
            user_name,
            attr("displayName", "string", false, on_create, "The account's name for display"),
            attr("active", "boolean", false, active, "Whether the account is active (false: suspended or deprovisioned)"),
            emails,
            external_id,
            complex("roles", true, on_create, "The roles the account holds in the app", vec![
                role_value,
                attr("display", "string", false, "readOnly", "The role's name"),
                attr("type", "string", false, "readOnly", "The app"),
            ]),
            complex("entitlements", true, "readOnly", "Account types and services the account holds", vec![
                value_sub("readOnly"),
                attr("display", "string", false, "readOnly", "The entitlement's name"),
                attr("type", "string", false, "readOnly", "account_type or service"),
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER}")},
    });
    let mut group_name = attr(
        "displayName",
        "string",
        false,
        "readOnly",
        "The entitlement's name",
    );
    group_name["required"] = json!(true);
    let mut member_ref = attr("$ref", "reference", false, "readOnly", "The account's URI");
    member_ref["referenceTypes"] = json!(["User"]);
    let group = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": GROUP,
        "name": "Group",
        "description": "An entitlement and the accounts that hold it",
        "attributes": [
            group_name,
            complex("members", true, members, "The accounts holding the entitlement (PATCH add grants it, remove revokes it, where the app can)", vec![
                attr("value", "string", false, members_value, "The account's id"),
                attr("display", "string", false, "readOnly", "The account's userName"),
                attr("type", "string", false, "readOnly", "User"),
                member_ref,
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP}")},
    });
    let activity = json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ACTIVITY_EXTENSION,
        "name": "Activity",
        "description": "Status and last activity of an account and of each entitlement",
        "attributes": [
            attr("app", "string", false, "readOnly", "The connector app"),
            attr("tenant", "string", false, "readOnly", "The tenant"),
            attr("status", "string", false, "readOnly", "active, suspended or deprovisioned"),
            attr("lastActivity", "dateTime", false, "readOnly", "The account's last activity, where known"),
            complex("entitlementActivity", true, "readOnly", "Last activity per entitlement", vec![
                attr("type", "string", false, "readOnly", "role, account_type or service"),
                attr("value", "string", false, "readOnly", "The entitlement"),
                attr("lastActivity", "dateTime", false, "readOnly", "Its last activity"),
            ]),
            attr("warnings", "string", true, "readOnly", "Problems met while reading the account"),
            complex("attributes", true, "readOnly", "Other non-secret facts the app reports", vec![
                attr("name", "string", false, "readOnly", "The fact's name"),
                attr("value", "string", false, "readOnly", "Its value"),
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{ACTIVITY_EXTENSION}")},
    });
    vec![user, group, activity]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(caps: Vec<Capability>) -> AppInfo {
        AppInfo {
            name: "flex".into(),
            description: String::new(),
            hosts: vec![],
            capabilities: caps,
            routes: vec![],
        }
    }

    #[test]
    fn patch_is_offered_only_where_the_app_changes_status() {
        let read = app(vec![Capability::ListAccounts, Capability::Deprovision]);
        assert_eq!(
            service_provider_config("b", &read)["patch"]["supported"],
            false
        );
        let user = &schemas("b", &read, &[])[0];
        let active = user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "active")
            .unwrap();
        assert_eq!(active["mutability"], "readOnly");
        let both = app(vec![Capability::Suspend, Capability::Reactivate]);
        assert_eq!(
            service_provider_config("b", &both)["patch"]["supported"],
            true
        );
    }

    #[test]
    fn resource_types_name_their_endpoints_and_schemas() {
        let types = resource_types("http://x/scim/v2/acme/twilio");
        assert_eq!(types[0]["endpoint"], "/Users");
        assert_eq!(
            types[0]["schemaExtensions"][0]["schema"],
            ACTIVITY_EXTENSION
        );
        assert_eq!(types[1]["schema"], GROUP);
    }
}
