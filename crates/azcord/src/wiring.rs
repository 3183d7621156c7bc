//! The one place the bot is assembled, for `azcord run`, `azcord serve` and the local
//! bot behind `azcord shell` and the tests: the Discord REST client first, then the
//! audit sinks that post through it, the Azure connection, the plugins and the
//! dispatcher, and last what receives the interactions: the gateway (`assemble`) or the
//! HTTP interactions endpoint (`assemble_endpoint`), which share every step before it.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use azcord_azure::{AzureConfig, TlsTrust};
use azcord_command::{
    AuditSink, DispatchConfig, DispatchObserver, Dispatcher, Follower, Notifier, Plugin, Policy,
    Registry, Secret, Shutdown, twilight_model::id::Id,
};
use azcord_gateway::{
    Bot, ChannelAuditSink, Endpoint, EndpointConfig, GatewayConfig, RestClient, RestResponder,
};
use azcord_store::{
    EmbeddedBackend, RedisBackend, RedisConfig, STATE_KEY_VARIABLE, StateKey, Store, StoreErrorKind,
};
use tokio::sync::watch;

use crate::plugins::AzureSettings;

/// Everything the bot is assembled from, as plain data.
pub(crate) struct WiringConfig {
    /// How to reach Discord, which shards to run and how to restart them.
    pub(crate) gateway: GatewayConfig,
    /// Which Azure the Azure plugins use.
    pub(crate) azure: AzureSource,
    /// How the Azure plugins behave.
    pub(crate) azure_settings: AzureSettings,
    /// Plugins to run besides the built-in ones.
    pub(crate) extra_plugins: Vec<Plugin>,
    /// Who may run what.
    pub(crate) policy: Policy,
    /// Acknowledgement timing.
    pub(crate) dispatch: DispatchConfig,
    /// Observers of the dispatcher, such as metrics.
    pub(crate) observers: Vec<Arc<dyn DispatchObserver>>,
    /// The id of a channel to post every audit event in.
    pub(crate) audit_channel: Option<u64>,
    /// Where the state lives and the key that seals its tokens.
    pub(crate) store: StoreConfig,
    /// How often each identify bucket may start a session (Discord: 5 s), paced
    /// through the store across every process that shares it.
    pub(crate) identify_window: Duration,
}

/// Where the state lives.
#[derive(Debug, Clone)]
pub(crate) enum StoreSource {
    /// The embedded store in this file.
    File(PathBuf),
    /// A Redis server at this URL.
    Redis(Secret),
    /// Memory, forgotten with the process: the local bot's baseline when
    /// `azcord-bench store` measures what the embedded store costs.
    Memory,
}

/// The store to open.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    /// Where the state lives.
    pub(crate) source: StoreSource,
    /// `AZCORD_STATE_KEY`: 64 hex digits. Without it the embedded store keeps a key
    /// file beside its state file; Redis requires it.
    pub(crate) key: Option<Secret>,
    /// What a `rediss://` connection trusts (`SSL_CERT_FILE`).
    pub(crate) tls: TlsTrust,
}

/// What `assemble` and `assemble_endpoint` share: all but what receives interactions.
struct Parts {
    gateway: GatewayConfig,
    rest: RestClient,
    dispatcher: Dispatcher,
    store: Store,
    identify_window: Duration,
}

/// Which Azure the Azure plugins talk to.
pub(crate) enum AzureSource {
    /// Connect with this configuration; `what` names it in the error if that fails.
    Connect {
        /// The subscription, endpoint and credentials.
        config: Box<AzureConfig>,
        /// What is being connected to, such as "Azure" or "the Azure simulator".
        what: &'static str,
    },
    /// None: the Azure commands say so.
    Unconfigured,
}

/// The assembled bot: connected to Discord with its commands registered, shards not
/// yet running.
pub(crate) struct Assembly {
    /// The dispatcher the bot feeds, for subscribing to finished interactions.
    pub(crate) dispatcher: Dispatcher,
    /// The bot, ready to run.
    pub(crate) bot: Bot,
    /// The store the bot records its state in.
    pub(crate) store: Store,
}

/// Assembles the bot from `config`, receiving interactions over the gateway. The shards
/// identify in turns taken in the store, so that processes sharing it keep to Discord's
/// identify limit together.
pub(crate) async fn assemble(config: WiringConfig) -> anyhow::Result<Assembly> {
    let parts = assemble_dispatcher(config).await?;
    let bot = azcord_gateway::connect_with(parts.gateway, parts.rest, parts.dispatcher.clone())
        .await?
        .share_identifies(parts.store.clone(), parts.identify_window);
    Ok(Assembly {
        dispatcher: parts.dispatcher,
        bot,
        store: parts.store,
    })
}

/// Assembles the bot from `config`, receiving interactions at the HTTP interactions
/// endpoint, with its commands registered and not yet serving; the gateway settings
/// for shards are not used.
pub(crate) async fn assemble_endpoint(
    config: WiringConfig,
    endpoint: EndpointConfig,
) -> anyhow::Result<Endpoint> {
    let parts = assemble_dispatcher(config).await?;
    Ok(
        azcord_gateway::connect_endpoint(parts.gateway, parts.rest, parts.dispatcher, endpoint)
            .await?,
    )
}

/// Everything but what receives the interactions. The REST client exists before the
/// audit sink and the sink before the dispatcher, so an event recorded at any point
/// reaches the channel.
async fn assemble_dispatcher(config: WiringConfig) -> anyhow::Result<Parts> {
    let audit_channel = config.audit_channel.map(audit_channel_id).transpose()?;
    let store = open_store(&config.store).await?;
    let rest = RestClient::new(&config.gateway).await?;
    let audit_sinks: Vec<Arc<dyn AuditSink>> = audit_channel
        .into_iter()
        .map(|channel| Arc::new(ChannelAuditSink::new(&rest, channel)) as Arc<dyn AuditSink>)
        .collect();
    let azure = match config.azure {
        AzureSource::Connect { config, what } => azcord_azure::connect(*config)
            .await
            .with_context(|| format!("could not connect to {what}"))?,
        AzureSource::Unconfigured => crate::azure::unconfigured(),
    };
    let mut plugins = crate::plugins::plugins(&azure, config.azure_settings, &store);
    plugins.extend(config.extra_plugins);
    let registry = Registry::new(plugins)?;
    let followers = registry.followers().to_vec();
    let dispatcher = Dispatcher::build(
        registry,
        config.policy,
        config.dispatch,
        config.observers,
        audit_sinks,
    );
    tokio::spawn(take_over_forever(
        followers,
        Arc::new(RestResponder::over(&rest)),
        Looks {
            every: takeover_interval(config.azure_settings.lease),
            releases: store.releases(),
        },
        dispatcher.shutdown(),
    ));
    Ok(Parts {
        gateway: config.gateway,
        rest,
        dispatcher,
        store,
        identify_window: config.identify_window,
    })
}

/// How often a process looks for operations to take over: a tenth of the lease, so that
/// an operation of a dead process is taken at most a tenth of a lease after its lease
/// expires (a scan of the operations in the store, which hold only those in flight).
fn takeover_interval(lease: Duration) -> Duration {
    (lease / 10).max(Duration::from_millis(100))
}

/// When a process looks for operations to take over.
struct Looks {
    /// Every so often.
    every: Duration,
    /// And at once when another process sharing the store hands one over, if the store
    /// can tell.
    releases: Option<watch::Receiver<()>>,
}

/// Takes over, at start-up, then as `looks` says until `shutdown`, the operations that
/// no live process follows: those of a process that died, here or in another replica
/// on the same store (at once on an embedded store, which only this process opens),
/// and those another process handed over as it shut down.
async fn take_over_forever(
    followers: Vec<Arc<dyn Follower>>,
    notifier: Arc<dyn Notifier>,
    looks: Looks,
    shutdown: Shutdown,
) {
    let Looks {
        every,
        mut releases,
    } = looks;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let released = async {
            match &mut releases {
                Some(receiver) => receiver.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticks.tick() => {}
            still_told = released => {
                if !still_told {
                    releases = None;
                }
            }
            () = shutdown.requested() => return,
        }
        for follower in &followers {
            let taken = Arc::clone(follower)
                .take_over(Arc::clone(&notifier), shutdown.clone())
                .await;
            if taken > 0 {
                tracing::info!(taken, "following operations again after a restart");
            }
        }
    }
}

/// Opens the store `config` names, and removes what expired while nobody used it.
pub(crate) async fn open_store(config: &StoreConfig) -> anyhow::Result<Store> {
    let key = config
        .key
        .as_ref()
        .map(StateKey::from_hex)
        .transpose()
        .with_context(|| format!("invalid {STATE_KEY_VARIABLE}"))?;
    let store = match &config.source {
        StoreSource::File(path) => {
            if let Some(parent) = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).with_context(|| {
                    format!("could not create the state directory {}", parent.display())
                })?;
            }
            let backend = EmbeddedBackend::open(path).map_err(|error| {
                let hint = if error.kind() == StoreErrorKind::Refused {
                    ": another azcord process holds it; give each process its own --state, or share a Redis store"
                } else {
                    ""
                };
                anyhow::Error::new(error)
                    .context(format!("could not open the state file {}{hint}", path.display()))
            })?;
            // Without a key, one beside the file: a copy of the state file alone
            // hands out no interaction token.
            let key = match key {
                Some(key) => key,
                None => StateKey::load_or_create(&key_file(path))?,
            };
            tracing::info!(path = %path.display(), "state in an embedded store");
            Store::new(Arc::new(backend), key)
        }
        StoreSource::Redis(url) => {
            let key = key.with_context(|| {
                format!(
                    "{STATE_KEY_VARIABLE} is required with a Redis store, so that every process seals and opens interaction tokens with the same key: generate one with `openssl rand -hex 32`"
                )
            })?;
            let backend = RedisBackend::connect(RedisConfig {
                tls: config.tls.clone(),
                ..RedisConfig::new(url.clone())
            })
            .await
            .context("could not connect to the Redis store")?;
            tracing::info!("state in a Redis store");
            Store::new(Arc::new(backend), key)
        }
        StoreSource::Memory => Store::in_memory(),
    };
    store
        .purge_expired()
        .await
        .context("could not remove expired state")?;
    Ok(store)
}

/// The key file of the state file `path`: `PATH.key`.
fn key_file(path: &std::path::Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// The audit channel's id, which Discord never gives as 0.
fn audit_channel_id(
    id: u64,
) -> anyhow::Result<Id<azcord_command::twilight_model::id::marker::ChannelMarker>> {
    Id::new_checked(id).context(
        "audit.channel must not be 0: set it to the id of the channel to post audit events in",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_look_for_operations_every_tenth_of_a_lease() {
        let cases = [(30_000, 3_000), (1_000, 100), (500, 100)];
        for (lease, every) in cases {
            assert_eq!(
                takeover_interval(Duration::from_millis(lease)),
                Duration::from_millis(every),
                "{lease}"
            );
        }
    }

    #[tokio::test]
    async fn a_state_file_gets_a_private_key_file_and_redis_needs_a_key() {
        use std::os::unix::fs::PermissionsExt as _;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.redb");
        let config = StoreConfig {
            source: StoreSource::File(path.clone()),
            key: None,
            tls: TlsTrust::default(),
        };
        drop(open_store(&config).await.unwrap());
        let key = std::fs::metadata(dir.path().join("nested/state.redb.key")).unwrap();
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
        assert!(path.exists());

        let cases = [
            (
                StoreSource::Redis(Secret::new("redis://127.0.0.1:1")),
                None,
                "AZCORD_STATE_KEY is required with a Redis store",
            ),
            (
                StoreSource::File(path),
                Some(Secret::new("not hex")),
                "invalid AZCORD_STATE_KEY",
            ),
        ];
        for (source, key, expected) in cases {
            let error = open_store(&StoreConfig {
                source,
                key,
                tls: TlsTrust::default(),
            })
            .await
            .err()
            .unwrap();
            assert!(format!("{error:#}").contains(expected), "{error:#}");
            assert!(!format!("{error:#}").contains("not hex"), "{error:#}");
        }
    }
}
