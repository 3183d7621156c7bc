//! [`RedisBackend`]: the store on a Redis server, shared by several processes.

use std::{
    future::Future,
    time::{Duration, SystemTime},
};

use azcord_secret::Secret;
use azcord_tls::TlsTrust;
use futures_util::{StreamExt as _, future::BoxFuture};
use redis::{
    Client, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::sync::watch;

use crate::{Backend, Entry, StoreError, StoreErrorKind, backend::unix_millis};

/// Sets `KEYS[1]` to `ARGV[1]` for `ARGV[2]` milliseconds if it is absent (an
/// expired key is absent in Redis) or already `ARGV[1]`'s; 1 if so, else 0.
const CLAIM: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  else
    redis.call('DEL', KEYS[1])
  end
  return 1
end
return 0
";

/// How the Redis backend reaches its server.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[:PASSWORD@]HOST:PORT[/DB]`, or `rediss://` for TLS; a secret, as it
    /// may hold a password.
    pub url: Secret,
    /// A prefix for every key, so that several bots can share one server.
    pub namespace: String,
    /// How long one call may take before it fails as unavailable.
    pub timeout: Duration,
    /// What a `rediss://` connection trusts: the compiled-in web PKI roots, or, when
    /// `SSL_CERT_FILE` names a bundle, that bundle (redis-rs takes one set of roots, so
    /// here the bundle replaces the built-in roots rather than adding to them).
    pub tls: TlsTrust,
}

impl RedisConfig {
    /// The server at `url`, under the `azcord:` prefix, with calls bounded to 2 s.
    pub fn new(url: Secret) -> Self {
        Self {
            url,
            namespace: "azcord:".to_owned(),
            timeout: Duration::from_secs(2),
            tls: TlsTrust::default(),
        }
    }
}

/// A store on a Redis server. The connection reconnects by itself after the server
/// comes back; while it is away every call fails as unavailable within the timeout.
pub struct RedisBackend {
    connection: ConnectionManager,
    namespace: String,
    timeout: Duration,
    claim: Script,
    /// Changes when a release is announced on [`RedisBackend::release_channel`]; its
    /// subscriber task ends once every receiver is gone.
    releases: watch::Receiver<()>,
}

impl RedisBackend {
    /// Connects to the server `config` names.
    pub async fn connect(config: RedisConfig) -> Result<Self, StoreError> {
        let client = client(&config)?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.timeout);
        let connection = bounded(
            config.timeout,
            ConnectionManager::new_with_config(client.clone(), manager),
        )
        .await?;
        let (announced, releases) = watch::channel(());
        tokio::spawn(subscribe_to_releases(
            client,
            release_channel(&config.namespace),
            config.timeout,
            announced,
        ));
        Ok(Self {
            connection,
            namespace: config.namespace,
            timeout: config.timeout,
            claim: Script::new(CLAIM),
            releases,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.namespace)
    }

    async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        bounded(self.timeout, async move {
            command.query_async(&mut connection).await
        })
        .await
    }
}

/// The pub/sub channel on which processes sharing the keys under `namespace` announce a
/// lease they gave up.
fn release_channel(namespace: &str) -> String {
    format!("{namespace}released")
}

/// Listens for announced releases on `channel` until nobody receives them, and says so
/// through `announced`: on each message, and on each (re)subscription, as a release may
/// have been missed while the subscription was down. Reconnects after a pause of up to
/// `pause` when the server goes away.
async fn subscribe_to_releases(
    client: Client,
    channel: String,
    pause: Duration,
    announced: watch::Sender<()>,
) {
    loop {
        let listened = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            announced.send_replace(());
            let mut messages = pubsub.into_on_message();
            while messages.next().await.is_some() {
                announced.send_replace(());
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::select! {
            () = announced.closed() => return,
            ended = listened => {
                if let Err(error) = ended {
                    tracing::debug!(error = %map_error(error), "no subscription to released leases; retrying");
                }
            }
        }
        tokio::select! {
            () = announced.closed() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The client for `config`'s URL, with its roots when `SSL_CERT_FILE` names a bundle.
fn client(config: &RedisConfig) -> Result<Client, StoreError> {
    // The message of a URL error may quote the URL, and so its password.
    let invalid = |error: redis::RedisError| {
        StoreError::new(
            StoreErrorKind::Refused,
            format!("invalid Redis URL: {:?}", error.kind()),
        )
    };
    let tls = config.url.expose().starts_with("rediss://");
    let Some(bundle) = config.tls.extra_roots.as_ref().filter(|_| tls) else {
        return Client::open(config.url.expose()).map_err(invalid);
    };
    let root_cert = std::fs::read(bundle).map_err(|error| {
        StoreError::with_source(
            StoreErrorKind::Refused,
            format!("cannot read SSL_CERT_FILE `{}`", bundle.display()),
            error,
        )
    })?;
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(root_cert),
    };
    Client::build_with_tls(config.url.expose(), certificates).map_err(invalid)
}

impl Backend for RedisBackend {
    fn announce_release(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut command = redis::cmd("PUBLISH");
            command.arg(release_channel(&self.namespace)).arg("");
            self.query::<i64>(command).await.map(drop)
        })
    }

    fn releases(&self) -> Option<watch::Receiver<()>> {
        Some(self.releases.clone())
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let ttl = millis_until(expires_at);
            if ttl == 0 {
                return self.query::<()>(del(&self.key(key))).await;
            }
            let mut command = redis::cmd("SET");
            command.arg(self.key(key)).arg(value).arg("PX").arg(ttl);
            self.query::<()>(command).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let mut command = redis::cmd("GET");
            command.arg(self.key(key));
            self.query(command).await
        })
    }

    fn take<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let mut command = redis::cmd("GETDEL");
            command.arg(self.key(key));
            self.query(command).await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let removed: u64 = self.query(del(&self.key(key))).await?;
            Ok(removed > 0)
        })
    }

    fn scan<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<Entry>, StoreError>> {
        Box::pin(async move {
            let pattern = format!("{}*", glob_escape(&self.key(prefix)));
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let mut command = redis::cmd("SCAN");
                command
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500);
                let (next, batch): (u64, Vec<String>) = self.query(command).await?;
                keys.extend(batch);
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            keys.sort();
            keys.dedup();
            let mut found = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(500) {
                let mut command = redis::cmd("MGET");
                command.arg(chunk);
                let values: Vec<Option<Vec<u8>>> = self.query(command).await?;
                // A key that expired or was taken since SCAN saw it comes back as nil.
                for (key, value) in chunk.iter().zip(values) {
                    if let (Some(key), Some(value)) = (key.strip_prefix(&self.namespace), value) {
                        found.push((key.to_owned(), value));
                    }
                }
            }
            Ok(found)
        })
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        owner: &'a str,
        lease_until: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let mut invocation = self.claim.key(self.key(key));
            invocation.arg(owner).arg(millis_until(lease_until));
            let claimed: u64 = bounded(self.timeout, async move {
                invocation.invoke_async(&mut connection).await
            })
            .await?;
            Ok(claimed == 1)
        })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        // Redis removes a key when its PX runs out.
        Box::pin(async { Ok(0) })
    }
}

/// `call`, failing as unavailable after `timeout`.
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(map_error),
        Err(_) => Err(StoreError::new(
            StoreErrorKind::Unavailable,
            format!("Redis did not answer within {} ms", timeout.as_millis()),
        )),
    }
}

fn del(key: &str) -> redis::Cmd {
    let mut command = redis::cmd("DEL");
    command.arg(key);
    command
}

/// Milliseconds from now until `time`, 0 if it has passed.
fn millis_until(time: SystemTime) -> u64 {
    unix_millis(time).saturating_sub(unix_millis(SystemTime::now()))
}

/// `text` with Redis's glob characters escaped, for a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

fn map_error(error: redis::RedisError) -> StoreError {
    let kind = if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
    {
        StoreErrorKind::Unavailable
    } else if matches!(
        error.kind(),
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType
    ) {
        StoreErrorKind::Corrupt
    } else {
        StoreErrorKind::Refused
    };
    StoreError::with_source(kind, "Redis call failed", error)
}
