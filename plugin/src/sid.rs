//! Twilio SID shapes: two upper-case letters naming the resource type, then 32 hex digits.
//! Every id is checked here before it goes into a URL path.

use crate::errors::ConnectorError;
use connector_routes::IdShape;

/// The shape of a Twilio SID, as route templates (`{AC}`) and the checks below use it.
pub const SID_SHAPE: IdShape = IdShape {
    prefix_len: 2,
    hex_digits: 32,
};

/// Whether `s` is a Twilio SID with `prefix` (e.g. `AC`, `WK`, `FU`, `GO`).
pub fn is_sid(s: &str, prefix: &str) -> bool {
    prefix.len() == SID_SHAPE.prefix_len && SID_SHAPE.is_id(s, prefix)
}

/// What a SID with `prefix` looks like, for error messages.
pub fn describe(prefix: &str) -> String {
    format!("{prefix} followed by {} hex digits", SID_SHAPE.hex_digits)
}

/// `Ok` when `id` is a SID with `prefix`, else an invalid-input error naming `what` it should be.
pub fn require(id: &str, prefix: &str, what: &str) -> crate::model::Result<()> {
    if is_sid(id, prefix) {
        Ok(())
    } else {
        Err(ConnectorError::InvalidInput(format!(
            "{id:?} is not a Twilio {what} SID ({})",
            describe(prefix)
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
        assert!(
            !is_sid("A0123456789abcdef0123456789abcdef", "A"),
            "one-letter prefix"
        );
        assert!(
            !is_sid("ACAC0123456789abcdef0123456789abcdef", "ACAC"),
            "long prefix"
        );
        let e = require("nope", "AC", "account").unwrap_err();
        assert!(e.to_string().contains("account SID"), "{e}");
        assert!(
            e.to_string().contains("AC followed by 32 hex digits"),
            "{e}"
        );
    }
}
