//! The simulator's shared state: one mutex around everything, never held across an await.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    net::SocketAddr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use tokio::sync::{broadcast, mpsc, watch};
use twilight_model::{
    application::command::Command,
    id::{Id, marker::InteractionMarker},
};

use super::{
    DiscordSimConfig, GatewayRecord, IdentifyRecord, RestCall, ShardState, SimMessage,
    api_error::ApiError,
    gateway::ConnectionCommand,
    identify::IdentifyLimiter,
    interaction::InteractionRecord,
    payload::MessageInteraction,
    session::{Dispatch, ShardSlot},
    snowflake::SnowflakeGenerator,
    webhook::Webhooks,
};

/// What the next REST calls answer instead of running their handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestFault {
    /// A bare error status with Discord's generic body.
    Status(u16),
    /// A 429 with rate-limit headers.
    RateLimited(Duration),
}

/// What a channel message's `message_reference` asks for: to reply to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReplyReference {
    pub(crate) message_id: u64,
    /// The replied-to message's channel; the posting channel when absent.
    pub(crate) channel_id: Option<u64>,
    /// Whether an unknown message is an error rather than a plain message (default true).
    pub(crate) fail_if_not_exists: bool,
}

/// A message and, for interaction responses, the interaction it answers.
#[derive(Clone, Debug)]
pub(crate) struct StoredMessage {
    pub(crate) message: SimMessage,
    pub(crate) interaction: Option<MessageInteraction>,
}

/// State shared by the REST server, the gateway connections and the test API.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: DiscordSimConfig,
    pub(crate) api_addr: SocketAddr,
    pub(crate) gateway_addr: SocketAddr,
    pub(crate) ids: SnowflakeGenerator,
    state: Mutex<State>,
    /// Bumped whenever a shard's gateway state changes, to wake `wait_until_ready`.
    gateway_changes: watch::Sender<()>,
    /// Every message the bot posts to a channel outside interactions.
    pub(crate) channel_messages: broadcast::Sender<SimMessage>,
    /// The key pair and endpoint of webhook delivery.
    pub(crate) webhooks: Webhooks,
    /// Whether interaction callbacks are held before being answered, and how many are.
    callback_gate: watch::Sender<CallbackGate>,
}

/// Interaction callbacks held back by a test, to see how many a bot has in flight.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallbackGate {
    /// Callbacks wait until the gate opens.
    pub(crate) closed: bool,
    /// How many callbacks are waiting now.
    pub(crate) waiting: usize,
}

impl Shared {
    pub(crate) fn new(
        config: DiscordSimConfig,
        api_addr: SocketAddr,
        gateway_addr: SocketAddr,
    ) -> Self {
        let state = State::new(&config);
        Self {
            config,
            api_addr,
            gateway_addr,
            ids: SnowflakeGenerator::default(),
            state: Mutex::new(state),
            gateway_changes: watch::Sender::new(()),
            channel_messages: broadcast::Sender::new(1024),
            webhooks: Webhooks::default(),
            callback_gate: watch::Sender::new(CallbackGate::default()),
        }
    }

    /// Locks the state; a panic elsewhere while it was held does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes everyone waiting for a gateway state change.
    pub(crate) fn gateway_changed(&self) {
        self.gateway_changes.send_replace(());
    }

    /// Holds interaction callbacks before they are answered (`true`), or lets them and
    /// those waiting through (`false`).
    pub(crate) fn hold_callbacks(&self, hold: bool) {
        self.callback_gate.send_modify(|gate| gate.closed = hold);
    }

    /// Waits while the callback gate is closed.
    pub(crate) async fn pass_callback_gate(&self) {
        if !self.callback_gate.borrow().closed {
            return;
        }
        self.callback_gate.send_modify(|gate| gate.waiting += 1);
        let mut gate = self.callback_gate.subscribe();
        let _ = gate.wait_for(|gate| !gate.closed).await;
        self.callback_gate.send_modify(|gate| gate.waiting -= 1);
    }

    /// Waits until `count` callbacks wait at the gate at once.
    pub(crate) async fn callbacks_waiting(&self, count: usize) {
        let mut gate = self.callback_gate.subscribe();
        let _ = gate.wait_for(|gate| gate.waiting >= count).await;
    }

    /// A receiver that wakes on the next gateway state change.
    pub(crate) fn subscribe_gateway_changes(&self) -> watch::Receiver<()> {
        self.gateway_changes.subscribe()
    }

    /// `ws://127.0.0.1:PORT` (`wss://` when the simulator serves TLS), also sent as
    /// READY's `resume_gateway_url`.
    pub(crate) fn gateway_url(&self) -> String {
        let scheme = if self.config.tls { "wss" } else { "ws" };
        format!("{scheme}://{}", self.gateway_addr)
    }

    /// `http://127.0.0.1:PORT` (`https://` when the simulator serves TLS).
    pub(crate) fn api_url(&self) -> String {
        let scheme = if self.config.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.api_addr)
    }
}

/// Everything the simulator remembers.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) shards: Vec<ShardSlot>,
    /// How long a session without a connection stays resumable.
    resume_window: Duration,
    pub(crate) identify_limiter: IdentifyLimiter,
    /// Connections bound to a shard, by connection id.
    pub(crate) connections: HashMap<u64, mpsc::UnboundedSender<ConnectionCommand>>,
    pub(crate) next_connection_id: u64,
    pub(crate) interactions: HashMap<Id<InteractionMarker>, InteractionRecord>,
    pub(crate) interaction_tokens: HashMap<String, Id<InteractionMarker>>,
    /// Every live message by id; ids increase, so this is creation order.
    pub(crate) messages: BTreeMap<u64, StoredMessage>,
    /// The guild of each channel an interaction came from.
    pub(crate) channel_guilds: HashMap<u64, Option<u64>>,
    /// Application commands by guild; `None` holds the global ones.
    pub(crate) commands: HashMap<Option<u64>, Vec<Command>>,
    pub(crate) rest_calls: Vec<RestCall>,
    pub(crate) rest_faults: VecDeque<RestFault>,
    pub(crate) ack_latencies: Vec<Duration>,
    pub(crate) gateway_log: Vec<GatewayRecord>,
    /// Every IDENTIFY judged against the rate limit.
    pub(crate) identifies: Vec<IdentifyRecord>,
    /// Sessions started, for `session_start_limit.remaining`.
    pub(crate) identify_count: u32,
}

impl State {
    /// Nothing remembered yet, with the limits of `config`.
    pub(crate) fn new(config: &DiscordSimConfig) -> Self {
        Self {
            shards: (0..config.shard_count)
                .map(|_| ShardSlot::default())
                .collect(),
            resume_window: config.resume_window,
            identify_limiter: IdentifyLimiter::new(config.max_concurrency, config.identify_window),
            connections: HashMap::new(),
            next_connection_id: 0,
            interactions: HashMap::new(),
            interaction_tokens: HashMap::new(),
            messages: BTreeMap::new(),
            channel_guilds: HashMap::new(),
            commands: HashMap::new(),
            rest_calls: Vec::new(),
            rest_faults: VecDeque::new(),
            ack_latencies: Vec::new(),
            gateway_log: Vec::new(),
            identifies: Vec::new(),
            identify_count: 0,
        }
    }

    /// Queues a dispatch for `shard`, writing it now if the shard has a live connection.
    pub(crate) fn dispatch(&mut self, shard: u32, dispatch: Dispatch) {
        self.expire_sessions();
        let Some(slot) = self.shards.get_mut(shard as usize) else {
            return;
        };
        if slot.is_expired() {
            self.gateway_log.push(GatewayRecord::DispatchLost {
                shard,
                event: dispatch.event,
            });
            return;
        }
        if let Some(frame) = slot.dispatch(dispatch)
            && let Some(binding) = slot.binding()
            && let Some(connection) = self.connections.get(&binding.connection)
        {
            // If the connection task is gone the frame stays in the replay buffer.
            let _ = connection.send(ConnectionCommand::Frame(frame));
        }
    }

    /// The sender of the connection bound to `shard`, if any.
    pub(crate) fn connection_of(
        &self,
        shard: u32,
    ) -> Option<(u64, mpsc::UnboundedSender<ConnectionCommand>)> {
        let binding = self.shards.get(shard as usize)?.binding()?;
        let sender = self.connections.get(&binding.connection)?;
        Some((binding.connection, sender.clone()))
    }

    /// Ends the sessions left unresumed for longer than the resume window.
    ///
    /// Checked whenever a session matters (a dispatch, an IDENTIFY or RESUME, a look at
    /// the shards) rather than on a timer, so expiry needs no task of its own.
    pub(crate) fn expire_sessions(&mut self) {
        let now = Instant::now();
        for (shard, slot) in (0_u32..).zip(self.shards.iter_mut()) {
            if let Some((session_id, lost)) = slot.expire(now, self.resume_window) {
                self.gateway_log
                    .push(GatewayRecord::SessionExpired { shard, session_id });
                self.gateway_log.extend(lost.into_iter().map(|dispatch| {
                    GatewayRecord::DispatchLost {
                        shard,
                        event: dispatch.event,
                    }
                }));
            }
        }
    }

    /// The public view of every shard's state.
    pub(crate) fn shard_states(&mut self) -> Vec<ShardState> {
        self.expire_sessions();
        self.shards
            .iter()
            .map(|slot| {
                let session_id = slot.session().map(|session| session.id().to_owned());
                match (slot.binding(), session_id) {
                    (Some(binding), Some(session_id)) if binding.live => {
                        ShardState::Active { session_id }
                    }
                    (Some(_), session_id) => ShardState::Reconnecting { session_id },
                    (None, session_id) => ShardState::Disconnected { session_id },
                }
            })
            .collect()
    }

    /// Stores a new message under its id.
    pub(crate) fn insert_message(
        &mut self,
        message: SimMessage,
        interaction: Option<MessageInteraction>,
    ) {
        self.messages.insert(
            message.id,
            StoredMessage {
                message,
                interaction,
            },
        );
    }

    /// The message a reply posted in `channel_id` refers to: `Some` if it is a visible
    /// message of that channel, `None` (a plain message) if not and the reference allows
    /// it, otherwise Discord's error for an unknown replied-to message.
    pub(crate) fn replied_message(
        &self,
        channel_id: u64,
        reference: ReplyReference,
    ) -> Result<Option<u64>, ApiError> {
        let found = reference.channel_id.is_none_or(|id| id == channel_id)
            && self
                .messages
                .get(&reference.message_id)
                .is_some_and(|stored| {
                    stored.message.channel_id == channel_id && !stored.message.is_ephemeral()
                });
        match (found, reference.fail_if_not_exists) {
            (true, _) => Ok(Some(reference.message_id)),
            (false, false) => Ok(None),
            (false, true) => Err(ApiError::invalid_form_body(
                &["message_reference"],
                "REPLIES_UNKNOWN_MESSAGE",
                "Unknown message",
            )),
        }
    }

    /// The guild of `channel_id` as far as the simulator knows it, else the default guild.
    pub(crate) fn guild_of_channel(&self, channel_id: u64, default_guild: u64) -> Option<u64> {
        self.channel_guilds
            .get(&channel_id)
            .copied()
            .unwrap_or(Some(default_guild))
    }
}
