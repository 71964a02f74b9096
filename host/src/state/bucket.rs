//! One bucket of host-kept state: keys to bytes, with its size counted and bounded, and the
//! rules every value must pass (never the tenant's credential).

use std::collections::BTreeMap;

/// Longest key a plugin may use.
pub const MAX_KEY_BYTES: usize = 512;

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateRefused {
    /// The bucket would grow past its bound.
    #[error("the {bucket} bucket would hold {would} bytes, over its limit of {max}")]
    Full {
        bucket: &'static str,
        would: usize,
        max: usize,
    },
    /// A key longer than [`MAX_KEY_BYTES`] or empty.
    #[error("a state key must be 1 to {MAX_KEY_BYTES} bytes")]
    BadKey,
    /// The key or value contains the tenant's credential (in any of its encodings).
    #[error("a state value may not contain the tenant's credential")]
    Secret,
}

/// Keys and values, with their total size kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    entries: BTreeMap<String, Vec<u8>>,
    bytes: usize,
}

impl Bucket {
    /// A bucket holding `entries`.
    pub fn from_entries(entries: BTreeMap<String, Vec<u8>>) -> Self {
        let bytes = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        Self { entries, bytes }
    }

    /// Keys plus values, in bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.entries
    }

    /// Set `key`, if the bucket stays within `max` bytes and nothing holds a secret form.
    pub fn set(
        &mut self,
        name: &'static str,
        key: String,
        value: Vec<u8>,
        max: usize,
        secret_forms: &[String],
    ) -> Result<(), StateRefused> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(StateRefused::BadKey);
        }
        let holds = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        if secret_forms
            .iter()
            .any(|f| holds(&value, f.as_bytes()) || key.contains(f.as_str()))
        {
            return Err(StateRefused::Secret);
        }
        let old = self.entries.get(&key).map_or(0, |v| key.len() + v.len());
        let would = self.bytes - old + key.len() + value.len();
        if would > max {
            return Err(StateRefused::Full {
                bucket: name,
                would,
                max,
            });
        }
        self.bytes = would;
        self.entries.insert(key, value);
        Ok(())
    }

    /// Remove `key`.
    pub fn delete(&mut self, key: &str) {
        if let Some(v) = self.entries.remove(key) {
            self.bytes -= key.len() + v.len();
        }
    }

    /// Up to `n` keys after the first `skip`, and whether more follow.
    pub fn keys(&self, skip: usize, n: usize) -> (Vec<String>, bool) {
        let keys: Vec<String> = self.entries.keys().skip(skip).take(n).cloned().collect();
        let more = skip + keys.len() < self.entries.len();
        (keys, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_counted_and_bounded() {
        let mut b = Bucket::default();
        b.set("tenant", "a".into(), vec![0; 10], 20, &[]).unwrap();
        assert_eq!(b.bytes(), 11);
        // Replacing a value counts only the new one.
        b.set("tenant", "a".into(), vec![0; 19], 20, &[]).unwrap();
        assert_eq!(b.bytes(), 20);
        let e = b.set("tenant", "b".into(), vec![0], 20, &[]).unwrap_err();
        assert!(matches!(e, StateRefused::Full { would: 22, .. }), "{e:?}");
        b.delete("a");
        assert_eq!(b.bytes(), 0);
        assert!(b.is_empty());
    }

    #[test]
    fn secrets_and_bad_keys_are_refused() {
        let forms = vec!["s3cr3t-token".to_string()];
        let mut b = Bucket::default();
        let e = b.set(
            "tenant",
            "k".into(),
            b"x s3cr3t-token y".to_vec(),
            1 << 20,
            &forms,
        );
        assert_eq!(e, Err(StateRefused::Secret));
        let e = b.set(
            "tenant",
            "s3cr3t-token".into(),
            b"x".to_vec(),
            1 << 20,
            &forms,
        );
        assert_eq!(e, Err(StateRefused::Secret));
        assert_eq!(
            b.set("tenant", String::new(), vec![], 10, &[]),
            Err(StateRefused::BadKey)
        );
        assert_eq!(
            b.set(
                "tenant",
                "k".repeat(MAX_KEY_BYTES + 1),
                vec![],
                1 << 20,
                &[]
            ),
            Err(StateRefused::BadKey)
        );
        assert!(b.is_empty(), "nothing refused was kept");
    }

    #[test]
    fn keys_page() {
        let mut b = Bucket::default();
        for k in ["c", "a", "b"] {
            b.set("listing", k.into(), vec![], 100, &[]).unwrap();
        }
        assert_eq!(b.keys(0, 2), (vec!["a".to_string(), "b".to_string()], true));
        assert_eq!(b.keys(2, 2), (vec!["c".to_string()], false));
    }
}
