//! [`MemoryBackend`]: the primitives over a map in memory, for what never acts
//! (`azcord commands`, `azcord check-config`) and for tests. Never the bot's store:
//! it forgets everything with its process.

use std::{
    collections::BTreeMap,
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use futures_util::future::BoxFuture;

use crate::{Backend, Entry, StoreError};

/// Entries in memory, with their expiry; expired ones are dropped on every write.
#[derive(Default)]
pub struct MemoryBackend {
    entries: Mutex<BTreeMap<String, (SystemTime, Vec<u8>)>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries it holds, expired or not.
    pub fn stored_entries(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (SystemTime, Vec<u8>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The map with what expired removed.
    fn swept(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (SystemTime, Vec<u8>)>> {
        let now = SystemTime::now();
        let mut entries = self.lock();
        entries.retain(|_, (expires_at, _)| *expires_at > now);
        entries
    }
}

impl Backend for MemoryBackend {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut entries = self.swept();
        if expires_at > SystemTime::now() {
            entries.insert(key.to_owned(), (expires_at, value));
        } else {
            entries.remove(key);
        }
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let value = self.swept().get(key).map(|(_, value)| value.clone());
        Box::pin(async { Ok(value) })
    }

    fn take<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let value = self.swept().remove(key).map(|(_, value)| value);
        Box::pin(async { Ok(value) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let removed = self.swept().remove(key).is_some();
        Box::pin(async move { Ok(removed) })
    }

    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Entry>, StoreError>> {
        let found = self
            .swept()
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, (_, value))| (key.clone(), value.clone()))
            .collect();
        Box::pin(async { Ok(found) })
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        lease_until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut entries = self.swept();
        let free = entries
            .get(key)
            .is_none_or(|(_, holder)| holder.as_slice() == owner.as_bytes());
        if free {
            if lease_until > SystemTime::now() {
                entries.insert(key.to_owned(), (lease_until, owner.as_bytes().to_vec()));
            } else {
                entries.remove(key);
            }
        }
        Box::pin(async move { Ok(free) })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        let before = self.stored_entries();
        let after = self.swept().len();
        Box::pin(async move { Ok(before - after) })
    }
}
