//! The on-disk cache of precompiled components. Deserializing an artifact runs native code,
//! so an artifact is used only if it provably came from this host: each file carries an
//! HMAC-SHA256, under a key kept outside the cache directory (`DIR.key` beside it, or
//! `$CONNECTOR_CACHE_KEY`; mode 600, the user's own), of its cache name and bytes. The directory must be the user's own and not writable by others;
//! there is no fallback to a shared temporary directory; files are created exclusively and
//! never through a link.

use crate::private_files::{
    check_private, create_new_private, create_private_dir, getrandom_fill, nonce, read_no_follow,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write;
use std::path::{Path, PathBuf};

type HmacSha256 = Hmac<Sha256>;

/// Length of the MAC trailer of every cache file.
const MAC_LEN: usize = 32;

/// Default cache directory: `$CONNECTOR_CACHE_DIR`, else `$XDG_CACHE_HOME` or `~/.cache`;
/// `None` when none is set (then nothing is cached: no shared temporary directory is used).
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("CONNECTOR_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("governance-connector"))
}

/// Default MAC key file for `cache_dir`: `$CONNECTOR_CACHE_KEY`, else a file beside (never
/// inside) the cache directory, so every process that uses a cache uses its key.
pub fn default_key_file(cache_dir: &Path) -> PathBuf {
    if let Some(k) = std::env::var_os("CONNECTOR_CACHE_KEY") {
        return PathBuf::from(k);
    }
    let mut sibling = cache_dir.as_os_str().to_owned();
    sibling.push(".key");
    PathBuf::from(sibling)
}

/// A cache directory that passed its checks, with the key that signs its files.
pub struct CompileCache {
    dir: PathBuf,
    key: Vec<u8>,
}

impl CompileCache {
    /// Open (creating with mode 0700 when missing) `dir`, and read or create the key at
    /// `key_file`. Refuses a directory not owned by the user or writable by others, and a key
    /// inside the directory.
    pub fn open(dir: &Path, key_file: &Path) -> Result<Self, String> {
        create_private_dir(dir)?;
        check_private(dir, true)?;
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("cache directory {}: {e}", dir.display()))?;
        if let Some(parent) = key_file.parent() {
            create_private_dir(parent)?;
            let parent = parent
                .canonicalize()
                .map_err(|e| format!("key directory {}: {e}", parent.display()))?;
            if parent.starts_with(&dir) {
                return Err(format!(
                    "the cache key {} must not be inside the cache directory",
                    key_file.display()
                ));
            }
        }
        let key = read_or_create_key(key_file)?;
        Ok(Self { dir, key })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.cwasm"))
    }

    fn mac(&self, name: &str, bytes: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(name.as_bytes());
        m.update(&[0]);
        m.update(bytes);
        m
    }

    /// The artifact stored under `name`, if there is one and its MAC proves it is ours.
    /// A file that fails the check is removed, with a warning.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        let path = self.path(name);
        let mut data = read_no_follow(&path).ok()?;
        if data.len() < MAC_LEN {
            tracing::warn!("discarding cache entry {}: too short", path.display());
            let _ = std::fs::remove_file(&path);
            return None;
        }
        let tag = data.split_off(data.len() - MAC_LEN);
        if self.mac(name, &data).verify_slice(&tag).is_err() {
            tracing::warn!(
                "discarding cache entry {}: it was not written by this host (MAC mismatch)",
                path.display()
            );
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(data)
    }

    /// Store `artifact` under `name`: a new file created exclusively (mode 0600), then renamed
    /// into place.
    pub fn put(&self, name: &str, artifact: &[u8]) -> Result<(), String> {
        let tag = self.mac(name, artifact).finalize().into_bytes();
        let tmp = self
            .dir
            .join(format!(".{name}.{}.{}.tmp", std::process::id(), nonce()));
        let mut f = create_new_private(&tmp)?;
        let written = f
            .write_all(artifact)
            .and_then(|_| f.write_all(&tag))
            .and_then(|_| f.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("writing {}: {e}", tmp.display()));
        }
        std::fs::rename(&tmp, self.path(name)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("storing the compiled plugin: {e}")
        })
    }
}

/// The key at `path`, created (32 random bytes, mode 0600, exclusively) when missing. An
/// existing key must be the user's own and readable by nobody else.
fn read_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    match read_no_follow(path) {
        Ok(key) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let meta = std::fs::symlink_metadata(path)
                    .map_err(|e| format!("cannot inspect {}: {e}", path.display()))?;
                // SAFETY: geteuid has no preconditions and cannot fail.
                let me = unsafe { libc::geteuid() };
                if meta.uid() != me || meta.mode() & 0o077 != 0 {
                    return Err(format!(
                        "the cache key {} must be the user's own with mode 600",
                        path.display()
                    ));
                }
            }
            if key.len() < 32 {
                return Err(format!("the cache key {} is too short", path.display()));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            getrandom_fill(&mut key)?;
            let mut f = create_new_private(path)?;
            f.write_all(&key)
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read the cache key {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn only_artifacts_signed_by_the_key_are_returned() {
        let root = scratch("sign");
        let cache = CompileCache::open(&root.join("cache"), &root.join("keys/cache.key")).unwrap();
        cache.put("abc", b"native code").unwrap();
        assert_eq!(cache.get("abc").as_deref(), Some(&b"native code"[..]));
        // Another name's artifact copied over, or a forged file, is discarded.
        std::fs::copy(cache.path("abc"), cache.path("xyz")).unwrap();
        assert_eq!(cache.get("xyz"), None);
        assert!(!cache.path("xyz").exists(), "a bad entry is removed");
        std::fs::write(
            cache.path("abc"),
            b"attacker bytes and a fake mac 0123456789",
        )
        .unwrap();
        assert_eq!(cache.get("abc"), None);
        // A different key does not verify the first key's files.
        cache.put("abc", b"native code").unwrap();
        let other = CompileCache::open(&root.join("cache"), &root.join("keys2/cache.key")).unwrap();
        assert_eq!(other.get("abc"), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn shared_directories_links_and_keys_inside_the_cache_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = scratch("perm");
        let dir = root.join("cache");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = CompileCache::open(&dir, &root.join("k/cache.key"))
            .err()
            .unwrap();
        assert!(e.contains("writable by group or others"), "{e}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let e = CompileCache::open(&dir, &dir.join("cache.key"))
            .err()
            .unwrap();
        assert!(e.contains("must not be inside"), "{e}");
        let cache = CompileCache::open(&dir, &root.join("k/cache.key")).unwrap();
        cache.put("real", b"x").unwrap();
        std::os::unix::fs::symlink(cache.path("real"), cache.path("link")).unwrap();
        assert_eq!(cache.get("link"), None, "links are not followed");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
