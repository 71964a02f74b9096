//! What a sync keeps of each account's usage for the next one (in the tenant's state bucket),
//! and when a re-sync may read only the days since instead of the whole history. Usage of past
//! days does not change once reported, except for the latest days, which Twilio may still be
//! filling: the re-read window starts the day before the last sync.

use super::usage::Activity;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An account's usage as the last complete read of it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptUsage {
    /// The day (the plugin's "today") the usage was read.
    pub as_of: NaiveDate,
    /// Latest priced day per service.
    pub services: BTreeMap<String, NaiveDate>,
    /// Priced records with no category seen so far.
    #[serde(default)]
    pub uncategorised: usize,
}

/// Longest gap a re-sync reads day by day; after it, Monthly records are fewer requests.
pub const MAX_GAP_DAYS: u64 = 62;

/// The state key of an account's kept usage.
pub fn key(sid: &str) -> String {
    format!("usage/{sid}")
}

impl KeptUsage {
    /// Keep what a complete read found on `today`.
    pub fn new(activity: &Activity, today: NaiveDate) -> Self {
        Self {
            as_of: today,
            services: activity.services.clone(),
            uncategorised: activity.uncategorised,
        }
    }

    /// The activity it records, to which the days since are added.
    pub fn activity(&self) -> Activity {
        Activity {
            services: self.services.clone(),
            uncategorised: self.uncategorised,
        }
    }

    /// The Daily window a re-sync on `today` reads: from the day before the kept read through
    /// today. `None` when a full read is needed instead (the kept read is from the future, as
    /// after a clock change, or older than [`MAX_GAP_DAYS`]).
    pub fn window(&self, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        if self.as_of > today || (today - self.as_of).num_days() as u64 > MAX_GAP_DAYS {
            return None;
        }
        Some((self.as_of.pred_opt()?, today))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_window_starts_the_day_before_the_kept_read() {
        let k = KeptUsage {
            as_of: day("2025-11-22"),
            services: BTreeMap::new(),
            uncategorised: 0,
        };
        assert_eq!(
            k.window(day("2025-11-23")),
            Some((day("2025-11-21"), day("2025-11-23")))
        );
        assert_eq!(
            k.window(day("2025-11-22")),
            Some((day("2025-11-21"), day("2025-11-22")))
        );
        assert_eq!(
            k.window(day("2025-11-21")),
            None,
            "kept read from the future"
        );
        assert_eq!(
            k.window(day("2026-02-01")),
            None,
            "too old: read Monthly again"
        );
    }

    #[test]
    fn kept_usage_round_trips_what_was_found() {
        let mut a = Activity::default();
        a.services.insert("Voice".into(), day("2025-10-02"));
        a.uncategorised = 2;
        let k = KeptUsage::new(&a, day("2025-11-23"));
        let text = serde_json::to_string(&k).unwrap();
        let back: KeptUsage = serde_json::from_str(&text).unwrap();
        assert_eq!(back.activity(), a);
    }
}
