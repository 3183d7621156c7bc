//! [`Backend`]: the few primitives every store implements atomically.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use crate::StoreError;

/// One stored entry: its key and its value.
pub type Entry = (String, Vec<u8>);

/// The primitives of a store, each atomic on its own, over keys of the form
/// `kind/id` and opaque values that expire.
///
/// An entry past its expiry is never returned and is eventually removed: the
/// embedded backend sweeps on every write and in [`Backend::purge_expired`], Redis
/// expires keys itself. Usable as `dyn Backend`.
pub trait Backend: Send + Sync + 'static {
    /// Sets `key` to `value` until `expires_at`, replacing what was there. A time
    /// already past removes the key.
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The value of `key`, unless absent or expired.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;

    /// Removes `key` and returns its value, unless absent or expired: of several
    /// callers, across processes, at most one gets the value.
    fn take<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;

    /// Removes `key`; whether it was there.
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Every live entry whose key starts with `prefix`, in no particular order.
    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Entry>, StoreError>>;

    /// Sets `key` to `owner` until `lease_until` if it is absent, expired or already
    /// `owner`'s; whether `owner` now holds it.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        lease_until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Removes every expired entry now; how many were removed.
    fn purge_expired(&self) -> BoxFuture<'_, Result<usize, StoreError>>;

    /// Whether only one process at a time can open this store, as with an embedded
    /// file: then every lease found in it that this process did not take belongs to a
    /// process that is gone, and need not be waited out.
    fn exclusive(&self) -> bool {
        false
    }

    /// Tells every process sharing this store that one of its leases was given up for
    /// another to take, so that they look at once rather than at their next look. A
    /// store that no other process shares has nobody to tell.
    fn announce_release(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    /// Changes whenever a process sharing this store announces a release, and when it
    /// may have missed one (its subscription came back after the server was away);
    /// `None` where no process can announce one.
    fn releases(&self) -> Option<watch::Receiver<()>> {
        None
    }
}

/// Milliseconds since the Unix epoch, 0 before it.
pub(crate) fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        elapsed.as_millis().try_into().unwrap_or(u64::MAX)
    })
}
