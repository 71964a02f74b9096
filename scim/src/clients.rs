//! Who may call the SCIM server: the clients file.
//!
//! A clients file (TOML) names each client that may call the server, the SHA-256 of its
//! bearer token, and what it may touch:
//!
//! ```toml
//! [[client]]
//! name = "okta"
//! token_sha256 = "<64 hex digits: the SHA-256 of the bearer token>"
//! tenants = ["acme"]          # tenant names, or ["*"] for every tenant
//! apps = ["twilio", "flex"]   # app names, or ["*"]
//! access = "read-write"       # or "read"
//! ```
//!
//! The file holds hashes only, never a token: a `token` key is refused, and so may be readable
//! by others (its permissions are not checked). Messages name the file, the line, the client
//! and the key, and never quote a value from the file (a value may be a token put in the wrong
//! place).
//!
//! Tokens made by [`new_client`] are `scim_` followed by 64 lowercase hex digits (32 random
//! bytes): 69 characters, longer than a client name may be, so a token pasted as a name is
//! refused as a name and never echoed. The hash is the SHA-256 of the whole token as the
//! client presents it (prefix included).

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The longest client name.
pub const NAME_MAX: usize = 64;

/// How tokens made by [`new_client`] begin.
pub const TOKEN_PREFIX: &str = "scim_";

/// How an operator makes a client, as messages tell it.
const NEW_CLIENT: &str = "`connector serve new-client NAME`";

/// The keys of a `[[client]]` entry, in the order messages list them.
const KEYS: [&str; 5] = [NAME, TOKEN_SHA256, TENANTS, APPS, ACCESS];
const NAME: &str = "name";
const TOKEN_SHA256: &str = "token_sha256";
const TENANTS: &str = "tenants";
const APPS: &str = "apps";
const ACCESS: &str = "access";
/// The plaintext token: refused.
const TOKEN: &str = "token";

/// What a client may do in the tenants and apps it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only (GET, and POST /.search).
    Read,
    /// Reads and writes.
    ReadWrite,
}

impl Access {
    /// As the clients file spells it: `read` or `read-write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::ReadWrite => "read-write",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a client may make a request, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// It may.
    Allowed,
    /// The tenant is not among the client's tenants.
    OtherTenant,
    /// The app is not among the client's apps.
    OtherApp,
    /// The request writes and the client has read access only.
    ReadOnly,
}

impl Scope {
    /// Whether the request may go ahead.
    pub fn is_allowed(self) -> bool {
        self == Scope::Allowed
    }

    /// The detail of a 403 refusal, e.g. `client okta may not use tenant acme`; `None` when
    /// allowed.
    pub fn refusal(self, client: &str, tenant: &str, app: &str) -> Option<String> {
        match self {
            Scope::Allowed => None,
            Scope::OtherTenant => Some(format!("client {client} may not use tenant {tenant}")),
            Scope::OtherApp => Some(format!("client {client} may not use app {app}")),
            Scope::ReadOnly => Some(format!("client {client} has read access only")),
        }
    }
}

/// One client of the clients file.
#[derive(Clone)]
pub struct Client {
    name: String,
    token_sha256: [u8; 32],
    tenants: Vec<String>,
    apps: Vec<String>,
    access: Access,
}

impl Client {
    /// Its name, unique in the file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its tenants as the file lists them (`["*"]` for every tenant).
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// Its apps as the file lists them (`["*"]` for every app).
    pub fn apps(&self) -> &[String] {
        &self.apps
    }

    /// What it may do.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether it may use `app` of `tenant`, writing if `write`. The tenant is checked
    /// first, then the app, then the access.
    pub fn scope(&self, tenant: &str, app: &str, write: bool) -> Scope {
        if !grants(&self.tenants, tenant) {
            Scope::OtherTenant
        } else if !grants(&self.apps, app) {
            Scope::OtherApp
        } else if write && self.access != Access::ReadWrite {
            Scope::ReadOnly
        } else {
            Scope::Allowed
        }
    }
}

/// Without the token hash: nothing derived from the token is printed.
impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.name)
            .field("tenants", &self.tenants)
            .field("apps", &self.apps)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// Whether a list of the file (`["*"]` or names) grants `wanted`.
fn grants(list: &[String], wanted: &str) -> bool {
    list.iter().any(|g| g == "*" || g == wanted)
}

/// The clients of a clients file: at least one, names and token hashes unique.
#[derive(Clone, Debug)]
pub struct Clients {
    origin: String,
    clients: Vec<Client>,
}

impl Clients {
    /// Read and check the clients file at `path`.
    pub fn load(path: &Path) -> Result<Clients, ClientsError> {
        let text = std::fs::read_to_string(path).map_err(|error| ClientsError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Clients::parse(&text, &path.display().to_string())
    }

    /// Check the text of a clients file; `origin` names it in messages (a path, usually).
    pub fn parse(text: &str, origin: &str) -> Result<Clients, ClientsError> {
        let at = Place { origin, text };
        let doc = DeTable::parse(text).map_err(|e| at.toml_error(&e))?;
        let mut entries = Vec::new();
        for (k, v) in sorted(doc.get_ref()) {
            let key: &str = k.get_ref();
            if key == TOKEN {
                return Err(at.invalid(k.span().start, None, Some(TOKEN), &token_refusal()));
            }
            if key != "client" {
                return Err(at.invalid(
                    k.span().start,
                    None,
                    Some(key),
                    "unknown key; a clients file holds only [[client]] entries",
                ));
            }
            let DeValue::Array(list) = v.get_ref() else {
                return Err(at.invalid(
                    v.span().start,
                    None,
                    Some("client"),
                    &format!(
                        "expected [[client]] entries, found {}",
                        a(v.get_ref().type_str())
                    ),
                ));
            };
            for e in list.iter() {
                let label = format!("#{}", entries.len() + 1);
                let DeValue::Table(table) = e.get_ref() else {
                    return Err(at.invalid(
                        e.span().start,
                        Some(&label),
                        None,
                        &format!("expected a table, found {}", a(e.get_ref().type_str())),
                    ));
                };
                entries.push(at.entry(e.span().start, &label, table)?);
            }
        }
        if entries.is_empty() {
            return Err(ClientsError::NoClients(origin.to_string()));
        }
        for (i, e) in entries.iter().enumerate() {
            let earlier = &entries[..i];
            if let Some(first) = earlier.iter().find(|f| f.client.name == e.client.name) {
                return Err(at.invalid(
                    e.name_at,
                    Some(&e.client.name),
                    Some(NAME),
                    &format!(
                        "a second client of this name (the first is at line {})",
                        line_of(text, first.name_at)
                    ),
                ));
            }
            if let Some(first) = earlier
                .iter()
                .find(|f| f.client.token_sha256 == e.client.token_sha256)
            {
                return Err(at.invalid(
                    e.hash_at,
                    Some(&e.client.name),
                    Some(TOKEN_SHA256),
                    &format!(
                        "the same token hash as client {} (line {}): each client needs its own \
                         token; make one with {NEW_CLIENT}",
                        first.client.name,
                        line_of(text, first.hash_at)
                    ),
                ));
            }
        }
        Ok(Clients {
            origin: origin.to_string(),
            clients: entries.into_iter().map(|e| e.client).collect(),
        })
    }

    /// The client whose token is `bearer_token`, if any. The token's SHA-256 is compared with
    /// every client's hash, all 32 bytes each, without stopping at a match or a difference.
    pub fn authenticate(&self, bearer_token: &str) -> Option<&Client> {
        if bearer_token.is_empty() {
            return None;
        }
        let presented: [u8; 32] = Sha256::digest(bearer_token.as_bytes()).into();
        let mut found = None;
        for client in &self.clients {
            let diff = client
                .token_sha256
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if std::hint::black_box(diff) == 0 && found.is_none() {
                found = Some(client);
            }
        }
        found
    }

    /// The client named `name`.
    pub fn get(&self, name: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.name == name)
    }

    /// Every client, in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter()
    }

    /// How many clients (at least one).
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Never true: a clients file without clients is refused.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The file as messages name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// A new client: its token, to hand to the client once, and the `[[client]]` block to append
/// to the clients file.
pub struct NewClient {
    /// `scim_` and 64 lowercase hex digits. Shown once; the file keeps only its hash.
    pub token: String,
    /// The `[[client]]` block: every tenant and app, read access, and a comment telling the
    /// operator to narrow them.
    pub toml: String,
}

/// Without the token.
impl fmt::Debug for NewClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewClient")
            .field("token", &"<redacted>")
            .field("toml", &self.toml)
            .finish()
    }
}

/// Make a client named `name`: 32 random bytes from the operating system as its token
/// (`scim_` and 64 lowercase hex digits), and the `[[client]]` block holding its hash, with
/// `tenants = ["*"]`, `apps = ["*"]` and `access = "read"`.
pub fn new_client(name: &str) -> Result<NewClient, ClientsError> {
    if let Some(why) = name_problem(name) {
        return Err(ClientsError::Name(why));
    }
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| ClientsError::Random(e.to_string()))?;
    let token = format!("{TOKEN_PREFIX}{}", hex(&bytes));
    let hash = hex(&Sha256::digest(token.as_bytes()));
    let toml = format!(
        "# Client {name}: narrow tenants and apps to those it serves, and set \
         access = \"read-write\" if it writes.\n\
         [[client]]\n\
         name = \"{name}\"\n\
         token_sha256 = \"{hash}\"\n\
         tenants = [\"*\"]\n\
         apps = [\"*\"]\n\
         access = \"read\"\n"
    );
    Ok(NewClient { token, toml })
}

/// Why a clients file, or a client name, was refused.
#[derive(Debug, thiserror::Error)]
pub enum ClientsError {
    /// The file could not be read.
    #[error("cannot read clients file {}: {}", .path.display(), io_words(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file is not valid: where, which client and key, and why.
    #[error("{origin}:{line}: {}{}{message}", client_part(.client), key_part(.key))]
    Invalid {
        origin: String,
        /// 1-based.
        line: usize,
        /// The client's name, or `#N` (its place in the file) before its name is known.
        client: Option<String>,
        key: Option<String>,
        message: String,
    },
    /// The file holds no client.
    #[error("no [[client]] in {0}: add one with `connector serve new-client NAME`")]
    NoClients(String),
    /// A name given to [`new_client`] is not a client name.
    #[error("client name {0}")]
    Name(&'static str),
    /// No random bytes for a token.
    #[error("cannot draw a random token: {0}")]
    Random(String),
}

fn client_part(client: &Option<String>) -> String {
    client
        .as_ref()
        .map_or_else(String::new, |c| format!("client {c}: "))
}

fn key_part(key: &Option<String>) -> String {
    key.as_ref()
        .map_or_else(String::new, |k| format!("key {k}: "))
}

/// An I/O error in words, without the operating system's error number.
fn io_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "it is a directory".into(),
        ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        kind => kind.to_string(),
    }
}

/// The refusal of a plaintext token in the file; names no value.
fn token_refusal() -> String {
    format!(
        "a plaintext token does not belong in a clients file: store only token_sha256, the \
         SHA-256 of the token (make a client and its token with {NEW_CLIENT})"
    )
}

/// Why `name` is not a client name, if it is not one. Never quotes the name.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty: give 1 to 64 letters, digits, '.', '_' or '-'")
    } else if name.len() > NAME_MAX {
        Some("is longer than 64 characters")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("may hold only letters, digits, '.', '_' and '-'")
    } else {
        None
    }
}

/// A key as messages may name it: a short bare key (a quoted or long one could be a token).
fn nameable(key: &str) -> Option<&str> {
    Some(key).filter(|k| {
        !k.is_empty()
            && k.len() <= 32
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML type with its article: `an integer`, `a string`.
fn a(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// 64 hex digits (either case) as 32 bytes.
fn unhex32(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// A table's entries in the file's order (the parser's map may sort them by name).
fn sorted<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(
    &'a Spanned<std::borrow::Cow<'i, str>>,
    &'a Spanned<DeValue<'i>>,
)> {
    let mut all: Vec<_> = table.iter().collect();
    all.sort_by_key(|(k, _)| k.span().start);
    all
}

/// One checked entry, with where its name and hash stand, for the checks across entries.
struct Entry {
    client: Client,
    name_at: usize,
    hash_at: usize,
}

/// The file being checked, for messages.
struct Place<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Place<'_> {
    fn invalid(
        &self,
        offset: usize,
        client: Option<&str>,
        key: Option<&str>,
        message: &str,
    ) -> ClientsError {
        let key = key.map(|k| nameable(k).unwrap_or("(an unnamed key)").to_string());
        ClientsError::Invalid {
            origin: self.origin.to_string(),
            line: line_of(self.text, offset),
            client: client.map(str::to_string),
            key,
            message: message.to_string(),
        }
    }

    /// A TOML syntax error by line and kind only: the toml crate's own text quotes the line,
    /// which may hold a token.
    fn toml_error(&self, e: &toml::de::Error) -> ClientsError {
        let offset = e.span().map_or(0, |s| s.start);
        let kind = e
            .message()
            .lines()
            .next()
            .unwrap_or("")
            .split(['`', '"', '\''])
            .next()
            .unwrap_or("")
            .trim();
        // What was expected is quoted, so cut: keep only what was found wrong.
        let kind = kind
            .strip_suffix("expected")
            .unwrap_or(kind)
            .trim()
            .trim_end_matches([',', ':', ';'])
            .trim();
        let kind = if kind.is_empty() {
            "not valid TOML".to_string()
        } else {
            format!("not valid TOML: {kind}")
        };
        self.invalid(offset, None, None, &kind)
    }

    /// Check one `[[client]]` entry starting at `start`; `label` (`#N`) names it until its
    /// name is known.
    fn entry(&self, start: usize, label: &str, table: &DeTable<'_>) -> Result<Entry, ClientsError> {
        let entries = sorted(table);
        // A plaintext token first: its refusal matters more than any other.
        if let Some((k, _)) = entries.iter().find(|(k, _)| k.get_ref() == TOKEN) {
            let client = entries
                .iter()
                .find(|(k, _)| k.get_ref() == NAME)
                .and_then(|(_, v)| v.get_ref().as_str())
                .filter(|n| name_problem(n).is_none())
                .unwrap_or(label);
            return Err(self.invalid(k.span().start, Some(client), Some(TOKEN), &token_refusal()));
        }
        // Then the name, so that every later message names the client.
        let mut name = None;
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.get_ref() == NAME) {
            let at = v.span().start;
            let Some(s) = v.get_ref().as_str() else {
                return Err(self.wrong_type(at, label, NAME, "a string", v.get_ref()));
            };
            if let Some(why) = name_problem(s) {
                return Err(self.invalid(at, Some(label), Some(NAME), why));
            }
            name = Some((s.to_string(), at));
        }
        let client_label = name.as_ref().map_or(label, |(n, _)| n.as_str()).to_string();
        let client = client_label.as_str();
        let mut hash = None;
        let mut tenants = None;
        let mut apps = None;
        let mut access = None;
        for (k, v) in &entries {
            let key: &str = k.get_ref();
            let at = v.span().start;
            match key {
                NAME => {}
                TOKEN_SHA256 => {
                    let Some(s) = v.get_ref().as_str() else {
                        return Err(self.wrong_type(at, client, key, "a string", v.get_ref()));
                    };
                    let Some(bytes) = unhex32(s) else {
                        let why = if s.starts_with(TOKEN_PREFIX) {
                            format!(
                                "this looks like the token itself: store only its SHA-256, 64 \
                                 hex digits (make a client and its token with {NEW_CLIENT})"
                            )
                        } else {
                            format!(
                                "must be 64 hex digits, the SHA-256 of the client's token; \
                                 this value has {} characters{}",
                                s.chars().count(),
                                if s.len() == 64 {
                                    ", not all hex digits"
                                } else {
                                    ""
                                }
                            )
                        };
                        return Err(self.invalid(at, Some(client), Some(key), &why));
                    };
                    hash = Some((bytes, at));
                }
                TENANTS | APPS => {
                    let what = if key == TENANTS { "tenant" } else { "app" };
                    let list = self.list(at, client, key, what, v.get_ref())?;
                    if key == TENANTS {
                        tenants = Some(list);
                    } else {
                        apps = Some(list);
                    }
                }
                ACCESS => {
                    let value = match v.get_ref().as_str() {
                        Some("read") => Access::Read,
                        Some("read-write") => Access::ReadWrite,
                        Some(_) => {
                            return Err(self.invalid(
                                at,
                                Some(client),
                                Some(key),
                                "must be \"read\" or \"read-write\"",
                            ));
                        }
                        None => {
                            return Err(self.wrong_type(
                                at,
                                client,
                                key,
                                "\"read\" or \"read-write\"",
                                v.get_ref(),
                            ));
                        }
                    };
                    access = Some(value);
                }
                _ => {
                    return Err(self.invalid(
                        k.span().start,
                        Some(client),
                        Some(key),
                        &format!("unknown key; the keys are {}", KEYS.join(", ")),
                    ));
                }
            }
        }
        let missing = |key: &str| {
            self.invalid(
                start,
                Some(client),
                Some(key),
                &format!(
                    "missing; a [[client]] needs name, token_sha256, tenants, apps and access \
                     (make one with {NEW_CLIENT})"
                ),
            )
        };
        let (name, name_at) = name.ok_or_else(|| missing(NAME))?;
        let (token_sha256, hash_at) = hash.ok_or_else(|| missing(TOKEN_SHA256))?;
        let tenants = tenants.ok_or_else(|| missing(TENANTS))?;
        let apps = apps.ok_or_else(|| missing(APPS))?;
        let access = access.ok_or_else(|| missing(ACCESS))?;
        Ok(Entry {
            client: Client {
                name,
                token_sha256,
                tenants,
                apps,
                access,
            },
            name_at,
            hash_at,
        })
    }

    /// A `tenants` or `apps` list: names, or `"*"` alone; never empty.
    fn list(
        &self,
        at: usize,
        client: &str,
        key: &str,
        what: &str,
        value: &DeValue<'_>,
    ) -> Result<Vec<String>, ClientsError> {
        let DeValue::Array(items) = value else {
            return Err(self.wrong_type(
                at,
                client,
                key,
                &format!("a list of {what} names, or [\"*\"]"),
                value,
            ));
        };
        if items.is_empty() {
            return Err(self.invalid(
                at,
                Some(client),
                Some(key),
                &format!("is empty: list the {what}s it may use, or [\"*\"] for every {what}"),
            ));
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Some(s) = item.get_ref().as_str() else {
                return Err(self.invalid(
                    item.span().start,
                    Some(client),
                    Some(key),
                    &format!(
                        "item {} is {}, not {} name",
                        i + 1,
                        a(item.get_ref().type_str()),
                        a(what)
                    ),
                ));
            };
            if s.trim().is_empty() {
                return Err(self.invalid(
                    item.span().start,
                    Some(client),
                    Some(key),
                    &format!("item {} is an empty {what} name", i + 1),
                ));
            }
            out.push(s.to_string());
        }
        if out.len() > 1 && out.iter().any(|s| s == "*") {
            return Err(self.invalid(
                at,
                Some(client),
                Some(key),
                &format!("\"*\" stands alone: it already means every {what}"),
            ));
        }
        Ok(out)
    }

    fn wrong_type(
        &self,
        at: usize,
        client: &str,
        key: &str,
        expected: &str,
        found: &DeValue<'_>,
    ) -> ClientsError {
        self.invalid(
            at,
            Some(client),
            Some(key),
            &format!("expected {expected}, found {}", a(found.type_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // "test"
    const HASH_B: &str = "60303AE22B998861BCE3B28F33EEC1BE758A213C86C93C076DBE9F558C11C752"; // "test2"

    fn sha(token: &str) -> String {
        hex(&Sha256::digest(token.as_bytes()))
    }

    fn good() -> String {
        format!(
            r#"# Our clients.
[[client]]
name = "okta"
token_sha256 = "{HASH_A}"
tenants = ["acme"]
apps = ["twilio", "flex"]
access = "read-write"

[[client]]
name = "entra.id_2"
token_sha256 = "{HASH_B}"
tenants = ["*"]
apps = ["*"]
access = "read"
"#
        )
    }

    #[test]
    fn hashes_of_the_tests_are_right() {
        assert_eq!(sha("test"), HASH_A);
        assert_eq!(sha("test2"), HASH_B.to_lowercase());
    }

    #[test]
    fn a_good_file() {
        let clients = Clients::parse(&good(), "clients.toml").unwrap();
        assert_eq!(clients.len(), 2);
        assert!(!clients.is_empty());
        assert_eq!(clients.origin(), "clients.toml");
        let okta = clients.get("okta").unwrap();
        assert_eq!(okta.name(), "okta");
        assert_eq!(okta.tenants(), ["acme"]);
        assert_eq!(okta.apps(), ["twilio", "flex"]);
        assert_eq!(okta.access(), Access::ReadWrite);
        let entra = clients.get("entra.id_2").unwrap();
        assert_eq!(entra.tenants(), ["*"]);
        assert_eq!(entra.access(), Access::Read);
        let names: Vec<_> = clients.iter().map(Client::name).collect();
        assert_eq!(names, ["okta", "entra.id_2"]);
    }

    #[test]
    fn inline_tables_and_any_key_order() {
        let text = format!(
            "client = [{{ access = \"read\", apps = [\"*\"], tenants = [\"t\"], \
             token_sha256 = \"{HASH_A}\", name = \"z\" }}]\n"
        );
        let clients = Clients::parse(&text, "c.toml").unwrap();
        assert_eq!(clients.get("z").unwrap().tenants(), ["t"]);
    }

    /// One client, with `body` as its keys.
    fn one(body: &str) -> String {
        format!("# comment\n[[client]]\n{body}")
    }

    fn keys(except: &str, extra: &str) -> String {
        let all = [
            ("name", "name = \"okta\"".to_string()),
            ("token_sha256", format!("token_sha256 = \"{HASH_A}\"")),
            ("tenants", "tenants = [\"acme\"]".to_string()),
            ("apps", "apps = [\"twilio\"]".to_string()),
            ("access", "access = \"read\"".to_string()),
        ];
        let mut lines: Vec<String> = all
            .into_iter()
            .filter(|(k, _)| *k != except)
            .map(|(_, l)| l)
            .collect();
        if !extra.is_empty() {
            lines.push(extra.to_string());
        }
        one(&(lines.join("\n") + "\n"))
    }

    #[test]
    fn each_error_names_file_line_client_and_key() {
        let two = |second: &str| {
            format!(
                "[[client]]\nname = \"okta\"\ntoken_sha256 = \"{HASH_A}\"\ntenants = [\"*\"]\n\
                 apps = [\"*\"]\naccess = \"read\"\n\n[[client]]\n{second}"
            )
        };
        let cases: Vec<(&str, String, Vec<&str>)> = vec![
            (
                "empty file",
                String::new(),
                vec![
                    "no [[client]] in clients.toml: add one with `connector serve new-client NAME`",
                ],
            ),
            (
                "comments only",
                "# nothing yet\n".into(),
                vec!["no [[client]] in clients.toml"],
            ),
            (
                "empty client array",
                "client = []\n".into(),
                vec!["no [[client]] in clients.toml"],
            ),
            (
                "syntax error",
                "[[client]]\nname = \"okta\nfoo".into(),
                vec!["clients.toml:3: not valid TOML: key with no value"],
            ),
            (
                "duplicate key",
                "[[client]]\nname = \"a\"\nname = \"b\"\n".into(),
                vec!["clients.toml:3: not valid TOML: duplicate key"],
            ),
            (
                "unknown top-level key",
                "title = \"x\"\n".into(),
                vec![
                    "clients.toml:1: key title: unknown key; a clients file holds only [[client]]",
                ],
            ),
            (
                "client is a table",
                "[client]\nname = \"a\"\n".into(),
                vec![
                    "clients.toml:",
                    "key client: expected [[client]] entries, found a table",
                ],
            ),
            (
                "unknown key",
                keys("", "colour = \"blue\""),
                vec![
                    "clients.toml:8: client okta: key colour: unknown key; the keys are name, \
                     token_sha256, tenants, apps, access",
                ],
            ),
            (
                "unknown key before name is still by client",
                one("aaa = 1\nname = \"okta\"\n"),
                vec!["clients.toml:3: client okta: key aaa: unknown key"],
            ),
            (
                "a long unknown key is not echoed",
                keys("", &format!("scim_{} = 1", "a".repeat(64))),
                vec!["clients.toml:8: client okta: key (an unnamed key): unknown key"],
            ),
            (
                "missing name",
                keys("name", ""),
                vec!["clients.toml:2: client #1: key name: missing; a [[client]] needs"],
            ),
            (
                "missing token_sha256",
                keys("token_sha256", ""),
                vec!["clients.toml:2: client okta: key token_sha256: missing"],
            ),
            (
                "missing tenants",
                keys("tenants", ""),
                vec!["clients.toml:2: client okta: key tenants: missing"],
            ),
            (
                "missing apps",
                keys("apps", ""),
                vec!["clients.toml:2: client okta: key apps: missing"],
            ),
            (
                "missing access, second client",
                two(&format!(
                    "name = \"b\"\ntoken_sha256 = \"{HASH_B}\"\ntenants = [\"*\"]\napps = [\"*\"]\n"
                )),
                vec!["clients.toml:8: client b: key access: missing"],
            ),
            (
                "empty name",
                one("name = \"\"\n"),
                vec!["clients.toml:3: client #1: key name: is empty"],
            ),
            (
                "invalid name",
                one("name = \"ok ta\"\n"),
                vec!["clients.toml:3: client #1: key name: may hold only letters, digits"],
            ),
            (
                "long name",
                one(&format!("name = \"{}\"\n", "a".repeat(65))),
                vec!["clients.toml:3: client #1: key name: is longer than 64 characters"],
            ),
            (
                "name not a string",
                one("name = 7\n"),
                vec!["clients.toml:3: client #1: key name: expected a string, found an integer"],
            ),
            (
                "second client without a name is #2",
                two("tenants = []\n"),
                vec!["clients.toml:9: client #2: key tenants: is empty"],
            ),
            (
                "duplicate names",
                two(&format!(
                    "name = \"okta\"\ntoken_sha256 = \"{HASH_B}\"\ntenants = [\"*\"]\n\
                     apps = [\"*\"]\naccess = \"read\"\n"
                )),
                vec![
                    "clients.toml:9: client okta: key name: a second client of this name (the \
                     first is at line 2)",
                ],
            ),
            (
                "duplicate token hashes (case aside)",
                two(&format!(
                    "name = \"b\"\ntoken_sha256 = \"{}\"\ntenants = [\"*\"]\napps = [\"*\"]\n\
                     access = \"read\"\n",
                    HASH_A.to_uppercase()
                )),
                vec![
                    "clients.toml:10: client b: key token_sha256: the same token hash as client \
                     okta (line 3): each client needs its own token",
                ],
            ),
            (
                "hash too short",
                keys("token_sha256", "token_sha256 = \"abc\""),
                vec![
                    "clients.toml:7: client okta: key token_sha256: must be 64 hex digits",
                    "this value has 3 characters",
                ],
            ),
            (
                "hash not hex",
                keys(
                    "token_sha256",
                    &format!("token_sha256 = \"{}\"", "g".repeat(64)),
                ),
                vec![
                    "key token_sha256: must be 64 hex digits",
                    "not all hex digits",
                ],
            ),
            (
                "hash not a string",
                keys("token_sha256", "token_sha256 = 12"),
                vec!["clients.toml:7: client okta: key token_sha256: expected a string"],
            ),
            (
                "empty tenants",
                keys("tenants", "tenants = []"),
                vec![
                    "clients.toml:7: client okta: key tenants: is empty: list the tenants it \
                     may use, or [\"*\"] for every tenant",
                ],
            ),
            (
                "empty apps",
                keys("apps", "apps = []"),
                vec!["clients.toml:7: client okta: key apps: is empty: list the apps"],
            ),
            (
                "tenants not a list",
                keys("tenants", "tenants = \"acme\""),
                vec!["clients.toml:7: client okta: key tenants: expected a list of tenant names"],
            ),
            (
                "app item not a string",
                keys("apps", "apps = [\"a\", 3]"),
                vec![
                    "clients.toml:7: client okta: key apps: item 2 is an integer, not an app name",
                ],
            ),
            (
                "empty tenant name",
                keys("tenants", "tenants = [\"\"]"),
                vec!["key tenants: item 1 is an empty tenant name"],
            ),
            (
                "star with others",
                keys("apps", "apps = [\"*\", \"twilio\"]"),
                vec!["clients.toml:7: client okta: key apps: \"*\" stands alone"],
            ),
            (
                "bad access",
                keys("access", "access = \"admin\""),
                vec!["clients.toml:7: client okta: key access: must be \"read\" or \"read-write\""],
            ),
            (
                "access not a string",
                keys("access", "access = true"),
                vec!["clients.toml:7: client okta: key access: expected \"read\" or"],
            ),
            (
                "client not a table",
                "client = [1]\n".into(),
                vec!["clients.toml:1: client #1: expected a table, found an integer"],
            ),
        ];
        for (what, text, fragments) in cases {
            let e = Clients::parse(&text, "clients.toml")
                .expect_err(what)
                .to_string();
            assert!(!e.contains('\n'), "{what}: not one line: {e}");
            for f in fragments {
                assert!(e.contains(f), "{what}: {e:?} lacks {f:?}");
            }
        }
    }

    #[test]
    fn a_plaintext_token_is_refused_and_never_echoed() {
        // As long as a real token (69 characters), so too long to pass as a name.
        let secret = format!("scim_0123456789abcdefSECRETVALUE{}", "f".repeat(37));
        assert_eq!(secret.len(), 69);
        let cases = [
            keys("", &format!("token = \"{secret}\"")),
            keys("token_sha256", &format!("token = \"{secret}\"")),
            one(&format!("token = \"{secret}\"\nbogus = 1\n")),
            format!("token = \"{secret}\"\n"),
            // The token where its hash belongs.
            keys("token_sha256", &format!("token_sha256 = \"{secret}\"")),
            // A syntax error on the token's line.
            one(&format!("name = \"okta\"\ntoken = \"{secret}")),
            one(&format!("name = \"{secret}\"\n")),
        ];
        for (i, text) in cases.iter().enumerate() {
            let e = Clients::parse(text, "clients.toml")
                .unwrap_err()
                .to_string();
            assert!(!e.contains("SECRET"), "case {i} echoes the token: {e}");
            assert!(!e.contains("0123456789"), "case {i} echoes the token: {e}");
            let debug = format!("{:?}", Clients::parse(text, "clients.toml").unwrap_err());
            assert!(!debug.contains("SECRET"), "case {i} debug: {debug}");
        }
        let e = Clients::parse(&cases[0], "clients.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "clients.toml:8: client okta: key token: a plaintext token does not belong in a \
                 clients file: store only token_sha256"
            ),
            "{e}"
        );
        assert!(e.contains("`connector serve new-client NAME`"), "{e}");
        let e = Clients::parse(&cases[2], "clients.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("client #1: key token: a plaintext token"), "{e}");
        let e = Clients::parse(&cases[3], "clients.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clients.toml:1: key token: a plaintext token"),
            "{e}"
        );
        let e = Clients::parse(&cases[4], "clients.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("key token_sha256: this looks like the token itself"),
            "{e}"
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!(
            "connector-scim-clients-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let good_path = dir.join("clients.toml");
        std::fs::write(&good_path, good()).unwrap();
        assert_eq!(Clients::load(&good_path).unwrap().len(), 2);

        let bad_path = dir.join("bad.toml");
        std::fs::write(&bad_path, keys("access", "access = \"x\"")).unwrap();
        let e = Clients::load(&bad_path).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}:7: client okta: key access:",
                bad_path.display()
            )),
            "{e}"
        );

        let empty_path = dir.join("empty.toml");
        std::fs::write(&empty_path, "").unwrap();
        let e = Clients::load(&empty_path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "no [[client]] in {}: add one with `connector serve new-client NAME`",
                empty_path.display()
            )
        );

        let missing = dir.join("missing.toml");
        let e = Clients::load(&missing).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "cannot read clients file {}: no such file",
                missing.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn authenticate_by_token() {
        let clients = Clients::parse(&good(), "clients.toml").unwrap();
        let cases = [
            ("test", Some("okta")),
            ("test2", Some("entra.id_2")),
            ("test3", None),
            ("tes", None),
            ("Test", None),
            ("", None),
            (HASH_A, None),
        ];
        for (token, want) in cases {
            assert_eq!(
                clients.authenticate(token).map(Client::name),
                want,
                "token {token:?}"
            );
        }
    }

    #[test]
    fn scope_by_tenant_app_and_access() {
        let clients = Clients::parse(&good(), "clients.toml").unwrap();
        let okta = clients.get("okta").unwrap();
        let entra = clients.get("entra.id_2").unwrap();
        let cases = [
            (okta, "acme", "twilio", false, Scope::Allowed),
            (okta, "acme", "flex", true, Scope::Allowed),
            (okta, "other", "twilio", false, Scope::OtherTenant),
            (okta, "other", "nope", true, Scope::OtherTenant),
            (okta, "acme", "nope", false, Scope::OtherApp),
            (okta, "acme", "nope", true, Scope::OtherApp),
            (okta, "*", "twilio", false, Scope::OtherTenant),
            (entra, "anything", "any-app", false, Scope::Allowed),
            (entra, "acme", "twilio", true, Scope::ReadOnly),
        ];
        for (client, tenant, app, write, want) in cases {
            assert_eq!(
                client.scope(tenant, app, write),
                want,
                "{} {tenant} {app} {write}",
                client.name()
            );
        }
        assert!(Scope::Allowed.is_allowed());
        assert!(!Scope::ReadOnly.is_allowed());
        assert_eq!(Scope::Allowed.refusal("okta", "t", "a"), None);
        assert_eq!(
            Scope::OtherTenant.refusal("okta", "X", "Y").unwrap(),
            "client okta may not use tenant X"
        );
        assert_eq!(
            Scope::OtherApp.refusal("okta", "X", "Y").unwrap(),
            "client okta may not use app Y"
        );
        assert_eq!(
            Scope::ReadOnly.refusal("okta", "X", "Y").unwrap(),
            "client okta has read access only"
        );
        assert_eq!(Access::ReadWrite.to_string(), "read-write");
    }

    #[test]
    fn debug_prints_nothing_secret() {
        let clients = Clients::parse(&good(), "clients.toml").unwrap();
        let debug = format!("{clients:?}");
        assert!(debug.contains("okta"), "{debug}");
        assert!(!debug.to_lowercase().contains(&HASH_A[..16]), "{debug}");
        assert!(!debug.contains("token_sha256"), "{debug}");
    }

    #[test]
    fn new_client_authenticates_against_its_block() {
        let made = new_client("okta").unwrap();
        assert!(made.token.starts_with(TOKEN_PREFIX));
        assert_eq!(made.token.len(), TOKEN_PREFIX.len() + 64);
        assert!(
            made.token[TOKEN_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert!(made.toml.starts_with("# "), "{}", made.toml);
        assert!(
            made.toml.contains("narrow tenants and apps"),
            "{}",
            made.toml
        );
        assert!(
            made.toml.contains("access = \"read-write\""),
            "{}",
            made.toml
        );
        assert!(
            !made.toml.contains(&made.token),
            "the block holds the token"
        );

        let clients = Clients::parse(&made.toml, "new").unwrap();
        let client = clients.authenticate(&made.token).unwrap();
        assert_eq!(client.name(), "okta");
        assert_eq!(client.tenants(), ["*"]);
        assert_eq!(client.apps(), ["*"]);
        assert_eq!(client.access(), Access::Read);
        assert!(clients.authenticate(&made.token[1..]).is_none());

        // Appended to a file, it stays valid, and its token names it.
        let other = new_client("entra").unwrap();
        assert_ne!(made.token, other.token);
        let both = format!("{}\n{}", made.toml, other.toml);
        let clients = Clients::parse(&both, "both").unwrap();
        assert_eq!(clients.authenticate(&other.token).unwrap().name(), "entra");
        assert_eq!(clients.authenticate(&made.token).unwrap().name(), "okta");

        let debug = format!("{made:?}");
        assert!(debug.contains("token: \"<redacted>\""), "{debug}");
        assert!(!debug.contains(&made.token), "{debug}");
    }

    #[test]
    fn new_client_refuses_bad_names() {
        let cases = [
            ("", "client name is empty"),
            ("has space", "client name may hold only"),
            ("quote\"", "client name may hold only"),
            ("é", "client name may hold only"),
        ];
        for (name, want) in cases {
            let e = new_client(name).unwrap_err().to_string();
            assert!(e.starts_with(want), "{name:?}: {e}");
        }
        let long = "a".repeat(NAME_MAX + 1);
        assert_eq!(
            new_client(&long).unwrap_err().to_string(),
            "client name is longer than 64 characters"
        );
        assert!(new_client(&"a".repeat(NAME_MAX)).is_ok());
        assert!(new_client("A.b_c-9").is_ok());
    }

    #[test]
    fn unhex_either_case() {
        assert_eq!(unhex32(HASH_B), unhex32(&HASH_B.to_lowercase()));
        assert!(unhex32(&"0".repeat(63)).is_none());
        assert!(unhex32(&format!("{}é", "0".repeat(62))).is_none());
        assert_eq!(hex(&unhex32(HASH_A).unwrap()), HASH_A);
    }
}
