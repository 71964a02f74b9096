//! Twilio SID shapes: two upper-case letters naming the resource type, then 32 hex digits.
//! Every id is checked here before it goes into a URL path.

use crate::errors::ConnectorError;

/// Whether `s` is a Twilio SID with `prefix` (e.g. `AC`, `WK`, `FU`, `GO`).
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `Ok` when `id` is a SID with `prefix`, else an invalid-input error naming `what` it should be.
pub fn require(id: &str, prefix: &str, what: &str) -> crate::model::Result<()> {
    if is_sid(id, prefix) {
        Ok(())
    } else {
        Err(ConnectorError::InvalidInput(format!(
            "{id:?} is not a Twilio {what} SID ({prefix} followed by 32 hex digits)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_exactly() {
        assert!(is_sid("AC0123456789abcdef0123456789ABCDEF", "AC"));
        assert!(
            !is_sid("AC0123456789abcdef0123456789abcde", "AC"),
            "too short"
        );
        assert!(
            !is_sid("WK0123456789abcdef0123456789abcdef", "AC"),
            "other type"
        );
        assert!(
            !is_sid("AC0123456789abcdef0123456789abcdeg", "AC"),
            "not hex"
        );
        assert!(
            !is_sid("AC/123456789abcdef0123456789abcdef", "AC"),
            "path character"
        );
        let e = require("nope", "AC", "account").unwrap_err();
        assert!(e.to_string().contains("account SID"), "{e}");
    }
}
