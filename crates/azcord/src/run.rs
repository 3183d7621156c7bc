//! `azcord run`: connect to Discord and serve until SIGTERM or SIGINT.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use azcord_azure::{AzureConfig, TlsTrust};
use azcord_command::{DispatchObserver, Finished, Secret};
use azcord_gateway::{GatewayConfig, RestartPolicy, ShardPhase, ShardSelection, ShardSession};
use azcord_telemetry::{AdminState, LogFormat, Metrics, TelemetryConfig};
use tokio::{sync::watch, task::JoinHandle};
use twilight_ids::guild_id;

use crate::{
    cli::RunArgs,
    config::{AzureSection, FileConfig, ShardSettings, StoreSection, shard_selection},
    wiring::{self, Assembly, AzureSource, StoreConfig, WiringConfig},
};
use azcord_store::{STATE_KEY_VARIABLE, SessionRecord, Store};

pub(crate) async fn run(
    args: RunArgs,
    file: FileConfig,
    log_format: LogFormat,
) -> anyhow::Result<()> {
    let token = args
        .token
        .as_deref()
        .filter(|token| !token.trim().is_empty())
        .map(Secret::new)
        .context("DISCORD_TOKEN is not set: export the bot token from the Discord developer portal, or try `azcord shell` to run without one")?;
    let telemetry = azcord_telemetry::init(TelemetryConfig {
        log_format,
        ..TelemetryConfig::from_env("azcord")?
    })?;
    let result = serve(args, token, file).await;
    if let Err(error) = &result {
        tracing::error!(error = format!("{error:#}"), "azcord stopped");
    }
    if let Err(error) = telemetry.shutdown() {
        crate::output::error(&format!("could not flush traces: {error}"));
    }
    result
}

async fn serve(args: RunArgs, token: Secret, file: FileConfig) -> anyhow::Result<()> {
    let identify_window = file.discord.identify_window();
    // Flags and environment choose the shards as a whole, or else the config file does.
    let (shards, shards_per_pod) = if args.shards.is_some() || args.shards_per_pod.is_some() {
        (args.shards, args.shards_per_pod)
    } else {
        (file.discord.shards, file.discord.shards_per_pod)
    };
    let hostname = match shards_per_pod {
        Some(_) => Some(pod_hostname()?),
        None => None,
    };
    let shards = shard_selection(
        ShardSettings {
            shards: shards.as_deref(),
            shards_per_pod,
            shard_total: args.shard_total.or(file.discord.shard_total),
        },
        hostname.as_deref(),
    )?;
    if let (Some(hostname), ShardSelection::Range { start, end, total }) = (&hostname, shards) {
        tracing::info!(%hostname, shards = %format!("{start}..{end}"), total, "shards from the pod ordinal");
    }
    let metrics = Metrics::new();
    let phase_metrics = metrics.clone();
    let azure = azure_from_env(&file.azure)?;
    let gateway = GatewayConfig {
        token,
        api_url: args.api_url.or(file.discord.api_url),
        gateway_url: args.gateway_url.or(file.discord.gateway_url),
        shards,
        guild: guild_id(args.guild.or(file.discord.guild))?,
        drain_timeout: file.dispatch.drain_timeout(),
        on_shard_phase: Some(Arc::new(move |shard, phase| {
            phase_metrics.set_shard_state(shard, phase_label(phase));
        })),
        restart: RestartPolicy::default(),
        tls: TlsTrust::from_process_env(),
    };
    let Assembly { bot, store, .. } = wiring::assemble(WiringConfig {
        gateway,
        azure,
        azure_settings: file.azure.settings(),
        extra_plugins: Vec::new(),
        policy: file.policy,
        dispatch: file.dispatch.dispatch_config(),
        observers: vec![Arc::new(MetricsObserver(metrics.clone()))],
        audit_channel: file.audit.channel,
        store: process_store(&file.store, args.state.clone())?,
        identify_window,
    })
    .await?;
    let recorded = take_recorded_sessions(&store, &bot.sessions().shard_ids()).await;
    let bot = bot.with_sessions(&recorded);
    let sessions = bot.sessions();

    let (stop, stopped) = watch::channel(false);
    let status = bot.status();
    let admin = start_admin(
        args.admin_addr.or(file.admin.addr),
        metrics,
        Arc::new(move || status.is_ready()),
        stopped.clone(),
    )
    .await?;

    let ran = bot.run(shutdown_signal()).await;
    // Recorded however the gateway stopped: the next process resumes these sessions,
    // and Discord replays what was sent while no process was connected.
    record_sessions(&store, &sessions.current()).await;
    ran.context("the Discord gateway stopped")?;
    let _ = stop.send(true);
    if let Some(admin) = admin {
        let _ = tokio::time::timeout(Duration::from_secs(2), admin).await;
    }
    drop(stopped);
    Ok(())
}

/// How long a recorded session is kept for the next process. Discord does not publish
/// how long it keeps a session resumable; past that, a resume gets an invalid session
/// and the shard identifies, so an older record is worth nothing.
const SESSION_KEPT: Duration = Duration::from_secs(10 * 60);

/// Takes the sessions recorded for these (shard, total) pairs out of the store. Taken,
/// not read: once a process resumes a session, a later process must not resume it
/// again from an older sequence. A store that cannot be read costs the resume only.
async fn take_recorded_sessions(store: &Store, shards: &[(u32, u32)]) -> Vec<ShardSession> {
    let mut recorded = Vec::new();
    for &(shard, total) in shards {
        match store.take_session(shard).await {
            Ok(Some(record)) if record.shard_total == total => recorded.push(ShardSession {
                shard,
                total,
                session_id: record.session_id,
                sequence: record.sequence,
                resume_url: Some(record.resume_url).filter(|url| !url.is_empty()),
            }),
            Ok(Some(record)) => tracing::info!(
                shard,
                total,
                recorded_total = record.shard_total,
                "ignoring a session recorded with another shard total"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(
                shard,
                error = %error,
                "cannot read the recorded session; the shard identifies afresh"
            ),
        }
    }
    recorded
}

/// Records each shard's session for the next process; a failure costs the resume only.
async fn record_sessions(store: &Store, sessions: &[ShardSession]) {
    let expires_at = SystemTime::now() + SESSION_KEPT;
    for session in sessions {
        let record = SessionRecord {
            shard_id: session.shard,
            shard_total: session.total,
            session_id: session.session_id.clone(),
            sequence: session.sequence,
            resume_url: session.resume_url.clone().unwrap_or_default(),
        };
        match store.put_session(&record, expires_at).await {
            Ok(()) => tracing::info!(
                shard = session.shard,
                sequence = session.sequence,
                "recorded the gateway session"
            ),
            Err(error) => tracing::warn!(
                shard = session.shard,
                error = %error,
                "cannot record the gateway session; the next process identifies afresh"
            ),
        }
    }
}

/// The store `run` and `serve` open: `--state` or `AZCORD_STATE` (`state`), else
/// `AZCORD_STORE_URL`, else the config file's `[store]`, else the default state file;
/// sealed with `AZCORD_STATE_KEY`, and trusting what the process's TLS settings say.
pub(crate) fn process_store(
    section: &StoreSection,
    state: Option<PathBuf>,
) -> anyhow::Result<StoreConfig> {
    Ok(StoreConfig {
        source: section.source(state, env_secret("AZCORD_STORE_URL"), default_state_file)?,
        key: env_secret(STATE_KEY_VARIABLE),
        tls: TlsTrust::from_process_env(),
    })
}

/// The environment variable `name` as a secret, unless unset or blank: Azure Container
/// Instances cannot pass an empty variable, so an unset one comes as a blank.
fn env_secret(name: &str) -> Option<Secret> {
    unless_blank(std::env::var(name).ok()).map(Secret::new)
}

/// `value`, unless it is absent or only whitespace.
fn unless_blank(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

/// Where `azcord run` keeps its state by default: `$XDG_STATE_HOME/azcord/state.redb`,
/// else `~/.local/state/azcord/state.redb`, else `azcord-state.redb` in the working
/// directory.
fn default_state_file() -> PathBuf {
    let nonempty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    match (nonempty("XDG_STATE_HOME"), nonempty("HOME")) {
        (Some(state), _) => PathBuf::from(state).join("azcord/state.redb"),
        (None, Some(home)) => PathBuf::from(home).join(".local/state/azcord/state.redb"),
        (None, None) => PathBuf::from("azcord-state.redb"),
    }
}

/// The pod's name: `HOSTNAME`, which Kubernetes sets to it, or else the system hostname.
fn pod_hostname() -> anyhow::Result<String> {
    if let Some(hostname) = std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
    {
        return Ok(hostname.trim().to_owned());
    }
    let path = "/proc/sys/kernel/hostname";
    let hostname = std::fs::read_to_string(path).with_context(|| {
        format!(
            "--shards-per-pod needs the pod's name: HOSTNAME is not set and {path} cannot be read"
        )
    })?;
    Ok(hostname.trim().to_owned())
}

/// The Azure the Azure plugins use: the subscription in `AZURE_SUBSCRIPTION_ID`, or none.
pub(crate) fn azure_from_env(section: &AzureSection) -> anyhow::Result<AzureSource> {
    let azure = if std::env::var_os("AZURE_SUBSCRIPTION_ID").is_some() {
        let config = AzureConfig::from_process_env()?;
        let config = AzureConfig {
            credential: section.credential(config.credential.clone()),
            ..config
        };
        tracing::info!(credential = config.credential.name(), subscription = %config.subscription_id, endpoint = %config.resource_manager_endpoint, "connecting to Azure");
        AzureSource::Connect {
            config: Box::new(config),
            what: "Azure",
        }
    } else {
        tracing::warn!(
            "AZURE_SUBSCRIPTION_ID is not set: the /vm and /aci commands will say Azure is not configured"
        );
        AzureSource::Unconfigured
    };
    Ok(azure)
}

/// Serves `/healthz`, `/readyz` and `/metrics` on `addr`, if set, until `stopped` says stop.
pub(crate) async fn start_admin(
    addr: Option<SocketAddr>,
    metrics: Metrics,
    readiness: Arc<dyn Fn() -> bool + Send + Sync>,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<Option<JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on admin address {addr}"))?;
    tracing::info!(%addr, "admin endpoints on /healthz, /readyz and /metrics");
    let state = AdminState { metrics, readiness };
    Ok(Some(tokio::spawn(azcord_telemetry::serve_admin(
        listener,
        state,
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        },
    ))))
}

/// Completes on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops azcord");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => tracing::info!("received SIGINT"),
            _ = terminate.recv() => tracing::info!("received SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

pub(crate) fn phase_label(phase: ShardPhase) -> &'static str {
    match phase {
        ShardPhase::Closed => "disconnected",
        phase => phase.as_str(),
    }
}

/// Feeds dispatch outcomes and acknowledgement latencies into the metrics.
pub(crate) struct MetricsObserver(pub(crate) Metrics);

impl DispatchObserver for MetricsObserver {
    fn acknowledged(&self, _: Option<&str>, latency: Duration) {
        self.0.observe_ack_latency(latency);
    }

    fn finished(&self, finished: &Finished) {
        let command = finished.command.as_deref().unwrap_or("unknown");
        self.0
            .record_interaction(command, finished.outcome.as_str());
    }
}

pub(crate) mod twilight_ids {
    use azcord_command::twilight_model::id::{Id, marker::GuildMarker};

    pub(crate) fn guild_id(id: Option<u64>) -> anyhow::Result<Option<Id<GuildMarker>>> {
        id.map(|id| Id::new_checked(id).ok_or_else(|| anyhow::anyhow!("guild id must not be 0")))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_variable_is_unset() {
        let cases = [
            (None, None),
            (Some(""), None),
            (Some(" "), None),
            (Some(" \t"), None),
            (Some("rediss://host"), Some("rediss://host")),
        ];
        for (value, expected) in cases {
            assert_eq!(
                unless_blank(value.map(str::to_owned)).as_deref(),
                expected,
                "{value:?}"
            );
        }
    }
}
