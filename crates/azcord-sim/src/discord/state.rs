//! The simulator's shared state: one mutex around everything, never held across an await.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    net::SocketAddr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::sync::{broadcast, mpsc, watch};
use twilight_model::{
    application::command::Command,
    id::{Id, marker::InteractionMarker},
};

use super::{
    DiscordSimConfig, GatewayRecord, RestCall, ShardState, SimMessage,
    gateway::ConnectionCommand,
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
}

impl Shared {
    pub(crate) fn new(
        config: DiscordSimConfig,
        api_addr: SocketAddr,
        gateway_addr: SocketAddr,
    ) -> Self {
        let shards = (0..config.shard_count)
            .map(|_| ShardSlot::default())
            .collect();
        Self {
            config,
            api_addr,
            gateway_addr,
            ids: SnowflakeGenerator::default(),
            state: Mutex::new(State {
                shards,
                ..State::default()
            }),
            gateway_changes: watch::Sender::new(()),
            channel_messages: broadcast::Sender::new(1024),
            webhooks: Webhooks::default(),
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

    /// A receiver that wakes on the next gateway state change.
    pub(crate) fn subscribe_gateway_changes(&self) -> watch::Receiver<()> {
        self.gateway_changes.subscribe()
    }

    /// `ws://127.0.0.1:PORT`, also sent as READY's `resume_gateway_url`.
    pub(crate) fn gateway_url(&self) -> String {
        format!("ws://{}", self.gateway_addr)
    }
}

/// Everything the simulator remembers.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) shards: Vec<ShardSlot>,
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
    pub(crate) identify_count: u32,
}

impl State {
    /// Queues a dispatch for `shard`, writing it now if the shard has a live connection.
    pub(crate) fn dispatch(&mut self, shard: u32, dispatch: Dispatch) {
        let Some(slot) = self.shards.get_mut(shard as usize) else {
            return;
        };
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

    /// The public view of every shard's state.
    pub(crate) fn shard_states(&self) -> Vec<ShardState> {
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

    /// The guild of `channel_id` as far as the simulator knows it, else the default guild.
    pub(crate) fn guild_of_channel(&self, channel_id: u64, default_guild: u64) -> Option<u64> {
        self.channel_guilds
            .get(&channel_id)
            .copied()
            .unwrap_or(Some(default_guild))
    }
}
