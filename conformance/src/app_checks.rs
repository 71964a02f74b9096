//! The checks of one app: listing, the actions it declares, and typed errors from upstream,
//! each against the expectations kept beside the simulator's fixture.

use crate::expectations::{AppExpectations, Expectations, Rule};
use crate::report::{Report, kind_of, short};
use connector_host::types::{Account, ActionResult, Capability};
use connector_host::{Action, Credentials, Host, Tenant};
use std::collections::HashSet;
use twilio_sim::{Fault, FaultRule, Simulator};

/// Everything one app's checks share.
pub struct AppRun<'a> {
    /// The plugin under test.
    pub host: &'a Host,
    /// The upstream it talks to.
    pub sim: &'a Simulator,
    /// Where checks go.
    pub report: &'a mut Report,
    /// Every string the plugin returned, searched for secrets at the end.
    pub seen_text: &'a mut String,
    /// The connecting account.
    pub main: &'a str,
    /// The whole run's expectations.
    pub x: &'a Expectations,
    /// The app's name.
    pub name: &'a str,
    /// The tenant the checks run as.
    pub tenant: Tenant,
    /// This app's expectations.
    pub want: &'a AppExpectations,
    /// What the plugin declares the app can do.
    pub capabilities: &'a [Capability],
}

impl AppRun<'_> {
    fn can(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }

    /// Listing terminates, keeps every item, agrees with `get`, follows the rules; unknown ids
    /// are `not-found`.
    pub async fn listing(&mut self) {
        let name = self.name;
        if self.can(Capability::ListAccounts) {
            self.sim.clear_requests();
            let listed = self.host.list_all(&self.tenant, |_| {}).await;
            self.seen_text.push_str(&format!("{listed:?}"));
            self.report.check(
                format!("{name}: listing terminates"),
                listed.is_ok(),
                "every page read",
                short(&listed),
            );
            if let Ok(list) = &listed {
                let ids: HashSet<_> = list.iter().map(|a| a.id.as_str()).collect();
                self.report.check(
                    format!("{name}: ids are unique"),
                    ids.len() == list.len(),
                    format!("{} distinct ids", list.len()),
                    format!("{} distinct", ids.len()),
                );
                if let Some(expected) = self.want.expected_count {
                    self.report.check(
                        format!("{name}: every page's items are kept"),
                        list.len() == expected,
                        format!("{expected} accounts"),
                        format!("{} accounts", list.len()),
                    );
                }
                if self.can(Capability::GetAccount) {
                    let mut disagree = Vec::new();
                    for a in list.iter().take(20) {
                        match self.host.get_account(&self.tenant, &a.id).await {
                            Ok(one) if &one == a => {}
                            other => disagree.push(format!("{}: {}", a.id, short(&other))),
                        }
                    }
                    self.report.check(
                        format!("{name}: account ID agrees with the listing"),
                        disagree.is_empty(),
                        "the same account either way",
                        if disagree.is_empty() {
                            "identical".into()
                        } else {
                            disagree.join("; ")
                        },
                    );
                }
                rules(self.report, name, &self.want.rules, list);
            }
        }
        if self.can(Capability::GetAccount) {
            let missing = self
                .host
                .get_account(&self.tenant, &self.want.missing_id)
                .await;
            self.report.check(
                format!("{name}: unknown account is not-found"),
                kind_of(&missing) == "not-found",
                "not-found",
                kind_of(&missing),
            );
        }
    }

    /// Dry-runs send no write, a repeated suspend changes nothing, the connecting account is
    /// protected, unsupported actions are typed so.
    pub async fn actions(&mut self) {
        let name = self.name;
        if let Some(target) = self.want.action_target.as_deref() {
            for (cap, action) in [
                (Capability::Suspend, Action::Suspend),
                (Capability::Deprovision, Action::Deprovision),
            ] {
                if !self.can(cap) {
                    continue;
                }
                self.sim.clear_requests();
                let dry = self.host.act(&self.tenant, action, target, true).await;
                self.seen_text.push_str(&format!("{dry:?}"));
                let mutations = mutating(self.sim);
                self.report.check(
                    format!(
                        "{name}: {} dry-run sends no mutating request",
                        action.name()
                    ),
                    dry.as_ref().is_ok_and(|r| r.dry_run) && mutations.is_empty(),
                    "a dry-run result and only reads",
                    format!("{}; mutations {mutations:?}", short(&dry)),
                );
            }
            if self.can(Capability::Suspend) {
                self.sim.clear_requests();
                let first = self
                    .host
                    .act(&self.tenant, Action::Suspend, target, false)
                    .await;
                let second = self
                    .host
                    .act(&self.tenant, Action::Suspend, target, false)
                    .await;
                self.seen_text.push_str(&format!("{first:?}{second:?}"));
                let mutations = mutating(self.sim);
                self.report.check(
                    format!("{name}: repeated suspend is idempotent"),
                    first.is_ok()
                        && second.as_ref().is_ok_and(|r: &ActionResult| !r.changed)
                        && mutations.len() == 1,
                    "one change, then nothing to do",
                    format!(
                        "{} then {}; {} mutating request(s)",
                        short(&first),
                        short(&second),
                        mutations.len()
                    ),
                );
            }
        }
        if self.want.connecting_account_protected && self.can(Capability::Suspend) {
            self.sim.clear_requests();
            let r = self
                .host
                .act(&self.tenant, Action::Suspend, self.main, false)
                .await;
            let sent = self.sim.requests().len();
            self.report.check(
                format!("{name}: the connecting account is protected"),
                kind_of(&r) == "refused" && sent == 0,
                "refused with no request sent",
                format!("{}; {sent} request(s)", kind_of(&r)),
            );
        }
        for u in &self.want.unsupported {
            let r = match u.action.as_str() {
                "suspend" => {
                    self.host
                        .act(&self.tenant, Action::Suspend, &u.id, false)
                        .await
                }
                "reactivate" => {
                    self.host
                        .act(&self.tenant, Action::Reactivate, &u.id, false)
                        .await
                }
                _ => {
                    self.host
                        .act(&self.tenant, Action::Deprovision, &u.id, false)
                        .await
                }
            };
            self.report.check(
                format!("{name}: {} is typed unsupported", u.action),
                kind_of(&r) == "unsupported",
                "unsupported",
                kind_of(&r),
            );
        }
    }

    /// Bad credentials, persistent rate limiting and API-key credentials each give their typed
    /// answer.
    pub async fn typed_errors(&mut self) {
        let name = self.name;
        if self.can(Capability::ListAccounts) || self.can(Capability::GetAccount) {
            let (host, lists, probe_id) = (
                self.host,
                self.can(Capability::ListAccounts),
                self.want.probe_id.clone(),
            );
            let probe = |t: Tenant| {
                let probe_id = probe_id.clone();
                async move {
                    if lists {
                        host.list_page(&t, None).await.map(|_| ())
                    } else {
                        host.get_account(&t, &probe_id).await.map(|_| ())
                    }
                }
            };
            // Every credential wrong: the main one, and an OAuth client's secret.
            let mut wrong = Tenant {
                credentials: std::sync::Arc::new(Credentials::AuthToken {
                    account_sid: self.main.to_string(),
                    auth_token: "not-the-token".into(),
                }),
                bound: Vec::new(),
                ..self.tenant.clone()
            };
            if let Some(o) = self.x.apps.get(name).and_then(|w| w.oauth_client.as_ref()) {
                let hosts: Vec<&str> = o.hosts.iter().map(String::as_str).collect();
                wrong = wrong.with_credential(
                    &hosts,
                    std::sync::Arc::new(connector_host::oauth::ClientCredentials::new(
                        &o.client_id,
                        "not-the-secret",
                        &o.token_url,
                    )),
                );
            }
            let r = probe(wrong).await;
            self.seen_text.push_str(&format!("{r:?}"));
            self.report.check(
                format!("{name}: bad credentials are typed unauthorized"),
                kind_of(&r) == "unauthorized",
                "unauthorized",
                kind_of(&r),
            );
            self.sim.inject(FaultRule::any(
                Fault::RateLimit {
                    retry_after_secs: None,
                },
                1000,
            ));
            let r = probe(self.tenant.clone()).await;
            self.sim.faults().rules.clear();
            self.report.check(
                format!("{name}: persistent 429 is typed rate-limited"),
                kind_of(&r) == "rate-limited",
                "rate-limited",
                kind_of(&r),
            );
            let keyed = Tenant {
                credentials: std::sync::Arc::new(Credentials::ApiKey {
                    account_sid: self.main.to_string(),
                    key_sid: self.x.api_key.sid.clone(),
                    secret: self.x.api_key.secret.clone(),
                }),
                ..self.tenant.clone()
            };
            let r = probe(keyed).await;
            self.report.check(
                format!("{name}: API key credentials work"),
                r.is_ok(),
                "ok",
                kind_of(&r),
            );
        }
    }
}

/// Each rule of the app's expectations, on the listing.
fn rules(report: &mut Report, app: &str, rules: &[Rule], list: &[Account]) {
    for r in rules {
        let seen = list
            .iter()
            .find(|a| a.id == r.account)
            .map(|a| format!("{:?}", r.field.read(a)))
            .unwrap_or_else(|| "missing".into());
        let expected = format!("{:?}", r.expected);
        report.check(
            format!("{app}: {} ({})", r.what, r.label),
            seen == expected,
            expected,
            seen,
        );
    }
}

/// The writes the simulator saw.
fn mutating(sim: &Simulator) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}
