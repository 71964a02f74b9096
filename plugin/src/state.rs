//! Host-kept state as the rules see it: two buckets the host owns (`wasi:keyvalue` in the
//! component, a map natively). The host may hand either over empty at any time, so every rule
//! that reads state must also work without it.

use std::collections::BTreeMap;

/// Which bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Lives from a listing's first page to its last.
    Listing,
    /// This tenant's and app's state, kept between runs.
    Tenant,
}

impl Scope {
    /// The bucket's name in the contract.
    pub fn name(self) -> &'static str {
        match self {
            Self::Listing => "listing",
            Self::Tenant => "tenant",
        }
    }
}

/// Read and write host-kept state. A write the host refuses is reported, never fatal: the
/// state only saves work.
pub trait State {
    /// The value of `key`, if the bucket holds one.
    fn get(&mut self, scope: Scope, key: &str) -> Option<Vec<u8>>;
    /// Set `key`; an error says why the host refused.
    fn set(&mut self, scope: Scope, key: &str, value: Vec<u8>) -> Result<(), String>;
    /// Remove `key`.
    fn delete(&mut self, scope: Scope, key: &str);
}

/// State in memory: native tests, and calls that get no buckets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemoryState {
    /// Every entry, by bucket and key.
    pub entries: BTreeMap<(Scope, String), Vec<u8>>,
}

impl State for MemoryState {
    fn get(&mut self, scope: Scope, key: &str) -> Option<Vec<u8>> {
        self.entries.get(&(scope, key.to_string())).cloned()
    }

    fn set(&mut self, scope: Scope, key: &str, value: Vec<u8>) -> Result<(), String> {
        self.entries.insert((scope, key.to_string()), value);
        Ok(())
    }

    fn delete(&mut self, scope: Scope, key: &str) {
        self.entries.remove(&(scope, key.to_string()));
    }
}

/// Read a JSON value from state; anything unreadable counts as absent (the work is redone).
pub fn get_json<T: serde::de::DeserializeOwned>(
    state: &mut dyn State,
    scope: Scope,
    key: &str,
) -> Option<T> {
    state
        .get(scope, key)
        .and_then(|v| serde_json::from_slice(&v).ok())
}

/// Write a JSON value to state.
pub fn set_json<T: serde::Serialize>(
    state: &mut dyn State,
    scope: Scope,
    key: &str,
    value: &T,
) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    state.set(scope, key, bytes)
}
