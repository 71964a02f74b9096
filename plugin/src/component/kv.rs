//! `State` over `wasi:keyvalue/store`: each bucket is opened on first use; a bucket the host
//! does not give this call reads as empty and ignores writes.

use super::wasi::keyvalue::store::{self, Bucket};
use crate::state::{Scope, State};

/// The call's buckets, opened lazily.
#[derive(Default)]
pub struct KvState {
    listing: Option<Option<Bucket>>,
    tenant: Option<Option<Bucket>>,
}

impl KvState {
    fn bucket(&mut self, scope: Scope) -> Option<&Bucket> {
        let slot = match scope {
            Scope::Listing => &mut self.listing,
            Scope::Tenant => &mut self.tenant,
        };
        slot.get_or_insert_with(|| store::open(scope.name()).ok())
            .as_ref()
    }
}

impl State for KvState {
    fn get(&mut self, scope: Scope, key: &str) -> Option<Vec<u8>> {
        self.bucket(scope)?.get(key).ok().flatten()
    }

    fn set(&mut self, scope: Scope, key: &str, value: Vec<u8>) -> Result<(), String> {
        match self.bucket(scope) {
            None => Ok(()),
            Some(b) => b.set(key, &value).map_err(|e| match e {
                store::Error::NoSuchStore => "no such bucket".to_string(),
                store::Error::AccessDenied => "the host refused the value".to_string(),
                store::Error::Other(why) => why,
            }),
        }
    }

    fn delete(&mut self, scope: Scope, key: &str) {
        if let Some(b) = self.bucket(scope) {
            let _ = b.delete(key);
        }
    }
}
