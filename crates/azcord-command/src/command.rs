use std::{future::Future, pin::Pin};

use twilight_model::application::command::{CommandOption, CommandOptionChoice};

use crate::{AutocompleteContext, CommandError, ComponentContext, Context, Reply};

/// A boxed future, so that [`Command`] can be used as `dyn Command`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One slash command (or one subcommand, such as `vm start`) that a plugin provides.
///
/// Implementors declare what the command is in [`Command::signature`] and do the work
/// in [`Command::run`]. Autocomplete and button clicks have defaults that do nothing.
pub trait Command: Send + Sync + 'static {
    /// What the command is called, what it takes, and how risky it is.
    fn signature(&self) -> Signature;

    /// Runs the command for one interaction.
    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>>;

    /// Suggests values for the focused option while the user types.
    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        let _ = ctx;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Handles a click on a button that this command put on a message.
    ///
    /// Buttons made with [`crate::Button::for_command`] are routed here with the payload
    /// they were created with.
    fn component(&self, ctx: ComponentContext) -> BoxFuture<'_, Result<Reply, CommandError>> {
        let _ = ctx;
        Box::pin(async { Err(CommandError::user("this button is no longer active")) })
    }
}

/// How much harm a command can do, which decides who may run it by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommandKind {
    /// Only reads; open to every member of an allowed guild by default.
    Read,
    /// Changes something that can be changed back; denied unless a rule grants it.
    Write,
    /// Costs money or availability; denied unless a rule grants it, and asks first.
    Destructive,
}

impl CommandKind {
    /// The lowercase name used in config, audit events and traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Destructive => "destructive",
        }
    }
}

/// The declaration of a command: everything the registry, the dispatcher, `/help` and
/// Discord need to know without running it.
#[derive(Debug, Clone)]
pub struct Signature {
    /// The full name as typed, with spaces between levels: `ping`, `vm start`.
    pub name: String,
    /// One line shown in Discord's command picker (at most 100 characters).
    pub description: String,
    /// The options, as Discord declares them.
    pub options: Vec<CommandOption>,
    /// How much harm the command can do.
    pub kind: CommandKind,
    /// Whether to acknowledge with a deferred response straight away rather than
    /// waiting for the acknowledgement budget to run out.
    pub long_running: bool,
    /// Whether replies are visible only to the caller.
    pub ephemeral: bool,
    /// Whether the command refuses to run in direct messages.
    pub guild_only: bool,
    /// Option names whose values must never be recorded in traces or audit events.
    pub sensitive_options: Vec<String>,
    /// Example invocations, shown by `/help` and run by the tests.
    pub examples: Vec<Example>,
}

impl Signature {
    /// A read-only, quick, public command with no options.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            options: Vec::new(),
            kind: CommandKind::Read,
            long_running: false,
            ephemeral: false,
            guild_only: false,
            sensitive_options: Vec::new(),
            examples: Vec::new(),
        }
    }

    /// Sets the options.
    pub fn options(mut self, options: Vec<CommandOption>) -> Self {
        self.options = options;
        self
    }

    /// Sets how much harm the command can do.
    pub fn kind(mut self, kind: CommandKind) -> Self {
        self.kind = kind;
        self
    }

    /// Marks the command as long-running: it is deferred at once.
    pub fn long_running(mut self) -> Self {
        self.long_running = true;
        self
    }

    /// Makes replies visible only to the caller.
    pub fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }

    /// Refuses to run in direct messages.
    pub fn guild_only(mut self) -> Self {
        self.guild_only = true;
        self
    }

    /// Adds an example invocation.
    pub fn example(mut self, line: impl Into<String>, description: impl Into<String>) -> Self {
        self.examples.push(Example {
            line: line.into(),
            description: description.into(),
        });
        self
    }

    /// The words of the name: `["vm", "start"]`.
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.name.split(' ')
    }
}

/// An example invocation of a command, exactly as a user would type it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The line, such as `/vm start name:web-1`.
    pub line: String,
    /// What it does.
    pub description: String,
}
