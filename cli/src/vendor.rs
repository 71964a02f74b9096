//! The CLI's vendor policy: the host library trusts nothing by itself; this Twilio CLI lets a
//! plugin reach only hosts under Twilio's domain, or fewer when the operator narrows it.

/// Host suffixes a plugin run by this CLI may ever reach.
pub const TRUSTED_HOST_SUFFIXES: &[&str] = &[".twilio.com"];

/// The vendor policy in force: `$CONNECTOR_TRUSTED_HOSTS` (comma-separated exact host names or
/// `.suffix`es, each of which must itself lie under [`TRUSTED_HOST_SUFFIXES`], so an operator
/// can narrow the policy but never widen it), else [`TRUSTED_HOST_SUFFIXES`].
pub fn trusted_host_suffixes() -> Vec<String> {
    policy(std::env::var("CONNECTOR_TRUSTED_HOSTS").ok().as_deref())
}

/// The policy for an operator's narrowing `spec` (none: the vendor default).
fn policy(spec: Option<&str>) -> Vec<String> {
    let default: Vec<String> = TRUSTED_HOST_SUFFIXES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let Some(narrowed) = spec else {
        return default;
    };
    let kept: Vec<String> = narrowed
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .filter(|h| connector_host::egress::is_trusted(h.trim_start_matches('.'), &default))
        .collect();
    if kept.is_empty() {
        tracing::warn!(
            "CONNECTOR_TRUSTED_HOSTS names no host under the vendor policy; nothing is trusted"
        );
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_narrow_but_never_widen() {
        assert_eq!(policy(None), vec![".twilio.com".to_string()]);
        assert_eq!(
            policy(Some(
                "api.twilio.com, evil.example,.evil.example,twilio.com.evil.example"
            )),
            vec!["api.twilio.com".to_string()]
        );
        assert!(
            policy(Some("evil.example")).is_empty(),
            "widening trusts nothing"
        );
    }
}
