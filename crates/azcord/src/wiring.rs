//! The one place the bot is assembled, for `azcord run`, `azcord serve` and the local
//! bot behind `azcord shell` and the tests: the Discord REST client first, then the
//! audit sinks that post through it, the Azure connection, the plugins and the
//! dispatcher, and last what receives the interactions: the gateway (`assemble`) or the
//! HTTP interactions endpoint (`assemble_endpoint`), which share every step before it.

use std::sync::Arc;

use anyhow::Context as _;
use azcord_azure::AzureConfig;
use azcord_command::{
    AuditSink, DispatchConfig, DispatchObserver, Dispatcher, Plugin, Policy, Registry,
    twilight_model::id::Id,
};
use azcord_gateway::{Bot, ChannelAuditSink, Endpoint, EndpointConfig, GatewayConfig, RestClient};

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
}

/// Assembles the bot from `config`, receiving interactions over the gateway.
pub(crate) async fn assemble(config: WiringConfig) -> anyhow::Result<Assembly> {
    let (gateway, rest, dispatcher) = assemble_dispatcher(config).await?;
    let bot = azcord_gateway::connect_with(gateway, rest, dispatcher.clone()).await?;
    Ok(Assembly { dispatcher, bot })
}

/// Assembles the bot from `config`, receiving interactions at the HTTP interactions
/// endpoint, with its commands registered and not yet serving; the gateway settings
/// for shards are not used.
pub(crate) async fn assemble_endpoint(
    config: WiringConfig,
    endpoint: EndpointConfig,
) -> anyhow::Result<Endpoint> {
    let (gateway, rest, dispatcher) = assemble_dispatcher(config).await?;
    Ok(azcord_gateway::connect_endpoint(gateway, rest, dispatcher, endpoint).await?)
}

/// Everything but what receives the interactions. The REST client exists before the
/// audit sink and the sink before the dispatcher, so an event recorded at any point
/// reaches the channel.
async fn assemble_dispatcher(
    config: WiringConfig,
) -> anyhow::Result<(GatewayConfig, RestClient, Dispatcher)> {
    let audit_channel = config.audit_channel.map(audit_channel_id).transpose()?;
    let rest = RestClient::new(&config.gateway)?;
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
    let mut plugins = crate::plugins::plugins(&azure, config.azure_settings);
    plugins.extend(config.extra_plugins);
    let dispatcher = Dispatcher::build(
        Registry::new(plugins)?,
        config.policy,
        config.dispatch,
        config.observers,
        audit_sinks,
    );
    Ok((config.gateway, rest, dispatcher))
}

/// The audit channel's id, which Discord never gives as 0.
fn audit_channel_id(
    id: u64,
) -> anyhow::Result<Id<azcord_command::twilight_model::id::marker::ChannelMarker>> {
    Id::new_checked(id).context(
        "audit.channel must not be 0: set it to the id of the channel to post audit events in",
    )
}
