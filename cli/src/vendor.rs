//! The CLI's vendor policy: the host library trusts nothing by itself; this Twilio CLI lets a
//! plugin reach only hosts under Twilio's domain.

/// Host suffixes a plugin run by this CLI may ever reach.
pub const TRUSTED_HOST_SUFFIXES: &[&str] = &[".twilio.com"];

/// [`TRUSTED_HOST_SUFFIXES`] as the host options want them.
pub fn trusted_host_suffixes() -> Vec<String> {
    TRUSTED_HOST_SUFFIXES
        .iter()
        .map(|s| s.to_string())
        .collect()
}
