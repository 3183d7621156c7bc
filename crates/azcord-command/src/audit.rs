use std::time::Duration;

use twilight_model::id::{
    Id,
    marker::{ChannelMarker, GuildMarker, InteractionMarker, UserMarker},
};

/// A record of one command run, allowed or denied: who, where, what, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The interaction, which is also the correlation id the caller saw.
    pub interaction_id: Id<InteractionMarker>,
    /// Who ran it.
    pub user_id: Id<UserMarker>,
    /// In which guild, if not a DM.
    pub guild_id: Option<Id<GuildMarker>>,
    /// In which channel.
    pub channel_id: Option<Id<ChannelMarker>>,
    /// The full command name, such as `vm start`.
    pub command: String,
    /// The arguments as `name=value`, with sensitive values redacted.
    pub arguments: String,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The policy rule that allowed it, if one did.
    pub rule: Option<String>,
    /// From receipt of the interaction to the final reply.
    pub duration: Duration,
    /// The correlation id of the Azure operation the command started, if any.
    pub operation_id: Option<String>,
}

/// How an audited command run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// It ran and succeeded.
    Succeeded,
    /// The policy denied it.
    Denied,
    /// It ran and was refused with a message for the caller.
    Refused,
    /// It ran and failed inside the bot or Azure.
    Failed,
}

impl AuditOutcome {
    /// The lowercase name used in traces and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Denied => "denied",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// Somewhere audit events go besides the trace, such as a Discord channel.
///
/// `record` must not block: a sink that does I/O hands the event to a task.
pub trait AuditSink: Send + Sync {
    /// Takes one event.
    fn record(&self, event: &AuditEvent);
}
