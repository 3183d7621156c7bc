//! A bot with test commands whose pace the test controls, without sleeping.

use std::{sync::Arc, time::Duration};

use azcord::local::{LocalBot, LocalOptions};
use azcord_command::{
    BoxFuture, Command, CommandError, Context, DispatchConfig, Plugin, Reply, Signature,
};
use azcord_sim::{
    ArmSim, ArmSimConfig, SimMessage, SimUser,
    terminal::{MessageView, RenderOptions, render_message},
};
use tokio::sync::{Mutex, mpsc};

/// Lets a test feed a command its progress steps, one at a time.
#[derive(Clone)]
pub(crate) struct Gate {
    sender: mpsc::UnboundedSender<String>,
    receiver: Arc<Mutex<mpsc::UnboundedReceiver<String>>>,
}

impl Gate {
    pub(crate) fn new() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Arc::new(Mutex::new(receiver)),
        }
    }

    /// Lets the command take one more step.
    pub(crate) fn step(&self, text: &str) {
        self.sender.send(text.to_owned()).unwrap();
    }

    async fn next(&self) -> String {
        self.receiver
            .lock()
            .await
            .recv()
            .await
            .unwrap_or_else(|| "done".to_owned())
    }
}

/// `/test steps`: deferred at once; shows each step the test sends until `done`.
struct Steps(Gate);

impl Command for Steps {
    fn signature(&self) -> Signature {
        Signature::new("test steps", "progress on demand").long_running()
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            loop {
                let step = self.0.next().await;
                if step == "done" {
                    return Ok(Reply::text("all steps done"));
                }
                ctx.progress.update(step);
            }
        })
    }
}

/// `/test held`: quick in its declaration, but waits for the test's word.
struct Held(Gate);

impl Command for Held {
    fn signature(&self) -> Signature {
        Signature::new("test held", "waits for the test")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move { Ok(Reply::text(format!("released: {}", self.0.next().await))) })
    }
}

/// `/test fail`: an internal error.
struct Fail;

impl Command for Fail {
    fn signature(&self) -> Signature {
        Signature::new("test fail", "fails inside")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async {
            Err(CommandError::internal(std::io::Error::other(
                "the database is on fire",
            )))
        })
    }
}

/// `/test panic`: panics.
struct Panic;

impl Command for Panic {
    fn signature(&self) -> Signature {
        Signature::new("test panic", "panics")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async { panic!("index out of bounds: the len is 0 but the index is 3") })
    }
}

pub(crate) struct TestBot {
    pub(crate) bot: LocalBot,
    pub(crate) gate: Gate,
}

pub(crate) fn options(gate: &Gate) -> LocalOptions {
    let plugin = Plugin::new("test")
        .group("test", "commands for tests")
        .command(Steps(gate.clone()))
        .command(Held(gate.clone()))
        .command(Fail)
        .command(Panic);
    LocalOptions {
        dispatch: DispatchConfig {
            ack_budget: Duration::from_millis(200),
            min_edit_interval: Duration::ZERO,
            ..DispatchConfig::default()
        },
        extra_plugins: vec![plugin],
        ..LocalOptions::default()
    }
}

pub(crate) async fn start() -> TestBot {
    let gate = Gate::new();
    let bot = LocalBot::start(options(&gate)).await.unwrap();
    TestBot { bot, gate }
}

pub(crate) fn user() -> SimUser {
    SimUser::new(100_000_000_000_000_001, "tester")
}

pub(crate) const CHANNEL: u64 = 100_000_000_000_000_003;

impl TestBot {
    /// Starts a line without waiting for the answer.
    pub(crate) fn invoke(&self, line: &str) -> azcord_sim::InteractionHandle {
        let invocation = self
            .bot
            .invocation(&user(), Some(self.bot.guild_id()), CHANNEL, line)
            .unwrap();
        self.bot.sim.invoke(invocation)
    }

    /// Runs a line and renders the answer as the shell shows it.
    pub(crate) async fn render(&self, line: &str) -> String {
        let exchange = self
            .bot
            .run_line(&user(), Some(self.bot.guild_id()), CHANNEL, line)
            .await
            .unwrap();
        render(
            &exchange
                .handle
                .message()
                .expect("the bot answered with a message"),
        )
    }
}

pub(crate) fn render(message: &SimMessage) -> String {
    render_at(message, 80)
}

/// Renders without wrapping long sentences, for assertions on them.
pub(crate) fn render_wide(message: &SimMessage) -> String {
    render_at(message, 400)
}

fn render_at(message: &SimMessage, width: usize) -> String {
    let view = MessageView {
        content: Some(message.content.as_str()).filter(|content| !content.is_empty()),
        embeds: &message.embeds,
        components: &message.components,
        ephemeral: message.is_ephemeral(),
    };
    render_message(
        &view,
        &RenderOptions {
            width,
            color: false,
        },
    )
    .text
}

/// The custom id of the button labelled `label` on `message`.
pub(crate) fn button(message: &SimMessage, label: &str) -> String {
    use azcord_command::twilight_model::channel::message::Component;
    message
        .components
        .iter()
        .flat_map(|row| match row {
            Component::ActionRow(row) => row.components.clone(),
            _ => Vec::new(),
        })
        .find_map(|component| match component {
            Component::Button(button) if button.label.as_deref() == Some(label) => button.custom_id,
            _ => None,
        })
        .unwrap_or_else(|| panic!("no button {label:?}: {message:#?}"))
}

/// The ARM simulator's settings for tests that end operations themselves: a transition
/// lasts until the test calls `finish_transitions`, so no test waits on the clock, and
/// pollers are told to come back after `retry_after`.
pub(crate) fn held_arm_config(retry_after: Duration) -> ArmSimConfig {
    ArmSimConfig {
        transition: Duration::from_secs(3600),
        retry_after,
        ..ArmSimConfig::default()
    }
}

/// An ARM simulator started with [`held_arm_config`].
pub(crate) async fn held_arm(retry_after: Duration) -> ArmSim {
    ArmSim::start(held_arm_config(retry_after)).await.unwrap()
}
