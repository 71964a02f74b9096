//! The fixture format (Twilio resources as Twilio returns them), defaults for omitted
//! fields, the built-in demo fixture and a generator of large fixtures.

use crate::hosts::{FRONTLINE_API, MONITOR, TASKROUTER};
pub use crate::usage_history::{History, UsageEntry};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Simulator state as loaded from JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fixture {
    /// SID of the connecting (main) account.
    pub main_account_sid: String,
    /// Account resources (main account and subaccounts).
    #[serde(default)]
    pub accounts: Vec<Value>,
    /// Usage records per account SID (each a UsageRecord with `start_date`/`end_date`).
    #[serde(default)]
    pub usage_records: BTreeMap<String, Vec<Value>>,
    /// More usage records per account SID, kept compactly (a generated history, see
    /// [`Fixture::with_usage_history`]); aggregated together with `usage_records`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage_history: BTreeMap<String, Vec<UsageEntry>>,
    /// TaskRouter Workspace resources.
    #[serde(default)]
    pub workspaces: Vec<Value>,
    /// Worker resources per workspace SID.
    #[serde(default)]
    pub workers: BTreeMap<String, Vec<Value>>,
    /// Flex User resources per Flex instance SID.
    #[serde(default)]
    pub flex_users: BTreeMap<String, Vec<Value>>,
    /// Frontline User resources.
    #[serde(default)]
    pub frontline_users: Vec<Value>,
    /// Extra accepted API keys: `{"sid": "SK...", "secret": "..."}`.
    #[serde(default)]
    pub api_keys: Vec<Value>,
    /// Twilio Organizations (`twilio_iam_organizations.json`): the accounts each manages, its
    /// SCIM users and its role assignments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizations: Vec<Organization>,
    /// OAuth apps: client credentials that mint bearer tokens for an organization.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_clients: Vec<OAuthClient>,
    /// Monitor Event resources (`monitor.v1.event` in `twilio_monitor_v1.json`) of any of the
    /// fixture's accounts (`account_sid`, the main account when omitted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitor_events: Vec<Value>,
    /// The simulated present (RFC 3339) for the windows Twilio documents relative to now
    /// (Monitor's retention); the wall clock when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Documented Twilio behaviours a test can switch on.
    #[serde(default)]
    pub behaviour: Behaviour,
}

/// Documented Twilio behaviours the simulator reproduces on request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Behaviour {
    /// Report each usage record's `price` rounded to this many decimals. Not from the OpenAPI
    /// (it types `price` as a plain number); it reproduces what issue 9 reports from Twilio: a
    /// month of sub-cent daily charges priced while each of its days reads 0.00.
    #[serde(default)]
    pub price_decimals: Option<u32>,
    /// Answer 401/20003 to usage reads of suspended or closed subaccounts. Not in the seeds or
    /// the OpenAPI; issue 9 reports that Twilio "may answer 401/20003 or 403 there", so it is a
    /// switch, off by default, rather than the simulator's normal behaviour.
    #[serde(default)]
    pub refuse_inactive_usage: bool,
    /// From this day (`YYYY-MM-DD`) on, Monthly and Daily usage lists carry a record for every
    /// category in every period, zeros included. The OpenAPI (UsageRecord list operations) does
    /// not say zero records are left out; issue 11 names this reading of the API and asks for it
    /// as a mode: a month of Daily records is then ~20 pages of 1,000. The categories are
    /// `fixtures/usage-categories.txt` (a copy of `../shared/twilio-usage/categories.txt`).
    #[serde(default)]
    pub every_category_since: Option<String>,
    /// How many days of Monitor Events the account can read. Twilio's Monitor Events page
    /// (twilio.com/docs/usage/monitor-events): "Customers who buy Administration, Security or
    /// Enterprise Edition packages have access to 13 months of data while customers using free
    /// version can access 30 days of data." Omitted: 30 (see [`MONITOR_RETENTION_DAYS`]).
    #[serde(default)]
    pub monitor_retention_days: Option<u32>,
    /// A benchmark's switch, not a Twilio behaviour to test against: a usage list page is
    /// written once and answered again from the same text until the fixture or any account
    /// changes (its `as_of` stays the time it was computed, which is what that field says:
    /// records up to date as of then). The simulator's own CPU then barely shares the machine
    /// with the connector a benchmark measures. Off by default: the text of every page read is
    /// kept.
    #[serde(default)]
    pub reuse_usage_answers: bool,
}

/// Monitor Events' retention for the free version, in days (see
/// [`Behaviour::monitor_retention_days`]).
pub const MONITOR_RETENTION_DAYS: u32 = 30;

/// A Twilio Organization: the accounts it manages, its users and their role assignments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Organization {
    /// `OR` and 32 hex digits (`OrganizationSid`'s pattern in `twilio_iam_organizations.json`).
    pub sid: String,
    #[serde(default)]
    pub friendly_name: String,
    /// The Organization Owner, one of `users`. SCIM cannot change it (Twilio error 25016,
    /// "Updating the organization owner is not allowed"). Managed accounts are owned by it
    /// unless said otherwise (`PublicApiCreateAccountRequest.ownerSid`: "If not provided, the
    /// owner will be the organization owner").
    #[serde(default)]
    pub owner_sid: Option<String>,
    /// The accounts it manages (SIDs of the fixture's `accounts`). Their subaccounts are
    /// managed with them: a role assignment's `scope` "Can be an Organization SID (OR), Account
    /// SID (AC), or Subaccount SID (AC)" (Twilio's Role Assignment API reference).
    #[serde(default)]
    pub account_sids: Vec<String>,
    /// SCIM User resources (`#/components/schemas/ScimUser`); omitted fields are filled.
    #[serde(default)]
    pub users: Vec<Value>,
    /// Users the organization suspended (a ManagedUser's `status` `suspended`,
    /// `iam.v1.ManagedUser` in `twilio_iam_v1.json`): SCIM shows them `active: false` and
    /// refuses to change them.
    #[serde(default)]
    pub suspended_user_sids: Vec<String>,
    /// Role assignments (`#/components/schemas/PublicApiRoleAssignmentResponse`).
    #[serde(default)]
    pub role_assignments: Vec<Value>,
}

/// An OAuth app's client credentials (`CreateToken`'s `client_id`, "A 34 character string that
/// uniquely identifies this OAuth App", shaped `OQ` and 32 hex digits in its example; and
/// `client_secret`): its tokens reach its organization's APIs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    /// The organization whose APIs its tokens reach.
    pub organization_sid: String,
    /// The user the app acts as, if any (a `US` SID of the organization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
}

/// Twilio's built-in Admin role (the built-in roles are the roles a role assignment may name;
/// any other `role_sid` is error 25202). SIDs are `IX` and 32 hex digits
/// (`PublicApiCreateRoleAssignmentRequest.role_sid`'s pattern).
pub const ROLE_ADMIN: &str = "IX00000000000000000000000000000102";
/// Twilio's built-in Developer role.
pub const ROLE_DEVELOPER: &str = "IX00000000000000000000000000000103";
/// Twilio's built-in Billing role.
pub const ROLE_BILLING: &str = "IX00000000000000000000000000000104";
/// Twilio's built-in Support role.
pub const ROLE_SUPPORT: &str = "IX00000000000000000000000000000105";
/// The built-in roles, by name.
pub const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("Admin", ROLE_ADMIN),
    ("Developer", ROLE_DEVELOPER),
    ("Billing", ROLE_BILLING),
    ("Support", ROLE_SUPPORT),
];

/// The SCIM core User schema URN (RFC 7643 section 4.1), the `schemas` of every user.
pub const SCIM_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Every usage category Twilio documents, one per line (comments start with `#`).
pub const USAGE_CATEGORIES: &str = include_str!("../fixtures/usage-categories.txt");

/// The categories of [`USAGE_CATEGORIES`].
pub fn usage_categories() -> impl Iterator<Item = &'static str> {
    USAGE_CATEGORIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The built-in demo fixture.
pub const DEMO_JSON: &str = include_str!("../fixtures/demo.json");

/// What a correct Twilio connector must report on the demo fixture (read by the conformance
/// suite): counts, per-app rules, action targets and ids that do not exist.
pub const CONFORMANCE_JSON: &str = include_str!("../fixtures/conformance.json");

impl Fixture {
    /// Parse a fixture and fill the fields Twilio would send but the file omits.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let mut f: Fixture = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("fixture is not valid JSON of the fixture format: {e}"))?;
        f.fill_defaults()?;
        Ok(f)
    }

    /// The built-in demo fixture.
    pub fn demo() -> Self {
        Self::from_json(DEMO_JSON).expect("the built-in demo fixture is valid")
    }

    /// The main account's auth token (the simulator's accepted secret).
    pub fn main_auth_token(&self) -> Option<String> {
        self.accounts
            .iter()
            .find(|a| a["sid"] == self.main_account_sid.as_str())
            .and_then(|a| a["auth_token"].as_str())
            .map(str::to_string)
    }

    fn fill_defaults(&mut self) -> anyhow::Result<()> {
        if self.main_account_sid.is_empty() {
            anyhow::bail!("fixture has no main_account_sid");
        }
        let main = self.main_account_sid.clone();
        if !self.accounts.iter().any(|a| a["sid"] == main.as_str()) {
            self.accounts
                .insert(0, json!({"sid": main, "friendly_name": "Main account"}));
        }
        for (i, a) in self.accounts.iter_mut().enumerate() {
            let sid = a["sid"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("account #{i} has no sid"))?
                .to_string();
            let o = a
                .as_object_mut()
                .ok_or_else(|| anyhow::anyhow!("account #{i} is not an object"))?;
            let is_main = sid == main;
            o.entry("friendly_name")
                .or_insert_with(|| json!(sid.clone()));
            o.entry("status").or_insert_with(|| json!("active"));
            o.entry("type").or_insert_with(|| json!("Full"));
            o.entry("auth_token")
                .or_insert_with(|| json!(token_for(&sid)));
            o.entry("owner_account_sid")
                .or_insert_with(|| json!(if is_main { sid.clone() } else { main.clone() }));
            o.entry("date_created")
                .or_insert_with(|| json!("Wed, 01 Mar 2023 10:00:00 +0000"));
            o.entry("date_updated")
                .or_insert_with(|| json!("Wed, 01 Mar 2023 10:00:00 +0000"));
            o.insert(
                "uri".into(),
                json!(format!("/2010-04-01/Accounts/{sid}.json")),
            );
            o.entry("subresource_uris").or_insert_with(|| {
                json!({
                    "usage_records": format!("/2010-04-01/Accounts/{sid}/Usage/Records.json"),
                })
            });
        }
        for (sid, records) in self.usage_records.iter_mut() {
            for r in records.iter_mut() {
                let o = r
                    .as_object_mut()
                    .ok_or_else(|| anyhow::anyhow!("usage record of {sid} is not an object"))?;
                let end = o
                    .get("end_date")
                    .and_then(Value::as_str)
                    .or_else(|| o.get("start_date").and_then(Value::as_str))
                    .ok_or_else(|| anyhow::anyhow!("usage record of {sid} has no end_date"))?
                    .to_string();
                o.entry("start_date").or_insert_with(|| json!(end.clone()));
                o.entry("end_date").or_insert_with(|| json!(end));
                o.entry("category").or_insert_with(|| json!("sms"));
                o.entry("price").or_insert(Value::Null);
                o.entry("count").or_insert_with(|| json!("1"));
                o.entry("usage").or_insert_with(|| json!("1"));
            }
        }
        for (i, ws) in self.workspaces.iter_mut().enumerate() {
            let sid = ws["sid"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("workspace #{i} has no sid"))?
                .to_string();
            let o = ws
                .as_object_mut()
                .ok_or_else(|| anyhow::anyhow!("workspace #{i} is not an object"))?;
            o.entry("account_sid")
                .or_insert_with(|| json!(main.clone()));
            o.entry("friendly_name")
                .or_insert_with(|| json!("Flex Task Assignment"));
            o.entry("date_created")
                .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
            o.entry("date_updated")
                .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
            o.entry("default_activity_name")
                .or_insert_with(|| json!("Offline"));
            o.entry("multi_task_enabled").or_insert_with(|| json!(true));
            o.entry("prioritize_queue_order")
                .or_insert_with(|| json!("FIFO"));
            o.insert(
                "url".into(),
                json!(format!("https://{TASKROUTER}/v1/Workspaces/{sid}")),
            );
            o.entry("links").or_insert_with(
                || json!({"workers": format!("https://{TASKROUTER}/v1/Workspaces/{sid}/Workers")}),
            );
        }
        for (ws, workers) in self.workers.iter_mut() {
            for w in workers.iter_mut() {
                if !w["sid"].is_string() {
                    anyhow::bail!("a worker of {ws} has no sid");
                }
                *w = worker_defaults(w.take(), ws, &main);
            }
        }
        for (go, users) in self.flex_users.iter_mut() {
            for u in users.iter_mut() {
                if !u["flex_user_sid"].is_string() {
                    anyhow::bail!("a Flex user of {go} has no flex_user_sid");
                }
                *u = flex_user_defaults(u.take(), go, &main);
            }
        }
        if let Some(now) = &self.now {
            chrono::DateTime::parse_from_rfc3339(now)
                .map_err(|e| anyhow::anyhow!("fixture now {now:?} is not RFC 3339 ({e})"))?;
        }
        for org in self.organizations.iter_mut() {
            organization_defaults(org)?;
        }
        for (i, e) in self.monitor_events.iter_mut().enumerate() {
            *e = monitor_event_defaults(e.take(), &main)
                .ok_or_else(|| anyhow::anyhow!("Monitor event #{i} has no sid or event_date"))?;
        }
        for u in self.frontline_users.iter_mut() {
            let sid = u["sid"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("a Frontline user has no sid"))?
                .to_string();
            let o = u
                .as_object_mut()
                .ok_or_else(|| anyhow::anyhow!("Frontline user {sid} is not an object"))?;
            o.entry("identity").or_insert_with(|| json!(sid.clone()));
            o.entry("friendly_name").or_insert(Value::Null);
            o.entry("avatar").or_insert(Value::Null);
            o.entry("state").or_insert_with(|| json!("active"));
            o.entry("is_available").or_insert_with(|| json!(false));
            o.insert(
                "url".into(),
                json!(format!("https://{FRONTLINE_API}/v1/Users/{sid}")),
            );
        }
        Ok(())
    }

    /// A large fixture: `accounts` subaccounts with usage, deterministic for a `seed`.
    pub fn generate(accounts: usize, seed: u64) -> Self {
        let mut rng = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let main = format!("AC{:032x}", seed as u128 + 1);
        let mut f = Fixture {
            main_account_sid: main.clone(),
            ..Fixture::default()
        };
        f.accounts.push(json!({"sid": main, "friendly_name": "Generated main account", "auth_token": "generated-main-token"}));
        let categories = [
            "sms-outbound",
            "mms",
            "calls-inbound",
            "verify-push",
            "lookups",
            "taskrouter-tasks",
        ];
        let statuses = ["active", "active", "active", "suspended", "closed"];
        for i in 0..accounts {
            let sid = format!("AC{:032x}", (seed as u128) << 64 | (i as u128 + 2));
            f.accounts.push(json!({
                "sid": sid,
                "friendly_name": format!("Generated subaccount {i}"),
                "status": statuses[(next() % statuses.len() as u64) as usize],
                "type": if next() % 4 == 0 { "Trial" } else { "Full" },
            }));
            let mut records = Vec::new();
            for _ in 0..(next() % 4) {
                let day = 1 + next() % 28;
                let month = 1 + next() % 12;
                let price = match next() % 3 {
                    0 => json!(format!("{}.{:02}", next() % 5, next() % 100)),
                    1 => json!((next() % 500) as f64 / 100.0),
                    _ => json!("0.00"),
                };
                records.push(json!({
                    "category": categories[(next() % categories.len() as u64) as usize],
                    "end_date": format!("2025-{month:02}-{day:02}"),
                    "price": price,
                }));
            }
            f.usage_records.insert(sid, records);
        }
        f.fill_defaults().expect("generated fixture is valid");
        f
    }
}

/// Fill a Worker resource's omitted fields.
pub fn worker_defaults(mut w: Value, ws: &str, main: &str) -> Value {
    let sid = w["sid"].as_str().unwrap_or_default().to_string();
    if let Some(o) = w.as_object_mut() {
        o.entry("account_sid").or_insert_with(|| json!(main));
        o.entry("workspace_sid").or_insert_with(|| json!(ws));
        o.entry("friendly_name")
            .or_insert_with(|| json!(sid.clone()));
        o.entry("activity_name").or_insert_with(|| json!("Offline"));
        let activity = o["activity_name"].as_str().unwrap_or("Offline").to_string();
        o.entry("activity_sid")
            .or_insert_with(|| json!(format!("WA{:032x}", activity.len())));
        o.entry("available")
            .or_insert_with(|| json!(activity != "Offline" && activity != "Unavailable"));
        o.entry("attributes").or_insert_with(|| json!("{}"));
        o.entry("date_created")
            .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
        o.entry("date_updated")
            .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
        o.entry("date_status_changed")
            .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
        o.insert(
            "url".into(),
            json!(format!(
                "https://{TASKROUTER}/v1/Workspaces/{ws}/Workers/{sid}"
            )),
        );
        o.entry("links").or_insert_with(
            || json!({"workspace": format!("https://{TASKROUTER}/v1/Workspaces/{ws}")}),
        );
    }
    w
}

/// Check an organization's SIDs and fill its users' omitted SCIM fields.
fn organization_defaults(org: &mut Organization) -> anyhow::Result<()> {
    if !is_sid(&org.sid, "OR") {
        anyhow::bail!("organization {:?} is not an OR SID", org.sid);
    }
    for u in org.users.iter_mut() {
        let id = u["id"].as_str().unwrap_or_default().to_string();
        if !is_sid(&id, "US") {
            anyhow::bail!("a user of {} has no US id", org.sid);
        }
        if !u["userName"].is_string() {
            anyhow::bail!("user {id} of {} has no userName", org.sid);
        }
        let suspended = org.suspended_user_sids.contains(&id);
        *u = scim_user_defaults(u.take(), suspended);
    }
    for r in &org.role_assignments {
        if !r["sid"].as_str().is_some_and(|s| is_sid(s, "IY")) {
            anyhow::bail!("a role assignment of {} has no IY sid", org.sid);
        }
    }
    Ok(())
}

/// Fill a SCIM User's omitted fields (`#/components/schemas/ScimUser`): the core schema, the
/// userName as the primary work email ("Unique username, MUST be same as primary email
/// address"), active, and `meta` as Twilio's SCIM API reference shows it (`resourceType`
/// `user`, a `W/1` version). A suspended user reads inactive.
pub fn scim_user_defaults(mut u: Value, suspended: bool) -> Value {
    let name = u["userName"].clone();
    if let Some(o) = u.as_object_mut() {
        o.entry("schemas")
            .or_insert_with(|| json!([SCIM_USER_SCHEMA]));
        o.entry("emails")
            .or_insert_with(|| json!([{"value": name, "primary": true, "type": "work"}]));
        o.entry("active").or_insert_with(|| json!(true));
        if suspended {
            o.insert("active".into(), json!(false));
        }
        let meta = o.entry("meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry("resourceType").or_insert_with(|| json!("user"));
            m.entry("created")
                .or_insert_with(|| json!("2023-03-01T10:00:00Z"));
            let created = m["created"].clone();
            m.entry("lastModified").or_insert(created);
            m.entry("version").or_insert_with(|| json!("W/1"));
        }
    }
    u
}

/// Fill a Monitor Event's omitted fields (`monitor.v1.event`): the main account, the actor's
/// type from its SID (`user` for a `US`, `account` for an `AC`, as `actor_type` describes), the
/// source (`web` for a user, `api` otherwise, as `source` describes), and its URL. `None`
/// without a `sid` or an `event_date`.
pub fn monitor_event_defaults(mut e: Value, main: &str) -> Option<Value> {
    let sid = e["sid"].as_str()?.to_string();
    e["event_date"].as_str()?;
    let o = e.as_object_mut()?;
    o.entry("account_sid").or_insert_with(|| json!(main));
    let actor = o
        .get("actor_sid")
        .and_then(Value::as_str)
        .map(str::to_string);
    let actor_type = match actor.as_deref() {
        Some(a) if a.starts_with("US") => json!("user"),
        Some(a) if a.starts_with("AC") => json!("account"),
        _ => Value::Null,
    };
    o.entry("actor_sid").or_insert(Value::Null);
    o.entry("actor_type").or_insert(actor_type);
    let source = if actor.as_deref().is_some_and(|a| a.starts_with("US")) {
        "web"
    } else {
        "api"
    };
    o.entry("source").or_insert_with(|| json!(source));
    for k in [
        "description",
        "event_data",
        "event_type",
        "resource_sid",
        "resource_type",
        "source_ip_address",
    ] {
        o.entry(k).or_insert(Value::Null);
    }
    o.insert(
        "url".into(),
        json!(format!("https://{MONITOR}/v1/Events/{sid}")),
    );
    o.entry("links").or_insert_with(|| json!({}));
    Some(e)
}

/// Whether `s` is a SID: the two-letter `prefix` and 32 hex digits.
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Fill a Flex User resource's omitted fields.
pub fn flex_user_defaults(mut u: Value, go: &str, main: &str) -> Value {
    if let Some(o) = u.as_object_mut() {
        o.entry("account_sid").or_insert_with(|| json!(main));
        o.entry("instance_sid").or_insert_with(|| json!(go));
        o.entry("flex_team_sid")
            .or_insert_with(|| json!("QO00000000000000000000000000000000"));
        o.entry("username").or_insert(Value::Null);
        o.entry("email").or_insert(Value::Null);
        o.entry("full_name").or_insert(Value::Null);
        o.entry("roles").or_insert_with(|| json!(["agent"]));
        o.entry("worker_sid").or_insert(Value::Null);
        o.entry("workspace_sid").or_insert(Value::Null);
        o.entry("locale").or_insert(Value::Null);
        o.entry("deactivated").or_insert_with(|| json!(false));
        o.entry("deactivated_date").or_insert(Value::Null);
        o.entry("created_date")
            .or_insert_with(|| json!("2025-01-01T00:00:00Z"));
        o.entry("updated_date")
            .or_insert_with(|| json!("2025-01-01T00:00:00Z"));
        o.entry("version").or_insert_with(|| json!(1));
    }
    u
}

impl Fixture {
    /// Add `workers` Flex workers spread over four workspaces (deterministic).
    pub fn with_generated_workers(mut self, workers: usize) -> Self {
        let main = self.main_account_sid.clone();
        let activities = ["Available", "Offline", "Unavailable", "Break"];
        let roles = ["agent", "supervisor", "admin"];
        for w in 0..4u128 {
            let ws = format!("WS{:032x}", 0xabc0 + w);
            self.workspaces.push(json!({"sid": ws}));
            let list = self.workers.entry(ws.clone()).or_default();
            for i in (0..workers).filter(|i| *i as u128 % 4 == w) {
                let attributes = json!({"roles": [roles[i % 3]], "email": format!("agent{i}@example.com"), "full_name": format!("Agent {i}")});
                list.push(worker_defaults(json!({
                    "sid": format!("WK{:032x}", 0x10_0000 + i),
                    "friendly_name": format!("agent{i}"),
                    "activity_name": activities[i % 4],
                    "date_status_changed": format!("2025-{:02}-{:02}T08:00:00Z", 1 + i % 12, 1 + i % 28),
                    "attributes": attributes.to_string(),
                }), &ws, &main));
            }
        }
        self
    }
}

impl Fixture {
    /// Add a Flex instance `go` with a Flex User for every worker, and `deactivated` more
    /// users that no worker stands for (deterministic).
    pub fn with_generated_flex_users(mut self, go: &str, deactivated: usize) -> Self {
        let main = self.main_account_sid.clone();
        let mut users = Vec::new();
        for (ws, list) in &self.workers {
            for w in list {
                let n = users.len();
                users.push(flex_user_defaults(
                    json!({
                        "flex_user_sid": format!("FU{:032x}", 0x20_0000 + n),
                        "username": w["friendly_name"],
                        "email": format!("user{n}@example.com"),
                        "worker_sid": w["sid"],
                        "workspace_sid": ws,
                    }),
                    go,
                    &main,
                ));
            }
        }
        for i in 0..deactivated {
            users.push(flex_user_defaults(
                json!({
                    "flex_user_sid": format!("FU{:032x}", 0x30_0000 + i),
                    "username": format!("former{i}"),
                    "deactivated": true,
                    "deactivated_date": "2025-06-01T00:00:00Z",
                }),
                go,
                &main,
            ));
        }
        self.flex_users
            .entry(go.to_string())
            .or_default()
            .extend(users);
        self
    }
}

/// A deterministic stand-in for an account's auth token (fixtures may give their own).
fn token_for(sid: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in sid.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}{:016x}", h.rotate_left(17) ^ 0x5bd1e995)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_fixture_loads_with_defaults() {
        let f = Fixture::demo();
        assert!(f.main_auth_token().is_some());
        assert!(
            f.accounts
                .iter()
                .all(|a| a["status"].is_string() && a["uri"].is_string())
        );
    }

    #[test]
    fn generated_fixture_has_requested_size() {
        let f = Fixture::generate(50, 7);
        assert_eq!(f.accounts.len(), 51);
        assert_eq!(
            Fixture::generate(50, 7).accounts,
            f.accounts,
            "deterministic"
        );
    }

    #[test]
    fn built_in_roles_are_ix_sids_ending_in_their_numbers() {
        for ((_, sid), end) in BUILT_IN_ROLES.iter().zip(["0102", "0103", "0104", "0105"]) {
            assert!(is_sid(sid, "IX"), "{sid}");
            assert!(sid.ends_with(end), "{sid}");
        }
    }

    #[test]
    fn the_demo_organization_has_its_users_clients_and_events() {
        let f = Fixture::demo();
        let org = &f.organizations[0];
        assert!(is_sid(&org.sid, "OR"));
        assert!(org.account_sids.contains(&f.main_account_sid));
        assert!((4..=6).contains(&org.users.len()));
        for u in &org.users {
            assert_eq!(u["schemas"], json!([SCIM_USER_SCHEMA]));
            assert_eq!(u["emails"][0]["value"], u["userName"]);
            assert_eq!(u["meta"]["version"], "W/1");
            let suspended = org
                .suspended_user_sids
                .iter()
                .any(|s| u["id"] == s.as_str());
            assert_eq!(u["active"], !suspended);
        }
        let owner = org.owner_sid.as_deref().unwrap();
        assert!(org.users.iter().any(|u| u["id"] == owner));
        let without_roles = org
            .users
            .iter()
            .filter(|u| {
                !org.role_assignments
                    .iter()
                    .any(|r| r["identity"] == u["id"])
            })
            .count();
        assert_eq!(without_roles, 1);
        assert!(
            org.role_assignments
                .iter()
                .all(|r| { BUILT_IN_ROLES.iter().any(|(_, sid)| r["role_sid"] == *sid) })
        );
        let client = &f.oauth_clients[0];
        assert!(is_sid(&client.client_id, "OQ"));
        assert_eq!(client.organization_sid, org.sid);
        assert!(f.monitor_events.iter().all(|e| {
            e["url"]
                .as_str()
                .unwrap()
                .ends_with(e["sid"].as_str().unwrap())
                && e["actor_type"] == "user"
                && e["account_sid"].is_string()
        }));
        assert_eq!(f.now.as_deref(), Some("2025-11-23T12:00:00Z"));
    }

    #[test]
    fn bad_organizations_are_rejected_clearly() {
        let bad = |org: Value| {
            let text = json!({"main_account_sid": "AC1", "organizations": [org]}).to_string();
            Fixture::from_json(&text).unwrap_err().to_string()
        };
        assert!(bad(json!({"sid": "OR1"})).contains("not an OR SID"));
        let org = "OR0000000000000000000000000000aa01";
        assert!(bad(json!({"sid": org, "users": [{"userName": "a@b"}]})).contains("no US id"));
        let e =
            Fixture::from_json(r#"{"main_account_sid":"AC1","monitor_events":[{"sid":"AE1"}]}"#)
                .unwrap_err();
        assert!(e.to_string().contains("Monitor event #0"));
        assert!(Fixture::from_json(r#"{"main_account_sid":"AC1","now":"today"}"#).is_err());
    }

    #[test]
    fn bad_fixtures_are_rejected_clearly() {
        assert!(Fixture::from_json("{").is_err());
        assert!(Fixture::from_json(r#"{"main_account_sid":""}"#).is_err());
        let e =
            Fixture::from_json(r#"{"main_account_sid":"AC1","accounts":[{"friendly_name":"x"}]}"#)
                .unwrap_err();
        assert!(e.to_string().contains("no sid"));
    }
}
