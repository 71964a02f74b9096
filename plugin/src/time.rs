//! Timestamp parsing and formatting: everything leaving the connector is RFC 3339 UTC.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Format a UTC instant as RFC 3339 with second precision and a `Z` suffix.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A calendar date (usage `end_date`) as midnight UTC in RFC 3339.
pub fn date_rfc3339(d: NaiveDate) -> String {
    rfc3339(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

/// Parse a `YYYY-MM-DD` date.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.get(..10)?;
    // Twilio writes every date as `YYYY-MM-DD`: read those digits directly (a usage page has
    // hundreds); anything else goes through chrono's format parser, which reads the same
    // text to the same date.
    match s.as_bytes() {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1]
            if [y0, y1, y2, y3, m0, m1, d0, d1]
                .iter()
                .all(|b| b.is_ascii_digit()) =>
        {
            let n = |bs: &[&u8]| bs.iter().fold(0u32, |n, b| n * 10 + u32::from(**b - b'0'));
            NaiveDate::from_ymd_opt(n(&[y0, y1, y2, y3]) as i32, n(&[m0, m1]), n(&[d0, d1]))
        }
        _ => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
    }
}

/// Parse any timestamp Twilio emits (RFC 3339/ISO 8601 or RFC 2822) into UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.with_timezone(&Utc));
    }
    // ISO 8601 without an offset is UTC in Twilio's APIs.
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

/// First and last day of the month containing `d`.
pub fn month_bounds(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    use chrono::Datelike;
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("valid month");
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
    .expect("valid month");
    (first, next.pred_opt().expect("a day before the 1st"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc2822_account_dates_into_utc() {
        let t = parse_timestamp("Thu, 30 Jul 2015 20:00:00 +0000").unwrap();
        assert_eq!(rfc3339(t), "2015-07-30T20:00:00Z");
        let t = parse_timestamp("Thu, 30 Jul 2015 22:00:00 +0200").unwrap();
        assert_eq!(rfc3339(t), "2015-07-30T20:00:00Z");
    }

    #[test]
    fn parses_iso_worker_dates() {
        let t = parse_timestamp("2024-05-01T10:11:12Z").unwrap();
        assert_eq!(rfc3339(t), "2024-05-01T10:11:12Z");
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn month_bounds_handle_december_and_leap_years() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 10).unwrap();
        assert_eq!(
            month_bounds(d).1,
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        let d = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
        assert_eq!(
            month_bounds(d).0,
            NaiveDate::from_ymd_opt(2023, 12, 1).unwrap()
        );
        assert_eq!(month_bounds(d).1, d);
    }
}
