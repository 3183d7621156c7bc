//! A Discord simulator on loopback: gateway v10 and REST v10, driven from Rust.
//!
//! The bot connects with its real twilight clients (gateway via `proxy_url`, REST via
//! `proxy`); the test plays the users through [`DiscordSim`]: it invokes commands, clicks
//! buttons, injects faults and reads back what the bot did.
//!
//! Layout: `session` keeps sequence numbers and replay buffers, `gateway` runs the
//! WebSocket connections, `rest` the HTTP routes, `interaction` the callback and webhook
//! rules, `messages` the message bodies and limits, `payload` builds twilight-model
//! structs, and `webhook` delivers interactions to an interactions endpoint URL instead
//! of the gateway. Everything shares one `state::State` behind a mutex.

mod api_error;
mod gateway;
mod handle;
mod identify;
mod interaction;
mod messages;
mod model;
mod payload;
mod rest;
mod session;
mod snowflake;
mod state;
mod webhook;

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    net::TcpListener,
    sync::{broadcast, mpsc, oneshot, watch},
};
use twilight_model::{
    application::{
        command::{Command, CommandOptionType},
        interaction::{
            InteractionData, InteractionType,
            application_command::{CommandData, CommandDataOption, CommandOptionValue},
            message_component::MessageComponentInteractionData,
        },
    },
    channel::message::{
        Component,
        component::{ComponentType, SelectMenuType},
    },
    gateway::Intents,
    guild::Permissions,
    id::Id,
};

pub use self::webhook::{EndpointAnswer, EndpointError, Signing, WebhookDelivery};
use self::{
    gateway::{CloseReason, ConnectionCommand, GatewayListener, opcode_frame},
    interaction::InteractionRecord,
    payload::InteractionParts,
    session::{Dispatch, shard_for_guild},
    snowflake::random_hex,
    state::{RestFault, Shared},
};
pub use self::{
    handle::InteractionHandle,
    model::{
        GatewayRecord, IdentifyRecord, InteractionEvent, Invocation, RestCall, ShardState,
        SimError, SimMessage, SimUser,
    },
};
use crate::tls::{CaFile, TestCa};

/// How the simulated Discord is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscordSimConfig {
    /// The bot token the gateway and REST API accept, with or without `Bot `.
    pub token: String,
    /// The application's snowflake.
    pub application_id: u64,
    /// The application's name.
    pub application_name: String,
    /// The bot user's snowflake.
    pub bot_user_id: u64,
    /// The bot user's name.
    pub bot_name: String,
    /// The guild the bot is in, listed in READY.
    pub guild_id: u64,
    /// How many shards the bot must identify with.
    pub shard_count: u32,
    /// `session_start_limit.max_concurrency`: identifies are bucketed by
    /// `shard_id % max_concurrency`, each bucket starting one session per `identify_window`.
    pub max_concurrency: u32,
    /// How often each identify bucket may start a session (Discord: 5 s); an IDENTIFY that
    /// comes sooner gets opcode 9 (`d: false`). Zero lifts the limit.
    pub identify_window: Duration,
    /// How long a session stays resumable after its connection closes, with the
    /// dispatches sent meanwhile kept for replay. Discord does not publish its figure;
    /// past it, a RESUME gets opcode 9 (`d: false`) and those dispatches are lost.
    pub resume_window: Duration,
    /// The heartbeat interval sent in HELLO.
    pub heartbeat_interval: Duration,
    /// How long after dispatch an interaction may be acknowledged (Discord: 3 s).
    pub interaction_ack_deadline: Duration,
    /// How long an interaction token works for follow-ups and edits (Discord: 15 min).
    pub interaction_token_lifetime: Duration,
    /// Intents the bot may request; others close the gateway with 4014.
    pub allowed_intents: Intents,
    /// The bot's permissions in every channel, sent as `app_permissions`.
    pub app_permissions: Permissions,
    /// How long [`InteractionHandle`] waits for an event before panicking.
    pub wait_timeout: Duration,
    /// Serve REST over HTTPS and the gateway over `wss://`, with a certificate from a
    /// test CA made at start-up ([`DiscordSim::ca_file`]), as Discord serves both over
    /// TLS. Off, both are plain, as the local mode and most tests use them.
    pub tls: bool,
}

impl Default for DiscordSimConfig {
    fn default() -> Self {
        Self {
            token: "sim-token".to_owned(),
            application_id: 1_200_000_000_000_000_001,
            application_name: "azcord".to_owned(),
            bot_user_id: 1_200_000_000_000_000_001,
            bot_name: "azcord".to_owned(),
            guild_id: 1_200_000_000_000_000_100,
            shard_count: 1,
            max_concurrency: 1,
            identify_window: Duration::from_secs(5),
            resume_window: Duration::from_secs(120),
            heartbeat_interval: Duration::from_millis(41_250),
            interaction_ack_deadline: Duration::from_secs(3),
            interaction_token_lifetime: Duration::from_secs(15 * 60),
            allowed_intents: Intents::all(),
            app_permissions: Permissions::VIEW_CHANNEL
                | Permissions::SEND_MESSAGES
                | Permissions::EMBED_LINKS
                | Permissions::ATTACH_FILES
                | Permissions::READ_MESSAGE_HISTORY
                | Permissions::USE_EXTERNAL_EMOJIS,
            wait_timeout: Duration::from_secs(10),
            tls: false,
        }
    }
}

impl DiscordSimConfig {
    /// The token without a `Bot ` prefix.
    pub(crate) fn bare_token(&self) -> &str {
        self.token.strip_prefix("Bot ").unwrap_or(&self.token)
    }
}

/// A running simulator. Clones share it; it stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct DiscordSim {
    shared: Arc<Shared>,
    /// The test CA and its file, when the simulator serves TLS.
    tls: Option<Arc<(TestCa, CaFile)>>,
    /// Dropping the last sender stops the servers and closes every connection.
    _shutdown: Arc<watch::Sender<()>>,
}

/// Serves the REST routes on `listener` until the simulator is dropped.
async fn serve_api<L>(listener: L, router: axum::Router, mut stopped: watch::Receiver<()>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let _ = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stopped.changed().await;
        })
        .await;
}

impl DiscordSim {
    /// Starts the REST and gateway servers on two free loopback ports, over TLS if the
    /// configuration asks for it.
    ///
    /// # Errors
    ///
    /// If a port cannot be bound, the test CA cannot be made, or the configuration has
    /// no shards.
    pub async fn start(config: DiscordSimConfig) -> io::Result<Self> {
        if config.shard_count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the shard count must be at least 1",
            ));
        }
        let api = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let gateway = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let api_addr = api.local_addr()?;
        let tls = if config.tls {
            let ca = TestCa::generate("azcord Discord simulator")?;
            let file = CaFile::write(&ca, "discord-sim", api_addr)?;
            Some(Arc::new((ca, file)))
        } else {
            None
        };
        let shared = Arc::new(Shared::new(config, api_addr, gateway.local_addr()?));
        let (shutdown, stopped) = watch::channel(());

        let router = rest::router(Arc::clone(&shared));
        let gateway = match &tls {
            Some(tls) => {
                let (ca, _) = &**tls;
                tokio::spawn(serve_api(ca.listener(api)?, router, stopped.clone()));
                GatewayListener::Tls(ca.listener(gateway)?)
            }
            None => {
                tokio::spawn(serve_api(api, router, stopped.clone()));
                GatewayListener::Plain(gateway)
            }
        };
        tokio::spawn(gateway::serve(Arc::clone(&shared), gateway, stopped));
        Ok(Self {
            shared,
            tls,
            _shutdown: Arc::new(shutdown),
        })
    }

    /// The REST base URL, `http://127.0.0.1:PORT` (`https://` over TLS); routes live
    /// under `/api/v10`.
    pub fn api_url(&self) -> String {
        self.shared.api_url()
    }

    /// A file holding the PEM of the test CA that the simulator's certificate chains to
    /// (`SSL_CERT_FILE`), when it serves TLS; removed when the simulator stops.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_deref().map(|(_, file)| file.path.as_path())
    }

    /// The REST address as twilight-http's `ClientBuilder::proxy` takes it: `127.0.0.1:PORT`.
    pub fn api_proxy(&self) -> String {
        self.shared.api_addr.to_string()
    }

    /// The REST server's socket address.
    pub fn api_addr(&self) -> SocketAddr {
        self.shared.api_addr
    }

    /// The gateway URL, `ws://127.0.0.1:PORT` (`wss://` over TLS), for
    /// twilight-gateway's `proxy_url`.
    pub fn gateway_url(&self) -> String {
        self.shared.gateway_url()
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &DiscordSimConfig {
        &self.shared.config
    }

    // ---- gateway ----

    /// Waits until every shard has an identified or resumed connection receiving dispatches.
    pub async fn wait_until_ready(&self) {
        self.wait_for_shards(|states| {
            states
                .iter()
                .all(|state| matches!(state, ShardState::Active { .. }))
        })
        .await;
    }

    /// Waits until `condition` holds for the shard states (indexed by shard number).
    pub async fn wait_for_shards(&self, condition: impl Fn(&[ShardState]) -> bool) {
        let mut changes = self.shared.subscribe_gateway_changes();
        while !condition(&self.shard_states()) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// The gateway state of each shard, indexed by shard number.
    pub fn shard_states(&self) -> Vec<ShardState> {
        self.shared.lock().shard_states()
    }

    /// Notable gateway events so far: identifies, resumes, closes.
    pub fn gateway_log(&self) -> Vec<GatewayRecord> {
        self.shared.lock().gateway_log.clone()
    }

    /// Every IDENTIFY with a valid token and shard so far, in order, judged against the
    /// identify rate limit.
    pub fn identifies(&self) -> Vec<IdentifyRecord> {
        self.shared.lock().identifies.clone()
    }

    /// Whether any IDENTIFY came before its bucket's window had passed.
    pub fn identify_limit_broken(&self) -> bool {
        self.shared
            .lock()
            .identifies
            .iter()
            .any(|record| record.too_early)
    }

    // ---- interactions ----

    /// A user runs a slash command (an APPLICATION_COMMAND interaction).
    ///
    /// With no client connected to its shard, it waits in the session's replay buffer
    /// for a RESUME (or, without a session, for the next READY), as Discord keeps the
    /// events of a session that is away.
    pub fn invoke(&self, call: Invocation) -> InteractionHandle {
        self.start_interaction(
            InteractionType::ApplicationCommand,
            call.user,
            call.guild_id,
            call.channel_id,
            InteractionData::ApplicationCommand(Box::new(call.data)),
            None,
        )
    }

    /// A user types into the option named `focused` (an APPLICATION_COMMAND_AUTOCOMPLETE).
    ///
    /// The option's value becomes the partial text Discord sends; an option of that name
    /// may sit inside a subcommand.
    pub fn autocomplete(&self, call: Invocation, focused: &str) -> InteractionHandle {
        let mut data = call.data;
        mark_focused(&mut data.options, focused);
        self.start_interaction(
            InteractionType::ApplicationCommandAutocomplete,
            call.user,
            call.guild_id,
            call.channel_id,
            InteractionData::ApplicationCommand(Box::new(data)),
            None,
        )
    }

    /// A user clicks the button `custom_id` on a message the bot sent (a MESSAGE_COMPONENT).
    ///
    /// # Errors
    ///
    /// If the message, as it stands now, has no component with that custom id.
    pub fn click(
        &self,
        message: &SimMessage,
        custom_id: &str,
        user: &SimUser,
    ) -> Result<InteractionHandle, SimError> {
        self.use_component(message, custom_id, Vec::new(), user)
    }

    /// A user picks `values` in the select menu `custom_id` on a message the bot sent.
    ///
    /// # Errors
    ///
    /// If the message, as it stands now, has no component with that custom id.
    pub fn select(
        &self,
        message: &SimMessage,
        custom_id: &str,
        values: &[&str],
        user: &SimUser,
    ) -> Result<InteractionHandle, SimError> {
        let values = values.iter().map(|&value| value.to_owned()).collect();
        self.use_component(message, custom_id, values, user)
    }

    /// Command data for the registered command `name` (guild command first, then global),
    /// with the given options; `None` if the bot registered no such command.
    pub fn command_data(
        &self,
        guild_id: Option<u64>,
        name: &str,
        options: Vec<CommandDataOption>,
    ) -> Option<CommandData> {
        let state = self.shared.lock();
        let scopes = [guild_id, None];
        let (scope, command) = scopes.iter().find_map(|scope| {
            let command = state
                .commands
                .get(scope)?
                .iter()
                .find(|command| command.name == name)?;
            Some((*scope, command))
        })?;
        Some(CommandData {
            guild_id: scope.map(Id::new),
            id: command.id?,
            kind: command.kind,
            name: command.name.clone(),
            options,
            resolved: None,
            target_id: None,
        })
    }

    // ---- webhook delivery ----

    /// The application's Ed25519 public key, as the developer portal shows it, for the
    /// bot's `DISCORD_PUBLIC_KEY`.
    pub fn public_key(&self) -> String {
        self.shared.webhooks.public_key_hex()
    }

    /// Sets the interactions endpoint URL, such as `http://127.0.0.1:PORT/interactions`:
    /// from now on interactions are signed and POSTed there instead of sent over the
    /// gateway, and the endpoint's answer is their response. `None` goes back to the
    /// gateway.
    pub fn set_interactions_endpoint(&self, url: Option<String>) {
        self.shared.webhooks.set_endpoint(url);
    }

    /// A user runs a slash command, delivered to the interactions endpoint signed as
    /// `signing` says; see [`DiscordSim::set_interactions_endpoint`].
    pub fn invoke_signed(&self, call: Invocation, signing: Signing) -> InteractionHandle {
        self.start_interaction_signed(
            InteractionType::ApplicationCommand,
            call.user,
            call.guild_id,
            call.channel_id,
            InteractionData::ApplicationCommand(Box::new(call.data)),
            None,
            signing,
        )
    }

    /// Sends Discord's PING to the interactions endpoint, as the developer portal does
    /// when the URL is saved, and returns the answer.
    ///
    /// # Errors
    ///
    /// If no endpoint is set or it cannot be reached.
    pub async fn ping_endpoint(&self) -> Result<EndpointAnswer, EndpointError> {
        // What Discord sends when the URL is saved in the developer portal.
        let body = serde_json::json!({
            "app_permissions": "0",
            "application_id": self.shared.config.application_id.to_string(),
            "authorizing_integration_owners": {},
            "entitlements": [],
            "id": self.shared.ids.next().to_string(),
            "token": format!("aW50ZXJhY3Rpb246{}", random_hex(64)),
            "type": 1,
            "user": {
                "avatar": null,
                "discriminator": "0000",
                "global_name": "Discord",
                "id": "643945264868098049",
                "public_flags": 1,
                "username": "discord",
            },
            "version": 1,
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        self.post_to_endpoint(body, Signing::Valid).await
    }

    /// POSTs any body to the interactions endpoint, signed as `signing` says.
    ///
    /// # Errors
    ///
    /// If no endpoint is set or it cannot be reached.
    pub async fn post_to_endpoint(
        &self,
        body: Vec<u8>,
        signing: Signing,
    ) -> Result<EndpointAnswer, EndpointError> {
        self.shared.webhooks.post(body.into(), signing).await
    }

    /// Every interaction delivered to the interactions endpoint so far, once answered.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.webhooks.log()
    }

    // ---- faults ----

    /// Sends opcode 7 RECONNECT; dispatches are buffered until the shard resumes.
    ///
    /// # Errors
    ///
    /// If the shard has no connection, or it closes before the frame is written.
    pub async fn send_reconnect(&self, shard: u32) -> Result<(), SimError> {
        let text = opcode_frame(7, Value::Null);
        self.send_control(shard, text, |slot, connection| slot.suspend(connection))
            .await
    }

    /// Sends opcode 9 INVALID_SESSION; unless `resumable`, the session ends now and its
    /// undelivered dispatches follow the next READY.
    ///
    /// # Errors
    ///
    /// If the shard has no connection, or it closes before the frame is written.
    pub async fn send_invalid_session(&self, shard: u32, resumable: bool) -> Result<(), SimError> {
        let text = opcode_frame(9, Value::Bool(resumable));
        self.send_control(shard, text, |slot, connection| {
            slot.suspend(connection);
            if !resumable {
                slot.invalidate_session();
            }
        })
        .await
    }

    /// Sends opcode 1 HEARTBEAT, which the client must answer at once.
    ///
    /// # Errors
    ///
    /// If the shard has no connection, or it closes before the frame is written.
    pub async fn request_heartbeat(&self, shard: u32) -> Result<(), SimError> {
        self.send_control(shard, opcode_frame(1, Value::Null), |_, _| ())
            .await
    }

    /// Writes any text frame, e.g. a malformed payload the bot must skip.
    ///
    /// # Errors
    ///
    /// If the shard has no connection, or it closes before the frame is written.
    pub async fn send_raw_dispatch(&self, shard: u32, json: &str) -> Result<(), SimError> {
        self.send_control(shard, json.to_owned(), |_, _| ()).await
    }

    /// Drops the shard's TCP connection without a close frame; the session stays resumable.
    ///
    /// # Errors
    ///
    /// If the shard has no connection.
    pub async fn drop_connection(&self, shard: u32) -> Result<(), SimError> {
        let (done, finished) = oneshot::channel();
        let sender = self.suspend(shard, |_, _| ())?;
        let _ = sender.send(ConnectionCommand::Drop { done: Some(done) });
        let _ = finished.await;
        Ok(())
    }

    /// Closes the shard's connection with a close frame carrying `code` (e.g. 4000 or 4004).
    ///
    /// # Errors
    ///
    /// If the shard has no connection.
    pub async fn close_connection(&self, shard: u32, code: u16) -> Result<(), SimError> {
        let (done, finished) = oneshot::channel();
        let sender = self.suspend(shard, |_, _| ())?;
        let _ = sender.send(ConnectionCommand::Close {
            reason: CloseReason::Custom(code),
            done,
        });
        let _ = finished.await;
        Ok(())
    }

    /// Stops (or resumes) answering the shard's heartbeats, so the client sees a zombie.
    pub fn stop_heartbeat_acks(&self, shard: u32, stop: bool) {
        if let Some(slot) = self.shared.lock().shards.get_mut(shard as usize) {
            slot.heartbeat_acks_stopped = stop;
        }
    }

    /// Ages every interaction so far past its token's 15 minutes, as simulated time:
    /// from now on their webhook requests get 401 with 50027 "Invalid Webhook Token",
    /// as Discord answers an expired token, while the bot's token still works.
    pub fn expire_interaction_tokens(&self) {
        let mut state = self.shared.lock();
        for record in state.interactions.values_mut() {
            record.token_expired = true;
        }
    }

    /// Holds every interaction callback from now on before answering it, until
    /// [`DiscordSim::release_callbacks`]: a bot's callbacks in flight at once then wait
    /// together, and [`DiscordSim::wait_for_held_callbacks`] can count them.
    pub fn hold_callbacks(&self) {
        self.shared.hold_callbacks(true);
    }

    /// Answers the callbacks held, and those that come after, as usual.
    pub fn release_callbacks(&self) {
        self.shared.hold_callbacks(false);
    }

    /// Waits until `count` interaction callbacks are held at once.
    pub async fn wait_for_held_callbacks(&self, count: usize) {
        self.shared.callbacks_waiting(count).await;
    }

    /// The next `count` REST calls answer `status` with Discord's error body.
    pub fn fail_next_rest(&self, count: usize, status: u16) {
        let mut state = self.shared.lock();
        state
            .rest_faults
            .extend(std::iter::repeat_n(RestFault::Status(status), count));
    }

    /// The next `count` REST calls answer 429 with Discord's rate-limit headers and body.
    pub fn rate_limit_next_rest(&self, count: usize, retry_after: Duration) {
        let mut state = self.shared.lock();
        state.rest_faults.extend(std::iter::repeat_n(
            RestFault::RateLimited(retry_after),
            count,
        ));
    }

    // ---- recordings ----

    /// Every REST call so far, in the order they were answered.
    pub fn rest_calls(&self) -> Vec<RestCall> {
        self.shared.lock().rest_calls.clone()
    }

    /// The commands the bot registered, globally (`None`) or in a guild.
    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Command> {
        self.shared
            .lock()
            .commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// For each acknowledged interaction, in order: from the dispatch being written to
    /// the callback arriving.
    pub fn ack_latencies(&self) -> Vec<Duration> {
        self.shared.lock().ack_latencies.clone()
    }

    /// The channel's visible (non-ephemeral) messages, oldest first, interaction responses included.
    pub fn channel_messages(&self, channel_id: u64) -> Vec<SimMessage> {
        self.shared
            .lock()
            .messages
            .values()
            .filter(|stored| {
                stored.message.channel_id == channel_id && !stored.message.is_ephemeral()
            })
            .map(|stored| stored.message.clone())
            .collect()
    }

    /// A message as it stands now.
    pub fn message(&self, id: u64) -> Option<SimMessage> {
        self.shared
            .lock()
            .messages
            .get(&id)
            .map(|stored| stored.message.clone())
    }

    /// Every message the bot posts to a channel with `POST /channels/{id}/messages` from now on.
    pub fn subscribe_channel_messages(&self) -> broadcast::Receiver<SimMessage> {
        self.shared.channel_messages.subscribe()
    }

    // ---- helpers ----

    fn use_component(
        &self,
        message: &SimMessage,
        custom_id: &str,
        values: Vec<String>,
        user: &SimUser,
    ) -> Result<InteractionHandle, SimError> {
        let unknown = || SimError::UnknownComponent {
            message_id: message.id,
            custom_id: custom_id.to_owned(),
        };
        let (current, twilight_message) = {
            let state = self.shared.lock();
            let stored = state.messages.get(&message.id).ok_or_else(unknown)?;
            let twilight = payload::message(
                &self.shared.config,
                &stored.message,
                stored.interaction.as_ref(),
            );
            (stored.message.clone(), twilight)
        };
        let component_type = find_component(&current.components, custom_id).ok_or_else(unknown)?;
        let data = InteractionData::MessageComponent(Box::new(MessageComponentInteractionData {
            component_type,
            custom_id: custom_id.to_owned(),
            resolved: None,
            values,
        }));
        Ok(self.start_interaction(
            InteractionType::MessageComponent,
            user.clone(),
            current.guild_id,
            current.channel_id,
            data,
            Some((current.id, twilight_message)),
        ))
    }

    fn start_interaction(
        &self,
        kind: InteractionType,
        user: SimUser,
        guild_id: Option<u64>,
        channel_id: u64,
        data: InteractionData,
        source: Option<(u64, twilight_model::channel::Message)>,
    ) -> InteractionHandle {
        self.start_interaction_signed(
            kind,
            user,
            guild_id,
            channel_id,
            data,
            source,
            Signing::Valid,
        )
    }

    /// Starts an interaction: over the gateway, or to the interactions endpoint signed
    /// as `signing` says when one is set.
    #[allow(clippy::too_many_arguments, reason = "the parts of one interaction")]
    fn start_interaction_signed(
        &self,
        kind: InteractionType,
        user: SimUser,
        guild_id: Option<u64>,
        channel_id: u64,
        data: InteractionData,
        source: Option<(u64, twilight_model::channel::Message)>,
        signing: Signing,
    ) -> InteractionHandle {
        let config = &self.shared.config;
        let id = Id::new(self.shared.ids.next());
        let token = format!("aW50ZXJhY3Rpb246{id}:{}", random_hex(64));
        let (events_tx, events) = mpsc::unbounded_channel();
        let (source_message, message) = source.unzip();
        let parts = InteractionParts {
            id,
            kind,
            token: token.clone(),
            user: user.clone(),
            guild_id,
            channel_id,
            data,
            message,
        };
        let dispatch = Dispatch {
            event: "INTERACTION_CREATE".to_owned(),
            data: payload::interaction(config, &parts),
            interaction: Some(id),
        };
        let shard = shard_for_guild(guild_id, config.shard_count);
        let delivery = {
            let mut state = self.shared.lock();
            state.channel_guilds.insert(channel_id, guild_id);
            state.interactions.insert(
                id,
                InteractionRecord {
                    id,
                    token: token.clone(),
                    kind,
                    user,
                    guild_id,
                    channel_id,
                    created_at: Instant::now(),
                    dispatched_at: None,
                    response: None,
                    original: None,
                    source_message,
                    followups: Vec::new(),
                    events: events_tx,
                    token_expired: false,
                },
            );
            state.interaction_tokens.insert(token.clone(), id);
            if self.shared.webhooks.endpoint().is_some() {
                Some(dispatch.data)
            } else {
                state.dispatch(shard, dispatch);
                None
            }
        };
        if let Some(data) = delivery {
            webhook::deliver(&self.shared, id, token.clone(), data, signing);
        }
        InteractionHandle::new(id, token, Arc::clone(&self.shared), events)
    }

    /// Applies `change` to the shard's slot and returns its connection's sender.
    fn suspend(
        &self,
        shard: u32,
        change: impl FnOnce(&mut session::ShardSlot, u64),
    ) -> Result<mpsc::UnboundedSender<ConnectionCommand>, SimError> {
        let shard_count = self.shared.config.shard_count;
        if shard >= shard_count {
            return Err(SimError::NoSuchShard { shard, shard_count });
        }
        let sender = {
            let mut state = self.shared.lock();
            let (connection, sender) = state
                .connection_of(shard)
                .ok_or(SimError::ShardNotConnected(shard))?;
            if let Some(slot) = state.shards.get_mut(shard as usize) {
                change(slot, connection);
            }
            sender
        };
        self.shared.gateway_changed();
        Ok(sender)
    }

    /// Writes a frame outside the session after applying `change`, and waits until it is written.
    async fn send_control(
        &self,
        shard: u32,
        text: String,
        change: impl FnOnce(&mut session::ShardSlot, u64),
    ) -> Result<(), SimError> {
        let sender = self.suspend(shard, change)?;
        let (written, was_written) = oneshot::channel();
        sender
            .send(ConnectionCommand::Control { text, written })
            .map_err(|_| SimError::ConnectionClosed(shard))?;
        was_written
            .await
            .map_err(|_| SimError::ConnectionClosed(shard))
    }
}

/// Marks the option `name` as focused, turning its value into the typed text.
fn mark_focused(options: &mut [CommandDataOption], name: &str) -> bool {
    options.iter_mut().any(|option| match &mut option.value {
        CommandOptionValue::SubCommand(inner) | CommandOptionValue::SubCommandGroup(inner) => {
            mark_focused(inner, name)
        }
        value if option.name == name => focus(value),
        _ => false,
    })
}

/// Turns an option value into the focused text Discord sends while the user types.
fn focus(value: &mut CommandOptionValue) -> bool {
    let focused = match value {
        CommandOptionValue::String(text) => {
            CommandOptionValue::Focused(text.clone(), CommandOptionType::String)
        }
        CommandOptionValue::Integer(number) => {
            CommandOptionValue::Focused(number.to_string(), CommandOptionType::Integer)
        }
        CommandOptionValue::Number(number) => {
            CommandOptionValue::Focused(number.to_string(), CommandOptionType::Number)
        }
        other => return matches!(other, CommandOptionValue::Focused(..)),
    };
    *value = focused;
    true
}

/// The type of the interactive component with `custom_id`, searching nested layouts.
fn find_component(components: &[Component], custom_id: &str) -> Option<ComponentType> {
    components.iter().find_map(|component| match component {
        Component::ActionRow(row) => find_component(&row.components, custom_id),
        Component::Container(container) => find_component(&container.components, custom_id),
        Component::Section(section) => find_component(&section.components, custom_id)
            .or_else(|| find_component(std::slice::from_ref(&section.accessory), custom_id)),
        Component::Button(button) if button.custom_id.as_deref() == Some(custom_id) => {
            Some(ComponentType::Button)
        }
        Component::SelectMenu(menu) if menu.custom_id == custom_id => Some(match menu.kind {
            SelectMenuType::Channel => ComponentType::ChannelSelectMenu,
            SelectMenuType::Mentionable => ComponentType::MentionableSelectMenu,
            SelectMenuType::Role => ComponentType::RoleSelectMenu,
            SelectMenuType::User => ComponentType::UserSelectMenu,
            _ => ComponentType::TextSelectMenu,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilight_model::channel::message::component::{ActionRow, Button, ButtonStyle};

    #[test]
    fn focus_marks_nested_options() {
        let mut options = vec![CommandDataOption {
            name: "start".to_owned(),
            value: CommandOptionValue::SubCommand(vec![CommandDataOption {
                name: "name".to_owned(),
                value: CommandOptionValue::String("we".to_owned()),
            }]),
        }];
        assert!(mark_focused(&mut options, "name"));
        let CommandOptionValue::SubCommand(inner) = &options[0].value else {
            panic!("subcommand expected");
        };
        assert_eq!(
            inner[0].value,
            CommandOptionValue::Focused("we".to_owned(), CommandOptionType::String)
        );
        assert!(!mark_focused(&mut options, "missing"));
    }

    #[test]
    fn components_are_found_in_action_rows() {
        let button = |custom_id: &str| {
            Component::Button(Button {
                custom_id: Some(custom_id.to_owned()),
                disabled: false,
                emoji: None,
                label: Some(custom_id.to_owned()),
                style: ButtonStyle::Primary,
                url: None,
                sku_id: None,
                id: None,
            })
        };
        let components = vec![Component::ActionRow(ActionRow {
            components: vec![button("yes"), button("no")],
            id: None,
        })];
        assert_eq!(
            find_component(&components, "no"),
            Some(ComponentType::Button)
        );
        assert_eq!(find_component(&components, "maybe"), None);
    }
}
