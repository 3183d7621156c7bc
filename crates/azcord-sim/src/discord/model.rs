//! The plain data the simulator's Rust API takes and returns.

use std::time::Instant;

use serde_json::Value;
use twilight_model::{
    application::{command::CommandOptionChoice, interaction::application_command::CommandData},
    channel::message::{Component, Embed, MessageFlags},
    guild::Permissions,
    http::interaction::InteractionResponseType,
    id::{Id, marker::InteractionMarker},
    util::Timestamp,
};

/// A Discord user who invokes commands and clicks buttons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimUser {
    /// The user's snowflake.
    pub id: u64,
    /// The username.
    pub name: String,
    /// Roles the user has in the guild; ignored in direct messages.
    pub role_ids: Vec<u64>,
    /// The user's computed permissions in the channel, sent as `member.permissions`.
    pub permissions: Permissions,
}

impl SimUser {
    /// A user without roles and with the permissions of a plain guild member.
    pub fn new(id: u64, name: &str) -> Self {
        Self {
            id,
            name: name.to_owned(),
            role_ids: Vec::new(),
            permissions: default_member_permissions(),
        }
    }
}

/// A slash command as a user would run it.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    /// Who runs the command.
    pub user: SimUser,
    /// The guild it runs in; `None` for a direct message with the bot.
    pub guild_id: Option<u64>,
    /// The channel it runs in.
    pub channel_id: u64,
    /// The command and its options, as Discord sends them.
    pub data: CommandData,
}

/// A message as it stands in the simulated Discord.
#[derive(Clone, Debug, PartialEq)]
pub struct SimMessage {
    /// The message's snowflake.
    pub id: u64,
    /// The channel it was posted in.
    pub channel_id: u64,
    /// The guild of that channel; `None` in direct messages.
    pub guild_id: Option<u64>,
    /// The interaction it answers, for interaction responses and follow-ups.
    pub interaction_id: Option<Id<InteractionMarker>>,
    /// The message it replies to (its `message_reference`), for replies posted to a channel.
    pub referenced_message_id: Option<u64>,
    /// The text; empty when the message has none, or is still loading.
    pub content: String,
    /// The embeds.
    pub embeds: Vec<Embed>,
    /// The components, such as action rows of buttons.
    pub components: Vec<Component>,
    /// Message flags, e.g. `EPHEMERAL` and `LOADING`.
    pub flags: MessageFlags,
    /// When it was posted.
    pub timestamp: Timestamp,
    /// When it was last edited.
    pub edited_timestamp: Option<Timestamp>,
}

impl SimMessage {
    /// Whether only the invoking user can see it.
    pub fn is_ephemeral(&self) -> bool {
        self.flags.contains(MessageFlags::EPHEMERAL)
    }

    /// Whether it is a deferred response still showing "is thinking...".
    pub fn is_loading(&self) -> bool {
        self.flags.contains(MessageFlags::LOADING)
    }
}

/// Something that happened to an interaction, in the order the bot caused it.
#[derive(Clone, Debug, PartialEq)]
pub enum InteractionEvent {
    /// The bot answered the callback with a message, a deferral or a message update.
    Acknowledged {
        /// The callback type the bot used.
        kind: InteractionResponseType,
        /// Whether the answer was a deferral (types 5 and 6).
        deferred: bool,
        /// The message the callback created or updated, if any.
        message: Option<SimMessage>,
    },
    /// The original response was edited.
    OriginalEdited(SimMessage),
    /// The original response was deleted.
    OriginalDeleted,
    /// A follow-up message was sent. After a deferral the first one replaces the loading message.
    Followup(SimMessage),
    /// A follow-up message was edited.
    FollowupEdited(SimMessage),
    /// A follow-up message with this id was deleted.
    FollowupDeleted(u64),
    /// The bot answered an autocomplete interaction with these choices.
    Autocomplete(Vec<CommandOptionChoice>),
    /// The bot answered with a modal.
    Modal {
        /// The modal's custom id.
        custom_id: String,
        /// The modal's title.
        title: String,
        /// The modal's components.
        components: Vec<Component>,
    },
    /// The simulator refused a request of the bot about this interaction; the reason.
    Rejected(String),
}

/// One REST request the bot made, as the simulator answered it.
#[derive(Clone, Debug, PartialEq)]
pub struct RestCall {
    /// The HTTP method.
    pub method: http::Method,
    /// The path, starting with `/api/v10/`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The status code answered.
    pub status: u16,
    /// The JSON body, or the `payload_json` part of a multipart body.
    pub body: Option<Value>,
    /// Whether an `Authorization` header was present.
    pub authorized: bool,
}

/// The gateway state of one shard, as the simulator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardState {
    /// No connection is bound to the shard; a session may still be resumable.
    Disconnected {
        /// The session that can be resumed, if any.
        session_id: Option<String>,
    },
    /// A connection is bound but was told to reconnect; dispatches are buffered.
    Reconnecting {
        /// The session that can be resumed, if it was not invalidated.
        session_id: Option<String>,
    },
    /// A connection is identified or resumed and receives dispatches.
    Active {
        /// The session id sent in READY.
        session_id: String,
    },
}

/// A notable gateway event, recorded for tests to assert on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayRecord {
    /// A shard identified and received READY.
    Identified {
        /// The shard.
        shard: u32,
        /// The new session.
        session_id: String,
    },
    /// A shard resumed its session.
    Resumed {
        /// The shard.
        shard: u32,
        /// The resumed session.
        session_id: String,
        /// How many dispatches were replayed before RESUMED.
        replayed: usize,
    },
    /// A RESUME was answered with opcode 9 because the session is unknown or too old.
    ResumeRefused {
        /// The session the client tried to resume.
        session_id: String,
    },
    /// An IDENTIFY came before its bucket's window had passed and was answered with
    /// opcode 9; see [`IdentifyRecord`].
    IdentifyTooEarly {
        /// The shard it claimed.
        shard: u32,
    },
    /// A session was not resumed within the resume window and ended.
    SessionExpired {
        /// The shard.
        shard: u32,
        /// The session that ended.
        session_id: String,
    },
    /// A dispatch was lost, as on Discord: it waited in a session that expired, or came
    /// after that and before the next IDENTIFY.
    DispatchLost {
        /// The shard.
        shard: u32,
        /// The event name, e.g. `INTERACTION_CREATE`.
        event: String,
    },
    /// The client sent a close frame.
    ClientClosed {
        /// The shard of the connection, if it had identified.
        shard: Option<u32>,
        /// The close code.
        code: Option<u16>,
    },
    /// The simulator closed the connection with a close code.
    ServerClosed {
        /// The shard of the connection, if it had identified.
        shard: Option<u32>,
        /// The close code.
        code: u16,
    },
    /// The TCP connection ended without a close handshake.
    ConnectionLost {
        /// The shard of the connection, if it had identified.
        shard: Option<u32>,
    },
}

/// One IDENTIFY with a valid token and shard, judged against the identify rate limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentifyRecord {
    /// The shard it claimed.
    pub shard: u32,
    /// Its rate-limit bucket, `shard % max_concurrency`.
    pub bucket: u32,
    /// When it arrived.
    pub at: Instant,
    /// Whether it came before the bucket's window had passed; it was then refused.
    pub too_early: bool,
}

/// Why the simulator could not do what a test asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The shard number is not below the configured shard count.
    #[error("shard {shard} does not exist, the simulator has {shard_count} shards")]
    NoSuchShard {
        /// The requested shard.
        shard: u32,
        /// The configured shard count.
        shard_count: u32,
    },
    /// The shard has no connection to send to.
    #[error("shard {0} has no connection")]
    ShardNotConnected(u32),
    /// The connection ended before the frame was written.
    #[error("the connection of shard {0} closed before the frame was written")]
    ConnectionClosed(u32),
    /// The message has no component with that custom id.
    #[error("message {message_id} has no component with custom id {custom_id:?}")]
    UnknownComponent {
        /// The message.
        message_id: u64,
        /// The custom id asked for.
        custom_id: String,
    },
}

/// Permissions of an ordinary member of a guild with default role settings.
fn default_member_permissions() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::SEND_MESSAGES
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::EMBED_LINKS
        | Permissions::ATTACH_FILES
        | Permissions::ADD_REACTIONS
        | Permissions::USE_SLASH_COMMANDS
        | Permissions::CONNECT
        | Permissions::SPEAK
}
