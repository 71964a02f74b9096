//! The live listings' buckets: one per listing, from its first page to its last. The host
//! hands out its own cursor (`L<id>~<plugin cursor>`), so a page finds its listing's bucket,
//! and keys each bucket by tenant and app too, so no other tenant's call can reach it.

use super::bucket::Bucket;
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Listings kept at once; the oldest is dropped beyond it.
pub const MAX_LIVE_LISTINGS: usize = 256;
/// How long an unfinished listing's bucket is kept after its last page.
pub const LISTING_TTL: Duration = Duration::from_secs(3600);

/// Live listings of one host.
#[derive(Default)]
pub struct Listings {
    live: Mutex<HashMap<(String, u64), (Instant, Bucket)>>,
    next: AtomicU64,
}

/// A host cursor, split.
#[derive(Debug, PartialEq, Eq)]
pub struct HostCursor<'a> {
    /// The listing it continues.
    pub listing: u64,
    /// The plugin's own cursor.
    pub plugin: &'a str,
}

impl<'a> HostCursor<'a> {
    /// Read a cursor this host issued; `None` for anything else.
    pub fn parse(cursor: &'a str) -> Option<Self> {
        let rest = cursor.strip_prefix('L')?;
        let (id, plugin) = rest.split_once('~')?;
        let listing = u64::from_str_radix(id, 16).ok()?;
        Some(Self { listing, plugin })
    }

    /// The cursor handed to the caller for `plugin`'s cursor of `listing`.
    pub fn format(listing: u64, plugin: &str) -> String {
        format!("L{listing:x}~{plugin}")
    }
}

impl Listings {
    /// A new listing's id.
    pub fn begin(&self) -> u64 {
        // Unique per host; the tenant scope, not secrecy, keeps listings apart.
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Take the bucket of `listing` for `scope` (tenant and app), if it is alive.
    pub fn take(&self, scope: &str, listing: u64) -> Option<Bucket> {
        let mut live = lock(&self.live);
        let (at, bucket) = live.remove(&(scope.to_string(), listing))?;
        (at.elapsed() < LISTING_TTL).then_some(bucket)
    }

    /// Keep `bucket` for the next page of `listing`.
    pub fn keep(&self, scope: &str, listing: u64, bucket: Bucket) {
        let mut live = lock(&self.live);
        live.retain(|_, (at, _)| at.elapsed() < LISTING_TTL);
        while live.len() >= MAX_LIVE_LISTINGS {
            let oldest = live
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => live.remove(&k),
                None => break,
            };
        }
        live.insert((scope.to_string(), listing), (Instant::now(), bucket));
    }

    /// Listings alive now.
    pub fn len(&self) -> usize {
        lock(&self.live).len()
    }

    /// Whether none is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_not_read() {
        let c = HostCursor::format(42, "/2010-04-01/Accounts.json?Page=1~x");
        assert_eq!(
            HostCursor::parse(&c),
            Some(HostCursor {
                listing: 42,
                plugin: "/2010-04-01/Accounts.json?Page=1~x"
            })
        );
        for bad in ["", "L", "Lzz~x", "42~x", "/2010-04-01/Accounts.json"] {
            assert_eq!(HostCursor::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_listing_is_reached_only_by_its_own_tenant() {
        let l = Listings::default();
        let id = l.begin();
        let mut b = Bucket::default();
        b.set("listing", "k".into(), b"v".to_vec(), 100, &[])
            .unwrap();
        l.keep("alice/flex", id, b.clone());
        assert_eq!(l.take("bob/flex", id), None);
        assert_eq!(l.take("alice/flex", id), Some(b));
        assert_eq!(l.take("alice/flex", id), None, "taken once");
    }

    #[test]
    fn live_listings_are_bounded() {
        let l = Listings::default();
        for _ in 0..MAX_LIVE_LISTINGS + 10 {
            l.keep("t/a", l.begin(), Bucket::default());
        }
        assert_eq!(l.len(), MAX_LIVE_LISTINGS);
    }
}
