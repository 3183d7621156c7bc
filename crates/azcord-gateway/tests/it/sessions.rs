//! A bot restarted with the sessions its predecessor recorded resumes them, and answers
//! the interactions sent while no process was connected.

use std::time::Duration;

use azcord_command::{
    BoxFuture, Command, CommandError, Context, DispatchConfig, Dispatcher, Plugin, Policy,
    Registry, Reply, Signature,
};
use azcord_gateway::{ShardSession, ShardStatus};
use azcord_sim::{
    DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent, InteractionHandle, Invocation,
    SimUser,
};
use tokio::sync::oneshot;

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs a bot on every shard of `sim`, resuming `recorded`, until `stop` fires; returns
/// the sessions it leaves behind. Sends its shards' status on `connected` once it has
/// connected.
async fn run_bot(
    sim: &DiscordSim,
    recorded: &[ShardSession],
    connected: oneshot::Sender<ShardStatus>,
    stop: oneshot::Receiver<()>,
) -> Vec<ShardSession> {
    let registry = Registry::new([Plugin::new("hello").command(Hello)]).unwrap();
    let dispatcher = Dispatcher::new(registry, Policy::default(), DispatchConfig::default());
    let config = crate::config_for(sim);
    let bot = azcord_gateway::connect(config, dispatcher)
        .await
        .unwrap()
        .with_sessions(recorded);
    let sessions = bot.sessions();
    let _ = connected.send(bot.status());
    bot.run(async move {
        let _ = stop.await;
    })
    .await
    .unwrap();
    sessions.current()
}

/// A bot running in the background.
struct RunningBot {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<ShardSession>>,
    status: ShardStatus,
}

impl RunningBot {
    /// Waits until the bot itself has seen every shard's READY or RESUMED, not only the
    /// simulator sent it.
    async fn ready(&self) {
        tokio::time::timeout(PATIENCE, self.status.wait_until_ready())
            .await
            .expect("the bot's shards are ready in time");
    }
}

/// Starts a bot in the background; once it has connected, returns it.
async fn spawn_bot(sim: &DiscordSim, recorded: Vec<ShardSession>) -> RunningBot {
    let (stop, stopped) = oneshot::channel();
    let (connected, status) = oneshot::channel();
    let sim = sim.clone();
    let task = tokio::spawn(async move { run_bot(&sim, &recorded, connected, stopped).await });
    let status = tokio::time::timeout(PATIENCE, status)
        .await
        .expect("the bot connects in time")
        .expect("the bot connects");
    RunningBot { stop, task, status }
}

/// Shuts a bot down the way SIGTERM does and returns the sessions it recorded.
async fn stop_bot(RunningBot { stop, task, .. }: RunningBot) -> Vec<ShardSession> {
    let _ = stop.send(());
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the bot stops in time")
        .expect("the bot task does not panic")
}

fn hello(sim: &DiscordSim) -> InteractionHandle {
    let guild = sim.config().guild_id;
    sim.invoke(Invocation {
        user: SimUser::new(7, "ops"),
        guild_id: Some(guild),
        channel_id: 100_000_000_000_000_003,
        data: sim.command_data(Some(guild), "hello", Vec::new()).unwrap(),
    })
}

async fn answer(handle: &mut InteractionHandle) -> String {
    match handle.next_event().await {
        InteractionEvent::Acknowledged {
            message: Some(message),
            ..
        } => message.content,
        other => panic!("{other:?}"),
    }
}

fn count(log: &[GatewayRecord], pick: impl Fn(&GatewayRecord) -> bool) -> usize {
    log.iter().filter(|record| pick(record)).count()
}

#[tokio::test]
async fn a_restarted_bot_resumes_the_recorded_session_and_answers_what_it_missed() {
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 2,
        // Shard 1 identifies right after shard 0.
        max_concurrency: 2,
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let first = spawn_bot(&sim, Vec::new()).await;
    first.ready().await;
    let mut live = hello(&sim);
    assert_eq!(answer(&mut live).await, "hello");
    let recorded = stop_bot(first).await;
    assert_eq!(
        recorded
            .iter()
            .map(|session| (session.shard, session.total))
            .collect::<Vec<_>>(),
        [(0, 2), (1, 2)]
    );

    // Recorded as plain data, e.g. in a file or a store.
    let recorded: Vec<ShardSession> =
        serde_json::from_str(&serde_json::to_string(&recorded).unwrap()).unwrap();
    let mut missed: Vec<_> = (0..3).map(|_| hello(&sim)).collect();

    let second = spawn_bot(&sim, recorded.clone()).await;
    for handle in &mut missed {
        assert_eq!(answer(handle).await, "hello");
    }
    sim.wait_until_ready().await;
    let log = sim.gateway_log();
    assert_eq!(
        count(&log, |record| matches!(
            record,
            GatewayRecord::Identified { .. }
        )),
        2,
        "only the first bot identified: {log:#?}"
    );
    let replayed: usize = log
        .iter()
        .filter_map(|record| match record {
            GatewayRecord::Resumed { replayed, .. } => Some(*replayed),
            _ => None,
        })
        .sum();
    assert_eq!(replayed, 3, "{log:#?}");
    assert!(!sim.identify_limit_broken());

    let left = stop_bot(second).await;
    for (before, after) in recorded.iter().zip(&left) {
        assert_eq!(after.session_id, before.session_id);
        assert!(after.sequence >= before.sequence);
    }
}

#[tokio::test]
async fn a_session_discord_no_longer_knows_is_replaced_by_a_new_identify() {
    let sim = DiscordSim::start(DiscordSimConfig {
        // The session expires as soon as the bot is gone.
        resume_window: Duration::ZERO,
        // The new process knows nothing of the last identify; pacing identifies across
        // processes takes a shared queue.
        identify_window: Duration::ZERO,
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let first = spawn_bot(&sim, Vec::new()).await;
    first.ready().await;
    let recorded = stop_bot(first).await;
    assert_eq!(recorded.len(), 1);

    let second = spawn_bot(&sim, recorded.clone()).await;
    second.ready().await;
    let mut after = hello(&sim);
    assert_eq!(answer(&mut after).await, "hello");
    let log = sim.gateway_log();
    assert!(
        log.contains(&GatewayRecord::ResumeRefused {
            session_id: recorded[0].session_id.clone()
        }),
        "{log:#?}"
    );
    assert_eq!(
        count(&log, |record| matches!(
            record,
            GatewayRecord::Identified { .. }
        )),
        2,
        "{log:#?}"
    );
    let left = stop_bot(second).await;
    assert_ne!(left[0].session_id, recorded[0].session_id);
}

/// `/hello`: answers at once.
struct Hello;

impl Command for Hello {
    fn signature(&self) -> Signature {
        Signature::new("hello", "says hello")
    }

    fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async { Ok(Reply::text("hello")) })
    }
}
