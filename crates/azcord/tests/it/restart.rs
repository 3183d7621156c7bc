//! `azcord run` restarted while it follows an operation or holds a prompt open: the
//! next process on the same state file finishes what the last one began, and tells
//! the user in their message, or in the channel once the interaction token expired
//! (as a process that follows an operation longer than the token lives does too).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use azcord_sim::{
    ArmSim, DiscordSim, DiscordSimConfig, InteractionEvent, InteractionHandle, Invocation,
    ShardState, SimMessage, SimUser, terminal::parse_command_line,
};

use crate::{
    process::{RunProcess, RunSetup, State},
    serve::arm_posts,
    support::{CHANNEL, button, held_arm},
};

/// Who may run `/vm`; the operation lease is the default, 30 s.
const POLICY: &str = r#"
[[policy.rules]]
name = "ops"
commands = ["vm *"]
roles = []
users = [7]
"#;

/// A restart's world: both simulators, a VM transition lasting until the test finishes
/// it, and one state file for every process.
struct Restart {
    discord: DiscordSim,
    arm: ArmSim,
    dir: tempfile::TempDir,
    state: PathBuf,
}

impl Restart {
    async fn start() -> Self {
        let discord = DiscordSim::start(DiscordSimConfig {
            wait_timeout: Duration::from_secs(60),
            identify_window: Duration::from_millis(500),
            ..DiscordSimConfig::default()
        })
        .await
        .unwrap();
        let arm = held_arm(Duration::from_millis(50)).await;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.redb");
        Self {
            discord,
            arm,
            dir,
            state,
        }
    }

    /// `azcord run` named `name` on the shared state file, with `config` after the
    /// policy; returns once its shard is active in a session no earlier process had.
    async fn spawn(&self, name: &str, config: &str) -> RunProcess {
        let before = self.sessions();
        let config = format!("{POLICY}\n{config}");
        let process = RunProcess::spawn_with(
            &self.discord,
            self.dir.path(),
            name,
            RunSetup {
                state: State::File(&self.state),
                args: &[],
                config: &config,
                arm: Some(&self.arm),
                ..RunSetup::default()
            },
        );
        let connected = self.discord.wait_for_shards(|shards| {
            shards.iter().all(|shard| {
                matches!(shard, ShardState::Active { session_id } if !before.contains(session_id))
            })
        });
        if tokio::time::timeout(Duration::from_secs(60), connected)
            .await
            .is_err()
        {
            panic!("{name} did not connect: {}", process.output());
        }
        process
    }

    /// The sessions of the active shards.
    fn sessions(&self) -> Vec<String> {
        self.discord
            .shard_states()
            .into_iter()
            .filter_map(|shard| match shard {
                ShardState::Active { session_id } => Some(session_id),
                _ => None,
            })
            .collect()
    }

    /// `line` typed by user 7 in `CHANNEL`.
    fn invoke(&self, line: &str) -> InteractionHandle {
        let commands = self
            .discord
            .registered_commands(Some(self.discord.config().guild_id));
        let commands = if commands.is_empty() {
            self.discord.registered_commands(None)
        } else {
            commands
        };
        self.discord.invoke(Invocation {
            user: ops(),
            guild_id: Some(self.discord.config().guild_id),
            channel_id: CHANNEL,
            data: parse_command_line(line, &commands).unwrap(),
        })
    }
}

fn ops() -> SimUser {
    SimUser::new(7, "ops")
}

/// A progress edit with the time so far: the operation is polled, so its poll URL is
/// recorded.
fn polled(event: &InteractionEvent) -> bool {
    matches!(event, InteractionEvent::OriginalEdited(message)
        if message.content.starts_with("🔄") && message.content.ends_with(" s"))
}

/// The message of a response or an edit of it containing `text`, if `event` is one.
fn shows(event: &InteractionEvent, text: &str) -> Option<SimMessage> {
    match event {
        InteractionEvent::Acknowledged {
            message: Some(message),
            ..
        }
        | InteractionEvent::OriginalEdited(message)
            if message.content.contains(text) =>
        {
            Some(message.clone())
        }
        _ => None,
    }
}

/// Waits (bounded by the simulator's patience) for the message to show `text`.
async fn wait_shown(handle: &mut InteractionHandle, text: &str) -> SimMessage {
    let event = handle.wait_for(|event| shows(event, text).is_some()).await;
    shows(&event, text).unwrap()
}

#[tokio::test]
async fn an_operation_outlives_a_sigkill_and_ends_in_the_users_message() {
    let world = Restart::start().await;
    let first = world.spawn("first", "").await;
    let mut start = world.invoke("/vm start name:staging/web-1");
    start.wait_for(polled).await;
    let killed = Instant::now();
    first.sigkill();

    // Azure finishes while no process follows; the next one, on the same state, finds
    // out and says so in the user's message. Its lease has 30 s to run, but only
    // this process opens the file: it takes the operation over at start-up.
    world.arm.finish_transitions();
    let second = world.spawn("second", "").await;
    let done = wait_shown(&mut start, "is running").await;
    let taken_over_in = killed.elapsed();
    assert!(
        done.content
            .starts_with("✅ **web-1** in `staging` is running · took "),
        "{}",
        done.content
    );
    assert!(
        taken_over_in < Duration::from_secs(15),
        "taken over {taken_over_in:?} after SIGKILL, as if the lease were waited out: {}",
        second.output()
    );
    assert_eq!(arm_posts(&world.arm), 1, "{:#?}", world.arm.requests());
    second.stop().await;
}

/// The first message posted in a channel that says web-1 is running; `output` is the
/// bot's log, shown if none comes within a minute.
async fn running_in_channel(
    posted: &mut tokio::sync::broadcast::Receiver<SimMessage>,
    output: impl Fn() -> String,
) -> SimMessage {
    let reply = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let message = posted.recv().await.unwrap();
            if message.content.contains("running") {
                return message;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no reply in the channel: {}", output()));
    assert!(
        reply
            .content
            .starts_with("✅ **web-1** in `staging` is running · took "),
        "{}",
        reply.content
    );
    reply
}

#[tokio::test]
async fn once_the_token_expired_the_outcome_replies_in_the_channel() {
    let world = Restart::start().await;
    let first = world.spawn("first", "").await;
    let mut start = world.invoke("/vm start name:staging/web-1");
    start.wait_for(polled).await;
    let original = start.message().expect("the reply exists");
    first.sigkill();

    // Fifteen minutes pass, as far as Discord is concerned: the recorded expiry still
    // lies ahead, but Discord refuses the token, so the outcome goes to the channel
    // with the bot's token, as a reply to the slash command's own message.
    world.discord.expire_interaction_tokens();
    world.arm.finish_transitions();
    let mut posted = world.discord.subscribe_channel_messages();
    let second = world.spawn("second", "").await;
    let reply = running_in_channel(&mut posted, || second.output()).await;
    assert_eq!(reply.channel_id, CHANNEL);
    assert_eq!(reply.referenced_message_id, Some(original.id));
    assert_eq!(arm_posts(&world.arm), 1, "{:#?}", world.arm.requests());
    second.stop().await;
}

#[tokio::test]
async fn an_operation_that_outlives_its_token_in_one_process_ends_in_the_channel() {
    let world = Restart::start().await;
    let process = world.spawn("only", "").await;
    let mut start = world.invoke("/vm start name:staging/web-1");
    start.wait_for(polled).await;
    let original = start.message().expect("the reply exists");

    // The start outlasts the token's 15 minutes: the message can no longer be edited.
    world.discord.expire_interaction_tokens();
    let mut posted = world.discord.subscribe_channel_messages();
    world.arm.finish_transitions();
    let reply = running_in_channel(&mut posted, || process.output()).await;
    assert_eq!(reply.referenced_message_id, Some(original.id));
    assert_eq!(arm_posts(&world.arm), 1, "{:#?}", world.arm.requests());
    process.stop().await;
}

#[tokio::test]
async fn sigterm_hands_the_operation_over_and_the_next_process_finishes_it() {
    // A drain that would wait five minutes: exiting sooner proves nothing waited for
    // the hour-long start.
    let drain = "[dispatch]\ndrain_timeout_secs = 300\n";
    let world = Restart::start().await;
    let first = world.spawn("first", drain).await;
    let mut start = world.invoke("/vm start name:staging/web-1");
    start.wait_for(polled).await;

    let exited = first.terminate(Duration::from_secs(60)).await;
    let log = exited.stdout;
    assert!(exited.status.success(), "exit {:?}: {log}", exited.status);
    assert!(log.contains("handed an operation over"), "{log}");
    let handed = wait_shown(&mut start, "azcord is restarting").await;
    assert_eq!(
        handed.content,
        "🔄 Starting **web-1** in `staging`… azcord is restarting and will report the outcome"
    );

    world.arm.finish_transitions();
    let second = world.spawn("second", drain).await;
    let done = wait_shown(&mut start, "is running").await;
    assert!(
        done.content
            .starts_with("✅ **web-1** in `staging` is running · took "),
        "{}",
        done.content
    );
    assert_eq!(arm_posts(&world.arm), 1, "{:#?}", world.arm.requests());
    second.stop().await;
}

#[tokio::test]
async fn a_confirmation_outlives_a_restart_and_acts_once() {
    let world = Restart::start().await;
    let first = world.spawn("first", "").await;
    let mut stop = world.invoke("/vm stop name:staging/api-1");
    let prompt = wait_shown(&mut stop, "api-1").await;
    first.sigkill();

    let second = world.spawn("second", "").await;
    assert_eq!(arm_posts(&world.arm), 0, "nothing happens before the click");
    let mut click = world
        .discord
        .click(&prompt, &button(&prompt, "Stop"), &ops())
        .unwrap();
    click.wait_for(polled).await;
    world.arm.finish_transitions();
    let stopped = wait_shown(&mut click, "✅").await;
    assert!(
        stopped
            .content
            .starts_with("✅ **api-1** in `staging` is stopped"),
        "{}",
        stopped.content
    );
    assert_eq!(arm_posts(&world.arm), 1, "{:#?}", world.arm.requests());

    second.stop().await;
}
