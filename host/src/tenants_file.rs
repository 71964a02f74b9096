//! The tenants file (TOML): who the tenants are, which app and options each uses, and where
//! each secret comes from. Secrets are never written in the file itself.

use crate::credentials::Credentials;
use crate::options::{FLEX_INSTANCE, PAGE_SIZE};
use crate::tenant::Tenant;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The keys a tenant entry may have (named in errors; values never are).
const KEYS: &[&str] = &[
    "name",
    "account_sid",
    "app",
    "auth_token_env",
    "auth_token_file",
    "api_key_sid",
    "api_secret_env",
    "api_secret_file",
    "flex_instance_sid",
    "page_size",
];

/// Largest secret file read.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

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
    auth_token_env: Option<Spanned<String>>,
    auth_token_file: Option<Spanned<PathBuf>>,
    api_key_sid: Option<String>,
    api_secret_env: Option<Spanned<String>>,
    api_secret_file: Option<Spanned<PathBuf>>,
    flex_instance_sid: Option<String>,
    #[serde(default)]
    page_size: Option<u32>,
    // Present only to refuse them with a clear message.
    auth_token: Option<toml::Value>,
    api_secret: Option<toml::Value>,
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where a field stands, for messages: `key (line L, column C)`.
fn at<T>(text: &str, key: &str, v: &Spanned<T>) -> String {
    let (l, c) = position(text, v.span().start);
    format!("{key} (line {l}, column {c})")
}

/// A TOML error told by position and key only: the toml crate's own text quotes the line,
/// which may hold a secret.
fn parse_error(path: &Path, text: &str, e: &toml::de::Error) -> TenantsError {
    let offset = e.span().map_or(0, |s| s.start);
    let (line, column) = position(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or("");
    let key = source_line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    let kind = e
        .message()
        .split(['`', '"', '\''])
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches([',', ':'])
        .to_string();
    let mut message = format!("line {line}, column {column}");
    if let Some(k) = key {
        message.push_str(&format!(", key {k}"));
    }
    message.push_str(&format!(": {kind}"));
    if e.message().contains("unknown field") {
        message.push_str(&format!("; the keys are {}", KEYS.join(", ")));
    }
    TenantsError::Parse(path.to_path_buf(), message)
}

/// Read a secret from an environment variable or an owner-only file. Messages name the key
/// and its place in the file, never the variable's or the file's name (either could be a
/// secret put in the wrong field) and never the value.
#[allow(clippy::too_many_arguments)]
fn secret(
    text: &str,
    tenant: &str,
    env: Option<&Spanned<String>>,
    file: Option<(&Spanned<PathBuf>, PathBuf)>,
    env_key: &str,
    file_key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, TenantsError> {
    let fail = |message: String| TenantsError::Tenant {
        tenant: tenant.to_string(),
        message,
    };
    match (env, file) {
        (Some(_), Some(_)) => Err(fail(format!("give {env_key} or {file_key}, not both"))),
        (Some(var), None) => match lookup(var.get_ref()) {
            Some(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(fail(format!(
                "{} names an environment variable that is not set (or is empty); export it",
                at(text, env_key, var)
            ))),
        },
        (None, Some((spanned, path))) => {
            let where_ = at(text, file_key, spanned);
            let v = read_secret_file(&path).map_err(|why| fail(format!("{where_}: {why}")))?;
            Ok(Some(v))
        }
        (None, None) => Ok(None),
    }
}

/// Open a secret file once, without following a link and without blocking (a FIFO would
/// hang), then check the open handle: a regular file, owned by the current user, with no
/// group or other permission bits, of a sane size.
#[cfg(unix)]
fn read_secret_file(path: &Path) -> Result<String, String> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => {
                "the secret file is a symbolic link; point to the file itself".to_string()
            }
            _ => format!("the secret file cannot be opened ({})", e.kind()),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| format!("the secret file cannot be inspected ({})", e.kind()))?;
    if !meta.file_type().is_file() {
        return Err("the secret file is not a regular file".into());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err("the secret file is not owned by the user running the connector".into());
    }
    let mode = meta.mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the secret file is readable or writable by others (mode {:o}); chmod 600 it",
            mode & 0o777
        ));
    }
    if meta.len() > MAX_SECRET_BYTES {
        return Err(format!(
            "the secret file is larger than {MAX_SECRET_BYTES} bytes"
        ));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| format!("the secret file cannot be read ({})", e.kind()))?;
    let v = text.trim();
    if v.is_empty() {
        return Err("the secret file is empty".into());
    }
    Ok(v.to_string())
}

#[cfg(not(unix))]
fn read_secret_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("the secret file cannot be read ({})", e.kind()))?;
    let v = text.trim();
    if v.is_empty() {
        return Err("the secret file is empty".into());
    }
    Ok(v.to_string())
}

/// Parse a tenants file; `lookup` reads environment variables; a tenant that names no `app`
/// gets `default_app`.
pub fn parse(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<Vec<Tenant>, TenantsError> {
    let (tenants, mut skipped) = parse_available(path, text, lookup, default_app)?;
    match skipped.drain(..).next() {
        Some(why) => Err(why),
        None => Ok(tenants),
    }
}

/// Parse a tenants file keeping the tenants whose secrets can be read here: a worker of a
/// cluster may hold only some tenants' secrets. Inline secrets, duplicate names or a malformed
/// file still reject the whole file; each skipped tenant comes back with why.
pub fn parse_available(
    path: &Path,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<(Vec<Tenant>, Vec<TenantsError>), TenantsError> {
    let file: File = toml::from_str(text).map_err(|e| parse_error(path, text, &e))?;
    if file.tenants.is_empty() {
        return Err(TenantsError::Parse(
            path.to_path_buf(),
            "no [[tenant]] entries".into(),
        ));
    }
    let mut names = std::collections::HashSet::new();
    for e in &file.tenants {
        if e.auth_token.is_some() || e.api_secret.is_some() {
            return Err(TenantsError::Tenant {
                tenant: e.name.clone(),
                message: "inline secrets are refused: use auth_token_env / auth_token_file or api_secret_env / api_secret_file".into(),
            });
        }
        if !names.insert(e.name.clone()) {
            return Err(TenantsError::Tenant {
                tenant: e.name.clone(),
                message: "the name is used twice".into(),
            });
        }
    }
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for e in &file.tenants {
        match tenant(path, text, e, lookup, default_app) {
            Ok(t) => ok.push(t),
            Err(why) => skipped.push(why),
        }
    }
    Ok((ok, skipped))
}

/// The tenants' names and apps only, reading no secret (what a job names).
pub fn names(path: &Path, default_app: &str) -> Result<Vec<(String, String)>, TenantsError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TenantsError::Read(path.to_path_buf(), e))?;
    let file: File = toml::from_str(&text).map_err(|e| parse_error(path, &text, &e))?;
    Ok(file
        .tenants
        .iter()
        .map(|e| {
            (
                e.name.clone(),
                e.app.clone().unwrap_or_else(|| default_app.to_string()),
            )
        })
        .collect())
}

/// One entry as a tenant, its secret read (inline secrets were refused for the whole file).
fn tenant(
    path: &Path,
    text: &str,
    e: &Entry,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<Tenant, TenantsError> {
    let base = path.parent().unwrap_or(Path::new("."));
    {
        let fail = |message: String| TenantsError::Tenant {
            tenant: e.name.clone(),
            message,
        };
        fn resolve<'a>(
            base: &Path,
            p: &'a Option<Spanned<PathBuf>>,
        ) -> Option<(&'a Spanned<PathBuf>, PathBuf)> {
            p.as_ref().map(|s| {
                let p = s.get_ref();
                let full = if p.is_absolute() {
                    p.clone()
                } else {
                    base.join(p)
                };
                (s, full)
            })
        }
        let credentials = match &e.api_key_sid {
            Some(key) => {
                let s = secret(
                    text,
                    &e.name,
                    e.api_secret_env.as_ref(),
                    resolve(base, &e.api_secret_file),
                    "api_secret_env",
                    "api_secret_file",
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
                    text,
                    &e.name,
                    e.auth_token_env.as_ref(),
                    resolve(base, &e.auth_token_file),
                    "auth_token_env",
                    "auth_token_file",
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
        if let Some(n) = e.page_size {
            tenant = tenant.with_option(PAGE_SIZE, &n.to_string());
        }
        Ok(tenant)
    }
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
    fn a_worker_keeps_the_tenants_whose_secrets_it_holds() {
        let text = r#"
[[tenant]]
name = "acme"
account_sid = "AC1"
auth_token_env = "ACME_TOKEN"
page_size = 10

[[tenant]]
name = "elsewhere"
account_sid = "AC2"
auth_token_env = "NOT_HERE"
"#;
        let path = Path::new("/x/tenants.toml");
        let (ok, skipped) = parse_available(path, text, &env, "twilio").unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            ok[0].options,
            vec![("page_size".to_string(), "10".to_string())]
        );
        assert!(
            matches!(&skipped[..], [TenantsError::Tenant { tenant, .. }] if tenant == "elsewhere")
        );
        // All or nothing for a sync on one machine; names alone need no secret.
        assert!(parse(path, text, &env, "twilio").is_err());
        let inline = format!(
            "{text}\n[[tenant]]\nname = \"x\"\naccount_sid = \"AC3\"\nauth_token = \"oops\"\n"
        );
        assert!(
            parse_available(path, &inline, &env, "twilio").is_err(),
            "inline secrets refuse the file"
        );
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
        let e = parse(Path::new("t.toml"), missing, &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("auth_token_env (line 4, column 18)") && e.contains("not set"),
            "{e}"
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
        assert!(e.contains("readable or writable by others"), "{e}");
        assert!(
            !e.contains(&f.display().to_string()),
            "the path is not echoed: {e}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = parse(Path::new("t.toml"), &text, &env, "twilio").unwrap();
        assert_eq!(t[0].credentials.secret(), "file-secret");
        // A link to it, a directory and a FIFO are refused without blocking.
        let link = dir.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (p, why) in [
            (&link, "symbolic link"),
            (&dir, "not a regular file"),
            (&fifo, "not a regular file"),
        ] {
            let text = format!(
                "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_file = \"{}\"\n",
                p.display()
            );
            let e = parse(Path::new("t.toml"), &text, &env, "twilio")
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{}: {e}", p.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_never_echo_a_value() {
        let secret = "s3cr3t-VALUE-9f8e7d";
        for text in [
            // A misspelled secret key.
            format!("[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_tokn = \"{secret}\"\n"),
            // An unquoted secret.
            format!("[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = {secret}\n"),
            // A secret put where a variable name goes.
            format!(
                "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"{secret}\"\n"
            ),
            // A secret put where a file name goes.
            format!(
                "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_file = \"{secret}\"\n"
            ),
            // A value of the wrong type.
            format!(
                "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = [\"{secret}\"]\n"
            ),
        ] {
            let e = parse(Path::new("t.toml"), &text, &env, "twilio")
                .unwrap_err()
                .to_string();
            assert!(!e.contains(secret), "{e}");
            assert!(e.contains("line 4"), "the place is named: {e}");
        }
    }
}
