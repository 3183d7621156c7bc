use std::{
    any::Any,
    fmt::{self, Write as _},
    future::poll_fn,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
    time::{Duration, Instant, SystemTime},
};

use futures_util::FutureExt as _;
use tokio::{sync::broadcast, time::sleep_until};
use tokio_util::task::TaskTracker;
use tracing::{Instrument as _, Span, field::Empty};
use twilight_model::{
    application::{
        command::CommandOptionChoice,
        interaction::{
            Interaction, InteractionData, InteractionDataResolved, InteractionType,
            application_command::{CommandDataOption, CommandOptionValue},
        },
    },
    channel::message::MessageFlags,
    gateway::payload::incoming::InteractionCreate,
    http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType},
    id::{
        Id,
        marker::{ApplicationMarker, ChannelMarker, InteractionMarker, MessageMarker},
    },
};

use crate::{
    AuditEvent, AuditOutcome, AuditSink, AutocompleteContext, BoxFuture, Button, Caller, Catalog,
    CommandError, ComponentContext, Context, Decision, Policy, Progress, Registry, Reply, Secret,
    Shutdown, Signature, context::Updates,
};

/// Sends interaction responses to Discord. The gateway crate implements it over REST;
/// tests implement it in memory.
pub trait Responder: Send + Sync {
    /// Sends the interaction's one initial response (the acknowledgement).
    fn respond<'a>(
        &'a self,
        target: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>>;

    /// Replaces the original response message.
    fn edit_original<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>>;

    /// Replaces the original response message, and says which message it is when
    /// Discord's answer names it, so that an operation's record can point at it.
    fn edit_original_message<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<Option<Id<MessageMarker>>, RespondError>> {
        Box::pin(async move { self.edit_original(target, data).await.map(|()| None) })
    }

    /// Sends an extra message after the initial response.
    fn followup<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>>;

    /// Posts `data` as a new message in `channel_id` with the bot's token, as a reply to
    /// `message_id` when known: for a reply that outlived its interaction's token. By
    /// default there is no such way.
    fn post_in_channel<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let _ = (channel_id, message_id, data);
        Box::pin(async { Err(RespondError::new("this responder cannot post in a channel")) })
    }
}

/// Where responses to one interaction go.
#[derive(Debug, Clone)]
pub struct InteractionTarget {
    /// The bot's application.
    pub application_id: Id<ApplicationMarker>,
    /// The interaction.
    pub interaction_id: Id<InteractionMarker>,
    /// The interaction token, valid for [`INTERACTION_TOKEN_LIFETIME`] after
    /// `received_at`; never logged.
    pub token: Secret,
    /// When the interaction arrived, from which its token's life counts.
    pub received_at: SystemTime,
}

/// How long Discord accepts an interaction's token for edits and follow-ups.
pub const INTERACTION_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

impl InteractionTarget {
    /// A target with an empty token that arrived now, for running commands outside a
    /// dispatcher, as [`crate::Progress::detached`].
    pub fn detached(interaction_id: Id<InteractionMarker>) -> Self {
        Self {
            application_id: Id::new(1),
            interaction_id,
            token: Secret::new(""),
            received_at: SystemTime::now(),
        }
    }

    /// When the token stops working: after that, only the bot token reaches the channel.
    pub fn token_expires_at(&self) -> SystemTime {
        self.received_at + INTERACTION_TOKEN_LIFETIME
    }
}

/// A response that could not be delivered to Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RespondError {
    message: String,
    token_rejected: bool,
}

impl RespondError {
    /// Describes a delivery failure; the message must not contain the token.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            token_rejected: false,
        }
    }

    /// Describes a request that Discord refused for its interaction token (expired or
    /// unknown), so that only the bot's token can still reach the channel.
    pub fn token_rejected(message: impl Into<String>) -> Self {
        Self {
            token_rejected: true,
            ..Self::new(message)
        }
    }

    /// Whether Discord refused the interaction token.
    pub fn is_token_rejected(&self) -> bool {
        self.token_rejected
    }
}

impl fmt::Display for RespondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RespondError {}

/// Timing of acknowledgements and progress edits.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// How long a command may take before the dispatcher acknowledges with a deferred
    /// response. Discord allows 3 s in all; this leaves room for the REST call.
    pub ack_budget: Duration,
    /// The least time between two progress edits of one message, so that a chatty
    /// command cannot run into Discord's rate limits.
    pub min_edit_interval: Duration,
    /// How long autocomplete may take before the user gets no suggestions.
    pub autocomplete_budget: Duration,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            ack_budget: Duration::from_secs(1),
            min_edit_interval: Duration::from_secs(1),
            autocomplete_budget: Duration::from_millis(2500),
        }
    }
}

/// Is told about acknowledgements and outcomes, for metrics.
pub trait DispatchObserver: Send + Sync {
    /// The interaction that asked for `command` (as [`Finished::command`] reports it)
    /// was acknowledged `latency` after it arrived.
    fn acknowledged(&self, command: Option<&str>, latency: Duration) {
        let _ = (command, latency);
    }

    /// The interaction was handled.
    fn finished(&self, finished: &Finished) {
        let _ = finished;
    }
}

/// What became of one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// The interaction.
    pub interaction_id: Id<InteractionMarker>,
    /// The full name of the command the interaction named; `None` when it named none
    /// (a skipped interaction, a button whose command is gone).
    pub command: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// From receipt to the last response.
    pub duration: Duration,
}

/// How the handling of an interaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The command succeeded and its reply was delivered.
    Success,
    /// The command refused with a message for the caller.
    UserError,
    /// The command failed inside; the caller got a correlation id.
    InternalError,
    /// The command panicked; the caller got a correlation id.
    Panic,
    /// The policy denied the command.
    Denied,
    /// The interaction named a command the bot does not have.
    UnknownCommand,
    /// The bot is shutting down and did not run the command.
    ShuttingDown,
    /// The interaction was not one the bot handles, and was skipped.
    Skipped,
    /// The reply could not be delivered to Discord.
    ResponseFailed,
}

impl Outcome {
    /// The lowercase name used in metrics and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::UserError => "user_error",
            Self::InternalError => "internal_error",
            Self::Panic => "panic",
            Self::Denied => "denied",
            Self::UnknownCommand => "unknown_command",
            Self::ShuttingDown => "shutting_down",
            Self::Skipped => "skipped",
            Self::ResponseFailed => "response_failed",
        }
    }
}

/// Turns interactions into command runs and their replies into responses.
///
/// Cheap to clone; clones share in-flight tracking.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    config: DispatchConfig,
    observers: Vec<Arc<dyn DispatchObserver>>,
    audit_sinks: Vec<Arc<dyn AuditSink>>,
    tracker: TaskTracker,
    closed: AtomicBool,
    shutdown: Shutdown,
    finished: broadcast::Sender<Finished>,
}

/// Where an interaction came from. How it is acknowledged and how a refusal is
/// answered follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A slash command: answered with a new message.
    SlashCommand,
    /// A click on one of the bot's buttons: answered by updating the message that
    /// holds the button.
    ComponentClick,
    /// A user typing an option that suggests values: answered with choices.
    Autocomplete,
}

impl Origin {
    /// The origin of interactions of `kind`, if azcord handles them.
    fn of(kind: InteractionType) -> Option<Self> {
        match kind {
            InteractionType::ApplicationCommand => Some(Self::SlashCommand),
            InteractionType::MessageComponent => Some(Self::ComponentClick),
            InteractionType::ApplicationCommandAutocomplete => Some(Self::Autocomplete),
            _ => None,
        }
    }

    /// The response that acknowledges with the reply itself.
    fn immediate_response(self) -> InteractionResponseType {
        match self {
            Self::SlashCommand => InteractionResponseType::ChannelMessageWithSource,
            Self::ComponentClick => InteractionResponseType::UpdateMessage,
            Self::Autocomplete => InteractionResponseType::ApplicationCommandAutocompleteResult,
        }
    }

    /// The response that acknowledges now and leaves the reply for later. Discord
    /// cannot defer autocomplete, which is never run past its own budget.
    fn deferred_response(self) -> InteractionResponseType {
        match self {
            Self::SlashCommand | Self::Autocomplete => {
                InteractionResponseType::DeferredChannelMessageWithSource
            }
            Self::ComponentClick => InteractionResponseType::DeferredUpdateMessage,
        }
    }

    /// Whether a refusal (a user error or a denial) answers the caller alone instead of
    /// taking the reply's place: a refused click must leave the message as it is for
    /// everyone else.
    fn refuses_privately(self) -> bool {
        self == Self::ComponentClick
    }
}

impl Dispatcher {
    /// A dispatcher over `registry`, enforcing `policy`.
    pub fn new(registry: Registry, policy: Policy, config: DispatchConfig) -> Self {
        Self::build(registry, policy, config, Vec::new(), Vec::new())
    }

    /// A dispatcher that also reports to observers and audit sinks.
    pub fn build(
        registry: Registry,
        policy: Policy,
        config: DispatchConfig,
        observers: Vec<Arc<dyn DispatchObserver>>,
        audit_sinks: Vec<Arc<dyn AuditSink>>,
    ) -> Self {
        let (finished, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                catalog: Catalog::new(registry, policy),
                config,
                observers,
                audit_sinks,
                tracker: TaskTracker::new(),
                closed: AtomicBool::new(false),
                shutdown: Shutdown::new(),
                finished,
            }),
        }
    }

    /// The commands this dispatcher serves.
    pub fn registry(&self) -> &Registry {
        self.inner.catalog.registry()
    }

    /// Receives a [`Finished`] for every interaction handled from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Finished> {
        self.inner.finished.subscribe()
    }

    /// Handles an interaction on its own task, tracked for [`Dispatcher::drain`].
    ///
    /// The caller is usually the one thread that reads a shard, which every interaction
    /// waits on: all that can wait is done on the task instead. The interaction stays
    /// boxed as it arrived until the worker takes the fields it needs and drops the
    /// rest, and the interaction's future (several kilobytes, which a spawn would copy
    /// at each of its layers) is boxed there too.
    pub fn spawn(
        &self,
        interaction: impl IntoInteraction,
        responder: Arc<dyn Responder>,
        shard: u32,
    ) {
        let dispatcher = self.clone();
        let refuse = self.is_closed();
        self.inner.tracker.spawn(async move {
            let incoming = Incoming::from(interaction.into_interaction());
            Box::pin(dispatcher.handle_accepted(incoming, responder.as_ref(), shard, refuse)).await;
        });
    }

    /// Stops running new commands: interactions that still arrive get a short
    /// "restarting" answer. Requests [`Shutdown`], so that operations another process
    /// can carry on hand over instead of being waited for.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.tracker.close();
        self.inner.shutdown.request();
    }

    /// The process's shutdown, which [`Dispatcher::close`] requests: commands see it
    /// through [`Progress::shutdown`], and background work spawned on it (operations
    /// taken over) is waited for by [`Dispatcher::drain`].
    pub fn shutdown(&self) -> Shutdown {
        self.inner.shutdown.clone()
    }

    /// Waits until every interaction in flight has been answered and the background
    /// work of [`Dispatcher::shutdown`] has handed over, or `timeout` passes. Returns
    /// whether all finished.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.inner.tracker.close();
        let all = async {
            self.inner.tracker.wait().await;
            self.inner.shutdown.finished().await;
        };
        tokio::time::timeout(timeout, all).await.is_ok()
    }

    /// How many interactions are being handled right now.
    pub fn in_flight(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Handles one interaction to the end: runs its command and delivers the replies.
    pub fn handle<'a>(
        &'a self,
        interaction: Interaction,
        responder: &'a dyn Responder,
        shard: u32,
    ) -> impl Future<Output = Finished> + Send + 'a {
        self.handle_accepted(
            Incoming::from(interaction),
            responder,
            shard,
            self.is_closed(),
        )
    }

    fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Handles one interaction; `refuse` says whether it arrived after [`Dispatcher::close`].
    async fn handle_accepted(
        &self,
        interaction: Incoming,
        responder: &dyn Responder,
        shard: u32,
        refuse: bool,
    ) -> Finished {
        let started = Instant::now();
        // The name must be known when the span starts: exporters cannot rename it later.
        // It is made only when the span is recorded.
        // Numbers are recorded as i64 or f64: the OTLP exporter sends those typed, and
        // anything else (u64 included) as a string, which Honeycomb cannot chart.
        let span = tracing::info_span!(
            "interaction",
            otel.name = span_name(interaction.kind, interaction.data.as_ref()).as_str(),
            otel.kind = "server",
            otel.status_code = Empty,
            interaction.id = %interaction.id,
            interaction.kind = interaction_kind(interaction.kind),
            command.name = Empty,
            command.kind = Empty,
            command.options = Empty,
            guild.id = Empty,
            channel.id = Empty,
            user.id = Empty,
            shard.id = i64::from(shard),
            outcome = Empty,
            latency_ms = Empty,
            ack_latency_ms = Empty,
            policy.rule = Empty,
            error.message = Empty,
        );
        let interaction_id = interaction.id;
        let (command, outcome) = self
            .handle_inner(interaction, responder, started, refuse)
            .instrument(span.clone())
            .await;
        let finished = Finished {
            interaction_id,
            command,
            outcome,
            duration: started.elapsed(),
        };
        span.record("outcome", outcome.as_str());
        span.record("latency_ms", millis(finished.duration));
        if matches!(
            outcome,
            Outcome::InternalError | Outcome::Panic | Outcome::ResponseFailed
        ) {
            span.record("otel.status_code", "ERROR");
        }
        for observer in &self.inner.observers {
            observer.finished(&finished);
        }
        if self.inner.finished.receiver_count() > 0 {
            let _ = self.inner.finished.send(finished.clone());
        }
        finished
    }

    async fn handle_inner(
        &self,
        interaction: Incoming,
        responder: &dyn Responder,
        started: Instant,
        refuse: bool,
    ) -> (Option<String>, Outcome) {
        let span = Span::current();
        let Some(caller) = interaction.caller else {
            tracing::warn!("skipping an interaction without a user");
            return (None, Outcome::Skipped);
        };
        span.record("user.id", caller.user_id.get());
        if let Some(guild) = caller.guild_id {
            span.record("guild.id", guild.get());
        }
        if let Some(channel) = caller.channel_id {
            span.record("channel.id", channel.get());
        }
        let route = Origin::of(interaction.kind).and_then(|origin| {
            self.route(origin, interaction.data, interaction.message_id)
                .map(|route| (origin, route))
        });
        let Some((origin, route)) = route else {
            tracing::debug!(
                kind = interaction_kind(interaction.kind),
                "skipping an interaction azcord does not handle"
            );
            return (None, Outcome::Skipped);
        };
        route.record(&span);
        let command = route.command_name().map(str::to_owned);
        let target = InteractionTarget {
            application_id: interaction.application_id,
            interaction_id: interaction.id,
            token: Secret::new(interaction.token),
            // The wall clock minus what has passed since arrival, so that the token's
            // life counts from when Discord sent the interaction, not from now.
            received_at: SystemTime::now()
                .checked_sub(started.elapsed())
                .unwrap_or_else(SystemTime::now),
        };
        let call = Call {
            dispatcher: self,
            responder,
            target: &target,
            origin,
            command: command.as_deref(),
            caller,
            started,
            refuse,
        };
        let outcome = match route {
            Route::Run {
                signature,
                command,
                input,
            } => call.run(signature, command.as_ref(), &input).await,
            Route::Suggest {
                signature,
                command,
                options,
            } => {
                call.autocomplete(signature, command.as_ref(), options)
                    .await
            }
            Route::UnknownCommand { name } => call.unknown_command(&name).await,
            Route::StaleButton => {
                let reply = Reply::text("this button is no longer active").ephemeral();
                call.answer_now(reply, Outcome::UnknownCommand).await
            }
        };
        (command, outcome)
    }

    /// Looks up what an interaction from `origin` asks for; `None` if its data does not
    /// fit its kind.
    fn route(
        &self,
        origin: Origin,
        data: Option<InteractionData>,
        message_id: Option<Id<MessageMarker>>,
    ) -> Option<Route<'_>> {
        let registry = self.inner.catalog.registry();
        let route = match (origin, data?) {
            (Origin::SlashCommand, InteractionData::ApplicationCommand(data)) => {
                match registry.resolve(&data) {
                    Some(resolved) => Route::Run {
                        signature: resolved.signature,
                        command: resolved.command,
                        input: Input::Options {
                            options: resolved.options,
                            resolved: data.resolved.map(Box::new),
                        },
                    },
                    None => Route::UnknownCommand { name: data.name },
                }
            }
            (Origin::Autocomplete, InteractionData::ApplicationCommand(data)) => {
                match registry.resolve(&data) {
                    Some(resolved) => Route::Suggest {
                        signature: resolved.signature,
                        command: resolved.command,
                        options: resolved.options,
                    },
                    None => Route::UnknownCommand { name: data.name },
                }
            }
            (Origin::ComponentClick, InteractionData::MessageComponent(data)) => {
                let found = Button::parse_custom_id(&data.custom_id)
                    .and_then(|(name, payload)| Some((registry.get(name)?, payload)));
                match found {
                    Some(((signature, command), payload)) => Route::Run {
                        signature,
                        command,
                        input: Input::Click {
                            payload: payload.to_owned(),
                            message_id,
                        },
                    },
                    None => Route::StaleButton,
                }
            }
            _ => return None,
        };
        Some(route)
    }
}

/// What an interaction asks for, looked up in the registry.
enum Route<'r> {
    /// Run a command on the caller's input.
    Run {
        signature: &'r Arc<Signature>,
        command: &'r Arc<dyn crate::Command>,
        input: Input,
    },
    /// Suggest values for the option the caller is typing.
    Suggest {
        signature: &'r Arc<Signature>,
        command: &'r Arc<dyn crate::Command>,
        options: Vec<CommandDataOption>,
    },
    /// A command the bot does not have (any more).
    UnknownCommand { name: String },
    /// A click on a button whose command the bot does not have (any more).
    StaleButton,
}

impl Route<'_> {
    /// The full name of the command asked for, as [`Finished::command`] reports it.
    fn command_name(&self) -> Option<&str> {
        match self {
            Self::Run { signature, .. } | Self::Suggest { signature, .. } => Some(&signature.name),
            Self::UnknownCommand { name } => Some(name),
            Self::StaleButton => None,
        }
    }

    /// Records the command on the interaction's span: from its signature when the bot
    /// has it, with the options when the interaction carries any.
    fn record(&self, span: &Span) {
        let (signature, options) = match self {
            Self::Run {
                signature, input, ..
            } => (signature, input.options()),
            Self::Suggest {
                signature, options, ..
            } => (signature, Some(options.as_slice())),
            Self::UnknownCommand { name } => {
                span.record("command.name", name.as_str());
                return;
            }
            Self::StaleButton => return,
        };
        span.record("command.name", signature.name.as_str());
        span.record("command.kind", signature.kind.as_str());
        if let Some(options) = options {
            span.record(
                "command.options",
                describe_options(options, &signature.sensitive_options),
            );
        }
    }
}

/// What the caller gave a command to run on.
enum Input {
    /// A slash command's options.
    Options {
        options: Vec<CommandDataOption>,
        resolved: Option<Box<InteractionDataResolved>>,
    },
    /// The payload of a clicked button, and the message that holds it.
    Click {
        payload: String,
        message_id: Option<Id<MessageMarker>>,
    },
}

impl Input {
    /// The options, as the audit and the trace describe them; a click has none.
    fn options(&self) -> Option<&[CommandDataOption]> {
        match self {
            Self::Options { options, .. } => Some(options),
            Self::Click { .. } => None,
        }
    }
}

/// The outcome of an interaction whose last response was `delivery`.
fn delivered(delivery: Result<(), RespondError>, outcome: Outcome) -> Outcome {
    match delivery {
        Ok(()) => outcome,
        Err(_) => Outcome::ResponseFailed,
    }
}

/// How far the acknowledgement of an interaction has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ack {
    /// Nothing sent yet: the final reply will be the acknowledgement.
    Pending,
    /// Deferred: progress and the final reply edit the deferred message.
    Deferred,
    /// Discord rejected the deferral; nothing more can reach the user.
    Failed,
}

/// What a command's run came to: its reply or error, or the panic it raised.
type CommandResult = Result<Result<Reply, CommandError>, Box<dyn Any + Send>>;

/// One interaction being handled.
struct Call<'a> {
    dispatcher: &'a Dispatcher,
    responder: &'a dyn Responder,
    target: &'a InteractionTarget,
    origin: Origin,
    /// The command asked for, as [`Finished::command`] reports it.
    command: Option<&'a str>,
    caller: Caller,
    started: Instant,
    refuse: bool,
}

impl Call<'_> {
    fn inner(&self) -> &Inner {
        &self.dispatcher.inner
    }

    /// Runs `command` on the caller's input, if the policy allows, and audits the run.
    async fn run(
        &self,
        signature: &Arc<Signature>,
        command: &dyn crate::Command,
        input: &Input,
    ) -> Outcome {
        if self.refuse {
            return self.restarting().await;
        }
        let options = input.options().unwrap_or_default();
        let (outcome, rule, operation_id) = match self.allowed(signature) {
            Ok(rule) => {
                let (outcome, operation_id) = self.execute(signature, command, input).await;
                (outcome, rule, operation_id)
            }
            Err(denial) => {
                let outcome = self.answer_now(denial, Outcome::Denied).await;
                (outcome, None, None)
            }
        };
        self.audit(signature, options, outcome, rule, operation_id);
        outcome
    }

    /// Runs an allowed command to its end and delivers its reply; returns how it ended
    /// and the Azure operation it started, if any.
    async fn execute(
        &self,
        signature: &Arc<Signature>,
        command: &dyn crate::Command,
        input: &Input,
    ) -> (Outcome, Option<String>) {
        let (progress, updates) = Progress::channel(self.inner().shutdown.clone());
        let run = match input {
            Input::Options { options, resolved } => command.run(Context {
                interaction_id: self.target.interaction_id,
                target: self.target.clone(),
                caller: self.caller.clone(),
                options: options.clone(),
                resolved: resolved.as_deref().cloned(),
                progress: progress.clone(),
                catalog: self.inner().catalog.clone(),
                signature: Arc::clone(signature),
            }),
            Input::Click {
                payload,
                message_id,
            } => command.component(ComponentContext {
                interaction_id: self.target.interaction_id,
                target: self.target.clone(),
                caller: self.caller.clone(),
                payload: payload.clone(),
                message_id: *message_id,
                progress: progress.clone(),
                catalog: self.inner().catalog.clone(),
                signature: Arc::clone(signature),
            }),
        };
        let outcome = self.run_with_ack(signature, run, updates, &progress).await;
        (outcome, progress.operation_id())
    }

    /// The policy's decision for the caller: the rule that grants the command, if
    /// one is needed, or the denial to answer with.
    fn allowed(&self, signature: &Signature) -> Result<Option<String>, Reply> {
        match self
            .inner()
            .catalog
            .policy()
            .decide(signature, &self.caller)
        {
            Decision::Allow { rule } => {
                if let Some(rule) = &rule {
                    Span::current().record("policy.rule", rule.as_str());
                }
                Ok(rule)
            }
            Decision::Deny { message } => Err(Reply::text(message).ephemeral()),
        }
    }

    /// Answers an interaction that names a command the bot does not have.
    async fn unknown_command(&self, name: &str) -> Outcome {
        if self.origin == Origin::Autocomplete {
            return self
                .autocomplete_answer(Vec::new(), Outcome::UnknownCommand)
                .await;
        }
        let reply = Reply::text(format!(
            "azcord does not know `/{name}`: it may have been removed or renamed. `/help` lists the commands you can run"
        ));
        self.answer_now(reply.ephemeral(), Outcome::UnknownCommand)
            .await
    }

    async fn restarting(&self) -> Outcome {
        let reply = Reply::text("azcord is restarting; try again in a few seconds").ephemeral();
        self.answer_now(reply, Outcome::ShuttingDown).await
    }

    /// Answers at once with `reply`, for denials and unknown commands.
    async fn answer_now(&self, reply: Reply, outcome: Outcome) -> Outcome {
        let response = InteractionResponse {
            kind: InteractionResponseType::ChannelMessageWithSource,
            data: Some(reply.to_response_data()),
        };
        delivered(self.acknowledge(&response).await, outcome)
    }

    /// Sends the interaction's one initial response.
    async fn acknowledge(&self, response: &InteractionResponse) -> Result<(), RespondError> {
        self.responder
            .respond(self.target, response)
            .await
            .inspect_err(
                |error| tracing::error!(%error, "could not acknowledge the interaction"),
            )?;
        let latency = self.started.elapsed();
        Span::current().record("ack_latency_ms", millis(latency));
        for observer in &self.inner().observers {
            observer.acknowledged(self.command, latency);
        }
        Ok(())
    }

    /// Runs the command, then delivers its result in the way its acknowledgement allows.
    async fn run_with_ack(
        &self,
        signature: &Signature,
        run: BoxFuture<'_, Result<Reply, CommandError>>,
        updates: Updates,
        progress: &Progress,
    ) -> Outcome {
        let (result, ack) = self.drive(signature, run, updates, progress).await;
        let (reply, outcome) = self.final_reply(result);
        let reply = Reply {
            ephemeral: reply.ephemeral || self.ephemeral(signature),
            ..reply
        };
        self.deliver(ack, reply, outcome, progress).await
    }

    /// Runs the command to its end. Defers once it outlasts the acknowledgement budget
    /// (at once if it is long-running, or as soon as it reports progress), and, while
    /// deferred, shows its progress as edits.
    async fn drive(
        &self,
        signature: &Signature,
        run: BoxFuture<'_, Result<Reply, CommandError>>,
        updates: Updates,
        progress: &Progress,
    ) -> (CommandResult, Ack) {
        let config = &self.inner().config;
        let run = AssertUnwindSafe(
            run.instrument(tracing::info_span!("command", command.name = %signature.name)),
        )
        .catch_unwind();
        tokio::pin!(run);
        let mut ack = if signature.long_running {
            self.defer(signature).await
        } else {
            // Most answers are ready on the first poll: they need no deadline timer.
            if let Poll::Ready(result) = poll_fn(|cx| Poll::Ready(run.as_mut().poll(cx))).await {
                return (result, Ack::Pending);
            }
            Ack::Pending
        };
        let ack_deadline = tokio::time::sleep(config.ack_budget);
        tokio::pin!(ack_deadline);
        let mut next_edit = tokio::time::Instant::now();
        let result = loop {
            match ack {
                Ack::Pending => {
                    let progressed = tokio::select! {
                        biased;
                        result = &mut run => break result,
                        () = &mut ack_deadline => false,
                        () = next_update(&updates, next_edit) => true,
                    };
                    ack = self.defer(signature).await;
                    let latest = updates.take();
                    if let (true, Ack::Deferred, Some(reply)) = (progressed, ack, latest) {
                        // A lost progress edit is logged; the next one may land.
                        let _ = self.edit(&reply, progress).await;
                        next_edit = tokio::time::Instant::now() + config.min_edit_interval;
                    }
                }
                Ack::Deferred => {
                    tokio::select! {
                        biased;
                        result = &mut run => break result,
                        () = next_update(&updates, next_edit) => {
                            let latest = updates.take();
                            if let Some(reply) = latest {
                                let _ = self.edit(&reply, progress).await;
                            }
                            next_edit = tokio::time::Instant::now() + config.min_edit_interval;
                        }
                    }
                }
                // Discord rejected the deferral: every edit would fail too.
                Ack::Failed => break (&mut run).await,
            }
        };
        (result, ack)
    }

    /// Delivers the command's final reply: as the acknowledgement itself if none was
    /// sent yet, otherwise as an edit of the deferred message.
    async fn deliver(
        &self,
        ack: Ack,
        reply: Reply,
        outcome: Outcome,
        progress: &Progress,
    ) -> Outcome {
        let private = matches!(outcome, Outcome::UserError | Outcome::Denied)
            && self.origin.refuses_privately();
        let delivery = match (ack, private) {
            (Ack::Failed, _) => return Outcome::ResponseFailed,
            (Ack::Pending, _) => {
                // A refusal is ephemeral: as a new message only the caller sees it, and
                // the message that was acted on stays as it is.
                let kind = if private {
                    InteractionResponseType::ChannelMessageWithSource
                } else {
                    self.origin.immediate_response()
                };
                let response = InteractionResponse {
                    kind,
                    data: Some(reply.to_response_data()),
                };
                self.acknowledge(&response).await
            }
            (Ack::Deferred, true) => {
                self.followup(&Reply {
                    ephemeral: true,
                    ..reply
                })
                .await
            }
            (Ack::Deferred, false) => match self.edit(&reply, progress).await {
                // An operation outlived the token (15 minutes): the outcome still
                // reaches the channel, unless it was for the caller alone.
                Err(error) if error.is_token_rejected() && !reply.ephemeral => {
                    self.post_in_channel(&reply, progress, error).await
                }
                edited => edited,
            },
        };
        delivered(delivery, outcome)
    }

    /// Whether every answer is for the caller alone: a slash command may ask for that;
    /// a click answers where its button is.
    fn ephemeral(&self, signature: &Signature) -> bool {
        self.origin == Origin::SlashCommand && signature.ephemeral
    }

    async fn defer(&self, signature: &Signature) -> Ack {
        let data = self.ephemeral(signature).then(|| InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        });
        let response = InteractionResponse {
            kind: self.origin.deferred_response(),
            data,
        };
        match self.acknowledge(&response).await {
            Ok(()) => Ack::Deferred,
            Err(_) => Ack::Failed,
        }
    }

    /// Replaces the deferred or original message with `reply`, and tells `progress`
    /// which message that is once Discord's answer names it.
    async fn edit(&self, reply: &Reply, progress: &Progress) -> Result<(), RespondError> {
        let shown = self
            .responder
            .edit_original_message(self.target, &reply.to_response_data())
            .await
            .inspect_err(|error| tracing::error!(%error, "could not edit the reply"))?;
        if let Some(id) = shown {
            progress.note_message_id(id);
        }
        Ok(())
    }

    /// Posts `reply` in the caller's channel with the bot's token, replying to the
    /// message that showed the progress if Discord named it; `refused` if there is no
    /// channel.
    async fn post_in_channel(
        &self,
        reply: &Reply,
        progress: &Progress,
        refused: RespondError,
    ) -> Result<(), RespondError> {
        let Some(channel) = self.caller.channel_id else {
            return Err(refused);
        };
        tracing::info!("the interaction token was refused; replying in the channel");
        self.responder
            .post_in_channel(channel, progress.message_id(), &reply.to_response_data())
            .await
            .inspect_err(|error| tracing::error!(%error, "could not reply in the channel"))
    }

    /// Sends `reply` as a message of its own after the acknowledgement.
    async fn followup(&self, reply: &Reply) -> Result<(), RespondError> {
        self.responder
            .followup(self.target, &reply.to_response_data())
            .await
            .inspect_err(|error| tracing::error!(%error, "could not send a followup"))
    }

    fn final_reply(&self, result: CommandResult) -> (Reply, Outcome) {
        let reference = self.target.interaction_id;
        let span = Span::current();
        match result {
            Ok(Ok(reply)) => (reply, Outcome::Success),
            Ok(Err(CommandError::User(error))) => (
                Reply::text(format!("⚠️ {}", error.message())).ephemeral(),
                Outcome::UserError,
            ),
            Ok(Err(CommandError::Denied(error))) => (
                Reply::text(format!("⛔ {}", error.message())).ephemeral(),
                Outcome::Denied,
            ),
            Ok(Err(error)) => {
                let details = error_chain(&error);
                span.record("error.message", details.as_str());
                tracing::error!(error = %details, "command failed");
                (internal_error_reply(reference), Outcome::InternalError)
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                span.record("error.message", format!("panic: {message}"));
                tracing::error!(panic = %message, "command panicked");
                (internal_error_reply(reference), Outcome::Panic)
            }
        }
    }

    async fn autocomplete(
        &self,
        signature: &Arc<Signature>,
        command: &dyn crate::Command,
        options: Vec<CommandDataOption>,
    ) -> Outcome {
        let Some((focused, partial)) = focused_option(&options) else {
            return self.autocomplete_answer(Vec::new(), Outcome::Skipped).await;
        };
        if !self
            .inner()
            .catalog
            .policy()
            .decide(signature, &self.caller)
            .is_allowed()
        {
            return self.autocomplete_answer(Vec::new(), Outcome::Denied).await;
        }
        let ctx = AutocompleteContext {
            caller: self.caller.clone(),
            focused,
            partial,
            options,
            catalog: self.inner().catalog.clone(),
            signature: Arc::clone(signature),
        };
        let budget = self.inner().config.autocomplete_budget;
        let run = AssertUnwindSafe(command.autocomplete(ctx)).catch_unwind();
        let (choices, outcome) = match tokio::time::timeout(budget, run).await {
            Ok(Ok(Ok(mut choices))) => {
                choices.truncate(25);
                (choices, Outcome::Success)
            }
            Ok(Ok(Err(error))) => {
                tracing::warn!(error = %error_chain(&error), "autocomplete failed");
                (Vec::new(), Outcome::InternalError)
            }
            Ok(Err(panic)) => {
                tracing::error!(panic = %panic_message(panic.as_ref()), "autocomplete panicked");
                (Vec::new(), Outcome::Panic)
            }
            Err(_) => {
                tracing::warn!("autocomplete ran out of time");
                (Vec::new(), Outcome::InternalError)
            }
        };
        self.autocomplete_answer(choices, outcome).await
    }

    async fn autocomplete_answer(
        &self,
        choices: Vec<CommandOptionChoice>,
        outcome: Outcome,
    ) -> Outcome {
        let response = InteractionResponse {
            kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
            data: Some(InteractionResponseData {
                choices: Some(choices),
                ..InteractionResponseData::default()
            }),
        };
        delivered(self.acknowledge(&response).await, outcome)
    }

    fn audit(
        &self,
        signature: &Signature,
        options: &[CommandDataOption],
        outcome: Outcome,
        rule: Option<String>,
        operation_id: Option<String>,
    ) {
        let audit_outcome = match outcome {
            Outcome::Success => AuditOutcome::Succeeded,
            Outcome::Denied => AuditOutcome::Denied,
            Outcome::UserError => AuditOutcome::Refused,
            _ => AuditOutcome::Failed,
        };
        let event = AuditEvent {
            interaction_id: self.target.interaction_id,
            user_id: self.caller.user_id,
            guild_id: self.caller.guild_id,
            channel_id: self.caller.channel_id,
            command: signature.name.clone(),
            arguments: describe_options(options, &signature.sensitive_options),
            outcome: audit_outcome,
            rule,
            duration: self.started.elapsed(),
            operation_id,
        };
        tracing::info!(
            target: "azcord::audit",
            user = event.user_id.get(),
            guild = event.guild_id.map(Id::get),
            channel = event.channel_id.map(Id::get),
            command = %event.command,
            arguments = %event.arguments,
            outcome = event.outcome.as_str(),
            rule = event.rule.as_deref(),
            duration_ms = millis(event.duration),
            operation_id = event.operation_id.as_deref(),
            "audit"
        );
        for sink in &self.inner().audit_sinks {
            sink.record(&event);
        }
    }
}

/// Waits until a progress update is waiting and an edit is allowed again.
async fn next_update(updates: &Updates, not_before: tokio::time::Instant) {
    sleep_until(not_before).await;
    updates.waiting().await;
}

fn internal_error_reply(reference: Id<InteractionMarker>) -> Reply {
    Reply::text(format!(
        "something went wrong on our side; the team can trace it with reference `{reference}`"
    ))
    .ephemeral()
}

/// The parts of an interaction the dispatcher uses, taken out before anything awaits:
/// the rest (channel, member and message objects of several kilobytes) would otherwise
/// be held by every interaction in flight.
struct Incoming {
    id: Id<InteractionMarker>,
    application_id: Id<ApplicationMarker>,
    kind: InteractionType,
    token: String,
    data: Option<InteractionData>,
    caller: Option<Caller>,
    message_id: Option<Id<MessageMarker>>,
}

/// An interaction as it reaches [`Dispatcher::spawn`]: as it is, or still in the box
/// the gateway or the interactions endpoint parsed it into.
pub trait IntoInteraction: Send + 'static {
    /// The interaction itself.
    fn into_interaction(self) -> Interaction;
}

impl IntoInteraction for Interaction {
    fn into_interaction(self) -> Interaction {
        self
    }
}

impl IntoInteraction for Box<Interaction> {
    fn into_interaction(self) -> Interaction {
        *self
    }
}

/// As twilight's gateway parses it.
impl IntoInteraction for Box<InteractionCreate> {
    fn into_interaction(self) -> Interaction {
        self.0
    }
}

impl From<Interaction> for Incoming {
    fn from(interaction: Interaction) -> Self {
        Self {
            caller: caller(&interaction),
            message_id: interaction.message.as_ref().map(|message| message.id),
            id: interaction.id,
            application_id: interaction.application_id,
            kind: interaction.kind,
            token: interaction.token,
            data: interaction.data,
        }
    }
}

fn caller(interaction: &Interaction) -> Option<Caller> {
    Some(Caller {
        user_id: interaction.author_id()?,
        role_ids: interaction
            .member
            .as_ref()
            .map(|member| member.roles.clone())
            .unwrap_or_default(),
        guild_id: interaction.guild_id,
        channel_id: interaction.channel.as_ref().map(|channel| channel.id),
    })
}

fn focused_option(options: &[CommandDataOption]) -> Option<(String, String)> {
    options.iter().find_map(|option| match &option.value {
        CommandOptionValue::Focused(value, _) => Some((option.name.clone(), value.clone())),
        _ => None,
    })
}

/// `name=value` pairs of the options, with sensitive values redacted.
fn describe_options(options: &[CommandDataOption], sensitive: &[String]) -> String {
    let mut text = String::new();
    for option in options {
        if !text.is_empty() {
            text.push(' ');
        }
        let value = if sensitive.contains(&option.name) {
            "<redacted>".to_owned()
        } else {
            match &option.value {
                CommandOptionValue::String(value) | CommandOptionValue::Focused(value, _) => {
                    format!("{value:?}")
                }
                CommandOptionValue::Integer(value) => value.to_string(),
                CommandOptionValue::Number(value) => value.to_string(),
                CommandOptionValue::Boolean(value) => value.to_string(),
                CommandOptionValue::User(id) => id.to_string(),
                CommandOptionValue::Channel(id) => id.to_string(),
                CommandOptionValue::Role(id) => id.to_string(),
                CommandOptionValue::Mentionable(id) => id.to_string(),
                CommandOptionValue::Attachment(id) => id.to_string(),
                CommandOptionValue::SubCommand(inner)
                | CommandOptionValue::SubCommandGroup(inner) => {
                    format!("({})", describe_options(inner, sensitive))
                }
            }
        };
        let _ = write!(text, "{}={value}", option.name);
    }
    text
}

/// A duration in milliseconds with sub-millisecond precision, as traces record it.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(error) = source {
        let _ = write!(text, ": {error}");
        source = error.source();
    }
    text
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// The root span's name: `/vm start`, `autocomplete /vm start`, `button /vm stop`.
fn span_name(kind: InteractionType, data: Option<&InteractionData>) -> String {
    match data {
        Some(InteractionData::ApplicationCommand(data)) => {
            let name = format!("/{}", crate::registry::command_path(data).0);
            match kind {
                InteractionType::ApplicationCommandAutocomplete => format!("autocomplete {name}"),
                _ => name,
            }
        }
        Some(InteractionData::MessageComponent(data)) => {
            match Button::parse_custom_id(&data.custom_id) {
                Some((command, _)) => format!("button /{command}"),
                None => "button".to_owned(),
            }
        }
        _ => format!("interaction {}", interaction_kind(kind)),
    }
}

fn interaction_kind(kind: InteractionType) -> &'static str {
    match kind {
        InteractionType::Ping => "ping",
        InteractionType::ApplicationCommand => "command",
        InteractionType::MessageComponent => "component",
        InteractionType::ApplicationCommandAutocomplete => "autocomplete",
        InteractionType::ModalSubmit => "modal",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;
