//! The typed records the bot keeps in the store.

use std::time::SystemTime;

use azcord_secret::Secret;
use serde::{Deserialize, Serialize};

/// A confirmation prompt waiting for its Confirm or Cancel click.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfirmationRecord {
    /// The command whose buttons these are, such as `vm deallocate`.
    pub command: String,
    /// The user who ran it, the only one who may answer.
    pub owner: u64,
    /// What would be confirmed, as the command encodes it.
    pub value: serde_json::Value,
    /// When the prompt stops accepting an answer.
    pub expires_at: SystemTime,
}

/// An Azure operation azcord has begun, or is about to begin, and follows to the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    /// The process that follows it; another takes over once its lease expires.
    pub owner: String,
    /// How to poll it, once Azure accepted it; `None` while it is being begun.
    pub poll: Option<PollRecord>,
    /// The resource type's command group, such as `vm`.
    pub resource_type: String,
    /// The resource group of the resource.
    pub resource_group: String,
    /// The name of the resource.
    pub resource_name: String,
    /// The action, as its subcommand: `start`.
    pub action: String,
    /// The user who asked for it.
    pub invoker: u64,
    /// The application that answered the interaction, when known.
    pub application_id: Option<u64>,
    /// The interaction's token, to edit its reply, when known; sealed at rest, never
    /// serialised here.
    #[serde(skip)]
    pub interaction_token: Option<Secret>,
    /// The message that shows the operation, once known.
    pub message_id: Option<u64>,
    /// The channel of the interaction.
    pub channel_id: Option<u64>,
    /// The server of the interaction, if any.
    pub guild_id: Option<u64>,
    /// When it was asked for.
    pub started_at: SystemTime,
    /// When azcord stops waiting for it.
    pub deadline: SystemTime,
    /// When the interaction token stops working (15 minutes after the interaction):
    /// after that the outcome goes to the channel as a new message.
    pub token_expires_at: SystemTime,
}

/// How to poll an operation Azure accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    /// The absolute URL to poll.
    pub url: String,
    /// Whether the URL is an `Azure-AsyncOperation` status URL (else a `Location` URL).
    pub async_operation: bool,
    /// The correlation id of the request that began it.
    pub correlation_id: Option<String>,
}

/// A shard's gateway session, to resume rather than identify afresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The shard.
    pub shard_id: u32,
    /// How many shards the bot had; a session is resumed only with the same total.
    #[serde(default)]
    pub shard_total: u32,
    /// The session id from READY.
    pub session_id: String,
    /// The last sequence number received.
    pub sequence: u64,
    /// Where to resume.
    pub resume_url: String,
}
