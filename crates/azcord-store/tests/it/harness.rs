//! The backends under test: an embedded file, and a real Redis server when one is
//! installed.

use std::{path::PathBuf, sync::Arc, time::Duration};

use azcord_secret::Secret;
use azcord_sim::redis::RedisServer;
use azcord_store::{
    Backend, EmbeddedBackend, MemoryBackend, RedisBackend, RedisConfig, StateKey, Store,
};

/// One backend under test, with what it needs kept alive.
pub(crate) struct Harness {
    pub(crate) name: &'static str,
    pub(crate) store: Store,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) place: Place,
}

/// Where a backend keeps its entries, for reading them raw.
pub(crate) enum Place {
    File {
        path: PathBuf,
        embedded: Arc<EmbeddedBackend>,
        _dir: tempfile::TempDir,
    },
    Redis(RedisServer),
    /// Memory: no bytes at rest to read.
    Memory(Arc<MemoryBackend>),
}

impl Harness {
    pub(crate) fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.redb");
        let embedded = Arc::new(EmbeddedBackend::open(&path).unwrap());
        let backend: Arc<dyn Backend> = embedded.clone();
        Self {
            name: "embedded",
            store: Store::new(Arc::clone(&backend), StateKey::generate()),
            backend,
            place: Place::File {
                path,
                embedded,
                _dir: dir,
            },
        }
    }

    /// A Redis backend on a fresh server, or `None` when redis-server is missing
    /// outside CI.
    pub(crate) async fn redis() -> Option<Self> {
        let server = RedisServer::start()?;
        let backend: Arc<dyn Backend> =
            Arc::new(RedisBackend::connect(redis_config(&server)).await.unwrap());
        Some(Self {
            name: "redis",
            store: Store::new(Arc::clone(&backend), StateKey::generate()),
            backend,
            place: Place::Redis(server),
        })
    }

    pub(crate) fn memory() -> Self {
        let memory = Arc::new(MemoryBackend::new());
        let backend: Arc<dyn Backend> = memory.clone();
        Self {
            name: "memory",
            store: Store::new(Arc::clone(&backend), StateKey::generate()),
            backend,
            place: Place::Memory(memory),
        }
    }

    /// Every backend available here.
    pub(crate) async fn all() -> Vec<Self> {
        let mut all = vec![Self::embedded(), Self::memory()];
        all.extend(Self::redis().await);
        all
    }

    /// Every byte the backend holds: the whole file, or every key and the DUMP of
    /// its value.
    pub(crate) async fn raw_bytes(&self) -> Vec<u8> {
        match &self.place {
            Place::File { path, .. } => std::fs::read(path).unwrap(),
            Place::Memory(memory) => {
                let mut bytes = Vec::new();
                for (key, value) in memory.scan("").await.unwrap() {
                    bytes.extend(key.into_bytes());
                    bytes.extend(value);
                }
                bytes
            }
            Place::Redis(server) => {
                let mut connection = raw_connection(server).await;
                let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
                    .arg("*")
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                let mut bytes = Vec::new();
                for key in keys {
                    let dump: Vec<u8> = redis::cmd("DUMP")
                        .arg(&key)
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                    bytes.extend(key);
                    bytes.extend(dump);
                }
                bytes
            }
        }
    }

    /// How many entries the backend physically holds, expired or not.
    pub(crate) async fn stored_entries(&self) -> u64 {
        match &self.place {
            Place::File { embedded, .. } => embedded.stored_entries().unwrap(),
            Place::Memory(memory) => memory.stored_entries() as u64,
            Place::Redis(server) => {
                let mut connection = raw_connection(server).await;
                redis::cmd("DBSIZE")
                    .query_async(&mut connection)
                    .await
                    .unwrap()
            }
        }
    }
}

pub(crate) fn redis_config(server: &RedisServer) -> RedisConfig {
    RedisConfig {
        timeout: Duration::from_millis(500),
        ..RedisConfig::new(Secret::new(server.url()))
    }
}

pub(crate) async fn raw_connection(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
