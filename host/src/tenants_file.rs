//! The tenants file (TOML): who the tenants are, which app and options each uses, and where
//! each secret comes from. Secrets are never written in the file itself.
//!
//! The host reads it by a [`TenantsSchema`] the front hands it: the host knows only its own
//! keys (`name`, `app`); the schema says which key names the connecting account, how the
//! credentials are given, which keys would hold a secret inline (refused), which plain keys
//! become plugin options and what shape a key's value must have (a vendor's identifier).

use crate::credentials::Credentials;
use crate::tenant::Tenant;
use crate::vendor_policy::IdShape;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// The host's own keys of a tenant entry: its label and its app.
const NAME: &str = "name";
const APP: &str = "app";

/// Largest secret file read.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Where one secret comes from: an environment variable named under `env`, or an owner-only
/// file named under `file` (relative to the tenants file's directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeys {
    /// The key whose value names an environment variable.
    pub env: String,
    /// The key whose value names a file.
    pub file: String,
}

/// HTTP Basic with a key id as user, acting on the connecting account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCredential {
    /// The key naming the key id; its presence selects this form.
    pub id: String,
    /// Where the key's secret comes from.
    pub secret: SecretKeys,
}

/// An OAuth 2.0 client (client credentials) for some hosts, beside the Basic credential: the
/// host mints its tokens at `token_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClientKeys {
    /// The key naming the client id; its presence adds the client.
    pub id: String,
    /// Where the client's secret comes from.
    pub secret: SecretKeys,
    /// The hosts its tokens are for.
    pub hosts: Vec<String>,
    pub token_url: String,
}

/// What a plain option key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A TOML string, passed as it is.
    Text,
    /// A TOML integer from 0 to `u32::MAX`, passed in decimal.
    Integer,
}

/// A plain (non-secret) key of a tenant entry and the plugin option it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionKey {
    /// The key in the tenants file.
    pub key: String,
    /// The option key passed to the plugin in `config.options`.
    pub option: String,
    /// What the value must be.
    pub kind: OptionKind,
}

/// What a string key's value must look like, beyond being a string. Checked when the file is
/// read, before any secret is; a value that does not fit is told by its place, its key and
/// what is wrong with it, never by the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueShape {
    /// An identifier of kind `prefix` under `shape`: the prefix, then `shape.hex_digits`
    /// hexadecimal digits.
    Id { prefix: String, shape: IdShape },
}

impl ValueShape {
    /// An identifier of kind `prefix` under `shape`.
    pub fn id(prefix: &str, shape: IdShape) -> Self {
        Self::Id {
            prefix: prefix.into(),
            shape,
        }
    }

    /// What is wrong with `value`, as a clause to follow the name of what holds it (`must be
    /// AC followed by 32 hex digits (it has 5 characters)`), or `None` when it fits. The value
    /// is never repeated: only its length, the position of a wrong character, or the kind of
    /// identifier it is instead.
    pub fn problem(&self, value: &str) -> Option<String> {
        let Self::Id { prefix, shape } = self;
        if shape.is_id(value, prefix) {
            return None;
        }
        let expected = format!("{prefix} followed by {} hex digits", shape.hex_digits);
        let length = value.chars().count();
        let other_kind = value.get(..shape.prefix_len).filter(|p| {
            shape.prefix_len > 0
                && p.bytes().all(|b| b.is_ascii_uppercase())
                && shape.is_id(value, p)
        });
        let why = if value.is_empty() {
            "it is empty".to_string()
        } else if let Some(other) = other_kind {
            format!("it starts with {other}: an identifier of another kind")
        } else if length != prefix.chars().count() + shape.hex_digits {
            format!("it has {length} characters")
        } else if !value.starts_with(prefix.as_str()) {
            format!("it does not start with {prefix}")
        } else {
            let at = value
                .chars()
                .enumerate()
                .skip(prefix.chars().count())
                .find(|(_, c)| !c.is_ascii_hexdigit())
                .map_or(0, |(i, _)| i + 1);
            format!("character {at} is not a hex digit")
        };
        Some(format!("must be {expected} ({why})"))
    }
}

/// A vendor's tenants-file keys, beyond the host's own `name` and `app`. Build it with
/// [`TenantsSchema::new`] and the methods after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantsSchema {
    /// The key naming the connecting account (required in every entry).
    pub account: String,
    /// HTTP Basic with the account as user: where its secret comes from.
    pub account_secret: Option<SecretKeys>,
    /// HTTP Basic with a key id as user, chosen when the entry names a key id.
    pub key: Option<KeyCredential>,
    /// An OAuth client for some hosts, added when the entry names a client id.
    pub oauth: Option<OAuthClientKeys>,
    /// Keys that would hold a secret in the file itself: refused, naming where secrets go.
    pub inline_secrets: Vec<String>,
    /// Plain keys that become plugin options, in the order they are passed.
    pub options: Vec<OptionKey>,
    /// The shape each of these string keys' values must have.
    pub shapes: Vec<(String, ValueShape)>,
}

impl TenantsSchema {
    /// A schema whose entries name the connecting account under `account`.
    pub fn new(account: &str) -> Self {
        Self {
            account: account.into(),
            account_secret: None,
            key: None,
            oauth: None,
            inline_secrets: Vec::new(),
            options: Vec::new(),
            shapes: Vec::new(),
        }
    }

    /// Basic with the account as user, its secret from `env` (a variable's name) or `file`.
    pub fn account_secret(mut self, env: &str, file: &str) -> Self {
        self.account_secret = Some(SecretKeys {
            env: env.into(),
            file: file.into(),
        });
        self
    }

    /// Basic with the key id under `id` as user, its secret from `env` or `file`.
    pub fn key_secret(mut self, id: &str, env: &str, file: &str) -> Self {
        self.key = Some(KeyCredential {
            id: id.into(),
            secret: SecretKeys {
                env: env.into(),
                file: file.into(),
            },
        });
        self
    }

    /// An OAuth client under `id` (its secret from `env` or `file`) whose tokens, minted at
    /// `token_url`, requests to `hosts` carry instead of the Basic credential.
    pub fn oauth_client(
        mut self,
        id: &str,
        env: &str,
        file: &str,
        hosts: &[&str],
        token_url: &str,
    ) -> Self {
        self.oauth = Some(OAuthClientKeys {
            id: id.into(),
            secret: SecretKeys {
                env: env.into(),
                file: file.into(),
            },
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            token_url: token_url.into(),
        });
        self
    }

    /// Refuse `key`: it would hold a secret in the file itself.
    pub fn refuse_inline(mut self, key: &str) -> Self {
        self.inline_secrets.push(key.into());
        self
    }

    /// The plain key `key` sets the plugin option `option`.
    pub fn option(mut self, key: &str, option: &str, kind: OptionKind) -> Self {
        self.options.push(OptionKey {
            key: key.into(),
            option: option.into(),
            kind,
        });
        self
    }

    /// The value of the string key `key` must have `shape` (e.g. a vendor's account id).
    pub fn shape(mut self, key: &str, shape: ValueShape) -> Self {
        self.shapes.push((key.into(), shape));
        self
    }

    /// The shape `key`'s value must have, if the schema gives one.
    fn shape_of(&self, key: &str) -> Option<&ValueShape> {
        self.shapes.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// The keys an entry may have, as errors list them (inline-secret keys are not among
    /// them).
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = vec![NAME, self.account.as_str(), APP];
        if let Some(s) = &self.account_secret {
            keys.extend([s.env.as_str(), s.file.as_str()]);
        }
        if let Some(k) = &self.key {
            keys.extend([k.id.as_str(), k.secret.env.as_str(), k.secret.file.as_str()]);
        }
        if let Some(o) = &self.oauth {
            keys.extend([o.id.as_str(), o.secret.env.as_str(), o.secret.file.as_str()]);
        }
        keys.extend(self.options.iter().map(|o| o.key.as_str()));
        keys
    }

    /// Whether the schema can be read by: a credential form, every key once, none empty.
    pub fn check(&self) -> Result<(), String> {
        if self.account_secret.is_none() && self.key.is_none() {
            return Err("it gives no credential form".into());
        }
        let mut seen = std::collections::HashSet::new();
        for k in self
            .keys()
            .into_iter()
            .chain(self.inline_secrets.iter().map(String::as_str))
        {
            if k.is_empty() {
                return Err("a key is empty".into());
            }
            if !seen.insert(k) {
                return Err(format!("the key {k} is used twice"));
            }
        }
        let mut shaped = std::collections::HashSet::new();
        for (k, _) in &self.shapes {
            if !shaped.insert(k.as_str()) {
                return Err(format!("the key {k} is given two shapes"));
            }
            match self.role(k) {
                Some(Role::Text) if k != NAME && k != APP => {}
                Some(Role::Option(o)) if o.kind == OptionKind::Text => {}
                _ => {
                    return Err(format!(
                        "the key {k} is given a shape but holds no plain string"
                    ));
                }
            }
        }
        Ok(())
    }

    /// What an entry's key is for.
    fn role(&self, key: &str) -> Option<Role<'_>> {
        if self.inline_secrets.iter().any(|k| k == key) {
            return Some(Role::Inline);
        }
        if let Some(o) = self.options.iter().find(|o| o.key == key) {
            return Some(Role::Option(o));
        }
        self.keys()
            .into_iter()
            .find(|k| *k == key)
            .map(|_| Role::Text)
    }

    /// Where secrets go, for the refusal of an inline one.
    fn secret_keys(&self) -> String {
        let pair = |s: &SecretKeys| format!("{} / {}", s.env, s.file);
        let mut forms = Vec::new();
        if let Some(s) = &self.account_secret {
            forms.push(pair(s));
        }
        if let Some(k) = &self.key {
            forms.push(pair(&k.secret));
        }
        if let Some(o) = &self.oauth {
            forms.push(pair(&o.secret));
        }
        forms.join(" or ")
    }

    /// The ways to give a credential, for an entry that gives none.
    fn credential_forms(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.account_secret {
            parts.extend([s.env.clone(), s.file.clone()]);
        }
        if let Some(k) = &self.key {
            parts.push(format!("{} with its secret", k.id));
        }
        match parts.split_last() {
            Some((last, rest)) if rest.len() > 1 => format!("{}, or {last}", rest.join(", ")),
            Some((last, [first])) => format!("{first} or {last}"),
            _ => parts.join(""),
        }
    }
}

/// What a key of an entry is for.
enum Role<'s> {
    /// A string the host reads itself (name, app, account, credential keys).
    Text,
    /// A plain option.
    Option(&'s OptionKey),
    /// An inline secret, refused.
    Inline,
}

/// Why a tenants file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error("cannot read tenants file {}: {}", .0.display(), io_words(.1))]
    Read(PathBuf, std::io::Error),
    #[error("tenants file {0} is not valid: {1}")]
    Parse(PathBuf, String),
    #[error("tenant {tenant:?}: {message}")]
    Tenant { tenant: String, message: String },
    #[error("the tenants-file schema is not valid: {0}")]
    Schema(String),
}

/// An I/O error in words, without the operating system's error number.
fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::IsADirectory => "it is a directory".into(),
        kind => kind.to_string(),
    }
}

/// One `[[tenant]]` entry, every key checked against the schema, no secret read yet.
struct Entry<'s> {
    name: String,
    /// Strings the host reads itself, by key, with the offset of each value.
    texts: HashMap<String, (String, usize)>,
    /// Option values in decimal or as given, by the schema's option.
    options: Vec<(&'s OptionKey, String)>,
    /// The first inline-secret key, with its offset.
    inline: Option<(String, usize)>,
    /// The first value that does not have its key's shape, as its refusal.
    malformed: Option<TenantsError>,
}

impl Entry<'_> {
    fn text(&self, key: &str) -> Option<&(String, usize)> {
        self.texts.get(key)
    }

    fn app(&self, default_app: &str) -> String {
        self.text(APP)
            .map_or_else(|| default_app.to_string(), |(a, _)| a.clone())
    }
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where a value stands, for messages: `key (line L, column C)`.
fn at(text: &str, key: &str, offset: usize) -> String {
    let (l, c) = position(text, offset);
    format!("{key} (line {l}, column {c})")
}

/// A key as messages may name it: only a plain bare key (a quoted one could be anything).
fn nameable(key: &str) -> Option<&str> {
    Some(key).filter(|k| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// A file-level refusal told by position and, when nameable, key; never by value.
fn invalid(path: &Path, text: &str, offset: usize, key: Option<&str>, why: &str) -> TenantsError {
    let (line, column) = position(text, offset);
    let mut message = format!("line {line}, column {column}");
    if let Some(k) = key.and_then(nameable) {
        message.push_str(&format!(", key {k}"));
    }
    message.push_str(&format!(": {why}"));
    TenantsError::Parse(path.to_path_buf(), message)
}

/// A TOML error told by position and key only: the toml crate's own text quotes the line,
/// which may hold a secret.
fn parse_error(path: &Path, text: &str, e: &toml::de::Error) -> TenantsError {
    let offset = e.span().map_or(0, |s| s.start);
    let (line, _) = position(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or("");
    let key = source_line.split_once('=').map(|(k, _)| k.trim());
    let kind = e
        .message()
        .split(['`', '"', '\''])
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches([',', ':'])
        .to_string();
    invalid(path, text, offset, key, &kind)
}

/// Read every entry of a tenants file by `schema`: the file's structure, each key known and
/// each value of its type. Reads no secret and refuses nothing the schema knows.
fn entries<'s>(
    path: &Path,
    text: &str,
    schema: &'s TenantsSchema,
) -> Result<Vec<Entry<'s>>, TenantsError> {
    schema.check().map_err(TenantsError::Schema)?;
    let doc = DeTable::parse(text).map_err(|e| parse_error(path, text, &e))?;
    let mut out = Vec::new();
    for (k, v) in doc.get_ref().iter() {
        if k.get_ref() != "tenant" {
            return Err(invalid(
                path,
                text,
                k.span().start,
                Some(k.get_ref()),
                "unknown key; a tenants file holds only [[tenant]] entries",
            ));
        }
        let DeValue::Array(list) = v.get_ref() else {
            return Err(invalid(
                path,
                text,
                v.span().start,
                Some("tenant"),
                "expected [[tenant]] entries",
            ));
        };
        for e in list.iter() {
            let DeValue::Table(table) = e.get_ref() else {
                return Err(invalid(
                    path,
                    text,
                    e.span().start,
                    Some("tenant"),
                    "expected a table",
                ));
            };
            out.push(entry(path, text, schema, e.span().start, table)?);
        }
    }
    Ok(out)
}

/// One entry by `schema`; `start` is where it begins, for a missing key.
fn entry<'s>(
    path: &Path,
    text: &str,
    schema: &'s TenantsSchema,
    start: usize,
    table: &DeTable<'_>,
) -> Result<Entry<'s>, TenantsError> {
    let mut texts = HashMap::new();
    let mut options = Vec::new();
    let mut inline = None;
    let mut malformed = None;
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref();
        let offset = v.span().start;
        let mut check_shape = |value: &str| {
            if malformed.is_none()
                && let Some(why) = schema.shape_of(key).and_then(|s| s.problem(value))
            {
                malformed = Some(invalid(path, text, offset, Some(key), &why));
            }
        };
        let wrong = |expected: &str| {
            invalid(
                path,
                text,
                offset,
                Some(key),
                &format!("expected {expected}, found {}", v.get_ref().type_str()),
            )
        };
        match schema.role(key) {
            None => {
                return Err(invalid(
                    path,
                    text,
                    k.span().start,
                    Some(key),
                    &format!("unknown key; the keys are {}", schema.keys().join(", ")),
                ));
            }
            Some(Role::Inline) => {
                inline.get_or_insert((key.to_string(), k.span().start));
            }
            Some(Role::Text) => {
                let DeValue::String(s) = v.get_ref() else {
                    return Err(wrong("a string"));
                };
                check_shape(s);
                texts.insert(key.to_string(), (s.to_string(), offset));
            }
            Some(Role::Option(o)) => {
                let value = match (o.kind, v.get_ref()) {
                    (OptionKind::Text, DeValue::String(s)) => {
                        check_shape(s);
                        s.to_string()
                    }
                    (OptionKind::Text, _) => return Err(wrong("a string")),
                    (OptionKind::Integer, DeValue::Integer(i)) => {
                        u32::from_str_radix(i.as_str(), i.radix())
                            .map_err(|_| {
                                invalid(
                                    path,
                                    text,
                                    offset,
                                    Some(key),
                                    &format!("expected a whole number from 0 to {}", u32::MAX),
                                )
                            })?
                            .to_string()
                    }
                    (OptionKind::Integer, _) => return Err(wrong("an integer")),
                };
                options.push((o, value));
            }
        }
    }
    for required in [NAME, schema.account.as_str()] {
        if !texts.contains_key(required) {
            return Err(invalid(
                path,
                text,
                start,
                None,
                &format!("a [[tenant]] entry has no {required}"),
            ));
        }
    }
    // Options in the schema's order, whatever the file's.
    options.sort_by_key(|(o, _)| {
        schema
            .options
            .iter()
            .position(|s| std::ptr::eq(s, *o))
            .unwrap_or(usize::MAX)
    });
    Ok(Entry {
        name: texts[NAME].0.clone(),
        texts,
        options,
        inline,
        malformed,
    })
}

/// Read a secret from an environment variable or an owner-only file. Messages name the key
/// and its place in the file, never the variable's or the file's name (either could be a
/// secret put in the wrong field) and never the value.
fn secret(
    text: &str,
    tenant: &str,
    env: Option<&(String, usize)>,
    file: Option<(usize, PathBuf)>,
    keys: &SecretKeys,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, TenantsError> {
    let fail = |message: String| TenantsError::Tenant {
        tenant: tenant.to_string(),
        message,
    };
    match (env, file) {
        (Some(_), Some(_)) => Err(fail(format!(
            "give {} or {}, not both",
            keys.env, keys.file
        ))),
        (Some((var, offset)), None) => match lookup(var) {
            Some(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(fail(format!(
                "{} names an environment variable that is not set (or is empty); export it",
                at(text, &keys.env, *offset)
            ))),
        },
        (None, Some((offset, path))) => {
            let where_ = at(text, &keys.file, offset);
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

/// Parse a tenants file by `schema`; `lookup` reads environment variables; a tenant that
/// names no `app` gets `default_app`.
pub fn parse(
    path: &Path,
    text: &str,
    schema: &TenantsSchema,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<Vec<Tenant>, TenantsError> {
    let (tenants, mut skipped) = parse_available(path, text, schema, lookup, default_app)?;
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
    schema: &TenantsSchema,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<(Vec<Tenant>, Vec<TenantsError>), TenantsError> {
    let mut entries = entries(path, text, schema)?;
    if entries.is_empty() {
        return Err(TenantsError::Parse(
            path.to_path_buf(),
            "no [[tenant]] entries".into(),
        ));
    }
    refuse_whole_file(text, schema, &mut entries)?;
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for e in &entries {
        match tenant(path, text, schema, e, lookup, default_app) {
            Ok(t) => ok.push(t),
            Err(why) => skipped.push(why),
        }
    }
    Ok((ok, skipped))
}

/// The tenants' names and apps only, reading no secret (what a job names); a file that
/// [`parse`] would refuse whole (an inline secret, a name twice, a malformed value) is refused.
pub fn names(
    path: &Path,
    schema: &TenantsSchema,
    default_app: &str,
) -> Result<Vec<(String, String)>, TenantsError> {
    Ok(identities(path, schema, default_app)?
        .into_iter()
        .map(|t| (t.name, t.app))
        .collect())
}

/// Who a tenant is, without its secret: its name, its app and its connecting account (what
/// its kept state is filed under).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantIdentity {
    /// The tenant's label.
    pub name: String,
    /// The app it uses.
    pub app: String,
    /// The connecting account (the value of the schema's account key).
    pub account: String,
}

impl TenantIdentity {
    /// The identity of `tenant`, whose secret it leaves behind.
    pub fn of(tenant: &Tenant) -> Self {
        Self {
            name: tenant.name.clone(),
            app: tenant.app.clone(),
            account: tenant.credentials.account_sid().to_string(),
        }
    }
}

/// The tenants' names, apps and accounts only, reading no secret (no variable named by a
/// secret key is looked up, no secret file is opened); refused in the cases [`names`] is.
pub fn identities(
    path: &Path,
    schema: &TenantsSchema,
    default_app: &str,
) -> Result<Vec<TenantIdentity>, TenantsError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TenantsError::Read(path.to_path_buf(), e))?;
    let mut entries = entries(path, &text, schema)?;
    refuse_whole_file(&text, schema, &mut entries)?;
    Ok(entries
        .iter()
        .map(|e| TenantIdentity {
            name: e.name.clone(),
            app: e.app(default_app),
            account: e.text(&schema.account).map_or("", |(a, _)| a).to_string(),
        })
        .collect())
}

/// What refuses the whole file once its entries are read, before any secret is: an inline
/// secret, a name used twice, then a value that does not have its key's shape.
fn refuse_whole_file(
    text: &str,
    schema: &TenantsSchema,
    entries: &mut [Entry<'_>],
) -> Result<(), TenantsError> {
    let mut names = std::collections::HashSet::new();
    for e in entries.iter() {
        if let Some((key, offset)) = &e.inline {
            return Err(TenantsError::Tenant {
                tenant: e.name.clone(),
                message: format!(
                    "{}: inline secrets are refused: use {}",
                    at(text, key, *offset),
                    schema.secret_keys()
                ),
            });
        }
        if !names.insert(e.name.clone()) {
            return Err(TenantsError::Tenant {
                tenant: e.name.clone(),
                message: "the name is used twice".into(),
            });
        }
    }
    match entries.iter_mut().find_map(|e| e.malformed.take()) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// One entry as a tenant, its secret read (inline secrets were refused for the whole file).
fn tenant(
    path: &Path,
    text: &str,
    schema: &TenantsSchema,
    e: &Entry<'_>,
    lookup: &dyn Fn(&str) -> Option<String>,
    default_app: &str,
) -> Result<Tenant, TenantsError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let fail = |message: String| TenantsError::Tenant {
        tenant: e.name.clone(),
        message,
    };
    let read = |keys: &SecretKeys| {
        let file = e.text(&keys.file).map(|(p, offset)| {
            let p = Path::new(p);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            (*offset, full)
        });
        secret(text, &e.name, e.text(&keys.env), file, keys, lookup)
    };
    let account = e.text(&schema.account).map_or("", |(a, _)| a).to_string();
    let by_key = schema
        .key
        .as_ref()
        .and_then(|k| e.text(&k.id).map(|(id, _)| (k, id)));
    let credentials = match (by_key, &schema.account_secret) {
        (Some((k, id)), _) => {
            let s = read(&k.secret)?.ok_or_else(|| {
                fail(format!(
                    "{} needs {} or {}",
                    k.id, k.secret.env, k.secret.file
                ))
            })?;
            Credentials::ApiKey {
                account_sid: account,
                key_sid: id.clone(),
                secret: s,
            }
        }
        (None, Some(keys)) => {
            let t =
                read(keys)?.ok_or_else(|| fail(format!("give {}", schema.credential_forms())))?;
            Credentials::AuthToken {
                account_sid: account,
                auth_token: t,
            }
        }
        (None, None) => return Err(fail(format!("give {}", schema.credential_forms()))),
    };
    let mut tenant = Tenant::new(e.name.clone(), e.app(default_app), credentials);
    if let Some(o) = &schema.oauth
        && let Some((id, _)) = e.text(&o.id)
    {
        let s = read(&o.secret)?.ok_or_else(|| {
            fail(format!(
                "{} needs {} or {}",
                o.id, o.secret.env, o.secret.file
            ))
        })?;
        let hosts: Vec<&str> = o.hosts.iter().map(String::as_str).collect();
        tenant = tenant.with_credential(
            &hosts,
            std::sync::Arc::new(crate::oauth::ClientCredentials::new(id, &s, &o.token_url)),
        );
    }
    for (o, value) in &e.options {
        tenant = tenant.with_option(&o.option, value);
    }
    Ok(tenant)
}

/// Load a tenants file by `schema`, reading secrets from the process environment or files;
/// tenants that name no `app` get `default_app`.
pub fn load(
    path: &Path,
    schema: &TenantsSchema,
    default_app: &str,
) -> Result<Vec<Tenant>, TenantsError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TenantsError::Read(path.to_path_buf(), e))?;
    parse(path, &text, schema, &|k| std::env::var(k).ok(), default_app)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema with Twilio-like keys, written here: the host cannot depend on a vendor's
    /// crate.
    fn schema() -> TenantsSchema {
        TenantsSchema::new("account_sid")
            .account_secret("auth_token_env", "auth_token_file")
            .key_secret("api_key_sid", "api_secret_env", "api_secret_file")
            .refuse_inline("auth_token")
            .refuse_inline("api_secret")
            .option("flex_instance_sid", "flex_instance_sid", OptionKind::Text)
            .option("page_size", "page_size", OptionKind::Integer)
    }

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
        let (ok, skipped) = parse_available(path, text, &schema(), &env, "twilio").unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            ok[0].options,
            vec![("page_size".to_string(), "10".to_string())]
        );
        assert!(
            matches!(&skipped[..], [TenantsError::Tenant { tenant, .. }] if tenant == "elsewhere")
        );
        // All or nothing for a sync on one machine; names alone need no secret.
        assert!(parse(path, text, &schema(), &env, "twilio").is_err());
        let inline = format!(
            "{text}\n[[tenant]]\nname = \"x\"\naccount_sid = \"AC3\"\nauth_token = \"oops\"\n"
        );
        assert!(
            parse_available(path, &inline, &schema(), &env, "twilio").is_err(),
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
        let t = parse(Path::new("t.toml"), text, &schema(), &env, "twilio").unwrap();
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
        let e = parse(Path::new("t.toml"), inline, &schema(), &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("inline secrets are refused") && !e.contains("oops"),
            "{e}"
        );
        let missing =
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"NOPE\"\n";
        let e = parse(Path::new("t.toml"), missing, &schema(), &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("auth_token_env (line 4, column 18)") && e.contains("not set"),
            "{e}"
        );
        let none = "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\n";
        assert!(parse(Path::new("t.toml"), none, &schema(), &env, "twilio").is_err());
        assert!(
            parse(
                Path::new("t.toml"),
                "nonsense = [",
                &schema(),
                &env,
                "twilio"
            )
            .is_err()
        );
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
        let e = parse(Path::new("t.toml"), &text, &schema(), &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(e.contains("readable or writable by others"), "{e}");
        assert!(
            !e.contains(&f.display().to_string()),
            "the path is not echoed: {e}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let t = parse(Path::new("t.toml"), &text, &schema(), &env, "twilio").unwrap();
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
            let e = parse(Path::new("t.toml"), &text, &schema(), &env, "twilio")
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{}: {e}", p.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_oauth_client_is_bound_to_its_hosts_with_its_secret_from_the_environment() {
        let with_client = schema().oauth_client(
            "client_id",
            "client_secret_env",
            "client_secret_file",
            &["iam.example.com"],
            "https://auth.example.com/token",
        );
        let text = "[[tenant]]\nname = \"acme\"\naccount_sid = \"AC1\"\nauth_token_env = \"ACME_TOKEN\"\nclient_id = \"OQ1\"\nclient_secret_env = \"GLOBEX_SECRET\"\n";
        let t = parse(Path::new("t.toml"), text, &with_client, &env, "twilio").unwrap();
        assert_eq!(t[0].credential_for("iam.example.com").label(), "OQ1");
        assert_ne!(t[0].credential_for("api.example.com").label(), "OQ1");
        assert!(t[0].secret_forms().iter().any(|f| f == "globex-secret"));
        // A client id without its secret is refused, naming where it goes.
        let missing = text.replace("client_secret_env = \"GLOBEX_SECRET\"\n", "");
        let e = parse(Path::new("t.toml"), &missing, &with_client, &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("client_id needs client_secret_env or client_secret_file"),
            "{e}"
        );
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
            let e = parse(Path::new("t.toml"), &text, &schema(), &env, "twilio")
                .unwrap_err()
                .to_string();
            assert!(!e.contains(secret), "{e}");
            assert!(e.contains("line 4"), "the place is named: {e}");
        }
    }

    #[test]
    fn another_vendors_schema_reads_its_own_keys() {
        let schema = TenantsSchema::new("org_id")
            .account_secret("api_token_env", "api_token_file")
            .key_secret("client_id", "client_secret_env", "client_secret_file")
            .refuse_inline("api_token")
            .refuse_inline("client_secret")
            .option("region", "org_region", OptionKind::Text)
            .option("batch", "batch_size", OptionKind::Integer);
        let text = r#"
[[tenant]]
name = "initech"
org_id = "org-1"
api_token_env = "ACME_TOKEN"
batch = 0x20
region = "eu"

[[tenant]]
name = "hooli"
app = "directory"
org_id = "org-2"
client_id = "cid-2"
client_secret_env = "GLOBEX_SECRET"
"#;
        let t = parse(Path::new("t.toml"), text, &schema, &env, "users").unwrap();
        assert_eq!(t[0].app, "users");
        assert_eq!(t[0].credentials.account_sid(), "org-1");
        assert_eq!(t[0].credentials.secret(), "acme-secret");
        assert_eq!(
            t[0].options,
            vec![
                ("org_region".to_string(), "eu".to_string()),
                ("batch_size".to_string(), "32".to_string())
            ],
            "options in the schema's order, integers in decimal"
        );
        assert_eq!(t[1].app, "directory");
        assert_eq!(t[1].credentials.user(), "cid-2");
        assert_eq!(t[1].credentials.account_sid(), "org-2");
        assert_eq!(t[1].credentials.secret(), "globex-secret");
        assert!(t[1].options.is_empty());

        // Another vendor's keys are unknown here, and the message lists this schema's.
        let twilio = "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\n";
        let e = parse(Path::new("t.toml"), twilio, &schema, &env, "users")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3, column 1, key account_sid: unknown key; the keys are name, org_id, app, api_token_env, api_token_file, client_id, client_secret_env, client_secret_file, region, batch"),
            "{e}"
        );
        let inline = "[[tenant]]\nname = \"a\"\norg_id = \"o\"\nclient_secret = \"shh\"\n";
        let e = parse(Path::new("t.toml"), inline, &schema, &env, "users")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("client_secret (line 4, column 1): inline secrets are refused: use api_token_env / api_token_file or client_secret_env / client_secret_file")
                && !e.contains("shh"),
            "{e}"
        );
        let none = "[[tenant]]\nname = \"a\"\norg_id = \"o\"\n";
        let e = parse(Path::new("t.toml"), none, &schema, &env, "users")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("give api_token_env, api_token_file, or client_id with its secret"),
            "{e}"
        );
        let bad = "[[tenant]]\nname = \"a\"\norg_id = \"o\"\napi_token_env = \"ACME_TOKEN\"\nbatch = -1\n";
        let e = parse(Path::new("t.toml"), bad, &schema, &env, "users")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 5, column 9, key batch: expected a whole number"),
            "{e}"
        );
        assert_eq!(
            names(Path::new("/nonexistent/t.toml"), &schema, "users")
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "cannot read tenants file /nonexistent/t.toml: no such file"
        );
    }

    #[test]
    fn a_key_only_schema_and_a_broken_schema() {
        // Only a key form: an entry with none says what to give.
        let schema = TenantsSchema::new("tenant_id").key_secret("key_id", "key_env", "key_file");
        let e = parse(
            Path::new("t.toml"),
            "[[tenant]]\nname = \"a\"\ntenant_id = \"t\"\n",
            &schema,
            &env,
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("give key_id with its secret"), "{e}");
        // A schema naming a key twice, or the host's own, or no credential form, is refused.
        for broken in [
            TenantsSchema::new("id").account_secret("id", "file"),
            TenantsSchema::new("app").account_secret("env", "file"),
            TenantsSchema::new("id")
                .account_secret("env", "file")
                .refuse_inline("env"),
            TenantsSchema::new("id"),
        ] {
            let e = parse(
                Path::new("t.toml"),
                "[[tenant]]\nname = \"a\"\n",
                &broken,
                &env,
                "x",
            )
            .unwrap_err();
            assert!(matches!(e, TenantsError::Schema(_)), "{e}");
        }
    }

    #[test]
    fn names_read_no_secret_and_the_file_is_checked_whole() {
        let dir = std::env::temp_dir().join(format!("tenants-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.toml");
        std::fs::write(
            &f,
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"UNSET_HERE\"\n\n[[tenant]]\nname = \"b\"\napp = \"flex\"\naccount_sid = \"AC2\"\napi_key_sid = \"SK2\"\napi_secret_file = \"missing\"\n",
        )
        .unwrap();
        assert_eq!(
            names(&f, &schema(), "twilio").unwrap(),
            vec![("a".into(), "twilio".into()), ("b".into(), "flex".into())]
        );
        std::fs::write(&f, "[[tenant]]\nname = \"a\"\n").unwrap();
        let e = names(&f, &schema(), "twilio").unwrap_err().to_string();
        assert!(
            e.contains("line 1, column 1: a [[tenant]] entry has no account_sid"),
            "{e}"
        );
        std::fs::write(&f, "title = \"x\"\n").unwrap();
        let e = names(&f, &schema(), "twilio").unwrap_err().to_string();
        assert!(e.contains("key title: unknown key"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn identities_read_no_secret_and_refuse_an_inline_one() {
        let dir = std::env::temp_dir().join(format!("tenants-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.toml");
        let missing = dir.join("no-such-secret");
        assert!(!missing.exists());
        // One secret from a variable unset here, one from a file that does not exist, one
        // relative file name: none is looked at.
        std::fs::write(
            &f,
            format!(
                "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"UNSET_HERE_9F3A\"\n\n\
                 [[tenant]]\nname = \"b\"\napp = \"flex\"\naccount_sid = \"AC2\"\napi_key_sid = \"SK2\"\napi_secret_file = \"{}\"\n\n\
                 [[tenant]]\nname = \"c\"\naccount_sid = \"AC3\"\nauth_token_file = \"missing-too\"\n",
                missing.display()
            ),
        )
        .unwrap();
        assert!(std::env::var_os("UNSET_HERE_9F3A").is_none());
        let id = |name: &str, app: &str, account: &str| TenantIdentity {
            name: name.into(),
            app: app.into(),
            account: account.into(),
        };
        assert_eq!(
            identities(&f, &schema(), "twilio").unwrap(),
            vec![
                id("a", "twilio", "AC1"),
                id("b", "flex", "AC2"),
                id("c", "twilio", "AC3")
            ]
        );
        assert!(
            load(&f, &schema(), "twilio").is_err(),
            "the secrets are absent"
        );
        // An inline secret still refuses the whole file, without echoing it.
        std::fs::write(
            &f,
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"X\"\n\n\
             [[tenant]]\nname = \"b\"\naccount_sid = \"AC2\"\nauth_token = \"shh-inline\"\n",
        )
        .unwrap();
        let e = identities(&f, &schema(), "twilio").unwrap_err().to_string();
        assert!(
            e.contains("inline secrets are refused") && !e.contains("shh-inline"),
            "{e}"
        );
        // As do a name used twice, a missing account and a malformed file.
        for bad in [
            "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\n[[tenant]]\nname = \"a\"\naccount_sid = \"AC2\"\n",
            "[[tenant]]\nname = \"a\"\n",
            "title = \"x\"\n",
        ] {
            std::fs::write(&f, bad).unwrap();
            assert!(identities(&f, &schema(), "twilio").is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A made-up vendor's identifiers: a kind of three letters, then 8 hex digits.
    const SHAPE: IdShape = IdShape {
        prefix_len: 3,
        hex_digits: 8,
    };

    #[test]
    fn a_value_shape_says_what_is_wrong_without_repeating_the_value() {
        let org = ValueShape::id("ORG", SHAPE);
        assert_eq!(org.problem("ORG0123abcd"), None);
        assert_eq!(
            org.problem("ORG0123ABCD"),
            None,
            "hex digits in either case"
        );
        let why = |v: &str| org.problem(v).unwrap();
        assert_eq!(
            why(""),
            "must be ORG followed by 8 hex digits (it is empty)"
        );
        assert_eq!(
            why("ORG12"),
            "must be ORG followed by 8 hex digits (it has 5 characters)"
        );
        assert_eq!(
            why("KEY0123abcd"),
            "must be ORG followed by 8 hex digits (it starts with KEY: an identifier of another kind)"
        );
        assert_eq!(
            why("org0123abcd"),
            "must be ORG followed by 8 hex digits (it does not start with ORG)"
        );
        assert_eq!(
            why("ORG0123abzd"),
            "must be ORG followed by 8 hex digits (character 10 is not a hex digit)"
        );
        // Multi-byte text is counted in characters and never echoed.
        let e = why("ORGé123abcd");
        assert!(e.contains("character 4 is not a hex digit"), "{e}");
        assert!(!e.contains('é'), "{e}");
    }

    fn shaped() -> TenantsSchema {
        TenantsSchema::new("org_id")
            .account_secret("api_token_env", "api_token_file")
            .key_secret("client_id", "client_secret_env", "client_secret_file")
            .refuse_inline("api_token")
            .option("site", "site_id", OptionKind::Text)
            .shape("org_id", ValueShape::id("ORG", SHAPE))
            .shape("client_id", ValueShape::id("KEY", SHAPE))
            .shape("site", ValueShape::id("STE", SHAPE))
    }

    #[test]
    fn shaped_keys_are_checked_before_any_secret_is_read() {
        let ok = "[[tenant]]\nname = \"a\"\norg_id = \"ORG0000000a\"\nclient_id = \"KEY0000000b\"\nclient_secret_env = \"GLOBEX_SECRET\"\nsite = \"STE0000000c\"\n";
        let t = parse(Path::new("t.toml"), ok, &shaped(), &env, "x").unwrap();
        assert_eq!(t[0].credentials.user(), "KEY0000000b");
        assert_eq!(t[0].options, vec![("site_id".into(), "STE0000000c".into())]);
        for (line, bad, why) in [
            (
                3,
                "org_id = \"ORG1\"",
                "line 3, column 10, key org_id: must be ORG followed by 8 hex digits (it has 4 characters)",
            ),
            (
                4,
                "client_id = \"ORG0000000a\"",
                "line 4, column 13, key client_id: must be KEY followed by 8 hex digits (it starts with ORG: an identifier of another kind)",
            ),
            (
                6,
                "site = \"STE0000000z\"",
                "line 6, column 8, key site: must be STE followed by 8 hex digits (character 11 is not a hex digit)",
            ),
        ] {
            let mut lines: Vec<&str> = ok.lines().collect();
            lines[line - 1] = bad;
            // The secret's variable is unset: the shape is still what is reported, as no
            // secret is read from a malformed file.
            let text = lines.join("\n").replace("GLOBEX_SECRET", "UNSET_HERE");
            let e = parse(Path::new("/x/t.toml"), &text, &shaped(), &env, "x")
                .unwrap_err()
                .to_string();
            assert_eq!(e, format!("tenants file /x/t.toml is not valid: {why}"));
            // The whole file is refused, for a worker too, and for names alone.
            assert!(parse_available(Path::new("/x/t.toml"), &text, &shaped(), &env, "x").is_err());
        }
        // A missing key and an inline secret are told first.
        let missing = "[[tenant]]\nname = \"a\"\nclient_id = \"KEY1\"\n";
        let e = parse(Path::new("t.toml"), missing, &shaped(), &env, "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no org_id"), "{e}");
        let inline = "[[tenant]]\nname = \"a\"\norg_id = \"ORG1\"\napi_token = \"shh\"\n";
        let e = parse(Path::new("t.toml"), inline, &shaped(), &env, "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("inline secrets are refused"), "{e}");
        // names() checks shapes too.
        let dir = std::env::temp_dir().join(format!("tenants-shapes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.toml");
        std::fs::write(&f, "[[tenant]]\nname = \"a\"\norg_id = \"ORG1\"\n").unwrap();
        let e = names(&f, &shaped(), "x").unwrap_err().to_string();
        assert!(e.contains("key org_id: must be ORG"), "{e}");
        // And refuses an inline secret first, as every reading of the file does.
        std::fs::write(&f, inline).unwrap();
        let e = names(&f, &shaped(), "x").unwrap_err().to_string();
        assert!(
            e.contains("inline secrets are refused") && !e.contains("shh"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_shape_on_a_key_that_holds_no_plain_string_breaks_the_schema() {
        for broken in [
            shaped().shape("org_id", ValueShape::id("ORG", SHAPE)),
            shaped().shape("nope", ValueShape::id("ORG", SHAPE)),
            shaped().shape("api_token", ValueShape::id("ORG", SHAPE)),
            shaped().shape("name", ValueShape::id("ORG", SHAPE)),
            shaped()
                .option("batch", "batch", OptionKind::Integer)
                .shape("batch", ValueShape::id("ORG", SHAPE)),
        ] {
            assert!(broken.check().is_err(), "{broken:?}");
        }
        assert_eq!(shaped().check(), Ok(()));
    }

    #[test]
    fn duplicate_names_and_an_empty_file_are_refused() {
        let twice = "[[tenant]]\nname = \"a\"\naccount_sid = \"AC1\"\nauth_token_env = \"ACME_TOKEN\"\n[[tenant]]\nname = \"a\"\naccount_sid = \"AC2\"\nauth_token_env = \"ACME_TOKEN\"\n";
        let e = parse(Path::new("t.toml"), twice, &schema(), &env, "twilio")
            .unwrap_err()
            .to_string();
        assert!(e.contains("used twice"), "{e}");
        let e = parse(
            Path::new("t.toml"),
            "# nothing\n",
            &schema(),
            &env,
            "twilio",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("no [[tenant]] entries"), "{e}");
    }
}
