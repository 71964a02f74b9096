//! The tenants file (TOML): who the tenants are, which app and options each uses, and where
//! each secret comes from. Secrets are never written in the file itself.

use crate::credentials::Credentials;
use crate::options::FLEX_INSTANCE;
use crate::tenant::Tenant;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why a tenants file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error("cannot read tenants file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("tenants file {0} is not valid: {1}")]
    Parse(PathBuf, String),
    #[error("tenant {tenant:?}: {message}")]
    Tenant { tenant: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "tenant")]
    tenants: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    account_sid: String,
    app: Option<String>,
    auth_token_env: Option<String>,
    auth_token_file: Option<PathBuf>,
    api_key_sid: Option<String>,
    api_secret_env: Option<String>,
    api_secret_file: Option<PathBuf>,
    flex_instance_sid: Option<String>,
    // Present only to refuse them with a clear message.
    auth_token: Option<toml::Value>,
    api_secret: Option<toml::Value>,
}

/// Read a secret from an environment variable or an owner-only file.
fn secret(
    tenant: &str,
    env: Option<&str>,
    file: Option<&Path>,
    what: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, TenantsError> {
    let fail = |message: String| TenantsError::Tenant {
        tenant: tenant.to_string(),
        message,
    };
    match (env, file) {
        (Some(_), Some(_)) => Err(fail(format!(
            "give {what} as an environment variable or a file, not both"
        ))),
        (Some(var), None) => match lookup(var) {
            Some(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(fail(format!(
                "environment variable {var} (its {what}) is not set"
            ))),
        },
        (None, Some(path)) => {
            check_owner_only(path).map_err(fail)?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read {what} file {}: {e}", path.display())))?;
            let v = text.trim();
            if v.is_empty() {
                return Err(fail(format!("{what} file {} is empty", path.display())));
            }
            Ok(Some(v.to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// A secret file must be readable by its owner only (no group or other permission bits).
#[cfg(unix)]
fn check_owner_only(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "secret file {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_only(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Parse a tenants file; `lookup` reads environment variables; a tenant that names no `app`
/// gets `default_app`.
pub fn parse(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<Vec<Tenant>, TenantsError> {
    let file: File =
        toml::from_str(text).map_err(|e| TenantsError::Parse(path.to_path_buf(), e.to_string()))?;
    if file.tenants.is_empty() {
        return Err(TenantsError::Parse(
            path.to_path_buf(),
            "no [[tenant]] entries".into(),
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for e in file.tenants {
        let fail = |message: String| TenantsError::Tenant {
            tenant: e.name.clone(),
            message,
        };
        if e.auth_token.is_some() || e.api_secret.is_some() {
            return Err(fail(
                "inline secrets are refused: use auth_token_env / auth_token_file or api_secret_env / api_secret_file".into(),
            ));
        }
        if out.iter().any(|t: &Tenant| t.name == e.name) {
            return Err(fail("the name is used twice".into()));
        }
        let resolve = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    base.join(p)
                }
            })
        };
        let credentials = match &e.api_key_sid {
            Some(key) => {
                let s = secret(
                    &e.name,
                    e.api_secret_env.as_deref(),
                    resolve(&e.api_secret_file).as_deref(),
                    "API secret",
                    lookup,
                )?
                .ok_or_else(|| {
                    fail("api_key_sid needs api_secret_env or api_secret_file".into())
                })?;
                Credentials::ApiKey {
                    account_sid: e.account_sid.clone(),
                    key_sid: key.clone(),
                    secret: s,
                }
            }
            None => {
                let t = secret(
                    &e.name,
                    e.auth_token_env.as_deref(),
                    resolve(&e.auth_token_file).as_deref(),
                    "auth token",
                    lookup,
                )?
                .ok_or_else(|| {
                    fail(
                        "give auth_token_env, auth_token_file, or api_key_sid with its secret"
                            .into(),
                    )
                })?;
                Credentials::AuthToken {
                    account_sid: e.account_sid.clone(),
                    auth_token: t,
                }
            }
        };
        let app = e.app.clone().unwrap_or_else(|| default_app.to_string());
        let mut tenant = Tenant::new(e.name.clone(), app, credentials);
        if let Some(go) = &e.flex_instance_sid {
            tenant = tenant.with_option(FLEX_INSTANCE, go);
        }
        out.push(tenant);
    }
    Ok(out)
}

/// Load a tenants file, reading secrets from the process environment or files; tenants that
/// name no `app` get `default_app`.
pub fn load(path: &Path, default_app: &str) -> Result<Vec<Tenant>, TenantsError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TenantsError::Read(path.to_path_buf(), e))?;
    parse(path, &text, &|k| std::env::var(k).ok(), default_app)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "ACME_TOKEN" => Some("acme-secret".into()),
            "GLOBEX_SECRET" => Some("globex-secret".into()),
            _ => None,
        }
    }

    #[test]
    fn reads_tenants_with_env_secrets_and_options() {
        let text = r#"
[[tenant]]
name = "acme"
account_sid = "AC1"
auth_token_env = "ACME_TOKEN"

[[tenant]]
name = "globex"
account_sid = "AC2"
app = "flex"
api_key_sid = "SK2"
api_secret_env = "GLOBEX_SECRET"
flex_instance_sid = "GO2"
"#;
        let t = parse(Path::new("t.toml"), text, &env, "twilio").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].credentials.user(), "AC1");
        assert_eq!(t[1].credentials.user(), "SK2");
        assert_eq!(t[1].app, "flex");
        assert_eq!(
            t[1].options,
            vec![("flex_instance_sid".to_string(), "GO2".to_string())]
        );
    }

    #[test]
    fn inline_secrets_and_missing_ones_are_refused() {
        let inline = "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token = \"oops\"\n";
        let e = parse(Path::new("t.toml"), inline, &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("inline secrets are refused") && !e.contains("oops"),
            "{e}"
        );
        let missing =
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"NOPE\"\n";
        assert!(
            parse(Path::new("t.toml"), missing, &env, "twilio")
                .unwrap_err()
                .to_string()
                .contains("NOPE")
        );
        let none = "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\n";
        assert!(parse(Path::new("t.toml"), none, &env, "twilio").is_err());
        assert!(parse(Path::new("t.toml"), "nonsense = [", &env, "twilio").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tenants-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("token");
        std::fs::write(&f, "file-secret\n").unwrap();
        let text = format!(
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_file = \"{}\"\n",
            f.display()
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = parse(Path::new("t.toml"), &text, &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(e.contains("readable by others"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = parse(Path::new("t.toml"), &text, &env, "twilio").unwrap();
        assert_eq!(t[0].credentials.secret(), "file-secret");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
