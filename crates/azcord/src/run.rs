//! `azcord run`: connect to Discord and serve until SIGTERM or SIGINT.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use azcord_azure::AzureConfig;
use azcord_command::{DispatchObserver, Finished, Secret};
use azcord_gateway::{GatewayConfig, RestartPolicy, ShardPhase, ShardSelection};
use azcord_telemetry::{AdminState, LogFormat, Metrics, TelemetryConfig};
use tokio::{sync::watch, task::JoinHandle};
use twilight_ids::guild_id;

use crate::{
    cli::RunArgs,
    config::{FileConfig, parse_shard_range},
    wiring::{self, Assembly, AzureSource, WiringConfig},
};

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
    let shards = match (
        args.shards.or(file.discord.shards),
        args.shard_total.or(file.discord.shard_total),
    ) {
        (Some(range), Some(total)) => {
            let (start, end) = parse_shard_range(&range)?;
            ShardSelection::Range { start, end, total }
        }
        (None, None) => ShardSelection::Recommended,
        _ => anyhow::bail!("a shard range needs both shards (START..END) and shard_total"),
    };
    let metrics = Metrics::new();
    let phase_metrics = metrics.clone();
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
    };
    let azure = azure_from_env()?;
    let Assembly { bot, .. } = wiring::assemble(WiringConfig {
        gateway,
        azure,
        azure_settings: file.azure.settings(),
        extra_plugins: Vec::new(),
        policy: file.policy,
        dispatch: file.dispatch.dispatch_config(),
        observers: vec![Arc::new(MetricsObserver(metrics.clone()))],
        audit_channel: file.audit.channel,
    })
    .await?;

    let (stop, stopped) = watch::channel(false);
    let status = bot.status();
    let admin = start_admin(
        args.admin_addr.or(file.admin.addr),
        metrics,
        Arc::new(move || status.is_ready()),
        stopped.clone(),
    )
    .await?;

    bot.run(shutdown_signal())
        .await
        .context("the Discord gateway stopped")?;
    let _ = stop.send(true);
    if let Some(admin) = admin {
        let _ = tokio::time::timeout(Duration::from_secs(2), admin).await;
    }
    drop(stopped);
    Ok(())
}

/// The Azure the Azure plugins use: the subscription in `AZURE_SUBSCRIPTION_ID`, or none.
pub(crate) fn azure_from_env() -> anyhow::Result<AzureSource> {
    let azure = if std::env::var_os("AZURE_SUBSCRIPTION_ID").is_some() {
        let config = AzureConfig::from_process_env()?;
        tracing::info!(subscription = %config.subscription_id, endpoint = %config.resource_manager_endpoint, "connecting to Azure");
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
