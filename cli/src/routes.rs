//! `connector routes`: the permission screen. Before an operator approves a plugin build it
//! shows each route each app declares, whether the vendor policy grants it and what the host
//! holds each granted write to, with the file's SHA-256 to pin (`CONNECTOR_PLUGIN_SHA256`).
//! The plugin is reviewed (`Host::review`), never loaded, so a plugin the host would refuse is
//! shown too; no credentials are read and nothing is sent.

use crate::args::{Global, ROUTES_REFUSED_EXIT};
use crate::output::safe;
use crate::setup::{approved_sha256, plugin_path, sha256_hex};
use crate::vendor;
use anyhow::{Context, bail};
use connector_host::types::ConnectorInfo;
use connector_host::vendor_policy::RouteReview;
use connector_host::{CallError, Host, HostOptions};
use serde_json::{Value, json};
use std::io::Write;
use std::process::ExitCode;

/// What the screen shows.
struct Screen {
    info: ConnectorInfo,
    /// The contract version the host links the plugin against.
    contract: &'static str,
    /// The plugin file, as reviewed.
    file: String,
    /// Its SHA-256, hex.
    sha256: String,
    /// The approved digest in force, if any.
    pin: Option<String>,
    /// The apps shown (all, or the one `--app` names).
    apps: Vec<String>,
    /// Every declared route of every app.
    reviews: Vec<RouteReview>,
}

impl Screen {
    /// Whether the pinned build is this one (`None`: nothing pinned).
    fn approved(&self) -> Option<bool> {
        self.pin
            .as_deref()
            .map(|p| p.eq_ignore_ascii_case(&self.sha256))
    }

    /// The routes of the apps shown.
    fn shown(&self) -> impl Iterator<Item = &RouteReview> {
        self.reviews.iter().filter(|r| self.apps.contains(&r.app))
    }

    /// Routes refused in any app (the host refuses the whole plugin for one).
    fn refused(&self) -> usize {
        self.reviews.iter().filter(|r| !r.granted).count()
    }

    /// 0 when every route of the plugin is granted, else `ROUTES_REFUSED_EXIT`.
    fn exit_code(&self) -> ExitCode {
        if self.refused() == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(ROUTES_REFUSED_EXIT)
        }
    }
}

/// Review the plugin and print its permission screen.
pub async fn run(g: &Global) -> anyhow::Result<ExitCode> {
    let path = plugin_path(g)?;
    let pin = approved_sha256(g)?;
    let bytes =
        std::fs::read(&path).with_context(|| format!("cannot read plugin {}", path.display()))?;
    let sha256 = sha256_hex(&bytes);
    let options = HostOptions {
        cache_dir: g.cache_dir.clone(),
        vendor_policy: vendor::policy()?,
        // Review exactly the bytes whose digest is shown.
        approved_sha256: Some(sha256.clone()),
        ..HostOptions::default()
    };
    let review = match Host::review(&path, options).await {
        Err(CallError::NotApproved { .. }) => bail!(
            "plugin {} changed while it was being reviewed; review it again",
            path.display()
        ),
        r => r?,
    };
    let (info, reviews) = (review.info, review.routes);
    let names: Vec<String> = info.apps.iter().map(|a| a.name.clone()).collect();
    let apps = if g.app_given {
        if !names.contains(&g.app) {
            bail!(
                "unknown app {:?}; the plugin serves {}",
                g.app,
                if names.is_empty() {
                    "no app".to_string()
                } else {
                    names.join(", ")
                }
            );
        }
        vec![g.app.clone()]
    } else {
        names
    };
    let screen = Screen {
        info,
        contract: review.contract.name(),
        file: std::fs::canonicalize(&path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string(),
        sha256,
        pin,
        apps,
        reviews,
    };
    // Written, not printed: a reader that stops (`| head`) ends the command quietly.
    let mut out = std::io::stdout().lock();
    if g.json {
        let _ = writeln!(out, "{}", json_document(&screen));
    } else {
        let _ = write!(out, "{}", text(&screen));
    }
    Ok(screen.exit_code())
}

/// The screen for people: plugin, digest, pin, then each app's routes with their verdicts.
fn text(s: &Screen) -> String {
    let mut out = format!(
        "plugin    {} {} (contract {})\nfile      {}\nsha256    {}\n",
        safe(&s.info.name),
        safe(&s.info.version),
        s.contract,
        safe(&s.file),
        s.sha256
    );
    out.push_str(&match (s.approved(), &s.pin) {
        (Some(true), _) => "approved  yes: CONNECTOR_PLUGIN_SHA256 names this build\n".into(),
        (Some(false), Some(pin)) => format!(
            "approved  no: CONNECTOR_PLUGIN_SHA256 names another build ({pin}); this file is refused\n"
        ),
        _ => "approved  no build is pinned (CONNECTOR_PLUGIN_SHA256 is not set)\n".into(),
    });
    for app in &s.apps {
        let routes: Vec<&RouteReview> = s.shown().filter(|r| &r.app == app).collect();
        out.push_str(&format!(
            "\napp {} ({} route(s))\n",
            safe(app),
            routes.len()
        ));
        if routes.is_empty() {
            out.push_str("  declares no routes: the host lets it send nothing\n");
        }
        for r in routes {
            let verdict = if r.granted { "granted" } else { "REFUSED" };
            out.push_str(&format!("  {verdict:<8} {}\n", safe(&r.route)));
            if let Some(why) = &r.refusal {
                out.push_str(&format!("           refused: {}\n", safe(why)));
            }
            for c in &r.constraints {
                out.push_str(&format!("           - {}\n", safe(c)));
            }
        }
    }
    let total = s.reviews.len();
    let refused = s.refused();
    out.push('\n');
    if refused == 0 {
        out.push_str(&format!("all {total} route(s) of the plugin are granted; "));
        if s.approved() == Some(true) {
            out.push_str("this is the approved build\n");
        } else {
            out.push_str(&format!(
                "to approve this build after review: CONNECTOR_PLUGIN_SHA256={}\n",
                s.sha256
            ));
        }
    } else {
        let hidden = refused - s.shown().filter(|r| !r.granted).count();
        let elsewhere = if hidden > 0 {
            format!(" ({hidden} in apps not shown; leave out --app to see them)")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{refused} of the plugin's {total} route(s) are refused{elsewhere}: the host will not \
             load it; do not approve this build\n"
        ));
    }
    out
}

/// The screen as one JSON document. `granted` is the whole plugin's verdict (what the host
/// decides at load), `routes` the shown apps' routes.
fn json_document(s: &Screen) -> Value {
    json!({
        "name": s.info.name,
        "version": s.info.version,
        "contract_version": s.contract,
        "file": s.file,
        "sha256": s.sha256,
        "approved": s.approved(),
        "granted": s.refused() == 0,
        "apps": s.apps,
        "routes": s.shown().map(|r| json!({
            "app": r.app,
            "route": r.route,
            "granted": r.granted,
            "refusal": r.refusal,
            "constraints": r.constraints,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(app: &str, route: &str, granted: bool) -> RouteReview {
        RouteReview {
            app: app.into(),
            route: route.into(),
            granted,
            refusal: (!granted).then(|| "not a route the vendor policy grants".into()),
            constraints: if granted && route.starts_with("POST") {
                vec!["suspend: writes the account in {AC}; form body: Status = suspended".into()]
            } else {
                vec![]
            },
        }
    }

    fn screen(apps: &[&str], reviews: Vec<RouteReview>, pin: Option<&str>) -> Screen {
        Screen {
            info: ConnectorInfo {
                name: "greedy\u{1b}[2J".into(),
                version: "1.0".into(),
                apps: vec![],
            },
            contract: "0.3.0",
            file: "/p/greedy.wasm".into(),
            sha256: "ab".repeat(32),
            pin: pin.map(str::to_string),
            apps: apps.iter().map(|a| a.to_string()).collect(),
            reviews,
        }
    }

    #[test]
    fn a_granted_plugin_shows_its_constraints_and_how_to_pin_it() {
        let s = screen(
            &["twilio"],
            vec![
                review(
                    "twilio",
                    "GET api.twilio.com/2010-04-01/Accounts.json",
                    true,
                ),
                review(
                    "twilio",
                    "POST api.twilio.com/2010-04-01/Accounts/{AC}.json (for suspend)",
                    true,
                ),
            ],
            None,
        );
        let t = text(&s);
        assert!(t.contains("  granted  POST api.twilio.com"), "{t}");
        assert!(t.contains("- suspend: writes the account in {AC}; form body: Status = suspended"));
        assert!(t.contains(&format!("CONNECTOR_PLUGIN_SHA256={}", "ab".repeat(32))));
        assert!(t.contains("no build is pinned"));
        assert_eq!(s.exit_code(), ExitCode::SUCCESS);
        assert_eq!(json_document(&s)["approved"], Value::Null);
    }

    #[test]
    fn a_refused_route_anywhere_fails_the_review_even_when_its_app_is_not_shown() {
        let s = screen(
            &["twilio"],
            vec![
                review(
                    "twilio",
                    "GET api.twilio.com/2010-04-01/Accounts.json",
                    true,
                ),
                review("flex", "POST evil.example/\u{1b}]8;;x\u{7}", false),
            ],
            Some(&"cd".repeat(32)),
        );
        let t = text(&s);
        assert!(
            !t.contains('\u{1b}'),
            "plugin text reaches the terminal escaped: {t}"
        );
        assert!(t.contains("greedy\\u{1b}[2J"));
        assert!(t.contains("1 of the plugin's 2 route(s) are refused (1 in apps not shown"));
        assert!(t.contains("approved  no: CONNECTOR_PLUGIN_SHA256 names another build"));
        assert_eq!(s.exit_code(), ExitCode::from(ROUTES_REFUSED_EXIT));
        let v = json_document(&s);
        assert_eq!(v["granted"], false);
        assert_eq!(v["approved"], false);
        assert_eq!(
            v["routes"].as_array().unwrap().len(),
            1,
            "only the shown app's routes"
        );

        let all = screen(&["twilio", "flex"], s.reviews.clone(), None);
        let t = text(&all);
        assert!(
            t.contains("  REFUSED  POST evil.example/\\u{1b}]8;;x\\u{7}\n"),
            "{t}"
        );
        assert!(t.contains("refused: not a route the vendor policy grants"));
        assert_eq!(json_document(&all)["routes"][1]["granted"], false);
    }
}
