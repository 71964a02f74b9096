//! The formats platforms ingest, produced by the CLI and held to their specifications: SCIM
//! 2.0 (RFC 7643/7644), baton-file's documented columns, RFC 4180 CSV, OCSF audit events,
//! and the inactivity answers of license reviews. Errors end in a next step, on one line.

use connector_e2e::{FLEX_INSTANCE_SID, cache_dir, connector_bin, run_cli, sim, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use twilio_sim::{Fixture, Simulator};

const NOW: &str = "2025-11-23T12:00:00Z";

fn accounts(sim: &Simulator, extra: &[&str]) -> std::process::Output {
    let addr = sim.addr().to_string();
    let mut args = vec!["accounts", "--connect-to", &addr, "--now", NOW];
    args.extend_from_slice(extra);
    let out = run_cli(sim, None, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

/// RFC 4180 records, read by an independent parser.
fn csv_records(bytes: &[u8]) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a well-formed CSV record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The SCIM rules a ListResponse of Users must keep (RFC 7643 §2, §3, §4.1; RFC 7644 §3.4.2).
fn scim_violations(doc: &Value) -> Vec<String> {
    const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
    const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    // RFC 7643 §4.1 singular and multi-valued User attributes, plus the common ones (§3.1).
    const CORE: &[&str] = &[
        "schemas",
        "id",
        "externalId",
        "meta",
        "userName",
        "name",
        "displayName",
        "nickName",
        "profileUrl",
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
        "active",
        "password",
        "emails",
        "phoneNumbers",
        "ims",
        "photos",
        "addresses",
        "groups",
        "entitlements",
        "roles",
        "x509Certificates",
    ];
    let mut v = Vec::new();
    if doc["schemas"] != serde_json::json!([LIST]) {
        v.push(format!("ListResponse schemas: {}", doc["schemas"]));
    }
    let resources = doc["Resources"].as_array().cloned().unwrap_or_default();
    if doc["totalResults"].as_u64() != Some(resources.len() as u64) {
        v.push("totalResults differs from the Resources count".into());
    }
    if doc["startIndex"].as_u64() != Some(1)
        || doc["itemsPerPage"].as_u64() != Some(resources.len() as u64)
    {
        v.push("startIndex/itemsPerPage".into());
    }
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    for r in &resources {
        let schemas: Vec<&str> = r["schemas"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !schemas.contains(&USER) {
            v.push(format!("{}: no core User schema", r["id"]));
        }
        for (k, val) in r.as_object().unwrap() {
            let is_extension = k.starts_with("urn:");
            if is_extension && !schemas.contains(&k.as_str()) {
                v.push(format!("{k}: extension not declared in schemas"));
            }
            if is_extension && !val.is_object() {
                v.push(format!("{k}: an extension is a complex attribute"));
            }
            if !is_extension && !CORE.contains(&k.as_str()) {
                v.push(format!("{k}: not a User attribute"));
            }
        }
        for s in &schemas {
            if *s != USER && r.get(*s).is_none() {
                v.push(format!("{s}: declared but absent"));
            }
        }
        match r["id"].as_str() {
            Some(id) if !id.is_empty() && id != "bulkId" => {
                if !ids.insert(id.to_string()) {
                    v.push(format!("{id}: id repeated"));
                }
            }
            _ => v.push("id missing".into()),
        }
        match r["userName"].as_str() {
            Some(n) if !n.trim().is_empty() => {
                if !names.insert(n.to_lowercase()) {
                    v.push(format!(
                        "{n}: userName repeated (it is unique, case-insensitively)"
                    ));
                }
            }
            _ => v.push(format!("{}: userName missing (it is required)", r["id"])),
        }
        if !r["active"].is_boolean() {
            v.push("active is not a boolean".into());
        }
        if r["meta"]["resourceType"] != "User" {
            v.push("meta.resourceType".into());
        }
        for multi in ["emails", "roles", "entitlements"] {
            if let Some(items) = r.get(multi) {
                match items.as_array() {
                    Some(items) => {
                        for i in items {
                            if !i["value"].is_string() || !i["type"].is_string() {
                                v.push(format!("{multi}: each value has a value and a type"));
                            }
                        }
                        let primaries = items.iter().filter(|i| i["primary"] == true).count();
                        if primaries > 1 {
                            v.push(format!("{multi}: more than one primary"));
                        }
                    }
                    None => v.push(format!("{multi} is not multi-valued")),
                }
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_list_responses_follow_the_rfc() {
    let sim = sim(Fixture::demo()).await;
    for extra in [
        vec!["--format", "scim"],
        vec![
            "--format",
            "scim",
            "--app",
            "flex",
            "--flex-instance",
            FLEX_INSTANCE_SID,
        ],
    ] {
        let out = accounts(&sim, &extra);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(scim_violations(&doc), Vec::<String>::new(), "{extra:?}");
        assert!(doc["totalResults"].as_u64().unwrap() >= 5);
    }
    let out = accounts(&sim, &["--format", "scim"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b003 = doc["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "AC0000000000000000000000000000b003")
        .unwrap();
    assert_eq!(b003["active"], false, "suspended is not active");
    let ext = &b003["urn:governance-connector:params:scim:schemas:extension:activity:2.0:User"];
    assert_eq!(ext["lastActivity"], "2024-12-18T00:00:00Z");
    assert_eq!(ext["status"], "suspended");
    assert!(
        ext["entitlementActivity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["value"] == "Verify" && e["lastActivity"] == "2024-12-18T00:00:00Z")
    );
    // The checker itself catches a broken document.
    let mut broken = doc.clone();
    broken["totalResults"] = serde_json::json!(1);
    broken["Resources"][0]["userName"] = Value::Null;
    broken["Resources"][1]["nickname_x"] = serde_json::json!("x");
    assert_eq!(
        scim_violations(&broken).len(),
        3,
        "{:?}",
        scim_violations(&broken)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baton_csv_has_baton_files_columns_and_consistent_records() {
    let sim = sim(Fixture::demo()).await;
    let out = accounts(
        &sim,
        &[
            "--format",
            "baton-csv",
            "--app",
            "flex",
            "--flex-instance",
            FLEX_INSTANCE_SID,
        ],
    );
    let (header, rows) = csv_records(&out.stdout);
    // baton-file's documented fields (docs/json_instructions.md), once each, after record_type.
    let documented: BTreeSet<&str> = [
        "name",
        "display_name",
        "email",
        "status",
        "last_login",
        "type",
        "resource_type",
        "resource_function",
        "description",
        "parent_resource",
        "resource_name",
        "entitlement",
        "principal",
        "entitlement_id",
    ]
    .into();
    assert_eq!(header[0], "record_type");
    let rest: BTreeSet<&str> = header[1..].iter().map(String::as_str).collect();
    assert_eq!(rest, documented);
    assert_eq!(rest.len(), header.len() - 1, "no column twice");
    let of = |t: &str| {
        rows.iter()
            .filter(|r| r["record_type"] == t)
            .collect::<Vec<_>>()
    };
    let users = of("user");
    assert_eq!(users.len(), 5);
    let user_names: HashSet<&str> = users.iter().map(|u| u["name"].as_str()).collect();
    assert_eq!(user_names.len(), users.len(), "user names are unique");
    for u in &users {
        assert!(!u["display_name"].is_empty());
        assert!(
            ["enabled", "disabled", "deleted"].contains(&u["status"].as_str()),
            "{u:?}"
        );
        let login = &u["last_login"];
        assert!(
            login.is_empty() || chrono::NaiveDate::parse_from_str(login, "%m/%d/%Y").is_ok(),
            "{login}"
        );
    }
    let gina = users
        .iter()
        .find(|u| u["name"] == "FU0000000000000000000000000000f003")
        .unwrap();
    assert_eq!(gina["status"], "deleted");
    let resources = of("resource");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0]["resource_function"], "app");
    let entitlement_ids: HashSet<String> = of("entitlement")
        .iter()
        .map(|e| {
            assert!(!e["display_name"].is_empty());
            assert!(resources.iter().any(|r| r["name"] == e["resource_name"]));
            format!("{}:{}", e["resource_name"], e["entitlement"])
        })
        .collect();
    let grants = of("grant");
    assert!(!grants.is_empty());
    for g in &grants {
        assert!(user_names.contains(g["principal"].as_str()), "{g:?}");
        assert!(entitlement_ids.contains(&g["entitlement_id"]), "{g:?}");
    }
    // Every role of every account is a grant.
    assert!(
        grants
            .iter()
            .any(|g| g["principal"] == "WK0000000000000000000000000000d002"
                && g["entitlement_id"] == "flex:role-supervisor")
    );
    // Cells a record type does not use stay empty.
    for g in &grants {
        assert!(g["name"].is_empty() && g["status"].is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_csv_is_one_row_per_account_and_defuses_formulas() {
    let mut v: Value = serde_json::from_str(twilio_sim::fixture::DEMO_JSON).unwrap();
    v["accounts"][1]["friendly_name"] =
        serde_json::json!("=HYPERLINK(\"http://evil\",\"x\"), \"quoted\"");
    let sim = sim(Fixture::from_json(&v.to_string()).unwrap()).await;
    let out = accounts(&sim, &["--format", "csv"]);
    let (header, rows) = csv_records(&out.stdout);
    assert_eq!(header[..3], ["tenant", "app", "id"]);
    assert_eq!(rows.len(), 6);
    let b001 = rows
        .iter()
        .find(|r| r["id"] == "AC0000000000000000000000000000b001")
        .unwrap();
    assert!(b001["display_name"].starts_with("'="), "{b001:?}");
    assert!(b001["services"].contains("Messaging"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactivity_answers_filter_and_count() {
    let sim = sim(Fixture::demo()).await;
    // 60 days before NOW is 2025-09-24: b001 (Oct 20) and b002 (Nov 9) are active; a001
    // (Sep 1), b003, b004 are inactive; b005 never used.
    let out = accounts(&sim, &["--inactive-for", "60d", "--json"]);
    let ids: BTreeSet<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let expected: BTreeSet<String> = ["a001", "b003", "b004", "b005"]
        .iter()
        .map(|s| format!("AC0000000000000000000000000000{s}"))
        .collect();
    assert_eq!(ids, expected);
    let err = text(&out.stderr);
    assert!(
        err.contains("twilio 2 active, 3 inactive, 1 never used"),
        "{err}"
    );
    // By entitlement: b001's Voice (Oct 14) is active at 60 days; at 40 days it is not, while
    // its Messaging (Oct 20) still is.
    let out = accounts(
        &sim,
        &[
            "--inactive-for",
            "40d",
            "--by",
            "entitlement",
            "--format",
            "scim",
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b001 = doc["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "AC0000000000000000000000000000b001")
        .expect("b001 has an inactive entitlement");
    let kept: Vec<&str> = b001["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec!["Voice"], "only the inactive entitlement is kept");
    assert!(text(&out.stderr).contains("summary (entitlements, inactive for 40d)"));
    // And in every other format.
    for f in ["table", "csv", "baton-csv"] {
        accounts(&sim, &["--inactive-for", "1y", "--format", f]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsf_audit_events_carry_the_required_fields() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let audit = cache_dir().join(format!("ocsf-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&audit);
    let audit_arg = audit.to_str().unwrap();
    for (action, id) in [
        ("suspend", "AC0000000000000000000000000000b001"),
        ("reactivate", "AC0000000000000000000000000000b001"),
        ("deprovision", "AC0000000000000000000000000000b002"),
    ] {
        let out = run_cli(
            &sim,
            None,
            &[
                action,
                id,
                "--connect-to",
                &addr,
                "--audit",
                audit_arg,
                "--audit-format",
                "ocsf",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let events: Vec<Value> = std::fs::read_to_string(&audit)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    std::fs::remove_file(&audit).ok();
    for e in &events {
        for k in [
            "activity_id",
            "category_uid",
            "class_uid",
            "metadata",
            "severity_id",
            "time",
            "type_uid",
        ] {
            assert!(e.get(k).is_some(), "{k} missing in {e}");
        }
        assert!(e["metadata"]["version"].is_string() && e["metadata"]["product"].is_object());
        assert_eq!(
            e["type_uid"].as_u64().unwrap(),
            e["class_uid"].as_u64().unwrap() * 100 + e["activity_id"].as_u64().unwrap()
        );
    }
    let changes: Vec<u64> = events
        .iter()
        .filter(|e| e["class_uid"] == 3001)
        .map(|e| e["activity_id"].as_u64().unwrap())
        .collect();
    assert_eq!(changes, vec![5, 2, 6], "disable, enable, delete");
    assert!(
        events
            .iter()
            .filter(|e| e["class_uid"] == 3001)
            .all(|e| e["user"]["uid"].is_string() && e["status_id"] == 1)
    );
    let http: Vec<&Value> = events.iter().filter(|e| e["class_uid"] == 4002).collect();
    assert!(
        http.iter()
            .any(|e| e["activity_id"] == 6 && e["http_response"]["code"] == 200),
        "a POST"
    );
    assert!(http.iter().all(
        |e| e["category_uid"] == 4 && e["http_request"]["url"]["hostname"] == "api.twilio.com"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_say_what_to_do_next_on_one_line() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let cases: Vec<(Option<&str>, Vec<&str>, &str)> = vec![
        (Some("wrong-token"), vec!["accounts"], "TWILIO_AUTH_TOKEN"),
        (
            None,
            vec!["account", "AC00000000000000000000000000000bad"],
            "connector accounts",
        ),
        (None, vec!["accounts", "--inactive-for", "90"], "e.g. 90d"),
        (
            None,
            vec!["accounts", "--app", "flex", "--flex-instance", "GO-nope"],
            "Console > Flex",
        ),
        (
            None,
            vec!["suspend", "AC0000000000000000000000000000a001"],
            "act on another account",
        ),
        (None, vec!["accounts", "--app", "salesforce"], "--app"),
    ];
    for (token, mut args, hint) in cases {
        args.extend_from_slice(&["--connect-to", &addr]);
        let mut c = std::process::Command::new(connector_bin());
        let (sid, real) = sim.main_credentials();
        let out = c
            .args(&args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONNECTOR_CACHE_DIR", cache_dir())
            .env("RUST_BACKTRACE", "1")
            .env("TWILIO_ACCOUNT_SID", sid)
            .env("TWILIO_AUTH_TOKEN", token.unwrap_or(&real))
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(hint), "{args:?}: {err}");
        assert!(
            !err.contains("stack backtrace") && !err.contains("wrong-token"),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_runs_produce_every_format_with_tenants_kept_apart() {
    let sim = sim(Fixture::demo()).await;
    let (main, token) = sim.main_credentials();
    let dir = cache_dir().join(format!("formats-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"acme\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n\n\
             [[tenant]]\nname = \"acme-flex\"\napp = \"flex\"\naccount_sid = \"{main}\"\nauth_token_env = \"ACME_TOKEN\"\n\
             flex_instance_sid = \"{FLEX_INSTANCE_SID}\"\n"
        ),
    )
    .unwrap();
    let run = |format: &str| {
        let out = std::process::Command::new(connector_bin())
            .args([
                "accounts",
                "--tenants",
                file.to_str().unwrap(),
                "--format",
                format,
            ])
            .args(["--connect-to", &sim.addr().to_string(), "--now", NOW])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONNECTOR_CACHE_DIR", cache_dir())
            .env("ACME_TOKEN", &token)
            .output()
            .unwrap();
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        out.stdout
    };
    let doc: Value = serde_json::from_slice(&run("scim")).unwrap();
    assert_eq!(scim_violations(&doc), Vec::<String>::new());
    assert_eq!(doc["totalResults"], 11, "6 subaccounts and 5 Flex users");
    let tenants: BTreeSet<&str> = doc["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            r["urn:governance-connector:params:scim:schemas:extension:activity:2.0:User"]["tenant"]
                .as_str()
        })
        .collect();
    assert_eq!(tenants, BTreeSet::from(["acme", "acme-flex"]));
    let (_, rows) = csv_records(&run("baton-csv"));
    let resources: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r["record_type"] == "resource")
        .map(|r| r["name"].as_str())
        .collect();
    assert_eq!(resources, BTreeSet::from(["acme-flex-flex", "acme-twilio"]));
    let (_, rows) = csv_records(&run("csv"));
    assert_eq!(rows.len(), 11);
    assert!(
        rows.iter()
            .all(|r| r["tenant"] == "acme" || r["tenant"] == "acme-flex")
    );
    std::fs::remove_dir_all(&dir).ok();
}
