//! License-review answers: which accounts (or entitlements) have been inactive for longer than
//! a period, or never used, and a summary of how many are active, inactive and never used,
//! by app. An entitlement without a last activity of its own (a role, an account type) takes
//! its account's: a role is used when its holder is.

use crate::formats::Row;
use anyhow::{anyhow, bail};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// What is counted and filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// Whole accounts.
    Account,
    /// Each entitlement (account type, role, service) of each account.
    Entitlement,
}

/// What to do about a period that is not one: the accepted forms.
pub const PERIOD_HINT: &str = "give --inactive-for a whole number and a unit, h (hours), d (days), w (weeks) or y (365 days), e.g. 90d, 12w or 1y";

/// The longest period taken, in hours: a century.
const MAX_PERIOD_HOURS: i64 = 100 * 365 * 24;

/// A period such as `90d`, `12w`, `36h` or `1y` (365 days), up to a century. An error names
/// `--inactive-for` and what is wrong ([`PERIOD_HINT`] says the forms); the value is repeated
/// only when it is short.
pub fn parse_period(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let shown = if text.chars().count() <= 16 && !text.chars().any(char::is_control) {
        format!(" {text:?}")
    } else {
        String::new()
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    if n.is_empty() {
        bail!("--inactive-for{shown} does not start with a number");
    }
    let hours_per_unit: i64 = match unit.trim() {
        "" => bail!("--inactive-for{shown} has no unit"),
        "h" => 1,
        "d" => 24,
        "w" => 7 * 24,
        "y" => 365 * 24,
        _ => bail!("--inactive-for{shown} has an unknown unit"),
    };
    let hours = n
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(hours_per_unit))
        .filter(|h| *h <= MAX_PERIOD_HOURS)
        .ok_or_else(|| anyhow!("--inactive-for{shown} is longer than a century"))?;
    Ok(Duration::hours(hours))
}

/// How one account or entitlement stands against the cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Active at or after the cutoff.
    Active,
    /// Last active before the cutoff.
    Inactive,
    /// No activity known at all.
    NeverUsed,
}

/// Where `last_activity` stands against `cutoff` (an unreadable date counts as never used).
pub fn standing(last_activity: Option<&str>, cutoff: DateTime<Utc>) -> Standing {
    match last_activity.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        None => Standing::NeverUsed,
        Some(t) if t.with_timezone(&Utc) < cutoff => Standing::Inactive,
        Some(_) => Standing::Active,
    }
}

/// Counts of one app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub active: usize,
    pub inactive: usize,
    pub never_used: usize,
}

impl Counts {
    fn add(&mut self, s: Standing) {
        match s {
            Standing::Active => self.active += 1,
            Standing::Inactive => self.inactive += 1,
            Standing::NeverUsed => self.never_used += 1,
        }
    }
}

/// The counts of a run, by app.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub by_app: BTreeMap<String, Counts>,
}

impl Summary {
    /// One line: each app's counts, then the total.
    pub fn line(&self, period: &str, by: By) -> String {
        let mut total = Counts::default();
        let mut parts = Vec::new();
        for (app, c) in &self.by_app {
            total.active += c.active;
            total.inactive += c.inactive;
            total.never_used += c.never_used;
            parts.push(format!("{app} {}", counts_text(c)));
        }
        parts.push(format!("all {}", counts_text(&total)));
        let what = match by {
            By::Account => "accounts",
            By::Entitlement => "entitlements",
        };
        format!(
            "summary ({what}, inactive for {period}): {}",
            parts.join("; ")
        )
    }
}

fn counts_text(c: &Counts) -> String {
    format!(
        "{} active, {} inactive, {} never used",
        c.active, c.inactive, c.never_used
    )
}

/// Keep only what is inactive or never used; count everything. With `By::Entitlement` an
/// account is kept with just its inactive entitlements.
pub fn filter(rows: Vec<Row>, cutoff: DateTime<Utc>, by: By) -> (Vec<Row>, Summary) {
    let mut summary = Summary::default();
    let mut kept = Vec::new();
    for mut r in rows {
        let counts = summary.by_app.entry(r.app.clone()).or_default();
        let account = standing(r.account.last_activity.as_deref(), cutoff);
        match by {
            By::Account => {
                counts.add(account);
                if account != Standing::Active {
                    kept.push(r);
                }
            }
            By::Entitlement => {
                let own = r.account.last_activity.clone();
                r.account.entitlements.retain(|e| {
                    let s = standing(e.last_activity.as_deref().or(own.as_deref()), cutoff);
                    counts.add(s);
                    s != Standing::Active
                });
                if !r.account.entitlements.is_empty() {
                    kept.push(r);
                }
            }
        }
    }
    (kept, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_bad_ones_say_how() {
        assert_eq!(parse_period("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_period("2w").unwrap(), Duration::days(14));
        assert_eq!(parse_period("1y").unwrap(), Duration::days(365));
        assert_eq!(parse_period("36h").unwrap(), Duration::hours(36));
        assert_eq!(parse_period("90 d").unwrap(), Duration::days(90));
        for bad in ["90", "d", "90x", "-3d", "", "99999999999999999y", "101y"] {
            let e = parse_period(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("--inactive-for ") && !e.contains("give"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            parse_period("90").unwrap_err().to_string(),
            format!("--inactive-for \"90\" has no unit")
        );
        assert!(parse_period("100y").is_ok());
        let long = "9".repeat(40);
        let e = parse_period(&long).unwrap_err().to_string();
        assert!(
            !e.contains(&long) && e.starts_with("--inactive-for has no unit"),
            "{e}"
        );
    }

    #[test]
    fn standing_against_the_cutoff() {
        let cutoff: DateTime<Utc> = "2025-08-25T12:00:00Z".parse().unwrap();
        assert_eq!(standing(None, cutoff), Standing::NeverUsed);
        assert_eq!(
            standing(Some("2025-08-01T00:00:00Z"), cutoff),
            Standing::Inactive
        );
        assert_eq!(
            standing(Some("2025-11-01T00:00:00Z"), cutoff),
            Standing::Active
        );
    }
}
