//! What must outlive a process: open confirmations, operations in flight, gateway
//! sessions and leases, behind one [`Backend`] trait with two implementations, an
//! embedded redb file ([`EmbeddedBackend`]) and Redis ([`RedisBackend`]), and the
//! typed [`Store`] over either.

mod backend;
mod embedded;
mod error;
mod memory;
mod records;
mod redis_backend;
mod seal;

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use crate::{
    backend::{Backend, Entry},
    embedded::{Clock, EmbeddedBackend},
    error::{StoreError, StoreErrorKind},
    memory::MemoryBackend,
    records::{ConfirmationRecord, OperationRecord, PollRecord, SessionRecord},
    redis_backend::{RedisBackend, RedisConfig},
    seal::{STATE_KEY_VARIABLE, StateKey},
};

/// How long an operation record outlives its deadline, so that a process taking it
/// over can still report that it timed out.
pub const OPERATION_GRACE: Duration = Duration::from_secs(15 * 60);

/// How long a confirmation outlives its prompt's expiry, so that a late click is told
/// it expired rather than that it never existed.
pub const CONFIRMATION_GRACE: Duration = Duration::from_secs(5 * 60);

/// The typed store: records as JSON over a [`Backend`], interaction tokens sealed with
/// a [`StateKey`]. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    key: Arc<StateKey>,
    owner: Arc<str>,
}

/// A key's kind, the first part of every key.
const CONFIRMATION: &str = "confirmation/";
const OPERATION: &str = "operation/";
const SESSION: &str = "session/";
const LEASE: &str = "lease/";
const SESSION_START: &str = "session-start/";

/// How long a session start is remembered: Discord's daily limit counts a day.
pub const SESSION_START_MEMORY: Duration = Duration::from_secs(24 * 60 * 60);

impl Store {
    /// The store over `backend`, sealing tokens with `key`.
    pub fn new(backend: Arc<dyn Backend>, key: StateKey) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "azcord".to_owned());
        Self {
            backend,
            key: Arc::new(key),
            owner: format!("{host}/{}/{}", std::process::id(), &new_id()[..8]).into(),
        }
    }

    /// A store in memory, for what never acts and for tests; see [`MemoryBackend`].
    pub fn in_memory() -> Self {
        Self::new(Arc::new(MemoryBackend::new()), StateKey::generate())
    }

    /// This process as the owner of operations and leases: host, process id and a
    /// random part, so that a restarted process is a new owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The backend, for what the typed records do not cover.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Records a confirmation prompt under `id` until [`CONFIRMATION_GRACE`] after it
    /// expires.
    pub async fn put_confirmation(
        &self,
        id: &str,
        record: &ConfirmationRecord,
    ) -> Result<(), StoreError> {
        self.backend
            .put(
                &format!("{CONFIRMATION}{id}"),
                encode(record)?,
                record.expires_at + CONFIRMATION_GRACE,
            )
            .await
    }

    /// The open confirmation `id`, without answering it.
    pub async fn confirmation(&self, id: &str) -> Result<Option<ConfirmationRecord>, StoreError> {
        let key = format!("{CONFIRMATION}{id}");
        decode_optional(&key, self.backend.get(&key).await?)
    }

    /// Answers the confirmation `id`: removes it and returns it, to exactly one caller.
    pub async fn take_confirmation(
        &self,
        id: &str,
    ) -> Result<Option<ConfirmationRecord>, StoreError> {
        let key = format!("{CONFIRMATION}{id}");
        decode_optional(&key, self.backend.take(&key).await?)
    }

    /// Records the operation `id`, replacing what was recorded, with its token sealed.
    pub async fn put_operation(
        &self,
        id: &str,
        record: &OperationRecord,
    ) -> Result<(), StoreError> {
        let key = format!("{OPERATION}{id}");
        let sealed = SealedOperation {
            record: record.clone(),
            sealed_token: record
                .interaction_token
                .as_ref()
                .map(|token| self.key.seal(&key, token))
                .transpose()?,
        };
        let expires_at = record.deadline + OPERATION_GRACE;
        self.backend.put(&key, encode(&sealed)?, expires_at).await
    }

    /// The operation `id`, if it is recorded.
    pub async fn operation(&self, id: &str) -> Result<Option<OperationRecord>, StoreError> {
        let key = format!("{OPERATION}{id}");
        self.backend
            .get(&key)
            .await?
            .map(|value| self.open_operation(&key, &value))
            .transpose()
    }

    /// Every operation recorded, by id.
    pub async fn operations(&self) -> Result<Vec<(String, OperationRecord)>, StoreError> {
        self.backend
            .scan(OPERATION)
            .await?
            .into_iter()
            .map(|(key, value)| {
                let record = self.open_operation(&key, &value)?;
                let id = key.strip_prefix(OPERATION).unwrap_or(&key).to_owned();
                Ok((id, record))
            })
            .collect()
    }

    /// Forgets the operation `id`, once followed to its end.
    pub async fn remove_operation(&self, id: &str) -> Result<bool, StoreError> {
        self.backend.remove(&format!("{OPERATION}{id}")).await
    }

    /// Records a shard's session until `expires_at`.
    pub async fn put_session(
        &self,
        record: &SessionRecord,
        expires_at: SystemTime,
    ) -> Result<(), StoreError> {
        let key = format!("{SESSION}{}", record.shard_id);
        self.backend.put(&key, encode(record)?, expires_at).await
    }

    /// The recorded session of `shard_id`.
    pub async fn session(&self, shard_id: u32) -> Result<Option<SessionRecord>, StoreError> {
        let key = format!("{SESSION}{shard_id}");
        decode_optional(&key, self.backend.get(&key).await?)
    }

    /// Removes and returns the recorded session of `shard_id`, so that of several
    /// processes starting at once at most one resumes it.
    pub async fn take_session(&self, shard_id: u32) -> Result<Option<SessionRecord>, StoreError> {
        let key = format!("{SESSION}{shard_id}");
        decode_optional(&key, self.backend.take(&key).await?)
    }

    /// Records that a shard started a gateway session at `at`, for
    /// [`SESSION_START_MEMORY`]: Discord limits session starts per day across every
    /// process of a bot.
    pub async fn record_session_start(&self, at: SystemTime) -> Result<(), StoreError> {
        let key = format!("{SESSION_START}{}", new_id());
        let value = encode(&backend::unix_millis(at))?;
        self.backend
            .put(&key, value, at + SESSION_START_MEMORY)
            .await
    }

    /// How many session starts were recorded at or after `since`.
    pub async fn session_starts_since(&self, since: SystemTime) -> Result<usize, StoreError> {
        let since = backend::unix_millis(since);
        let mut count = 0;
        for (key, value) in self.backend.scan(SESSION_START).await? {
            let at: u64 = decode(&key, &value)?;
            count += usize::from(at >= since);
        }
        Ok(count)
    }

    /// Takes or renews the lease `name` for `owner` until `lease_until`, if it is free,
    /// expired or already `owner`'s; whether `owner` holds it.
    pub async fn claim(
        &self,
        name: &str,
        owner: &str,
        lease_until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.backend
            .claim(&format!("{LEASE}{name}"), owner, lease_until)
            .await
    }

    /// Whether this process alone opens the store (see [`Backend::exclusive`]).
    pub fn exclusive(&self) -> bool {
        self.backend.exclusive()
    }

    /// Takes the lease `name` for `owner` until `lease_until` whoever holds it, if the
    /// store is [exclusive](Store::exclusive): a holder other than this process is
    /// gone. On a shared store, the same as [`Store::claim`].
    pub async fn claim_orphaned(
        &self,
        name: &str,
        owner: &str,
        lease_until: SystemTime,
    ) -> Result<bool, StoreError> {
        let key = format!("{LEASE}{name}");
        if !self.exclusive() {
            return self.backend.claim(&key, owner, lease_until).await;
        }
        // Released first, so that `claim` finds it free: one process, so nothing
        // comes between the two.
        self.backend.remove(&key).await?;
        self.backend.claim(&key, owner, lease_until).await
    }

    /// Gives up the lease `name` if `owner` holds it.
    pub async fn release(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        self.claim(name, owner, SystemTime::UNIX_EPOCH).await
    }

    /// Gives up the lease `name` for another process to take, and tells the processes
    /// sharing the store, so that one takes it at once ([`Backend::announce_release`]).
    pub async fn hand_over(&self, name: &str, owner: &str) -> Result<bool, StoreError> {
        let released = self.release(name, owner).await?;
        if released {
            self.backend.announce_release().await?;
        }
        Ok(released)
    }

    /// Changes when another process hands a lease over; see [`Backend::releases`].
    pub fn releases(&self) -> Option<tokio::sync::watch::Receiver<()>> {
        self.backend.releases()
    }

    /// Removes every expired entry now; how many.
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        self.backend.purge_expired().await
    }

    fn open_operation(&self, key: &str, value: &[u8]) -> Result<OperationRecord, StoreError> {
        let sealed: SealedOperation = decode(key, value)?;
        let mut record = sealed.record;
        record.interaction_token = sealed
            .sealed_token
            .map(|sealed| self.key.open(key, &sealed))
            .transpose()?;
        Ok(record)
    }
}

/// An operation as stored: the record, and its token sealed apart.
#[derive(Serialize, Deserialize)]
struct SealedOperation {
    #[serde(flatten)]
    record: OperationRecord,
    sealed_token: Option<String>,
}

/// A new random id, 128 bits in hex: for confirmations and operations, unguessable
/// and unique across processes.
pub fn new_id() -> String {
    seal::random_hex(16)
}

fn encode(record: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|error| {
        StoreError::with_source(StoreErrorKind::Refused, "cannot encode a record", error)
    })
}

fn decode<T: DeserializeOwned>(key: &str, value: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|error| {
        StoreError::with_source(
            StoreErrorKind::Corrupt,
            format!("the entry {key} does not decode"),
            error,
        )
    })
}

fn decode_optional<T: DeserializeOwned>(
    key: &str,
    value: Option<Vec<u8>>,
) -> Result<Option<T>, StoreError> {
    value.map(|value| decode(key, &value)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_obj_safe!(Backend);
    static_assertions::assert_impl_all!(Store: Send, Sync, Clone);

    #[tokio::test]
    async fn session_starts_are_counted_from_a_time_on() {
        let store = Store::in_memory();
        let now = SystemTime::now();
        for seconds_ago in [30, 20, 10] {
            store
                .record_session_start(now - Duration::from_secs(seconds_ago))
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .session_starts_since(now - Duration::from_secs(60))
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            store
                .session_starts_since(now - Duration::from_secs(20))
                .await
                .unwrap(),
            2
        );
        assert_eq!(store.session_starts_since(now).await.unwrap(), 0);
        // A start older than a day has expired and is not counted.
        store
            .record_session_start(now - SESSION_START_MEMORY - Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            store
                .session_starts_since(SystemTime::UNIX_EPOCH)
                .await
                .unwrap(),
            3
        );
    }
}
