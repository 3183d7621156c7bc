//! `azcord serve`: receive interactions at the HTTP interactions endpoint until SIGTERM
//! or SIGINT, with the same commands, policy and dispatcher as `azcord run`.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use azcord_command::Secret;
use azcord_gateway::{
    EndpointConfig, GatewayConfig, PublicKey, RestartPolicy, ShardSelection, TlsTrust,
};
use azcord_telemetry::{LogFormat, Metrics, TelemetryConfig};
use tokio::sync::watch;

use crate::{
    cli::ServeArgs,
    config::FileConfig,
    run::{
        MetricsObserver, azure_from_env, process_store, shutdown_signal, start_admin,
        twilight_ids::guild_id,
    },
    wiring::{self, WiringConfig},
};

pub(crate) async fn serve(
    args: ServeArgs,
    file: FileConfig,
    log_format: LogFormat,
) -> anyhow::Result<()> {
    let token = args
        .token
        .as_deref()
        .filter(|token| !token.trim().is_empty())
        .map(Secret::new)
        .context("DISCORD_TOKEN is not set: `azcord serve` registers the commands and sends every reply after the first with the bot token, from the Discord developer portal")?;
    let public_key = args
        .public_key
        .as_deref()
        .context("DISCORD_PUBLIC_KEY is not set: copy the application's public key from the developer portal's General Information page")?;
    let public_key = PublicKey::from_hex(public_key)?;
    let telemetry = azcord_telemetry::init(TelemetryConfig {
        log_format,
        ..TelemetryConfig::from_env("azcord")?
    })?;
    let result = serve_endpoint(args, token, public_key, file).await;
    if let Err(error) = &result {
        tracing::error!(error = format!("{error:#}"), "azcord stopped");
    }
    if let Err(error) = telemetry.shutdown() {
        crate::output::error(&format!("could not flush traces: {error}"));
    }
    result
}

async fn serve_endpoint(
    args: ServeArgs,
    token: Secret,
    public_key: PublicKey,
    file: FileConfig,
) -> anyhow::Result<()> {
    // Bound before connecting, so that a taken port fails before commands are registered.
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let metrics = Metrics::new();
    let azure = azure_from_env(&file.azure)?;
    let gateway = GatewayConfig {
        token,
        api_url: args.api_url.or(file.discord.api_url),
        gateway_url: None,
        shards: ShardSelection::Recommended,
        guild: guild_id(args.guild.or(file.discord.guild))?,
        drain_timeout: file.dispatch.drain_timeout(),
        on_shard_phase: None,
        restart: RestartPolicy::default(),
        tls: TlsTrust::from_process_env(),
    };
    let endpoint = wiring::assemble_endpoint(
        WiringConfig {
            gateway,
            azure,
            azure_settings: file.azure.settings(),
            extra_plugins: Vec::new(),
            policy: file.policy,
            dispatch: file.dispatch.dispatch_config(),
            observers: vec![Arc::new(MetricsObserver(metrics.clone()))],
            audit_channel: file.audit.channel,
            store: process_store(&file.store, args.state.clone())?,
            // The endpoint runs no shards, so it never identifies.
            identify_window: azcord_gateway::IDENTIFY_WINDOW,
        },
        EndpointConfig::new(public_key),
    )
    .await?;

    let (stop, stopped) = watch::channel(false);
    let admin = start_admin(
        args.admin_addr.or(file.admin.addr),
        metrics,
        Arc::new(endpoint.readiness()),
        stopped.clone(),
    )
    .await?;
    endpoint
        .run(listener, shutdown_signal())
        .await
        .context("the interactions endpoint stopped")?;
    let _ = stop.send(true);
    if let Some(admin) = admin {
        let _ = tokio::time::timeout(Duration::from_secs(2), admin).await;
    }
    drop(stopped);
    Ok(())
}
