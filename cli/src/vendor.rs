//! The CLI's vendor policy: the host library trusts nothing by itself; this Twilio CLI hands it
//! Twilio's policy (`twilio-policy`: the hosts and routes a Twilio governance connector may use
//! and what each write may say), narrowed when the operator asks for fewer hosts.

use connector_host::VendorPolicy;
use std::sync::Arc;

/// The vendor policy in force: Twilio's, narrowed to `$CONNECTOR_TRUSTED_HOSTS` when set
/// (comma-separated exact host names or `.suffix`es, each of which must itself lie under the
/// policy's hosts, so an operator can narrow it but never widen it).
pub fn policy() -> anyhow::Result<Arc<VendorPolicy>> {
    narrowed(std::env::var("CONNECTOR_TRUSTED_HOSTS").ok().as_deref())
}

/// The policy for an operator's narrowing `spec` (none: Twilio's own).
fn narrowed(spec: Option<&str>) -> anyhow::Result<Arc<VendorPolicy>> {
    let policy = twilio_policy::policy()
        .map_err(|e| anyhow::anyhow!("the built-in Twilio vendor policy is invalid: {e}"))?;
    let Some(spec) = spec else {
        return Ok(Arc::new(policy));
    };
    let hosts: Vec<String> = spec.split(',').map(str::to_string).collect();
    let policy = policy.narrowed(&hosts);
    if policy.trusted_hosts().is_empty() {
        tracing::warn!(
            "CONNECTOR_TRUSTED_HOSTS names no host under the vendor policy; nothing is trusted"
        );
    }
    Ok(Arc::new(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_narrow_but_never_widen() {
        assert_eq!(
            narrowed(None).unwrap().trusted_hosts(),
            [".twilio.com".to_string()]
        );
        assert_eq!(
            narrowed(Some(
                "api.twilio.com, evil.example,.evil.example,twilio.com.evil.example"
            ))
            .unwrap()
            .trusted_hosts(),
            ["api.twilio.com".to_string()]
        );
        assert!(
            narrowed(Some("evil.example"))
                .unwrap()
                .trusted_hosts()
                .is_empty(),
            "widening trusts nothing"
        );
    }
}
