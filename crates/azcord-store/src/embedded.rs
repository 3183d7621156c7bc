//! [`EmbeddedBackend`]: the store in one redb file, with no server to run.

use std::{path::Path, sync::Arc, time::SystemTime};

use futures_util::future::BoxFuture;
use redb::{
    Database, ReadableDatabase as _, ReadableTable as _, ReadableTableMetadata as _,
    TableDefinition, WriteTransaction,
};

use crate::{Backend, Entry, StoreError, StoreErrorKind, backend::unix_millis};

/// Key to the expiry (unix milliseconds, big-endian) followed by the value.
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
/// (expiry, key): the entries in the order they expire, so that a sweep reads only
/// what it removes.
const EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("expiry");

/// How many expired entries a write removes on its way, so that a write stays cheap
/// while the file still cannot grow without bound.
const SWEEP_PER_WRITE: usize = 64;

/// The time an embedded store reads: the system clock, or a test's own.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A store in one redb file: ACID transactions, pure Rust, one writer process at a
/// time (redb locks the file).
pub struct EmbeddedBackend {
    database: Arc<Database>,
    clock: Clock,
}

impl EmbeddedBackend {
    /// Opens the store at `path`, creating the file if it does not exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_clock(path, Arc::new(SystemTime::now))
    }

    /// Opens the store at `path`, reading the time from `clock`.
    pub fn open_with_clock(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        let database = Database::create(path).map_err(|error| {
            map_error(
                redb::Error::from(error),
                &format!("cannot open {}", path.display()),
            )
        })?;
        let backend = Self {
            database: Arc::new(database),
            clock,
        };
        backend.write(|transaction, _| {
            transaction.open_table(ENTRIES)?;
            transaction.open_table(EXPIRY)?;
            Ok(())
        })?;
        Ok(backend)
    }

    /// How many entries the file holds, expired or not: what a sweep keeps bounded.
    pub fn stored_entries(&self) -> Result<u64, StoreError> {
        let read = || -> Result<u64, redb::Error> {
            let transaction = self.database.begin_read()?;
            let table = transaction.open_table(ENTRIES)?;
            Ok(table.len()?)
        };
        read().map_err(|error| map_error(error, "cannot read the store"))
    }

    fn now(&self) -> u64 {
        unix_millis((self.clock)())
    }

    /// Runs `body` in a write transaction after a bounded sweep, and commits.
    fn write<T>(
        &self,
        body: impl FnOnce(&WriteTransaction, u64) -> Result<T, redb::Error>,
    ) -> Result<T, StoreError> {
        let now = self.now();
        let run = || -> Result<T, redb::Error> {
            let transaction = self.database.begin_write()?;
            sweep(&transaction, now, SWEEP_PER_WRITE)?;
            let value = body(&transaction, now)?;
            transaction.commit()?;
            Ok(value)
        };
        run().map_err(|error| map_error(error, "cannot write to the store"))
    }

    /// Runs a blocking store call off the async threads.
    fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&Self) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let backend = Self {
            database: Arc::clone(&self.database),
            clock: Arc::clone(&self.clock),
        };
        Box::pin(async move {
            tokio::task::spawn_blocking(move || call(&backend))
                .await
                .map_err(|error| {
                    StoreError::with_source(
                        StoreErrorKind::Unavailable,
                        "the store call did not finish",
                        error,
                    )
                })?
        })
    }
}

impl Backend for EmbeddedBackend {
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let key = key.to_owned();
        let expires_at = unix_millis(expires_at);
        self.blocking(move |backend| {
            backend.write(|transaction, now| {
                let mut entries = transaction.open_table(ENTRIES)?;
                let mut expiry = transaction.open_table(EXPIRY)?;
                let previous = entries
                    .remove(key.as_str())?
                    .map(|old| split(old.value()).0);
                if let Some(previous) = previous {
                    expiry.remove((previous, key.as_str()))?;
                }
                if expires_at > now {
                    let mut stored = expires_at.to_be_bytes().to_vec();
                    stored.extend_from_slice(&value);
                    entries.insert(key.as_str(), stored.as_slice())?;
                    expiry.insert((expires_at, key.as_str()), ())?;
                }
                Ok(())
            })
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let key = key.to_owned();
        self.blocking(move |backend| {
            let now = backend.now();
            let read = || -> Result<Option<Vec<u8>>, redb::Error> {
                let transaction = backend.database.begin_read()?;
                let entries = transaction.open_table(ENTRIES)?;
                Ok(entries
                    .get(key.as_str())?
                    .and_then(|stored| live(stored.value(), now)))
            };
            read().map_err(|error| map_error(error, "cannot read the store"))
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let key = key.to_owned();
        self.blocking(move |backend| {
            backend.write(|transaction, now| remove_entry(transaction, &key, now))
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = key.to_owned();
        self.blocking(move |backend| {
            backend.write(|transaction, now| Ok(remove_entry(transaction, &key, now)?.is_some()))
        })
    }

    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Entry>, StoreError>> {
        let prefix = prefix.to_owned();
        self.blocking(move |backend| {
            let now = backend.now();
            let read = || -> Result<Vec<Entry>, redb::Error> {
                let transaction = backend.database.begin_read()?;
                let entries = transaction.open_table(ENTRIES)?;
                let mut found = Vec::new();
                for entry in entries.range(prefix.as_str()..)? {
                    let (key, stored) = entry?;
                    if !key.value().starts_with(prefix.as_str()) {
                        break;
                    }
                    if let Some(value) = live(stored.value(), now) {
                        found.push((key.value().to_owned(), value));
                    }
                }
                Ok(found)
            };
            read().map_err(|error| map_error(error, "cannot read the store"))
        })
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        lease_until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let key = key.to_owned();
        let owner = owner.to_owned();
        let lease_until = unix_millis(lease_until);
        self.blocking(move |backend| {
            backend.write(|transaction, now| {
                let mut entries = transaction.open_table(ENTRIES)?;
                let mut expiry = transaction.open_table(EXPIRY)?;
                let stored = entries
                    .get(key.as_str())?
                    .map(|stored| stored.value().to_vec());
                if let Some(stored) = &stored {
                    let (expires_at, holder) = split(stored);
                    if expires_at > now && holder != owner.as_bytes() {
                        return Ok(false);
                    }
                    expiry.remove((expires_at, key.as_str()))?;
                }
                if lease_until <= now {
                    entries.remove(key.as_str())?;
                    return Ok(true);
                }
                let mut stored = lease_until.to_be_bytes().to_vec();
                stored.extend_from_slice(owner.as_bytes());
                entries.insert(key.as_str(), stored.as_slice())?;
                expiry.insert((lease_until, key.as_str()), ())?;
                Ok(true)
            })
        })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.blocking(|backend| {
            let now = backend.now();
            let run = || -> Result<usize, redb::Error> {
                let transaction = backend.database.begin_write()?;
                let removed = sweep(&transaction, now, usize::MAX)?;
                transaction.commit()?;
                Ok(removed)
            };
            run().map_err(|error| map_error(error, "cannot write to the store"))
        })
    }

    /// redb locks the file: no other process has it open.
    fn exclusive(&self) -> bool {
        true
    }
}

/// Removes up to `limit` entries expired at `now`; how many.
fn sweep(transaction: &WriteTransaction, now: u64, limit: usize) -> Result<usize, redb::Error> {
    let mut entries = transaction.open_table(ENTRIES)?;
    let mut expiry = transaction.open_table(EXPIRY)?;
    let mut expired = Vec::new();
    for item in expiry.range(..(now.saturating_add(1), ""))?.take(limit) {
        let (key, _) = item?;
        let (expires_at, key) = key.value();
        expired.push((expires_at, key.to_owned()));
    }
    for (expires_at, key) in &expired {
        expiry.remove((*expires_at, key.as_str()))?;
        entries.remove(key.as_str())?;
    }
    Ok(expired.len())
}

/// Removes `key` and returns its value if it was live.
fn remove_entry(
    transaction: &WriteTransaction,
    key: &str,
    now: u64,
) -> Result<Option<Vec<u8>>, redb::Error> {
    let mut entries = transaction.open_table(ENTRIES)?;
    let mut expiry = transaction.open_table(EXPIRY)?;
    let Some(stored) = entries.remove(key)?.map(|stored| stored.value().to_vec()) else {
        return Ok(None);
    };
    expiry.remove((split(&stored).0, key))?;
    Ok(live(&stored, now))
}

/// The expiry and the value of a stored entry.
fn split(stored: &[u8]) -> (u64, &[u8]) {
    let (expiry, value) = stored.split_at(stored.len().min(8));
    let expiry = expiry.try_into().map_or(0, u64::from_be_bytes);
    (expiry, value)
}

/// The value of a stored entry, unless it expired at `now`.
fn live(stored: &[u8], now: u64) -> Option<Vec<u8>> {
    let (expires_at, value) = split(stored);
    (expires_at > now).then(|| value.to_vec())
}

fn map_error(error: redb::Error, context: &str) -> StoreError {
    let kind = match &error {
        redb::Error::Io(_) | redb::Error::PreviousIo | redb::Error::DatabaseClosed => {
            StoreErrorKind::Unavailable
        }
        redb::Error::DatabaseAlreadyOpen | redb::Error::ValueTooLarge(_) => StoreErrorKind::Refused,
        redb::Error::Corrupted(_)
        | redb::Error::UpgradeRequired(_)
        | redb::Error::TableTypeMismatch { .. }
        | redb::Error::TypeDefinitionChanged { .. } => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Unavailable,
    };
    StoreError::with_source(kind, context, error)
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicU64, Ordering},
        },
        time::{Duration, UNIX_EPOCH},
    };

    use super::*;

    #[tokio::test]
    async fn writes_sweep_what_expired_and_purge_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let now = Arc::new(AtomicU64::new(1_000_000));
        let clock: Clock = {
            let now = Arc::clone(&now);
            Arc::new(move || UNIX_EPOCH + Duration::from_millis(now.load(Ordering::SeqCst)))
        };
        let backend = EmbeddedBackend::open_with_clock(&dir.path().join("s.redb"), clock).unwrap();
        let in_a_minute = UNIX_EPOCH + Duration::from_millis(1_060_000);
        for id in 0..200 {
            backend
                .put(&format!("confirmation/{id}"), vec![1; 64], in_a_minute)
                .await
                .unwrap();
        }
        assert_eq!(backend.stored_entries().unwrap(), 200);
        assert_eq!(backend.scan("confirmation/").await.unwrap().len(), 200);

        // A minute later nothing is live; one write sweeps a bounded batch.
        now.store(1_060_000, Ordering::SeqCst);
        assert_eq!(backend.scan("confirmation/").await.unwrap().len(), 0);
        assert_eq!(backend.get("confirmation/1").await.unwrap(), None);
        let later = UNIX_EPOCH + Duration::from_millis(2_000_000);
        backend.put("session/0", vec![2], later).await.unwrap();
        assert_eq!(
            backend.stored_entries().unwrap(),
            200 - SWEEP_PER_WRITE as u64 + 1
        );
        assert_eq!(
            backend.purge_expired().await.unwrap(),
            200 - SWEEP_PER_WRITE
        );
        assert_eq!(backend.stored_entries().unwrap(), 1);

        // A key written again keeps only its new expiry.
        let soon = UNIX_EPOCH + Duration::from_millis(1_200_000);
        backend.put("session/0", vec![3], soon).await.unwrap();
        backend.put("session/0", vec![4], later).await.unwrap();
        now.store(1_500_000, Ordering::SeqCst);
        assert_eq!(backend.purge_expired().await.unwrap(), 0);
        assert_eq!(backend.get("session/0").await.unwrap(), Some(vec![4]));
    }
}
