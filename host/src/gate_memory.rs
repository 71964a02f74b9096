//! What each account's gate learned (`upstream_gate.rs`), kept between processes, so that a
//! later run starts at the account's limit instead of climbing to it again (or, for a low
//! limit, storming it again).
//!
//! Only the host writes it, from what its gate learned from the upstream's answers; a plugin
//! neither reads nor writes it. It is filed by gate key (the connecting account and a digest of
//! the credential, `Credentials::gate_key`), so a tenant that merely names an account, with
//! another or a wrong secret, neither reads nor changes what the account's gate remembers. A
//! memory older than [`REMEMBERED_FOR`] is not used: the account starts from scratch.
//!
//! On disk ([`GateMemoryDir`]): `DIR/<account>/<digest>.json`, private files written whole and
//! renamed into place. A file that cannot be read as a memory is ignored with a warning: what
//! it costs is a slow start, never a call.

use crate::private_files::{
    check_private, create_new_private, create_private_dir, nonce, read_no_follow,
};
use crate::state::tenant_state::segment;
use connector_limit::Learned;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory under a host's state directory where [`GateMemoryDir`] files memories (a name
/// no tenant's state can have: those are `%`-escaped).
pub const DIR_NAME: &str = ".limits";

/// How long a remembered limit is used.
pub const REMEMBERED_FOR: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// A gate whose learning has not changed tells its memory again after this long, so a limit
/// confirmed by every run does not go stale.
pub const RETOLD_AFTER: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The largest memory file read.
const MAX_FILE_BYTES: u64 = 4096;

/// Where gates' memories are kept. The host recalls a gate's memory when the gate is first
/// used in a process and remembers what it learned after each call that changed it.
pub trait GateMemory: Send + Sync {
    /// What the gate `key` learned in an earlier process, and when, if it is still to be used.
    fn recall(&self, key: &str) -> Option<(Learned, chrono::DateTime<chrono::Utc>)>;
    /// Keep what the gate `key` has learned. Failures are the memory's to report (a lost
    /// memory costs a slow start, never a call).
    fn remember(&self, key: &str, learned: Learned);
}

/// One remembered limit, as a file holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Remembered {
    format: u32,
    /// The connecting account.
    pub account: String,
    /// Requests in flight a new gate starts at.
    pub start: usize,
    /// The level the upstream accepted at its last throttle, if it throttled.
    pub ceiling: Option<usize>,
    /// The account's whole ceiling as the upstream reported it then.
    pub reported_ceiling: Option<usize>,
    /// When it was learned.
    pub learned_at: chrono::DateTime<chrono::Utc>,
}

impl Remembered {
    fn learned(&self) -> Learned {
        let cap = crate::upstream_gate::MAX_LIMIT;
        Learned {
            start: self.start.clamp(1, cap),
            ceiling: self.ceiling.map(|c| c.clamp(1, cap)),
            reported_ceiling: self.reported_ceiling.map(|c| c.min(cap)),
        }
    }

    /// Whether it is still to be used at `now`: learned less than [`REMEMBERED_FOR`] ago, and
    /// not in the future (beyond a clock's drift), so a wrong timestamp cannot keep it forever.
    pub fn fresh(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let age = now - self.learned_at;
        age <= REMEMBERED_FOR && age >= -RETOLD_AFTER
    }
}

/// Gates' memories in a private directory.
pub struct GateMemoryDir {
    dir: PathBuf,
}

impl GateMemoryDir {
    /// Memories kept in `dir` (created private when the first is written).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// Where the memory of gate `key` (`account/digest`) is filed.
    fn path(&self, key: &str) -> Option<PathBuf> {
        let (account, digest) = key.split_once('/')?;
        if digest.is_empty() || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(
            self.dir
                .join(segment(account))
                .join(format!("{digest}.json")),
        )
    }

    fn read(path: &Path) -> Result<Option<Remembered>, String> {
        let bytes = match read_no_follow(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("{} is larger than a memory", path.display()));
        }
        check_private(path, false)?;
        let kept: Remembered = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a remembered limit ({e})", path.display()))?;
        if kept.format != 1 {
            return Err(format!(
                "{} has format {}, not 1",
                path.display(),
                kept.format
            ));
        }
        Ok(Some(kept))
    }

    fn write(&self, path: &Path, kept: &Remembered) -> Result<(), String> {
        let parent = path.parent().expect("a file in a directory");
        create_private_dir(parent)?;
        for d in [self.dir.as_path(), parent] {
            check_private(d, true)?;
        }
        let text = serde_json::to_vec(kept).expect("a memory serialises");
        let tmp = parent.join(format!(".limit.{}.{}.tmp", std::process::id(), nonce()));
        let mut f = create_new_private(&tmp)?;
        if let Err(e) = f.write_all(&text) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("writing {}: {e}", tmp.display()));
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("storing {}: {e}", path.display())
        })
    }

    /// The memory files of `account`, in order (none when it has no directory).
    fn account_files(&self, account: &str) -> Result<Vec<PathBuf>, String> {
        let dir = self.dir.join(segment(account));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Every limit remembered for `account`, with whatever credential (read without any
    /// secret), in the order of their files; unreadable files are left out.
    pub fn remembered_for_account(&self, account: &str) -> Result<Vec<Remembered>, String> {
        Ok(self
            .account_files(account)?
            .iter()
            .filter_map(|p| Self::read(p).ok().flatten())
            .collect())
    }

    /// Forget every limit remembered for `account`; how many there were.
    pub fn forget_account(&self, account: &str) -> Result<usize, String> {
        let paths = self.account_files(account)?;
        for path in &paths {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
        Ok(paths.len())
    }
}

impl GateMemory for GateMemoryDir {
    fn recall(&self, key: &str) -> Option<(Learned, chrono::DateTime<chrono::Utc>)> {
        let path = self.path(key)?;
        match Self::read(&path) {
            Ok(Some(kept)) if kept.fresh(chrono::Utc::now()) => {
                Some((kept.learned(), kept.learned_at))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("not using a remembered concurrency limit: {e}");
                None
            }
        }
    }

    fn remember(&self, key: &str, learned: Learned) {
        let Some(path) = self.path(key) else {
            return;
        };
        let account = key.split_once('/').map(|(a, _)| a).unwrap_or_default();
        let kept = Remembered {
            format: 1,
            account: account.to_string(),
            start: learned.start,
            ceiling: learned.ceiling,
            reported_ceiling: learned.reported_ceiling,
            learned_at: chrono::Utc::now(),
        };
        if let Err(e) = self.write(&path, &kept) {
            tracing::warn!("the account's concurrency limit is not remembered: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gate-memory-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    const KEY: &str = "AC0000000000000000000000000000a001/00112233445566778899aabbccddeeff";
    const AT_50: Learned = Learned {
        start: 50,
        ceiling: Some(50),
        reported_ceiling: Some(51),
    };

    #[test]
    fn a_limit_remembered_is_recalled_by_its_gate_only() {
        let d = dir("recall");
        let memory = GateMemoryDir::new(d.clone());
        assert_eq!(memory.recall(KEY), None, "nothing remembered yet");
        memory.remember(KEY, AT_50);
        assert_eq!(memory.recall(KEY).map(|r| r.0), Some(AT_50));
        // Another credential of the same account, and another account, recall nothing.
        let other_credential = KEY.replace("0011", "ffff");
        assert_eq!(memory.recall(&other_credential), None);
        let other_account = KEY.replace("a001", "a002");
        assert_eq!(memory.recall(&other_account), None);
        // A later process, a new memory on the same directory, recalls it.
        assert_eq!(
            GateMemoryDir::new(d.clone()).recall(KEY).map(|r| r.0),
            Some(AT_50)
        );
        // Listed by account without any digest, then forgotten.
        let listed = memory
            .remembered_for_account("AC0000000000000000000000000000a001")
            .unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].start, listed[0].ceiling), (50, Some(50)));
        assert_eq!(
            memory
                .forget_account("AC0000000000000000000000000000a001")
                .unwrap(),
            1
        );
        assert_eq!(memory.recall(KEY), None);
        let _ = std::fs::remove_dir_all(d);
    }

    #[cfg(unix)]
    #[test]
    fn a_memory_is_a_private_file_and_a_key_never_leaves_its_directory() {
        use std::os::unix::fs::PermissionsExt;
        let d = dir("private");
        let memory = GateMemoryDir::new(d.clone());
        memory.remember(KEY, AT_50);
        let path = memory.path(KEY).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A key whose parts would climb out of the directory files nothing.
        for key in ["../../etc/passwd", "AC1/../x", "AC1/", "no-slash"] {
            memory.remember(key, AT_50);
            assert_eq!(memory.recall(key), None, "{key}");
        }
        let account = memory.path("../00ff").unwrap();
        assert!(account.starts_with(&d), "{}", account.display());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn a_stale_damaged_or_huge_memory_is_ignored() {
        let d = dir("damaged");
        let memory = GateMemoryDir::new(d.clone());
        memory.remember(KEY, AT_50);
        let path = memory.path(KEY).unwrap();
        let mut kept = GateMemoryDir::read(&path).unwrap().unwrap();
        // Older than REMEMBERED_FOR: not used.
        kept.learned_at = chrono::Utc::now() - REMEMBERED_FOR - chrono::TimeDelta::minutes(1);
        std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();
        assert_eq!(memory.recall(KEY), None, "stale");
        // Learned in the future: a wrong clock or a hand-edited file, not kept forever.
        kept.learned_at = chrono::Utc::now() + RETOLD_AFTER + chrono::TimeDelta::minutes(1);
        std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();
        assert_eq!(memory.recall(KEY), None, "from the future");
        for damaged in [
            b"not json".to_vec(),
            br#"{"format":2,"account":"AC","start":5,"ceiling":null,"reported_ceiling":null,"learned_at":"2026-12-01T00:00:00Z"}"#.to_vec(),
            vec![b' '; 5000],
        ] {
            std::fs::write(&path, damaged).unwrap();
            assert_eq!(memory.recall(KEY), None);
        }
        // Numbers out of range are held to the gate's bounds.
        kept.learned_at = chrono::Utc::now();
        kept.start = usize::MAX;
        kept.ceiling = Some(0);
        std::fs::write(&path, serde_json::to_vec(&kept).unwrap()).unwrap();
        let (recalled, _) = memory.recall(KEY).unwrap();
        assert_eq!(recalled.start, crate::upstream_gate::MAX_LIMIT);
        assert_eq!(recalled.ceiling, Some(1));
        let _ = std::fs::remove_dir_all(d);
    }
}
