//! `connector serve` held to a SCIM client nobody here wrote: PyPI's scim2-tester, through its
//! scim2-cli front (`scim2 … test`), for each app over the simulator; and a deactivation done
//! with that client (`scim2 … modify user ID replace active false`).

use connector_e2e::{cache_dir, connector_bin, free_port, root, scratch_dir, sim, text};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use twilio_sim::{Fixture, Simulator};

const SUB: &str = "AC0000000000000000000000000000b001";
const TOKEN: &str = "scim_compliance_test_token_0123456789";

/// The `scim2` executable: `SCIM2` (as `make test` sets it), else installed by the script.
fn scim2_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SCIM2") {
        return PathBuf::from(p);
    }
    let out = Command::new("sh")
        .arg(root().join("scripts/scim2-cli.sh"))
        .output()
        .expect("run scripts/scim2-cli.sh");
    assert!(
        out.status.success(),
        "installing scim2-cli failed: {}",
        text(&out.stderr)
    );
    PathBuf::from(text(&out.stdout).trim())
}

/// `connector serve` on a free loopback port, for the simulator's main account from the
/// environment (tenant `default`), with one read-write client.
struct Served {
    child: Child,
    port: u16,
    audit: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(sim: &Simulator, dir: &Path) -> Self {
        Self::start_with(sim, dir, &[])
    }

    fn start_with(sim: &Simulator, dir: &Path, extra: &[&str]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let clients = dir.join("clients.toml");
        let hash: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(TOKEN.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        std::fs::write(
            &clients,
            format!(
                "[[client]]\nname = \"tester\"\ntoken_sha256 = \"{hash}\"\ntenants = [\"*\"]\napps = [\"*\"]\naccess = \"read-write\"\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let audit = dir.join("audit.jsonl");
        let (sid, token) = sim.main_credentials();
        let child = Command::new(connector_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--clients")
            .arg(&clients)
            .args(["--connect-to", &sim.addr().to_string()])
            .arg("--audit")
            .arg(&audit)
            // The checker sends ~130 requests per app as fast as it can.
            .args(["--rate", "1000", "--burst", "1000"])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONNECTOR_CACHE_DIR", cache_dir())
            .env("TWILIO_ACCOUNT_SID", sid)
            .env("TWILIO_AUTH_TOKEN", token)
            .env("TWILIO_FLEX_INSTANCE_SID", connector_e2e::FLEX_INSTANCE_SID)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .expect("start connector serve");
        let served = Self { child, port, audit };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "connector serve did not listen: {}",
                std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        served
    }

    fn scim2(&self, app: &str, args: &[&str]) -> std::process::Output {
        Command::new(scim2_bin())
            .arg("--url")
            .arg(format!(
                "http://127.0.0.1:{}/scim/v2/default/{app}",
                self.port
            ))
            .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {TOKEN}"))
            .args(args)
            .output()
            .expect("run scim2")
    }
}

/// One line of `scim2 test`: status, check, and the reason on the next line.
#[derive(Debug)]
struct Check {
    status: String,
    name: String,
    reason: String,
}

fn checks(output: &str) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    for line in output.lines() {
        let words: Vec<&str> = line.splitn(2, ' ').collect();
        match words.as_slice() {
            [status, name]
                if ["SUCCESS", "ERROR", "SKIPPED", "CRITICAL"].contains(status)
                    && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                out.push(Check {
                    status: status.to_string(),
                    name: name.to_string(),
                    reason: String::new(),
                });
            }
            _ => {
                if let Some(last) = out.last_mut()
                    && last.reason.is_empty()
                {
                    last.reason = line.trim().to_string();
                }
            }
        }
    }
    out
}

/// Why a check may fail for this app: it needs what the app does not do, and the answer says
/// so. Anything else that is not SUCCESS fails the test.
fn does_not_apply(app: &str, c: &Check) -> bool {
    let creation = format!("app {app} cannot provision accounts");
    match c.status.as_str() {
        // Every per-type check starts by creating a resource: Twilio subaccounts and
        // Frontline users are not created here, and Groups (entitlements) never are.
        "ERROR" => {
            c.reason.contains(&creation)
                || c.reason.contains("groups cannot be created")
                // scim2-tester's PUT gives multi-valued immutable attributes new values (its
                // own "dirty hotfix", scim2-models issue 111), which RFC 7644 §3.5.1 says
                // SHOULD be refused with `mutability`: the refusal is the RFC's answer.
                || (c.name == "object_replacement"
                    && c.reason.contains("only `active` can be changed"))
        }
        // PATCH where the app changes no status; a search across resource types (501).
        "SKIPPED" => {
            c.reason.contains("PATCH operations not supported")
                || c.reason.contains("searching several resource types")
        }
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_passes_every_check_that_applies_to_each_app() {
    let sim = sim(Fixture::demo()).await;
    let served = Served::start(&sim, &scratch_dir("scim-compliance"));
    for (app, must_pass) in [
        ("twilio", &[][..]),
        ("frontline", &[][..]),
        (
            "flex",
            &[
                "object_creation",
                "object_query",
                "object_query_without_id",
                "object_query_with_attributes",
                "object_list_with_attributes",
                "object_deletion",
            ][..],
        ),
    ] {
        let out = served.scim2(app, &["test"]);
        let stdout = text(&out.stdout);
        let results = checks(&stdout);
        assert!(
            results.len() > 30,
            "{app}: scim2 test ran too few checks: {stdout}\n{}",
            text(&out.stderr)
        );
        let discovery = results
            .iter()
            .filter(|c| c.status == "SUCCESS")
            .filter(|c| {
                c.name.contains("service_provider_config")
                    || c.name.contains("resource_type")
                    || c.name.contains("schema")
                    || c.name == "random_url"
            })
            .count();
        assert!(discovery >= 24, "{app}: discovery checks: {stdout}");
        let failed: Vec<&Check> = results
            .iter()
            .filter(|c| c.status != "SUCCESS" && !does_not_apply(app, c))
            .collect();
        assert!(failed.is_empty(), "{app}: {failed:#?}\n{stdout}");
        for name in must_pass {
            assert!(
                results
                    .iter()
                    .any(|c| c.name == *name && c.status == "SUCCESS"),
                "{app}: {name} did not pass: {stdout}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scim_client_deactivates_a_subaccount() {
    let sim = sim(Fixture::demo()).await;
    let served = Served::start(&sim, &scratch_dir("scim-client"));
    let found = served.scim2(
        "twilio",
        &["query", "user", "--filter", &format!("id eq \"{SUB}\"")],
    );
    assert!(found.status.success(), "{}", text(&found.stderr));
    assert!(text(&found.stdout).contains(SUB));
    let off = served.scim2(
        "twilio",
        &["modify", "user", SUB, "replace", "active", "false"],
    );
    assert!(off.status.success(), "{}", text(&off.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&off.stdout).unwrap();
    assert_eq!(answer["active"], false);
    let status = sim
        .with_fixture(|f| f.accounts.iter().find(|a| a["sid"] == SUB).unwrap()["status"].clone());
    assert_eq!(status, "suspended");
    let audit = std::fs::read_to_string(&served.audit).unwrap();
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().any(|l| l["event"] == "action"
        && l["action"] == "suspend"
        && l["account"] == SUB
        && l["ok"] == true));
    assert!(lines.iter().any(|l| l["event"] == "served"
        && l["client"] == "tester"
        && l["method"] == "PATCH"
        && l["action"] == "suspend"));
    assert!(!audit.contains(TOKEN));
    assert!(!audit.contains(&sim.main_credentials().1));
}

#[test]
fn make_serve_demo_prints_a_curl_line_that_works() {
    let out = Command::new("sh")
        .arg(root().join("scripts/serve-demo.sh"))
        .current_dir(root())
        .env("CONNECTOR", connector_bin())
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .env("PORT", free_port().to_string())
        .env("SERVE_DEMO_CHECK", "1")
        .output()
        .expect("run scripts/serve-demo.sh");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("  curl -s -H 'Authorization: Bearer scim_"),
        "{stdout}"
    );
    // The last line is what the first printed curl line answered.
    let answer: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(
        answer["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert!(answer["totalResults"].as_u64().unwrap() >= 3, "{answer}");
    assert!(answer["Resources"][0]["userName"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_certificate_the_server_speaks_only_tls() {
    let sim = sim(Fixture::demo()).await;
    let cert = root().join("host/src/testdata/self-signed.crt");
    let key = root().join("host/src/testdata/self-signed.key");
    let served = Served::start_with(
        &sim,
        &scratch_dir("scim-tls"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let url = |scheme: &str| {
        format!(
            "{scheme}://127.0.0.1:{}/scim/v2/default/twilio/ServiceProviderConfig",
            served.port
        )
    };
    let auth = format!("Authorization: Bearer {TOKEN}");
    let tls = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            cert.to_str().unwrap(),
            "-H",
            &auth,
        ])
        .arg(url("https"))
        .output()
        .expect("run curl");
    assert!(tls.status.success(), "{}", text(&tls.stderr));
    let spc: serde_json::Value = serde_json::from_slice(&tls.stdout).unwrap();
    assert_eq!(spc["patch"]["supported"], true);
    // Plain HTTP to the TLS port gets no SCIM answer.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "5", "-H", &auth])
        .arg(url("http"))
        .output()
        .expect("run curl");
    assert!(
        !plain.status.success() || !text(&plain.stdout).contains("ServiceProviderConfig"),
        "{}",
        text(&plain.stdout)
    );
}

#[test]
fn new_client_prints_a_token_that_its_block_accepts() {
    let out = Command::new(connector_bin())
        .args(["serve", "new-client", "okta"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let token = stdout.lines().nth(1).unwrap().trim();
    assert!(token.starts_with("scim_") && token.len() > 40, "{stdout}");
    let block = &stdout[stdout.find("[[client]]").expect("a clients-file block")..];
    assert!(!block.contains(token), "the block holds only the hash");
    let clients = connector_scim::Clients::parse(block, "printed").unwrap();
    assert_eq!(clients.authenticate(token).unwrap().name(), "okta");
    // A clients file with a plaintext token is refused in one line, without echoing it.
    let dir = scratch_dir("scim-bad-clients");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("clients.toml");
    std::fs::write(
        &bad,
        "[[client]]\nname = \"x\"\ntoken = \"scim_secret_value_here\"\ntenants = [\"*\"]\napps = [\"*\"]\naccess = \"read\"\n",
    )
    .unwrap();
    let refused = Command::new(connector_bin())
        .args(["serve", "--clients"])
        .arg(&bad)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CONNECTOR_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    let err = text(&refused.stderr);
    assert!(!refused.status.success());
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("token_sha256") && !err.contains("scim_secret_value_here"),
        "{err}"
    );
    let missing = Command::new(connector_bin())
        .args(["serve"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        text(&missing.stderr).contains("--clients FILE"),
        "{}",
        text(&missing.stderr)
    );
}
