//! Credentials from Twilio's usual environment variables (`TWILIO_ACCOUNT_SID`,
//! `TWILIO_AUTH_TOKEN`, `TWILIO_API_KEY`, `TWILIO_API_SECRET`): the CLI's single-tenant source,
//! and the Flex instance SID (`--flex-instance` / `TWILIO_FLEX_INSTANCE_SID`). Missing values are
//! told first, then SIDs that do not have Twilio's shape; a secret's value is never repeated.

use connector_host::Credentials;
use twilio_policy::{ACCOUNT_SID_PREFIX, API_KEY_SID_PREFIX, FLEX_INSTANCE_SID_PREFIX, sid};

/// Why credentials could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("TWILIO_ACCOUNT_SID is not set: the connecting account's SID is required")]
    MissingAccountSid,
    #[error(
        "no secret found: set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY together with TWILIO_API_SECRET"
    )]
    MissingSecret,
    #[error("TWILIO_API_KEY is set but TWILIO_API_SECRET is not")]
    MissingApiSecret,
    #[error("TWILIO_CLIENT_ID is set but TWILIO_CLIENT_SECRET is not")]
    MissingClientSecret,
    #[error("{0} is empty")]
    Empty(&'static str),
    /// A SID that does not have Twilio's shape; `problem` says how, without the value.
    #[error("{name} {problem}")]
    Malformed {
        /// The variable or flag that holds it.
        name: &'static str,
        problem: String,
    },
}

impl CredentialError {
    /// What to do next.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::Malformed {
                name: "TWILIO_FLEX_INSTANCE_SID" | "--flex-instance",
                ..
            } => {
                "set --flex-instance (or TWILIO_FLEX_INSTANCE_SID) to the GO… SID on Twilio Console > Flex > Overview"
            }
            Self::Malformed {
                name: "TWILIO_API_KEY",
                ..
            } => {
                "set TWILIO_API_KEY to the API key's SID (SK…, not its secret) from Twilio Console > Account > API keys & tokens"
            }
            Self::Malformed {
                name: "TWILIO_ORGANIZATION_SID",
                ..
            } => {
                "set TWILIO_ORGANIZATION_SID to the Organization SID (OR…) on Twilio Console > Admin Center"
            }
            Self::MissingClientSecret => {
                "export TWILIO_CLIENT_SECRET, the secret of the OAuth app (Twilio Console > Admin Center > OAuth apps)"
            }
            Self::Malformed { .. } => {
                "set TWILIO_ACCOUNT_SID to the Account SID (AC…) from Twilio Console > Account > API keys & tokens"
            }
            _ => "export the variables named above, or pass --tenants FILE",
        }
    }
}

/// `value` must be a SID of kind `prefix`; `name` is what holds it.
fn check_sid(name: &'static str, prefix: &str, value: &str) -> Result<(), CredentialError> {
    match sid(prefix).problem(value) {
        Some(problem) => Err(CredentialError::Malformed { name, problem }),
        None => Ok(()),
    }
}

/// The Flex instance SID, from `--flex-instance` or (`from_env`) `TWILIO_FLEX_INSTANCE_SID`:
/// it must be GO and 32 hex digits.
pub fn check_flex_instance(value: &str, from_env: bool) -> Result<(), CredentialError> {
    let name = if from_env {
        "TWILIO_FLEX_INSTANCE_SID"
    } else {
        "--flex-instance"
    };
    check_sid(name, FLEX_INSTANCE_SID_PREFIX, value.trim())
}

/// The variable `k` through `get`, trimmed: `None` when unset, refused when empty.
fn nonempty(
    get: &impl Fn(&str) -> Option<String>,
    k: &'static str,
) -> Result<Option<String>, CredentialError> {
    match get(k) {
        Some(v) if v.trim().is_empty() => Err(CredentialError::Empty(k)),
        Some(v) => Ok(Some(v.trim().to_string())),
        None => Ok(None),
    }
}

/// Read Twilio's usual variables through `get` (e.g. `std::env::var`); an API key wins over
/// the auth token when both are set. Every value that is needed must be there before any is
/// checked: then the Account SID and the API key's SID must have Twilio's shape.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialError> {
    let nonempty = |k: &'static str| nonempty(&get, k);
    let account_sid = nonempty("TWILIO_ACCOUNT_SID")?.ok_or(CredentialError::MissingAccountSid)?;
    let credentials = if let Some(key_sid) = nonempty("TWILIO_API_KEY")? {
        let secret = nonempty("TWILIO_API_SECRET")?.ok_or(CredentialError::MissingApiSecret)?;
        Credentials::ApiKey {
            account_sid,
            key_sid,
            secret,
        }
    } else {
        let auth_token = nonempty("TWILIO_AUTH_TOKEN")?.ok_or(CredentialError::MissingSecret)?;
        Credentials::AuthToken {
            account_sid,
            auth_token,
        }
    };
    check_sid(
        "TWILIO_ACCOUNT_SID",
        ACCOUNT_SID_PREFIX,
        credentials.account_sid(),
    )?;
    if let Credentials::ApiKey { key_sid, .. } = &credentials {
        check_sid("TWILIO_API_KEY", API_KEY_SID_PREFIX, key_sid)?;
    }
    Ok(credentials)
}

/// Read from the process environment.
pub fn from_env() -> Result<Credentials, CredentialError> {
    from_lookup(|k| std::env::var(k).ok())
}

/// Only the connecting account's SID, `TWILIO_ACCOUNT_SID` through `get`, which must have
/// Twilio's shape: what names the environment's tenant's kept state. No secret variable is
/// read.
pub fn account_sid_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<String, CredentialError> {
    let account_sid =
        nonempty(&get, "TWILIO_ACCOUNT_SID")?.ok_or(CredentialError::MissingAccountSid)?;
    check_sid("TWILIO_ACCOUNT_SID", ACCOUNT_SID_PREFIX, &account_sid)?;
    Ok(account_sid)
}

/// The account SID from the process environment (see [`account_sid_from_lookup`]).
pub fn account_sid_from_env() -> Result<String, CredentialError> {
    account_sid_from_lookup(|k| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const AC: &str = "AC0000000000000000000000000000a001";
    const SK: &str = "SK00000000000000000000000000000001";

    #[test]
    fn prefers_api_key_and_never_debug_prints_secrets() {
        let c = from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", AC),
            ("TWILIO_AUTH_TOKEN", "tok-secret"),
            ("TWILIO_API_KEY", SK),
            ("TWILIO_API_SECRET", "key-secret"),
        ]))
        .unwrap();
        assert_eq!(c.user(), SK);
        assert_eq!(c.account_sid(), AC);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("key-secret") && dbg.contains("redacted"));
    }

    #[test]
    fn missing_pieces_are_named() {
        let e = from_lookup(lookup(&[("TWILIO_AUTH_TOKEN", "x")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_ACCOUNT_SID"));
        let e = from_lookup(lookup(&[("TWILIO_ACCOUNT_SID", "AC1")])).unwrap_err();
        assert!(e.to_string().contains("TWILIO_AUTH_TOKEN"));
        let e = from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_API_KEY", "SK"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("TWILIO_API_SECRET"));
        let e = from_lookup(lookup(&[
            ("TWILIO_ACCOUNT_SID", "AC1"),
            ("TWILIO_AUTH_TOKEN", " "),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("empty"));
    }

    #[test]
    fn sids_of_the_wrong_shape_are_named_after_missing_values_and_never_echo_a_secret() {
        let err = |pairs: &[(&str, &str)]| from_lookup(lookup(pairs)).unwrap_err().to_string();
        // A missing secret is told before a malformed SID.
        assert!(err(&[("TWILIO_ACCOUNT_SID", "ACxyz")]).contains("TWILIO_AUTH_TOKEN"));
        assert_eq!(
            err(&[
                ("TWILIO_ACCOUNT_SID", "ACxyz"),
                ("TWILIO_AUTH_TOKEN", "tok-secret")
            ]),
            "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (it has 5 characters)"
        );
        // The auth token pasted where the SID goes: neither value is repeated.
        let token = "0123456789abcdef0123456789abcdef";
        let e = err(&[("TWILIO_ACCOUNT_SID", token), ("TWILIO_AUTH_TOKEN", token)]);
        assert_eq!(
            e,
            "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (it has 32 characters)"
        );
        let e = err(&[
            ("TWILIO_ACCOUNT_SID", AC),
            ("TWILIO_API_KEY", "key-secret-pasted-here"),
            ("TWILIO_API_SECRET", "key-secret"),
        ]);
        assert_eq!(
            e,
            "TWILIO_API_KEY must be SK followed by 32 hex digits (it has 22 characters)"
        );
        assert!(!e.contains("key-secret"));
        let e = err(&[
            ("TWILIO_ACCOUNT_SID", SK),
            ("TWILIO_API_KEY", AC),
            ("TWILIO_API_SECRET", "key-secret"),
        ]);
        assert_eq!(
            e,
            "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (it starts with SK: an identifier of another kind)"
        );
    }

    #[test]
    fn the_account_sid_alone_reads_no_secret_and_names_its_variable() {
        let read = std::cell::RefCell::new(Vec::new());
        let get = |k: &str| {
            read.borrow_mut().push(k.to_string());
            lookup(&[("TWILIO_ACCOUNT_SID", AC)])(k)
        };
        assert_eq!(account_sid_from_lookup(get).unwrap(), AC);
        assert_eq!(
            *read.borrow(),
            ["TWILIO_ACCOUNT_SID"],
            "no secret is looked up"
        );
        let err = |pairs: &[(&str, &str)]| {
            account_sid_from_lookup(lookup(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[("TWILIO_AUTH_TOKEN", "tok-secret")]),
            "TWILIO_ACCOUNT_SID is not set: the connecting account's SID is required"
        );
        assert_eq!(
            err(&[("TWILIO_ACCOUNT_SID", " ")]),
            "TWILIO_ACCOUNT_SID is empty"
        );
        assert_eq!(
            err(&[("TWILIO_ACCOUNT_SID", "ACxyz")]),
            "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits (it has 5 characters)"
        );
    }

    #[test]
    fn the_flex_instance_is_named_by_where_it_came_from() {
        assert!(check_flex_instance("GO0000000000000000000000000000e001", true).is_ok());
        let e = check_flex_instance("GO123", false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--flex-instance must be GO followed by 32 hex digits (it has 5 characters)"
        );
        assert!(e.next_step().contains("Flex > Overview"));
        let e = check_flex_instance("WS0000000000000000000000000000e001", true).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("TWILIO_FLEX_INSTANCE_SID must be GO followed by 32 hex digits"),
            "{e}"
        );
    }
}

/// The Organization and its OAuth client, from `TWILIO_ORGANIZATION_SID`, `TWILIO_CLIENT_ID`
/// and `TWILIO_CLIENT_SECRET` (each optional; a client id needs its secret, and the SID must be
/// OR and 32 hex digits).
pub struct OrganizationAccess {
    pub organization_sid: Option<String>,
    /// The client id and its secret.
    pub client: Option<(String, String)>,
}

/// Read the Organization's variables through `get`.
pub fn organization_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<OrganizationAccess, CredentialError> {
    let nonempty = |k: &'static str| nonempty(&get, k);
    let organization_sid = nonempty("TWILIO_ORGANIZATION_SID")?;
    let client = match nonempty("TWILIO_CLIENT_ID")? {
        Some(id) => Some((
            id,
            nonempty("TWILIO_CLIENT_SECRET")?.ok_or(CredentialError::MissingClientSecret)?,
        )),
        None => None,
    };
    if let Some(or) = &organization_sid {
        check_sid(
            "TWILIO_ORGANIZATION_SID",
            twilio_policy::ORGANIZATION_SID_PREFIX,
            or,
        )?;
    }
    Ok(OrganizationAccess {
        organization_sid,
        client,
    })
}

#[cfg(test)]
mod organization_tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn an_organization_client_needs_its_secret_and_a_well_formed_sid() {
        let or = "OR0000000000000000000000000000aa01";
        let ok = organization_from_lookup(vars(&[
            ("TWILIO_ORGANIZATION_SID", or),
            ("TWILIO_CLIENT_ID", "OQ1"),
            ("TWILIO_CLIENT_SECRET", "s3cret-value"),
        ]))
        .unwrap();
        assert_eq!(ok.organization_sid.as_deref(), Some(or));
        assert_eq!(ok.client, Some(("OQ1".into(), "s3cret-value".into())));
        let e = organization_from_lookup(vars(&[("TWILIO_CLIENT_ID", "OQ1")]))
            .err()
            .unwrap();
        assert!(matches!(e, CredentialError::MissingClientSecret));
        let e = organization_from_lookup(vars(&[("TWILIO_ORGANIZATION_SID", "ORxyz")]))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("TWILIO_ORGANIZATION_SID must be OR"),
            "{e}"
        );
        let none = organization_from_lookup(vars(&[])).unwrap();
        assert!(none.organization_sid.is_none() && none.client.is_none());
    }
}
