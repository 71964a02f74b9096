//! The Twilio vendor policy: every route a Twilio governance connector may ever use, as data the
//! host enforces. The host knows no Twilio fact; this crate is where they are written, each
//! route from Twilio's OpenAPI description (`../shared/twilio-oai/`) or the Flex Users API
//! page (seed 003), and for each write the actions allowed, where the request names the account
//! it changes and what its body may say. A plugin's declared routes must lie within these, or
//! the host refuses the plugin at load.

use connector_host::tenants_file::{OptionKind, TenantsSchema, ValueShape};
use connector_host::vendor_policy::{
    Allowed, IdShape, Method, PolicyError, VendorPolicy, VendorPolicySpec, WriteRule,
};

/// Host suffixes a plugin run under this policy may ever reach.
pub const TRUSTED_HOST_SUFFIXES: &[&str] = &[".twilio.com"];

/// Twilio's SIDs: two upper-case letters naming the resource type, then 32 hex digits.
pub const SID_SHAPE: IdShape = IdShape {
    prefix_len: 2,
    hex_digits: 32,
};

/// The prefix of an Account SID (the connecting account, a subaccount).
pub const ACCOUNT_SID_PREFIX: &str = "AC";
/// The prefix of an API key's SID (`TWILIO_API_KEY`, a tenants file's `api_key_sid`).
pub const API_KEY_SID_PREFIX: &str = "SK";
/// The prefix of a Flex instance SID (`--flex-instance`, a tenants file's `flex_instance_sid`).
pub const FLEX_INSTANCE_SID_PREFIX: &str = "GO";

/// A Twilio SID of the kind `prefix` names (`AC`, `SK`, `GO`…): what a value must look like,
/// and what is wrong with one that does not (`sid("AC").problem("ACxyz")` is `must be AC
/// followed by 32 hex digits (it has 5 characters)`).
pub fn sid(prefix: &str) -> ValueShape {
    ValueShape::id(prefix, SID_SHAPE)
}

/// The 2010 API host (accounts, usage).
pub const API: &str = "api.twilio.com";
/// TaskRouter (workspaces, workers).
pub const TASKROUTER: &str = "taskrouter.twilio.com";
/// Flex API (Flex Users API).
pub const FLEX_API: &str = "flex-api.twilio.com";
/// Frontline API (users).
pub const FRONTLINE_API: &str = "frontline-api.twilio.com";
/// The Organization API (SCIM users, managed accounts, role assignments): OAuth 2.0 bearer
/// tokens only (`twilio_iam_organizations.json`).
pub const PREVIEW_IAM: &str = "preview-iam.twilio.com";
/// Monitor (events: the last activity of an Organization user).
pub const MONITOR: &str = "monitor.twilio.com";
/// Where the host mints an Organization client's access tokens (`twilio_oauth_v2.json`,
/// `POST /v2/token`, client credentials grant); never a plugin route.
pub const OAUTH_TOKEN_URL: &str = "https://oauth.twilio.com/v2/token";

/// Flex's roles (seed 003, the Flex Users API's `roles`).
pub const FLEX_ROLES: &[&str] = &["agent", "supervisor", "admin"];

/// Between an Organization entitlement's role and its scope (`IX…@AC…`).
pub const ENTITLEMENT_SEPARATOR: &str = "@";

/// The schema URN of a SCIM PatchOp (RFC 7644 §3.5.2), which the Organization's SCIM PATCH
/// takes.
pub const SCIM_PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The schema URN of a SCIM User (RFC 7643 §4.1).
pub const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Path segments never reached, whatever a route says: routes that mint, reveal or rotate
/// credentials (Keys, SigningKeys, AuthTokens/Secondary and /Promote, Credentials,
/// CredentialLists, Tokens) and those that send messages, place calls or hold their content
/// (Messages, Calls, Conferences, Faxes, Notifications, Verifications, Recordings,
/// Transcriptions, Conversations). A second lock behind the route list.
pub const FORBIDDEN_SEGMENTS: &[&str] = &[
    "keys",
    "signingkeys",
    "authtokens",
    "secondary",
    "promote",
    "credentials",
    "credentiallists",
    "tokens",
    "token",
    "authorize",
    "messages",
    "calls",
    "conferences",
    "faxes",
    "notifications",
    "verifications",
    "recordings",
    "transcriptions",
    "conversations",
];

/// Fields of Twilio's resources that name an account, user or worker: an answer object that
/// names the action's target in one of them links its other values to it (a Flex User's
/// `flex_user_sid` and `worker_sid`, a worker's `sid` and `friendly_name` — its username —
/// a Frontline user's `sid` and `identity`). Never `account_sid`, `owner_account_sid` or
/// `workspace_sid`: those name containers, not the account acted on.
pub const IDENTITY_FIELDS: &[&str] = &[
    "sid",
    "friendly_name",
    "identity",
    "username",
    "email",
    "flex_user_sid",
    "worker_sid",
];

/// The one link one step further: Flex names a user's worker after its username (seed 003:
/// `username` of the Flex User, `friendly_name` of the TaskRouter worker), and the Flex Users
/// API's by-username answer does not carry the worker.
pub const IDENTITY_LINKS: &[(&str, &str)] = &[("friendly_name", "username")];

/// Response headers a plugin may read: `Retry-After` (429 and 503 answers), Twilio's request
/// id and its concurrency report (`Twilio-Concurrent-Requests`, Twilio's 429 / 20429 page).
pub const RESPONSE_HEADERS: &[&str] = &[
    "retry-after",
    "twilio-request-id",
    "twilio-concurrent-requests",
];

/// Where Twilio reports the account's concurrent requests on its answers (the 429 / 20429 page
/// names it): the host's per-account gate takes the count on a 429 as the account's ceiling. It
/// is one of [`RESPONSE_HEADERS`], so the plugin reads it too.
pub const CONCURRENCY_HEADER: &str = "twilio-concurrent-requests";

/// Where a new account's gate starts, with nothing remembered of the account, once one of its
/// requests has been answered with a success (until then `connector_limit::INITIAL`): 100
/// requests in flight, the per-account REST concurrency third-party references give as
/// Twilio's default (Twilio's own 20429 page gives no number) and the host's default cap for a
/// call (`Limits::max_in_flight`). An account allowed more climbs from there in fewer round
/// trips than from `connector_limit::INITIAL` (the first sync at 200, BENCHMARKS.md
/// 2026-12-04: 1.23–1.28× the floor against 1.33–1.36×); one allowed less has the excess of the
/// first burst refused at once, and the 20429 page says such requests are not processed and
/// safe to retry: 110 of 2,408 requests at a limit of 8 (a smaller tenant pays the same
/// hundred or so refusals, a larger share of its requests), one time, and with a state
/// directory once for every later process too.
pub const FIRST_IN_FLIGHT: usize = 100;

/// The tenants file's keys, as the Twilio front names them (what [`tenants_schema`] allows,
/// in the order errors list them).
pub const TENANT_KEYS: &[&str] = &[
    "name",
    "account_sid",
    "app",
    "auth_token_env",
    "auth_token_file",
    "api_key_sid",
    "api_secret_env",
    "api_secret_file",
    "client_id",
    "client_secret_env",
    "client_secret_file",
    "flex_instance_sid",
    "organization_sid",
    "page_size",
];

/// The plugin option a tenants file's `flex_instance_sid` (and the CLI's `--flex-instance`)
/// sets: the Flex instance SID (`GO…`) that enables the Flex Users API.
pub const FLEX_INSTANCE: &str = "flex_instance_sid";

/// The plugin option a tenants file's `organization_sid` (and `TWILIO_ORGANIZATION_SID`) sets:
/// the Organization (`OR…`) the `organization` app governs.
pub const ORGANIZATION: &str = "organization_sid";
/// The prefix of an Organization SID.
pub const ORGANIZATION_SID_PREFIX: &str = "OR";

/// The plugin option a tenants file's `page_size` sets: accounts per `list-accounts` page (the
/// plugin keeps it within its own bound).
pub const PAGE_SIZE: &str = "page_size";

/// How the host reads a Twilio tenants file: the connecting account's SID under
/// `account_sid`; an Auth Token (Basic with the Account SID as user) from `auth_token_env` or
/// `auth_token_file`, or an API Key (Basic with the Key SID `api_key_sid` as user) with its
/// secret from `api_secret_env` or `api_secret_file`; `auth_token` and `api_secret` written
/// inline are refused; an OAuth client (`client_id`, its secret from `client_secret_env` or
/// `client_secret_file`) whose tokens the host mints for the Organization API;
/// `flex_instance_sid`, `organization_sid` and `page_size` become plugin options. The three
/// SIDs must have Twilio's documented shape (AC, SK and GO, then 32 hex digits): a file with
/// another is refused before any secret is read or request sent.
pub fn tenants_schema() -> TenantsSchema {
    TenantsSchema::new("account_sid")
        .account_secret("auth_token_env", "auth_token_file")
        .key_secret("api_key_sid", "api_secret_env", "api_secret_file")
        .oauth_client(
            "client_id",
            "client_secret_env",
            "client_secret_file",
            &[PREVIEW_IAM],
            OAUTH_TOKEN_URL,
        )
        .refuse_inline("auth_token")
        .refuse_inline("api_secret")
        .refuse_inline("client_secret")
        .option("flex_instance_sid", FLEX_INSTANCE, OptionKind::Text)
        .option("organization_sid", ORGANIZATION, OptionKind::Text)
        .option("page_size", PAGE_SIZE, OptionKind::Integer)
        .shape("account_sid", sid(ACCOUNT_SID_PREFIX))
        .shape("api_key_sid", sid(API_KEY_SID_PREFIX))
        .shape("flex_instance_sid", sid(FLEX_INSTANCE_SID_PREFIX))
        .shape("organization_sid", sid(ORGANIZATION_SID_PREFIX))
}

fn read(host: &str, path: &str) -> (Method, String, String, Vec<WriteRule>) {
    (Method::Get, host.into(), path.into(), Vec::new())
}

fn write(
    method: Method,
    host: &str,
    path: &str,
    rules: Vec<WriteRule>,
) -> (Method, String, String, Vec<WriteRule>) {
    (method, host.into(), path.into(), rules)
}

/// An Account update (`POST /2010-04-01/Accounts/{Sid}.json`, 2010 API `UpdateAccount`,
/// form-encoded) that sets only `Status` to `status`, on the account in the path.
fn account_status(action: &str, status: &str) -> WriteRule {
    WriteRule::in_path(action, "AC")
        .form()
        .requires("Status", Allowed::one_of(&[status]))
}

/// A Frontline user update (`POST /v1/Users/{Sid}`, Frontline `UpdateUser`, form-encoded)
/// setting `State` to `state` and, optionally, `IsAvailable`.
fn frontline_state(action: &str, state: &str) -> WriteRule {
    WriteRule::in_path(action, "user")
        .form()
        .may("State", Allowed::one_of(&[state]))
        .may("IsAvailable", Allowed::one_of(&["true", "false"]))
}

/// A SCIM PATCH of an Organization user (`PatchOrganizationUser`, JSON PatchOp) that sets only
/// `active`, on the user in the path.
fn scim_active(action: &str, active: bool) -> WriteRule {
    WriteRule::in_path(action, "US")
        .json()
        .requires(
            "schemas",
            Allowed::Template(serde_json::json!([SCIM_PATCH_OP])),
        )
        .requires(
            "Operations",
            Allowed::Template(
                serde_json::json!([{"op": "replace", "path": "active", "value": active}]),
            ),
        )
}

/// A Flex Users API Provision (seed 003) that writes back the user's own username, email and
/// full name, as the Flex User read in this call holds them, with its roles plus (`grant`) or
/// minus (`revoke`) exactly the one role asked for.
fn flex_roles(action: &str, with: bool) -> WriteRule {
    WriteRule::in_body(action, "username")
        .json()
        .requires("username", Allowed::Held("username".into()))
        .requires("email", Allowed::Held("email".into()))
        .requires("full_name", Allowed::Held("full_name".into()))
        .requires(
            "roles",
            Allowed::HeldSet {
                field: "roles".into(),
                key: "entitlement".into(),
                among: FLEX_ROLES.iter().map(|r| r.to_string()).collect(),
                with,
            },
        )
}

/// Every route, with its write rules.
fn routes() -> Vec<(Method, String, String, Vec<WriteRule>)> {
    vec![
        // 2010 API: the account list and one account (ListAccount, FetchAccount), usage
        // records by period (ListUsageRecordMonthly, ListUsageRecordDaily).
        read(API, "/2010-04-01/Accounts.json"),
        read(API, "/2010-04-01/Accounts/{AC}.json"),
        read(API, "/2010-04-01/Accounts/{AC}/Usage/Records/Monthly.json"),
        read(API, "/2010-04-01/Accounts/{AC}/Usage/Records/Daily.json"),
        write(
            Method::Post,
            API,
            "/2010-04-01/Accounts/{AC}.json",
            vec![
                account_status("suspend", "suspended"),
                account_status("reactivate", "active"),
                account_status("deprovision", "closed"),
            ],
        ),
        // TaskRouter: workspaces, their workers, one worker; deleting a worker
        // (DeleteWorker, no body).
        read(TASKROUTER, "/v1/Workspaces"),
        read(TASKROUTER, "/v1/Workspaces/{WS}/Workers"),
        read(TASKROUTER, "/v1/Workspaces/{WS}/Workers/{WK}"),
        write(
            Method::Delete,
            TASKROUTER,
            "/v1/Workspaces/{WS}/Workers/{WK}",
            vec![WriteRule::in_path("deprovision", "WK")],
        ),
        // Flex Users API (seed 003): the v1 list, the v4 list and one user; Deprovision
        // (JSON `flex_user_sid`) and Provision (JSON `username`, `email`, `full_name`,
        // `roles`, optional `worker.attributes`).
        read(FLEX_API, "/v1/Instances/{GO}/Users"),
        read(FLEX_API, "/v4/Instances/{GO}/Users"),
        read(FLEX_API, "/v4/Instances/{GO}/Users/{FU}"),
        write(
            Method::Post,
            FLEX_API,
            "/v4/Instances/{GO}/Users/Deprovision",
            vec![
                WriteRule::in_body("deprovision", "flex_user_sid")
                    .requires("flex_user_sid", Allowed::Target),
            ],
        ),
        write(
            Method::Post,
            FLEX_API,
            "/v4/Instances/{GO}/Users/Provision",
            vec![
                WriteRule::in_body("provision", "username")
                    .requires("username", Allowed::Request("username".into()))
                    .requires("email", Allowed::Request("email".into()))
                    .requires("full_name", Allowed::Request("full_name".into()))
                    .requires("roles", Allowed::RequestSet("roles".into()))
                    .may(
                        "worker.attributes",
                        Allowed::RequestValue("attributes".into()),
                    ),
                flex_roles("grant", true),
                flex_roles("revoke", false),
            ],
        ),
        // Frontline: one user by SID or identity (FetchUser), and its update (UpdateUser:
        // `State`, `IsAvailable`).
        read(FRONTLINE_API, "/v1/Users/{user}"),
        write(
            Method::Post,
            FRONTLINE_API,
            "/v1/Users/{user}",
            vec![
                frontline_state("suspend", "deactivated"),
                frontline_state("reactivate", "active"),
                frontline_state("deprovision", "deactivated"),
            ],
        ),
        // The Organization (twilio_iam_organizations.json): SCIM users (list, one, create,
        // PATCH of `active`, DELETE, which deactivates), managed accounts, role assignments
        // (list; create with `role_sid`, `scope`, `identity`; delete, no body).
        read(PREVIEW_IAM, "/Organizations/{OR}/scim/Users"),
        read(PREVIEW_IAM, "/Organizations/{OR}/scim/Users/{US}"),
        write(
            Method::Post,
            PREVIEW_IAM,
            "/Organizations/{OR}/scim/Users",
            vec![
                WriteRule::in_body("provision", "userName")
                    .json()
                    .requires("schemas", Allowed::Template(serde_json::json!([SCIM_USER])))
                    .requires("userName", Allowed::Request("username".into()))
                    .may("displayName", Allowed::Request("full_name".into()))
                    .requires(
                        "emails",
                        Allowed::Template(serde_json::json!([
                            {"value": "$email", "primary": true, "type": "work"}
                        ])),
                    ),
            ],
        ),
        write(
            Method::Patch,
            PREVIEW_IAM,
            "/Organizations/{OR}/scim/Users/{US}",
            vec![
                scim_active("suspend", false),
                scim_active("reactivate", true),
            ],
        ),
        write(
            Method::Delete,
            PREVIEW_IAM,
            "/Organizations/{OR}/scim/Users/{US}",
            vec![WriteRule::in_path("deprovision", "US")],
        ),
        read(PREVIEW_IAM, "/Organizations/{OR}/Accounts"),
        read(PREVIEW_IAM, "/Organizations/{OR}/Accounts/{AC}"),
        read(PREVIEW_IAM, "/Organizations/{OR}/RoleAssignments"),
        write(
            Method::Post,
            PREVIEW_IAM,
            "/Organizations/{OR}/RoleAssignments",
            vec![
                WriteRule::in_body("grant", "identity")
                    .json()
                    .requires("identity", Allowed::Target)
                    .requires(
                        "role_sid",
                        Allowed::RequestPart {
                            key: "entitlement".into(),
                            sep: ENTITLEMENT_SEPARATOR.into(),
                            index: 0,
                        },
                    )
                    .requires(
                        "scope",
                        Allowed::RequestPart {
                            key: "entitlement".into(),
                            sep: ENTITLEMENT_SEPARATOR.into(),
                            index: 1,
                        },
                    ),
            ],
        ),
        write(
            Method::Delete,
            PREVIEW_IAM,
            "/Organizations/{OR}/RoleAssignments/{IY}",
            vec![WriteRule::in_path("revoke", "IY")],
        ),
        // Monitor (twilio_monitor_v1.json): events by actor (ListEvent).
        read(MONITOR, "/v1/Events"),
    ]
}

/// Answer fields that hold Twilio secrets: the Account's `auth_token`, the AuthToken
/// resource's `secondary_auth_token`, the Key and SigningKey resources' `secret`, the OAuth
/// and IAM APIs' tokens (`accessToken`, `id_token`/`idToken`, `Token`, `RecoveryToken`,
/// `csrf_token…`, and the `ClientSecret`/`RefreshToken` of their request bodies). A test
/// reads every OpenAPI file, every `properties` at any depth, and checks each secret-looking
/// property is blanked or named in [`NOT_SECRET_FIELDS`]. The host adds the generic names
/// (`password`, `client_secret`, `access_token`, `refresh_token`…).
pub const SECRET_FIELDS: &[&str] = &[
    "auth_token",
    "secondary_auth_token",
    "secret",
    "accessToken",
    "refreshToken",
    "id_token",
    "idToken",
    "Token",
    "RecoveryToken",
    "csrf_token",
    "csrf_token_session_state",
    "ClientSecret",
    "RefreshToken",
];

/// Properties that look like secrets in Twilio's OpenAPI files and are not: paging cursors
/// (`nextToken`, `previousToken`), a flag (`tokenExpired`) and the scheme word (`token_type`).
pub const NOT_SECRET_FIELDS: &[&str] =
    &["nextToken", "previousToken", "tokenExpired", "token_type"];

/// The Twilio vendor policy.
pub fn policy() -> Result<VendorPolicy, PolicyError> {
    let texts = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    VendorPolicy::new(VendorPolicySpec {
        trusted_hosts: texts(TRUSTED_HOST_SUFFIXES),
        id_shape: SID_SHAPE,
        routes: routes(),
        forbidden_segments: texts(FORBIDDEN_SEGMENTS),
        identity_fields: texts(IDENTITY_FIELDS),
        identity_links: IDENTITY_LINKS
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect(),
        response_headers: texts(RESPONSE_HEADERS),
        secret_fields: texts(SECRET_FIELDS),
        concurrency_header: Some(CONCURRENCY_HEADER.to_string()),
        first_in_flight: Some(FIRST_IN_FLIGHT),
        configured_placeholders: CONFIGURED_PLACEHOLDERS
            .iter()
            .map(|(p, o)| (p.to_string(), o.to_string()))
            .collect(),
    })
}

/// Placeholders of write paths that stand for what a tenant configures: `{GO}` is the Flex
/// instance of the tenant's `flex_instance_sid`, `{OR}` the Organization of its
/// `organization_sid`. A write to another instance or Organization is refused, even when the
/// tenant's credentials reach it.
pub const CONFIGURED_PLACEHOLDERS: &[(&str, &str)] = &[("GO", FLEX_INSTANCE), ("OR", ORGANIZATION)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configured_placeholder_stands_in_a_write_route_for_an_option_a_tenant_sets() {
        let options = [FLEX_INSTANCE, ORGANIZATION];
        for (placeholder, option) in CONFIGURED_PLACEHOLDERS {
            assert!(options.contains(option), "{option} is no tenant option");
            let needle = format!("{{{placeholder}}}");
            assert!(
                routes()
                    .iter()
                    .any(|(m, _, path, _)| !m.is_read() && path.contains(&needle)),
                "no write route holds {needle}"
            );
        }
    }

    #[test]
    fn every_secret_property_of_twilios_schemas_is_blanked() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/twilio-oai");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("{} is needed by this test", dir.display());
        };
        let mut names = std::collections::BTreeSet::new();
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            // Every `properties` object at any depth (nested schemas, request bodies too).
            let mut stack = vec![&v];
            while let Some(node) = stack.pop() {
                match node {
                    serde_json::Value::Object(map) => {
                        for (prop, _) in map
                            .get("properties")
                            .and_then(|p| p.as_object())
                            .into_iter()
                            .flatten()
                        {
                            let p = prop.to_ascii_lowercase();
                            let secretish = p.contains("secret")
                                || p.contains("password")
                                || p.contains("token")
                                    && !p.ends_with("_sid")
                                    && !p.ends_with("_ttl")
                                || p.contains("private_key");
                            if secretish {
                                names.insert(prop.clone());
                            }
                        }
                        stack.extend(map.values());
                    }
                    serde_json::Value::Array(items) => stack.extend(items),
                    _ => {}
                }
            }
        }
        assert!(names.contains("auth_token"), "{names:?}");
        let blanked = policy().unwrap();
        let missing: Vec<_> = names
            .iter()
            .filter(|n| !blanked.secret_fields().contains(n))
            .filter(|n| !NOT_SECRET_FIELDS.contains(&n.as_str()))
            .collect();
        assert!(missing.is_empty(), "not blanked: {missing:?}");
    }

    #[test]
    fn the_policy_builds_and_names_every_host_it_trusts() {
        let p = policy().unwrap();
        for r in p.routes() {
            assert!(
                connector_host::vendor_policy::is_trusted(&r.route.host, p.trusted_hosts()),
                "{}",
                r.route
            );
        }
        assert_eq!(p.routes().len(), 27);
    }

    #[test]
    fn a_new_accounts_first_burst_is_twilios_usual_limit_within_a_calls_default_cap() {
        let p = policy().unwrap();
        assert_eq!(p.first_in_flight(), FIRST_IN_FLIGHT);
        assert!(FIRST_IN_FLIGHT <= connector_host::Limits::default().max_in_flight);
    }

    #[test]
    fn the_concurrency_header_is_named_and_reaches_the_plugin() {
        let p = policy().unwrap();
        assert_eq!(p.concurrency_header(), Some(CONCURRENCY_HEADER));
        assert!(p.passes_response_header(CONCURRENCY_HEADER));
    }

    #[test]
    fn no_route_reaches_a_forbidden_segment() {
        let p = policy().unwrap();
        for r in p.routes() {
            for seg in r.route.template.as_str().split('/') {
                let stem = seg.split('.').next().unwrap_or(seg).to_ascii_lowercase();
                assert!(!FORBIDDEN_SEGMENTS.contains(&stem.as_str()), "{}", r.route);
            }
        }
    }

    #[test]
    fn the_tenants_schema_reads_a_twilio_tenants_file() {
        let schema = tenants_schema();
        assert_eq!(schema.check(), Ok(()));
        assert_eq!(schema.keys(), TENANT_KEYS);
        let text = r#"
[[tenant]]
name = "acme"
account_sid = "AC00000000000000000000000000000001"
auth_token_env = "ACME_TWILIO_TOKEN"
page_size = 50

[[tenant]]
name = "globex-flex"
app = "flex"
account_sid = "AC00000000000000000000000000000002"
api_key_sid = "SK00000000000000000000000000000002"
api_secret_env = "GLOBEX_SECRET"
flex_instance_sid = "GO00000000000000000000000000000002"
"#;
        let env = |k: &str| match k {
            "ACME_TWILIO_TOKEN" => Some("acme-token".to_string()),
            "GLOBEX_SECRET" => Some("globex-secret".to_string()),
            _ => None,
        };
        let path = std::path::Path::new("tenants.toml");
        let t = connector_host::tenants_file::parse(path, text, &schema, &env, "twilio").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].app, "twilio");
        assert_eq!(
            t[0].credentials.user(),
            "AC00000000000000000000000000000001"
        );
        assert_eq!(
            t[0].options,
            vec![(PAGE_SIZE.to_string(), "50".to_string())]
        );
        assert_eq!(t[1].app, "flex");
        assert_eq!(
            t[1].credentials.user(),
            "SK00000000000000000000000000000002"
        );
        assert_eq!(
            t[1].credentials.account_sid(),
            "AC00000000000000000000000000000002"
        );
        assert_eq!(
            t[1].options,
            vec![(
                FLEX_INSTANCE.to_string(),
                "GO00000000000000000000000000000002".to_string()
            )]
        );
        let inline = "[[tenant]]\nname = \"x\"\naccount_sid = \"AC1\"\napi_secret = \"shh\"\n";
        let e = connector_host::tenants_file::parse(path, inline, &schema, &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("inline secrets are refused: use auth_token_env / auth_token_file or api_secret_env / api_secret_file")
                && !e.contains("shh"),
            "{e}"
        );
    }

    #[test]
    fn a_tenants_file_with_a_sid_of_the_wrong_shape_is_refused_by_line_and_key() {
        let schema = tenants_schema();
        let good = "[[tenant]]\nname = \"acme\"\napp = \"flex\"\naccount_sid = \"AC00000000000000000000000000000001\"\napi_key_sid = \"SK00000000000000000000000000000001\"\napi_secret_env = \"ACME_SECRET\"\nflex_instance_sid = \"GO00000000000000000000000000000001\"\n";
        let env = |k: &str| (k == "ACME_SECRET").then(|| "acme-secret".to_string());
        let path = std::path::Path::new("tenants.toml");
        assert!(connector_host::tenants_file::parse(path, good, &schema, &env, "twilio").is_ok());
        for (from, to, why) in [
            (
                "AC00000000000000000000000000000001",
                "AC123",
                "line 4, column 15, key account_sid: must be AC followed by 32 hex digits (it has 5 characters)",
            ),
            (
                "SK00000000000000000000000000000001",
                "AC00000000000000000000000000000001",
                "line 5, column 15, key api_key_sid: must be SK followed by 32 hex digits (it starts with AC: an identifier of another kind)",
            ),
            (
                "GO00000000000000000000000000000001",
                "GO0000000000000000000000000000000g",
                "line 7, column 21, key flex_instance_sid: must be GO followed by 32 hex digits (character 34 is not a hex digit)",
            ),
        ] {
            let text = good.replacen(from, to, 1);
            let e = connector_host::tenants_file::parse(path, &text, &schema, &env, "twilio")
                .unwrap_err()
                .to_string();
            assert_eq!(e, format!("tenants file tenants.toml is not valid: {why}"));
        }
    }

    #[test]
    fn sids_have_the_documented_shape() {
        let account = sid(ACCOUNT_SID_PREFIX);
        assert_eq!(account.problem("AC0000000000000000000000000000a001"), None);
        assert_eq!(
            account.problem("ACxyz").unwrap(),
            "must be AC followed by 32 hex digits (it has 5 characters)"
        );
        assert!(
            sid(API_KEY_SID_PREFIX)
                .problem("SK00000000000000000000000000000001")
                .is_none()
        );
        assert!(
            sid(FLEX_INSTANCE_SID_PREFIX)
                .problem("GO0000000000000000000000000000e001")
                .is_none()
        );
    }

    /// Every route exists in Twilio's OpenAPI description of its host with that method. The
    /// Flex Users API routes (v1 list, v4 list, one user, Provision, Deprovision) are
    /// documented on the page of seed 003, not in the OpenAPI files.
    #[test]
    fn every_route_is_in_twilios_openapi_description() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/twilio-oai");
        let p = policy().unwrap();
        for r in p.routes() {
            let file = match r.route.host.as_str() {
                API => "twilio_api_v2010.json",
                TASKROUTER => "twilio_taskrouter_v1.json",
                FRONTLINE_API => "twilio_frontline_v1.json",
                PREVIEW_IAM => "twilio_iam_organizations.json",
                MONITOR => "twilio_monitor_v1.json",
                FLEX_API => continue,
                other => panic!("no OpenAPI file for {other}"),
            };
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} is needed: {e}", path.display()));
            let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
            let method = r.route.method.as_str().to_ascii_lowercase();
            let found = doc["paths"]
                .as_object()
                .into_iter()
                .flatten()
                .any(|(oai, ops)| {
                    ops.get(&method).is_some()
                        && connector_host::vendor_policy::Template::parse(oai, SID_SHAPE)
                            .is_ok_and(|t| r.route.template.within(&t))
                });
            assert!(found, "{} is not in {}", r.route, path.display());
        }
    }
}
