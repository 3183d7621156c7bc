use std::{
    borrow::Cow,
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use tokio::sync::{Notify, SetOnce};
use twilight_interactions::command::{CommandInputData, CommandModel};
use twilight_model::{
    application::interaction::{InteractionDataResolved, application_command::CommandDataOption},
    id::{
        Id,
        marker::{
            ChannelMarker, GuildMarker, InteractionMarker, MessageMarker, RoleMarker, UserMarker,
        },
    },
};

use crate::{Catalog, CommandError, InteractionTarget, Reply, Shutdown, Signature, UserError};

/// Who ran a command, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The Discord user.
    pub user_id: Id<UserMarker>,
    /// The user's roles in the guild; empty in a DM.
    pub role_ids: Vec<Id<RoleMarker>>,
    /// The guild, or `None` in a DM.
    pub guild_id: Option<Id<GuildMarker>>,
    /// The channel the command was typed in.
    pub channel_id: Option<Id<ChannelMarker>>,
}

impl Caller {
    /// Whether the command came from a direct message rather than a guild.
    pub fn is_dm(&self) -> bool {
        self.guild_id.is_none()
    }
}

/// Everything a command's `run` gets: the caller, the options and a progress handle.
#[derive(Debug)]
pub struct Context {
    /// The interaction being answered; also the correlation id users see on errors.
    pub interaction_id: Id<InteractionMarker>,
    /// Where the interaction's responses go, so that an operation's record can reach
    /// its reply from another process.
    pub target: InteractionTarget,
    /// Who ran the command, and where.
    pub caller: Caller,
    /// The options of the leaf command, as Discord sent them.
    pub options: Vec<CommandDataOption>,
    /// Users, roles and channels that options refer to.
    pub resolved: Option<InteractionDataResolved>,
    /// Reports progress while a long operation runs.
    pub progress: Progress,
    /// All commands and the policy, for commands such as `/help`.
    pub catalog: Catalog,
    /// The declaration of the command being run.
    pub signature: Arc<Signature>,
}

impl Context {
    /// Checks that the caller may run this command on resources in `resource_group`,
    /// with a denial that names the rules that would allow it.
    ///
    /// The group is text because this crate knows no Azure name types; Azure commands
    /// check a parsed name through azcord-resource's `AuthorizeResourceGroup`.
    pub fn authorize_resource_group(&self, resource_group: &str) -> Result<(), CommandError> {
        authorize(&self.catalog, &self.signature, &self.caller, resource_group)
    }

    /// Parses the options into a typed model derived with `twilight_interactions`.
    pub fn options<T: CommandModel>(&self) -> Result<T, CommandError> {
        let data = CommandInputData {
            options: self.options.clone(),
            resolved: self.resolved.as_ref().map(Cow::Borrowed),
        };
        T::from_interaction(data)
            .map_err(|error| CommandError::user(format!("invalid options: {error}")))
    }
}

/// What `autocomplete` gets: the caller, the options typed so far and which one has focus.
#[derive(Debug, Clone)]
pub struct AutocompleteContext {
    /// Who is typing, and where.
    pub caller: Caller,
    /// The option the user is typing in.
    pub focused: String,
    /// What the user has typed in the focused option so far.
    pub partial: String,
    /// All options typed so far.
    pub options: Vec<CommandDataOption>,
    /// All commands and the policy.
    pub catalog: Catalog,
    /// The declaration of the command being typed.
    pub signature: Arc<Signature>,
}

impl AutocompleteContext {
    /// Whether the caller may run this command on resources in `resource_group`, so
    /// that suggestions only offer what the caller may act on.
    pub fn may_use_resource_group(&self, resource_group: &str) -> bool {
        authorize(&self.catalog, &self.signature, &self.caller, resource_group).is_ok()
    }
}

/// What `component` gets when a button made by the command is clicked.
#[derive(Debug)]
pub struct ComponentContext {
    /// The click's interaction.
    pub interaction_id: Id<InteractionMarker>,
    /// Where the click's responses go, so that an operation's record can reach its
    /// message from another process.
    pub target: InteractionTarget,
    /// Who clicked, and where.
    pub caller: Caller,
    /// The message the button is on.
    pub message_id: Option<Id<MessageMarker>>,
    /// The payload the button was made with.
    pub payload: String,
    /// Reports progress while a long operation runs.
    pub progress: Progress,
    /// All commands and the policy.
    pub catalog: Catalog,
    /// The declaration of the command whose button was clicked.
    pub signature: Arc<Signature>,
}

impl ComponentContext {
    /// Checks that the clicker may run this command on resources in `resource_group`.
    pub fn authorize_resource_group(&self, resource_group: &str) -> Result<(), CommandError> {
        authorize(&self.catalog, &self.signature, &self.caller, resource_group)
    }
}

fn authorize(
    catalog: &Catalog,
    signature: &Signature,
    caller: &Caller,
    resource_group: &str,
) -> Result<(), CommandError> {
    match catalog
        .policy()
        .decide_resource_group(signature, caller, resource_group)
    {
        crate::Decision::Allow { .. } => Ok(()),
        crate::Decision::Deny { message } => Err(CommandError::Denied(UserError::new(message))),
    }
}

/// Reports progress of a long operation by editing the reply in place, and tells the
/// operation what it needs to outlive the process: which message shows it, and when
/// the process shuts down.
///
/// Updates never block and never fail: the dispatcher shows the latest one when it
/// next edits the message, so a burst of updates costs one edit.
#[derive(Debug, Clone)]
pub struct Progress {
    shared: Arc<Shared>,
    started: Instant,
    shutdown: Shutdown,
}

/// What a command's progress handles share with the dispatcher that shows them: one
/// allocation per command, made whether or not it reports progress.
#[derive(Debug, Default)]
struct Shared {
    /// The latest update not yet shown.
    update: Mutex<Option<Reply>>,
    /// Wakes the dispatcher once `update` is set.
    updated: Notify,
    operation_id: Mutex<Option<String>>,
    message_id: SetOnce<Id<MessageMarker>>,
}

/// The dispatcher's side of a [`Progress`]: the updates to show.
#[derive(Debug)]
pub(crate) struct Updates(Arc<Shared>);

impl Updates {
    /// Completes once an update is waiting to be shown; at once if one already is.
    pub(crate) async fn waiting(&self) {
        loop {
            // Registered before looking, so that an update made in between still wakes it.
            let updated = self.0.updated.notified();
            tokio::pin!(updated);
            updated.as_mut().enable();
            if lock(&self.0.update).is_some() {
                return;
            }
            updated.await;
        }
    }

    /// Takes the latest update, leaving none waiting.
    pub(crate) fn take(&self) -> Option<Reply> {
        lock(&self.0.update).take()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Progress {
    /// Makes a progress handle that sees `shutdown`, and the updates the dispatcher
    /// shows.
    pub(crate) fn channel(shutdown: Shutdown) -> (Self, Updates) {
        let shared = Arc::new(Shared::default());
        let updates = Updates(Arc::clone(&shared));
        (
            Self {
                shared,
                started: Instant::now(),
                shutdown,
            },
            updates,
        )
    }

    /// A handle whose updates go nowhere, for running commands outside a dispatcher.
    pub fn detached() -> Self {
        Self::channel(Shutdown::new()).0
    }

    /// A handle whose updates go nowhere and that sees `shutdown`, for running commands
    /// outside a dispatcher.
    pub fn watching(shutdown: Shutdown) -> Self {
        Self::channel(shutdown).0
    }

    /// The process's shutdown, so that a long operation can hand over to the next
    /// process instead of holding up the exit.
    pub fn shutdown(&self) -> &Shutdown {
        &self.shutdown
    }

    /// The message that shows the reply, once Discord has said which it is.
    pub fn message_id(&self) -> Option<Id<MessageMarker>> {
        self.shared.message_id.get().copied()
    }

    /// Completes with the message that shows the reply once Discord has said which it
    /// is; never, if it does not.
    pub async fn shown_in(&self) -> Id<MessageMarker> {
        *self.shared.message_id.wait().await
    }

    /// Notes the message that shows the reply, as an edit's answer named it; the first
    /// one noted stays.
    pub(crate) fn note_message_id(&self, id: Id<MessageMarker>) {
        let _ = self.shared.message_id.set(id);
    }

    /// Shows `reply` as the current state of the operation.
    pub fn update(&self, reply: impl Into<Reply>) {
        *lock(&self.shared.update) = Some(reply.into());
        self.shared.updated.notify_one();
    }

    /// Records the correlation id of the Azure operation this command started, for the
    /// audit trail.
    pub fn note_operation_id(&self, id: impl Into<String>) {
        *lock(&self.shared.operation_id) = Some(id.into());
    }

    /// The operation id noted by the command, if any.
    pub(crate) fn operation_id(&self) -> Option<String> {
        lock(&self.shared.operation_id).clone()
    }

    /// How long the command has been running.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}
