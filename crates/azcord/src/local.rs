//! The bot running in-process against the built-in Discord simulator over loopback,
//! through the same twilight clients it uses in production: behind `azcord shell` and
//! the end-to-end tests.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;

use crate::{
    plugins::AzureSettings,
    wiring::{self, Assembly, AzureSource, StoreConfig, StoreSource, WiringConfig},
};
use azcord_azure::{AzureConfig, CredentialSource, RetrySettings, ServicePrincipal, TlsTrust};
use azcord_command::twilight_model::{
    application::command::{Command, CommandOptionChoice},
    id::{Id, marker::InteractionMarker},
};
use azcord_command::{
    DispatchConfig, DispatchObserver, Dispatcher, Finished, Plugin, Policy, Secret,
};
use azcord_gateway::{GatewayConfig, GatewayError, RestartPolicy, ShardSelection, ShardStatus};
use azcord_sim::{
    ArmSim, ArmSimConfig, DiscordSim, DiscordSimConfig, InteractionEvent, InteractionHandle,
    Invocation, SimMessage, SimUser,
    terminal::{
        Candidate, Completion, InputError, autocomplete_candidates, complete, parse_command_line,
    },
};
use azcord_store::Store;
use tokio::{
    sync::{broadcast, oneshot},
    task::JoinHandle,
};

/// How long Discord waits for an autocomplete answer before it shows none.
const AUTOCOMPLETE_DEADLINE: Duration = Duration::from_secs(3);

/// How to set up a local bot.
pub struct LocalOptions {
    /// Who may run what.
    pub policy: Policy,
    /// Acknowledgement timing.
    pub dispatch: DispatchConfig,
    /// The simulated Discord.
    pub sim: DiscordSimConfig,
    /// Which Azure the Azure plugins use.
    pub azure: LocalAzure,
    /// How the Azure plugins behave.
    pub azure_settings: AzureSettings,
    /// How Azure calls are retried (the simulated Azure only).
    pub azure_retry: RetrySettings,
    /// A channel to post audit events in; 0 is refused.
    pub audit_channel: Option<u64>,
    /// Plugins to run besides the built-in ones (tests add their own).
    pub extra_plugins: Vec<Plugin>,
    /// Observers of the dispatcher, such as metrics.
    pub observers: Vec<Arc<dyn DispatchObserver>>,
    /// How long shutdown waits for interactions in flight.
    pub drain_timeout: Duration,
    /// The state file; a temporary one, removed with the bot, if `None`.
    pub state: Option<PathBuf>,
    /// The key that seals tokens in the state file; a key file beside it if `None`.
    pub state_key: Option<Secret>,
    /// Keep the state in memory instead of a file (`state` is then unused): nothing
    /// survives the bot. Only for measuring what the embedded store costs.
    pub memory_store: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            dispatch: DispatchConfig::default(),
            sim: DiscordSimConfig::default(),
            azure: LocalAzure::Simulated(ArmSimConfig::default()),
            azure_settings: AzureSettings::default(),
            azure_retry: RetrySettings::default(),
            audit_channel: None,
            extra_plugins: Vec::new(),
            observers: Vec::new(),
            drain_timeout: Duration::from_secs(10),
            state: None,
            state_key: None,
            memory_store: false,
        }
    }
}

/// Which Azure a local bot talks to.
#[derive(Debug, Clone)]
pub enum LocalAzure {
    /// The built-in Azure Resource Manager simulator, with the sample subscription.
    Simulated(ArmSimConfig),
    /// The subscription named by `AZURE_SUBSCRIPTION_ID` and the usual credentials.
    Live,
    /// None: the Azure commands say so.
    Unconfigured,
}

/// The bot connected to a simulator it owns.
pub struct LocalBot {
    /// The simulated Discord, for injecting interactions and faults.
    pub sim: DiscordSim,
    /// The simulated Azure, when the bot uses it.
    pub arm: Option<ArmSim>,
    /// The bot's dispatcher.
    pub dispatcher: Dispatcher,
    /// The store the bot records its state in.
    pub store: Store,
    status: ShardStatus,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), GatewayError>>,
    /// The temporary directory of a state file nobody named; removed on drop.
    _state_dir: Option<tempfile::TempDir>,
}

/// What became of one command line.
#[derive(Debug)]
pub struct Exchange {
    /// The interaction the line became.
    pub handle: InteractionHandle,
    /// How the bot says it ended.
    pub finished: Finished,
}

impl LocalBot {
    /// Starts the simulator and the bot, and waits until every shard is connected.
    pub async fn start(options: LocalOptions) -> anyhow::Result<Self> {
        let sim = DiscordSim::start(options.sim)
            .await
            .context("could not start the Discord simulator")?;
        let (azure, arm) = match options.azure {
            LocalAzure::Simulated(config) => {
                let arm = ArmSim::start(config)
                    .await
                    .context("could not start the Azure simulator")?;
                let config = AzureConfig {
                    subscription_id: arm.config().subscription_id.clone(),
                    resource_manager_endpoint: arm.endpoint(),
                    credential: CredentialSource::ServicePrincipal(ServicePrincipal {
                        tenant_id: arm.config().tenant_id.clone(),
                        client_id: arm.config().client_id.clone(),
                        client_secret: Secret::new(arm.config().client_secret.clone()),
                        authority_host: arm.authority_host(),
                    }),
                    retry: options.azure_retry,
                    // The simulator's CA, trusted the way SSL_CERT_FILE makes it trusted.
                    tls: TlsTrust {
                        extra_roots: Some(arm.ca_file().to_owned()),
                    },
                };
                let azure = AzureSource::Connect {
                    config: Box::new(config),
                    what: "the Azure simulator",
                };
                (azure, Some(arm))
            }
            LocalAzure::Live => (
                AzureSource::Connect {
                    config: Box::new(AzureConfig::from_process_env()?),
                    what: "Azure",
                },
                None,
            ),
            LocalAzure::Unconfigured => (AzureSource::Unconfigured, None),
        };
        let gateway = GatewayConfig {
            token: Secret::new(sim.config().token.clone()),
            api_url: Some(sim.api_url()),
            gateway_url: Some(sim.gateway_url()),
            shards: ShardSelection::Recommended,
            guild: Id::new_checked(sim.config().guild_id),
            drain_timeout: options.drain_timeout,
            on_shard_phase: None,
            restart: RestartPolicy::default(),
            // The simulator speaks plain HTTP and websocket.
            tls: azcord_gateway::TlsTrust::default(),
        };
        let (source, state_dir) = match options.state {
            _ if options.memory_store => (StoreSource::Memory, None),
            Some(path) => (StoreSource::File(path), None),
            None => {
                let dir = tempfile::tempdir().context("could not create a state directory")?;
                (StoreSource::File(dir.path().join("state.redb")), Some(dir))
            }
        };
        let Assembly {
            dispatcher,
            bot,
            store,
        } = wiring::assemble(WiringConfig {
            gateway,
            azure,
            azure_settings: options.azure_settings,
            extra_plugins: options.extra_plugins,
            policy: options.policy,
            dispatch: options.dispatch,
            observers: options.observers,
            audit_channel: options.audit_channel,
            store: StoreConfig {
                source,
                key: options.state_key,
                tls: TlsTrust::default(),
            },
            identify_window: sim.config().identify_window,
        })
        .await?;
        let status = bot.status();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(bot.run(async move {
            let _ = stopped.await;
        }));
        tokio::time::timeout(Duration::from_secs(30), status.wait_until_ready())
            .await
            .context("the bot did not connect to the simulator within 30 s")?;
        Ok(Self {
            sim,
            arm,
            dispatcher,
            store,
            status,
            stop: Some(stop),
            task,
            _state_dir: state_dir,
        })
    }

    /// The phase of every shard.
    pub fn status(&self) -> &ShardStatus {
        &self.status
    }

    /// The guild the simulated user types in.
    pub fn guild_id(&self) -> u64 {
        self.sim.config().guild_id
    }

    /// The slash commands the bot registered in the simulated guild.
    pub fn commands(&self) -> Vec<Command> {
        self.sim.registered_commands(Some(self.guild_id()))
    }

    /// What Tab offers in `line` with the cursor at byte `cursor`, as `user` typing in
    /// `channel_id`: names from the definitions, and values through the bot's own
    /// autocomplete, exactly as Discord would offer them. Returns where the completed
    /// word starts, and the candidates.
    pub async fn complete(
        &self,
        user: &SimUser,
        guild_id: Option<u64>,
        channel_id: u64,
        line: &str,
        cursor: usize,
    ) -> anyhow::Result<(usize, Vec<Candidate>)> {
        match complete(line, cursor, &self.commands()) {
            Completion::Candidates { start, candidates } => Ok((start, candidates)),
            Completion::Autocomplete(request) => {
                let request = *request;
                let invocation = Invocation {
                    user: user.clone(),
                    guild_id,
                    channel_id,
                    data: request.data,
                };
                let choices = self.autocomplete(invocation, &request.focused).await?;
                Ok((request.start, autocomplete_candidates(&choices)))
            }
        }
    }

    /// Sends the autocomplete interaction Discord sends while `focused` is typed, and
    /// waits for the bot's choices (Discord gives up after 3 s, and so does this).
    pub async fn autocomplete(
        &self,
        invocation: Invocation,
        focused: &str,
    ) -> anyhow::Result<Vec<CommandOptionChoice>> {
        let mut handle = self.sim.autocomplete(invocation, focused);
        let wait = async {
            loop {
                match handle.next_event_within(AUTOCOMPLETE_DEADLINE).await {
                    Some(InteractionEvent::Autocomplete(choices)) => return Ok(choices),
                    Some(InteractionEvent::Rejected(reason)) => {
                        anyhow::bail!("Discord rejected the bot's suggestions: {reason}")
                    }
                    Some(_) => {}
                    None => anyhow::bail!("the bot offered no suggestions within 3 s"),
                }
            }
        };
        tokio::time::timeout(AUTOCOMPLETE_DEADLINE, wait)
            .await
            .unwrap_or_else(|_| anyhow::bail!("the bot offered no suggestions within 3 s"))
    }

    /// Turns a typed line into the interaction Discord would send for it.
    pub fn invocation(
        &self,
        user: &SimUser,
        guild_id: Option<u64>,
        channel_id: u64,
        line: &str,
    ) -> Result<Invocation, InputError> {
        let data = parse_command_line(line, &self.commands())?;
        Ok(Invocation {
            user: user.clone(),
            guild_id,
            channel_id,
            data,
        })
    }

    /// Subscribes to the bot's reports of finished interactions; subscribe before
    /// starting the interaction you wait for.
    pub fn finished(&self) -> broadcast::Receiver<Finished> {
        self.dispatcher.subscribe()
    }

    /// Runs a typed line as `user` and waits until the bot has finished answering it.
    pub async fn run_line(
        &self,
        user: &SimUser,
        guild_id: Option<u64>,
        channel_id: u64,
        line: &str,
    ) -> anyhow::Result<Exchange> {
        let invocation = self.invocation(user, guild_id, channel_id, line)?;
        let mut finished = self.finished();
        let handle = self.sim.invoke(invocation);
        let finished = wait_finished(&mut finished, handle.id).await?;
        Ok(Exchange { handle, finished })
    }

    /// Clicks a button on a message as `user` and waits until the bot has answered.
    pub async fn click(
        &self,
        message: &SimMessage,
        custom_id: &str,
        user: &SimUser,
    ) -> anyhow::Result<Exchange> {
        let mut finished = self.finished();
        let handle = self.sim.click(message, custom_id, user)?;
        let finished = wait_finished(&mut finished, handle.id).await?;
        Ok(Exchange { handle, finished })
    }

    /// Shuts the bot down the way SIGTERM does, and waits for it.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.context("the bot task failed")??;
        Ok(())
    }

    /// Starts shutting down without waiting; `join` waits for the end.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the bot to stop after [`LocalBot::begin_shutdown`].
    pub async fn join(self) -> anyhow::Result<()> {
        self.task.await.context("the bot task failed")??;
        Ok(())
    }
}

/// Waits for the bot's report that `handle`'s interaction is finished.
pub async fn wait_finished(
    finished: &mut broadcast::Receiver<Finished>,
    interaction_id: Id<InteractionMarker>,
) -> anyhow::Result<Finished> {
    let wait = async {
        loop {
            match finished.recv().await {
                Ok(report) if report.interaction_id == interaction_id => return Ok(report),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => anyhow::bail!("the bot stopped"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .context("the bot did not finish answering within 60 s")?
}

/// Takes every event that has already happened to `handle`, without waiting.
pub async fn drain_events(handle: &mut InteractionHandle) -> Vec<InteractionEvent> {
    let mut events = Vec::new();
    while let Some(event) = handle.next_event_within(Duration::ZERO).await {
        events.push(event);
    }
    events
}
