//! The `organization` app end to end: the Organization's SCIM users with their role
//! assignments, Monitor's last activity, suspend / reactivate / deprovision through SCIM,
//! grant and revoke through role assignments, the Owner and suspended users refused — all
//! with OAuth tokens the host mints itself, which the guest never sees.

use connector_e2e::{find, host_at_now, hostile_wasm, options, sim, tenant, writes};
use connector_host::oauth::ClientCredentials;
use connector_host::types::{AccountStatus, ConnectorError, EntitlementKind};
use connector_host::{Action, CallError, Host, Tenant};
use std::sync::Arc;
use twilio_sim::{Fixture, Simulator};

const OWNER: &str = "US0000000000000000000000000000ab01";
const DANA: &str = "US0000000000000000000000000000ab02";
const BEN: &str = "US0000000000000000000000000000ab03";
const SAM: &str = "US0000000000000000000000000000ab04";
const NORA: &str = "US0000000000000000000000000000ab05";
const MAIN: &str = "AC0000000000000000000000000000a001";
const SUPPORT: &str = "IX00000000000000000000000000000105";

/// The main account's tenant of the organization app, with the simulator's OAuth client bound
/// to the Organization API's host (`secret` replaces the client's secret when given).
fn org_tenant(sim: &Simulator, secret: Option<&str>) -> (Tenant, Arc<ClientCredentials>) {
    let (id, real) = sim
        .oauth_credentials()
        .expect("the demo has an OAuth client");
    let client = Arc::new(ClientCredentials::new(
        &id,
        secret.unwrap_or(&real),
        twilio_policy::OAUTH_TOKEN_URL,
    ));
    let t = tenant(sim, "organization")
        .with_option(
            twilio_policy::ORGANIZATION,
            &sim.organization_sid()
                .expect("the demo has an organization"),
        )
        .with_credential(&[twilio_policy::PREVIEW_IAM], client.clone());
    (t, client)
}

fn refused(r: Result<connector_host::types::ActionResult, CallError>) -> String {
    match r {
        Err(CallError::Connector {
            error: ConnectorError::Refused(m),
            ..
        }) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn users_with_their_role_assignments_status_and_last_activity() {
    let sim = sim(Fixture::demo()).await;
    let host = host_at_now(&sim).await;
    let (t, _) = org_tenant(&sim, None);
    let list = host.list_all(&t, |_| {}).await.unwrap();
    assert_eq!(list.len(), 5);
    let dana = find(&list, DANA);
    assert_eq!(dana.username.as_deref(), Some("dana.dev@acme.example"));
    assert_eq!(dana.email.as_deref(), Some("dana.dev@acme.example"));
    assert_eq!(dana.display_name.as_deref(), Some("Dana Developer"));
    assert_eq!(dana.status, AccountStatus::Active);
    let mut roles: Vec<(&str, &str)> = dana
        .entitlements
        .iter()
        .filter(|e| e.kind == EntitlementKind::Role)
        .map(|e| (e.id.as_str(), e.name.as_str()))
        .collect();
    roles.sort();
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert_eq!(
        roles[0].0,
        format!("IX00000000000000000000000000000103@{MAIN}")
    );
    assert!(roles[0].1.contains("Developer"), "{roles:?}");
    // Monitor: Dana's latest event in the fixture.
    assert_eq!(dana.last_activity.as_deref(), Some("2025-11-21T09:15:00Z"));
    assert_eq!(find(&list, SAM).status, AccountStatus::Suspended);
    assert!(
        find(&list, NORA)
            .entitlements
            .iter()
            .all(|e| e.kind != EntitlementKind::Role)
    );
    // Every request of the listing went out with one token.
    assert_eq!(sim.tokens_minted(), 1);
}

#[tokio::test]
async fn suspend_and_reactivate_are_scim_patches_and_the_owner_and_suspended_are_refused() {
    let sim = sim(Fixture::demo()).await;
    let host = host_at_now(&sim).await;
    let (t, _) = org_tenant(&sim, None);
    let r = host.act(&t, Action::Suspend, DANA, false).await.unwrap();
    assert!(r.changed);
    assert_eq!(
        host.get_account(&t, DANA).await.unwrap().status,
        AccountStatus::Suspended
    );
    let r = host.act(&t, Action::Reactivate, DANA, false).await.unwrap();
    assert_eq!(r.status, Some(AccountStatus::Active));
    assert_eq!(
        host.get_account(&t, DANA).await.unwrap().status,
        AccountStatus::Active
    );
    let before = writes(&sim).len();
    let why = refused(host.act(&t, Action::Suspend, OWNER, false).await);
    assert!(why.to_lowercase().contains("owner"), "{why}");
    let why = refused(
        host.grant(&t, SAM, &format!("{SUPPORT}@{MAIN}"), false)
            .await,
    );
    assert!(why.to_lowercase().contains("suspended"), "{why}");
    assert_eq!(writes(&sim).len(), before, "refusals send nothing");
}

#[tokio::test]
async fn grant_and_revoke_are_role_assignments() {
    let sim = sim(Fixture::demo()).await;
    let host = host_at_now(&sim).await;
    let (t, _) = org_tenant(&sim, None);
    let support = format!("{SUPPORT}@{MAIN}");
    let held = |a: &connector_host::types::Account| a.entitlements.iter().any(|e| e.id == support);
    let dry = host.grant(&t, NORA, &support, true).await.unwrap();
    assert!(dry.dry_run && dry.changed);
    assert!(!held(&host.get_account(&t, NORA).await.unwrap()));
    let r = host.grant(&t, NORA, &support, false).await.unwrap();
    assert!(r.changed, "{r:?}");
    assert!(held(&host.get_account(&t, NORA).await.unwrap()));
    let again = host.grant(&t, NORA, &support, false).await.unwrap();
    assert!(
        !again.changed,
        "a held role is not granted twice: {again:?}"
    );
    let r = host.revoke(&t, NORA, &support, false).await.unwrap();
    assert!(r.changed);
    assert!(!held(&host.get_account(&t, NORA).await.unwrap()));
    // Ben keeps his other role when one is revoked.
    let billing = format!("IX00000000000000000000000000000104@{MAIN}");
    host.revoke(&t, BEN, &billing, false).await.unwrap();
    let ben = host.get_account(&t, BEN).await.unwrap();
    assert!(ben.entitlements.iter().all(|e| e.id != billing));
    assert!(
        ben.entitlements
            .iter()
            .any(|e| e.kind == EntitlementKind::Role)
    );
    let grantable = host.list_entitlements(&t, None).await.unwrap();
    assert!(
        grantable.entitlements.iter().any(|e| e.id == support),
        "{grantable:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_minted_again_once_and_a_wrong_secret_is_unauthorized_by_client_id() {
    let sim = sim(Fixture::demo()).await;
    let host = host_at_now(&sim).await;
    let (t, client) = org_tenant(&sim, None);
    host.get_account(&t, DANA).await.unwrap();
    assert_eq!(client.minted(), 1);
    sim.expire_tokens();
    host.get_account(&t, DANA).await.unwrap();
    assert_eq!(client.minted(), 2, "a refused token is minted again, once");
    let (bad, _) = org_tenant(&sim, Some("not-the-secret"));
    let e = host.get_account(&bad, DANA).await.unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            CallError::Connector {
                error: ConnectorError::Unauthorized(_),
                ..
            }
        ),
        "{e:?}"
    );
    let (id, _) = sim.oauth_credentials().unwrap();
    assert!(text.contains(&id), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}

/// The hostile component reads everything the Organization API shows it and tries the token
/// URL itself: the token the host minted is in none of it.
#[tokio::test]
async fn the_minted_token_never_reaches_the_guest() {
    let sim = sim(Fixture::demo()).await;
    // Test-only upstream behaviour: every answer repeats the request's Authorization (the
    // minted bearer token) in a header the vendor policy lets through.
    sim.faults().echo_authorization_in = vec!["twilio-request-id".into()];
    let host = Host::load(hostile_wasm(), options(&sim)).await.unwrap();
    let (t, client) = org_tenant(&sim, None);
    let t = t.with_option("mode", "org-echo");
    let page = host.list_page(&t, None).await.unwrap();
    let seen = page.accounts[0].display_name.clone().unwrap_or_default();
    assert_eq!(
        client.minted(),
        1,
        "the guest's read went out with a token: {seen}"
    );
    assert!(
        seen.contains("dana.dev@acme.example"),
        "the read was answered: {seen}"
    );
    let forms = t.secret_forms();
    assert!(
        forms.len() >= 3,
        "the token is among the tenant's secrets: {forms:?}"
    );
    for form in &forms {
        assert!(
            !seen.contains(form.as_str()),
            "{form} reached the guest: {seen}"
        );
    }
    // The echo came through, the token in it blanked.
    assert!(
        seen.contains("twilio-request-id=Bearer [redacted]"),
        "{seen}"
    );
    assert!(
        seen.contains("mint: Err"),
        "the token URL is not the guest's: {seen}"
    );
}

/// A plugin that keeps reading where the token is refused makes the host mint one more token
/// for the call, not one per refusal.
#[tokio::test]
async fn refusals_of_the_token_mint_at_most_once_more_per_call() {
    let sim = sim(Fixture::demo()).await;
    sim.inject(twilio_sim::FaultRule::on(
        "/scim/Users",
        twilio_sim::Fault::Status(401),
        1000,
    ));
    let host = Host::load(hostile_wasm(), options(&sim)).await.unwrap();
    let (t, client) = org_tenant(&sim, None);
    let t = t.with_option("mode", "org-401s");
    let page = host.list_page(&t, None).await.unwrap();
    let seen = page.accounts[0].display_name.clone().unwrap_or_default();
    assert_eq!(seen, vec!["401"; 20].join(","));
    assert_eq!(
        client.minted(),
        2,
        "one token, and one more after the first refusal"
    );
    assert_eq!(sim.tokens_minted(), 2);
}

/// The CLI with the Organization's variables: the users listed, a role granted, and neither
/// the client secret nor a token in anything it prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_grants_with_the_environments_oauth_client() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let (sid, token) = sim.main_credentials();
    let (client_id, secret) = sim.oauth_credentials().unwrap();
    let org = sim.organization_sid().unwrap();
    let env = [
        ("TWILIO_ACCOUNT_SID", sid.as_str()),
        ("TWILIO_AUTH_TOKEN", token.as_str()),
        ("TWILIO_ORGANIZATION_SID", org.as_str()),
        ("TWILIO_CLIENT_ID", client_id.as_str()),
        ("TWILIO_CLIENT_SECRET", secret.as_str()),
    ];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--app", "organization", "--connect-to", &addr]);
        let out = connector_e2e::run_clean(&all, &env);
        let printed = format!(
            "{}{}",
            connector_e2e::text(&out.stdout),
            connector_e2e::text(&out.stderr)
        );
        assert!(
            !printed.contains(&secret),
            "the client secret was printed: {printed}"
        );
        assert!(!printed.to_lowercase().contains("bearer"), "{printed}");
        (out.status.success(), printed)
    };
    let (ok, printed) = run(&["accounts", "--json"]);
    assert!(ok, "{printed}");
    assert_eq!(
        printed
            .lines()
            .filter(|l| l.contains("\"id\":\"US"))
            .count(),
        5,
        "{printed}"
    );
    let support = format!("{SUPPORT}@{MAIN}");
    let (ok, printed) = run(&["grant", NORA, "--entitlement", &support, "--json"]);
    assert!(ok, "{printed}");
    assert!(printed.contains("\"changed\":true"), "{printed}");
    // baton-file grants follow the role assignments: Dana's Developer role on the main account.
    let (ok, printed) = run(&["accounts", "--format", "baton-csv"]);
    assert!(ok, "{printed}");
    let grants: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("grant,") && l.contains(DANA))
        .collect();
    assert_eq!(grants.len(), 2, "{printed}");
    assert!(
        grants
            .iter()
            .any(|g| g.contains("00103") && g.contains(&MAIN.to_lowercase())),
        "{grants:?}"
    );
    let (ok, printed) = run(&["entitlements", "--json"]);
    assert!(ok, "{printed}");
    assert!(printed.contains(&support), "{printed}");
    // A client id without its secret is one line naming the variable.
    let mut missing = env.to_vec();
    missing.retain(|(k, _)| *k != "TWILIO_CLIENT_SECRET");
    let out = connector_e2e::run_clean(
        &["accounts", "--app", "organization", "--connect-to", &addr],
        &missing,
    );
    assert!(!out.status.success());
    assert!(
        connector_e2e::text(&out.stderr).contains("TWILIO_CLIENT_SECRET"),
        "{}",
        connector_e2e::text(&out.stderr)
    );
}

/// A tenants file names the Organization and its OAuth client (the secret in an owner-only
/// file): the CLI lists the Organization's users for that tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_file_names_the_organization_and_its_oauth_client() {
    let sim = sim(Fixture::demo()).await;
    let addr = sim.addr().to_string();
    let (sid, token) = sim.main_credentials();
    let (client_id, secret) = sim.oauth_credentials().unwrap();
    let org = sim.organization_sid().unwrap();
    let dir = connector_e2e::scratch_dir("org-tenants");
    std::fs::create_dir_all(&dir).unwrap();
    let secret_file = dir.join("client.secret");
    connector_e2e::owner_only_file(&secret_file, &secret);
    let tenants = dir.join("tenants.toml");
    std::fs::write(
        &tenants,
        format!(
            "[[tenant]]\nname = \"acme\"\napp = \"organization\"\naccount_sid = \"{sid}\"\n\
             auth_token_env = \"ACME_TOKEN\"\norganization_sid = \"{org}\"\n\
             client_id = \"{client_id}\"\nclient_secret_file = \"client.secret\"\n"
        ),
    )
    .unwrap();
    let out = connector_e2e::run_clean(
        &[
            "accounts",
            "--tenants",
            tenants.to_str().unwrap(),
            "--json",
            "--connect-to",
            &addr,
        ],
        &[("ACME_TOKEN", token.as_str())],
    );
    let printed = connector_e2e::text(&out.stdout);
    assert!(out.status.success(), "{}", connector_e2e::text(&out.stderr));
    assert_eq!(
        printed
            .lines()
            .filter(|l| l.contains("\"id\":\"US"))
            .count(),
        5,
        "{printed}"
    );
    assert!(!printed.contains(&secret));
    assert_eq!(sim.tokens_minted(), 1);
}
