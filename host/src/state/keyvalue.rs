//! `wasi:keyvalue/store` for plugins: the two buckets a call may open (`listing`, `tenant`)
//! are copies the host made for this call; writes change the copies, and the host keeps them
//! only if the call succeeds. Anything else is `no-such-store`.

use super::bucket::{Bucket, StateRefused};
use crate::bindings::latest::wasi::keyvalue::store::{self, Error, KeyResponse};
use crate::store::HostState;
use std::collections::BTreeSet;
use wasmtime::component::Resource;

/// Which of the call's buckets a handle opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvHandle {
    /// The listing's bucket (lives from a listing's first page to its last).
    Listing,
    /// The tenant's and app's bucket (kept between runs).
    Tenant,
}

impl KvHandle {
    fn name(self) -> &'static str {
        match self {
            Self::Listing => LISTING,
            Self::Tenant => TENANT,
        }
    }
}

/// The bucket name of a listing's state.
pub const LISTING: &str = "listing";
/// The bucket name of a tenant's kept state.
pub const TENANT: &str = "tenant";

/// Keys returned per `list-keys` answer.
const KEYS_PER_ANSWER: usize = 1000;

/// The state one call may use, and what it refused.
#[derive(Debug, Default)]
pub struct CallState {
    /// The listing's bucket, when this call may open it.
    pub listing: Option<Bucket>,
    /// The tenant's bucket, when this call may open it.
    pub tenant: Option<Bucket>,
    /// Bound of each bucket, in bytes.
    pub max_bytes: usize,
    /// The forms of the tenant's secret no value may hold.
    pub secret_forms: Vec<String>,
    /// Writes the host refused, for the call's notes and the audit.
    pub refusals: Vec<String>,
    /// Keys of the tenant bucket this call set or deleted (what its commit applies).
    pub touched: BTreeSet<String>,
}

/// Most distinct tenant keys one call may change (deletes of absent keys included).
const MAX_TOUCHED: usize = 200_000;

impl CallState {
    fn bucket(&mut self, h: KvHandle) -> Result<&mut Bucket, Error> {
        match h {
            KvHandle::Listing => self.listing.as_mut(),
            KvHandle::Tenant => self.tenant.as_mut(),
        }
        .ok_or(Error::NoSuchStore)
    }
}

impl CallState {
    /// Note a change of a tenant key (bounded, so deletes of absent keys cannot grow it).
    fn touch(&mut self, h: KvHandle, key: &str) -> Result<(), Error> {
        if h != KvHandle::Tenant || self.touched.contains(key) {
            return Ok(());
        }
        if self.touched.len() >= MAX_TOUCHED || key.len() > super::bucket::MAX_KEY_BYTES {
            return Err(Error::Other(format!(
                "a call may change at most {MAX_TOUCHED} keys of its tenant state"
            )));
        }
        self.touched.insert(key.to_string());
        Ok(())
    }
}

impl HostState {
    fn handle(&self, r: &Resource<KvHandle>) -> wasmtime::Result<KvHandle> {
        Ok(*self.table.get(r)?)
    }
}

impl store::Host for HostState {
    fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<KvHandle>, Error>> {
        let h = match identifier.as_str() {
            LISTING if self.kv.listing.is_some() => KvHandle::Listing,
            TENANT if self.kv.tenant.is_some() => KvHandle::Tenant,
            _ => return Ok(Err(Error::NoSuchStore)),
        };
        Ok(Ok(self.table.push(h)?))
    }
}

impl store::HostBucket for HostState {
    fn get(
        &mut self,
        r: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let h = self.handle(&r)?;
        Ok(self.kv.bucket(h).map(|b| b.get(&key).map(<[u8]>::to_vec)))
    }

    fn set(
        &mut self,
        r: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let h = self.handle(&r)?;
        if let Err(e) = self.kv.touch(h, &key) {
            return Ok(Err(e));
        }
        let max = self.kv.max_bytes;
        let forms = std::mem::take(&mut self.kv.secret_forms);
        let outcome = self
            .kv
            .bucket(h)
            .map(|b| b.set(h.name(), key, value, max, &forms));
        self.kv.secret_forms = forms;
        Ok(match outcome {
            Err(e) => Err(e),
            Ok(Ok(())) => Ok(()),
            Ok(Err(refused)) => {
                let note = format!("state write refused: {refused}");
                if self.kv.refusals.len() < 16 {
                    self.kv.refusals.push(note.clone());
                }
                Err(match refused {
                    StateRefused::Secret => Error::AccessDenied,
                    _ => Error::Other(note),
                })
            }
        })
    }

    fn delete(
        &mut self,
        r: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let h = self.handle(&r)?;
        if let Err(e) = self.kv.touch(h, &key) {
            return Ok(Err(e));
        }
        Ok(self.kv.bucket(h).map(|b| b.delete(&key)))
    }

    fn exists(
        &mut self,
        r: Resource<KvHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let h = self.handle(&r)?;
        Ok(self.kv.bucket(h).map(|b| b.get(&key).is_some()))
    }

    fn list_keys(
        &mut self,
        r: Resource<KvHandle>,
        cursor: Option<u64>,
    ) -> wasmtime::Result<Result<KeyResponse, Error>> {
        let h = self.handle(&r)?;
        let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
        Ok(self.kv.bucket(h).map(|b| {
            let (keys, more) = b.keys(skip, KEYS_PER_ANSWER);
            KeyResponse {
                cursor: more.then(|| (skip + keys.len()) as u64),
                keys,
            }
        }))
    }

    fn drop(&mut self, r: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table.delete(r)?;
        Ok(())
    }
}
