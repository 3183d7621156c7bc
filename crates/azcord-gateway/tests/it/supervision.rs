//! A shard that ends is restarted, or the bot stops with an error.
//!
//! The panics come from the shard-phase hook (what feeds the shard metrics in
//! production), which runs inside the shard task: a hook that fails takes the shard task
//! down the way any bug in it would.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use azcord_command::{
    BoxFuture, Command, CommandError, Context, DispatchConfig, Dispatcher, Plugin, Policy,
    Registry, Reply, Signature,
};
use azcord_gateway::{GatewayConfig, GatewayError, RestartPolicy, ShardPhase, ShardStatus};
use azcord_sim::{
    DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent, Invocation, SimUser,
};
use expect_test::expect;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use ShardPhase::{Closed, Connected, Disconnected, Resuming};

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Restarts at once, three times a minute at most.
const QUICK: RestartPolicy = RestartPolicy {
    max_restarts: 3,
    window: Duration::from_secs(60),
    initial_backoff: Duration::from_millis(1),
    max_backoff: Duration::from_millis(10),
};

#[tokio::test]
async fn a_shard_whose_task_panics_is_restarted_and_resumes_its_session() {
    let mut bot = start(Trap::Never, QUICK).await;
    bot.heard_until(|heard| heard.last() == Some(&Connected))
        .await;
    assert!(bot.status.is_ready());

    bot.arm(Trap::Once(vec![Resuming]));
    bot.sim.send_reconnect(0).await.unwrap();
    let heard = bot
        .heard_until(|heard| heard.contains(&Disconnected) && heard.last() == Some(&Connected))
        .await;
    // Not ready from the panic until the new shard has resumed.
    expect![[r#"
        [
            Connecting,
            Connected,
            Resuming,
            Disconnected,
            Resuming,
            Connected,
        ]
    "#]]
    .assert_debug_eq(&heard);
    assert!(bot.status.is_ready());
    let log = bot.sim.gateway_log();
    assert_eq!(
        (identifies(&log), resumes(&log)),
        (1, 1),
        "the restarted shard resumed the session: {log:#?}"
    );
    assert!(!bot.run.is_finished());

    // The restarted shard serves.
    assert_eq!(bot.hello().await, "hello");
    let status = bot.status.clone();
    bot.shutdown().await.unwrap();
    assert_eq!(status.phases(), [(0, Closed)]);
}

#[tokio::test]
async fn a_shard_that_ends_more_often_than_the_policy_allows_stops_the_bot() {
    let bot = start(
        Trap::Always(Connected),
        RestartPolicy {
            max_restarts: 2,
            window: Duration::from_secs(3600),
            ..QUICK
        },
    )
    .await;
    let (sim, status) = (bot.sim.clone(), bot.status.clone());
    let error = bot.finish().await.unwrap_err();
    expect![[r#"shard 0 ended again after 2 restarts within 3600s, more than the restart policy allows: its task panicked: the metrics backend failed on connected"#]]
    .assert_eq(&error.to_string());
    assert_eq!(status.phases(), [(0, Closed)]);
    assert!(!status.is_ready());
    let log = sim.gateway_log();
    assert_eq!((identifies(&log), resumes(&log)), (1, 2), "{log:#?}");
}

#[tokio::test]
async fn a_fatal_close_code_stops_the_bot_without_a_restart() {
    // Authentication failed, invalid shard, disallowed intents: restarting cannot help.
    for code in [4004, 4010, 4014] {
        let mut bot = start(Trap::Never, QUICK).await;
        bot.heard_until(|heard| heard.last() == Some(&Connected))
            .await;
        bot.sim.close_connection(0, code).await.unwrap();
        let (sim, status) = (bot.sim.clone(), bot.status.clone());
        let error = bot.finish().await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "shard 0 was closed by Discord with code {code} and cannot reconnect (bad token, intents or shard)"
            )
        );
        assert_eq!(status.phases(), [(0, Closed)]);
        let log = sim.gateway_log();
        assert_eq!((identifies(&log), resumes(&log)), (1, 0), "{log:#?}");
    }
}

#[tokio::test]
async fn a_shutdown_during_the_backoff_ends_the_run_cleanly() {
    let mut bot = start(
        Trap::Once(vec![Connected]),
        RestartPolicy {
            initial_backoff: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
            ..QUICK
        },
    )
    .await;
    bot.heard_until(|heard| heard.contains(&Disconnected)).await;
    assert!(!bot.status.is_ready());
    let status = bot.status.clone();
    // Returns well before the hour-long backoff is over.
    bot.shutdown().await.unwrap();
    assert_eq!(status.phases(), [(0, Closed)]);
}

#[tokio::test]
async fn a_supervisor_that_panics_stops_the_bot() {
    // The shard task panics on its first READY, then the supervisor panics as it marks
    // the shard disconnected: with nothing left to restart the shard, the bot stops.
    let bot = start(Trap::Once(vec![Connected, Disconnected]), QUICK).await;
    let status = bot.status.clone();
    let error = bot.finish().await.unwrap_err();
    expect![[r#"the supervisor of shard 0 ended: it panicked: the metrics backend failed on disconnected"#]]
    .assert_eq(&error.to_string());
    assert!(!status.is_ready());
}

/// When the shard-phase hook panics.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Trap {
    Never,
    /// On each of these phases in turn, once.
    Once(Vec<ShardPhase>),
    /// Every time the shard enters this phase.
    Always(ShardPhase),
}

/// A bot on one shard against its own simulator, with a trapped shard-phase hook.
struct Harness {
    sim: DiscordSim,
    status: ShardStatus,
    trap: Arc<Mutex<Trap>>,
    /// Every phase the hook heard, in order.
    heard: Vec<ShardPhase>,
    hearing: mpsc::UnboundedReceiver<ShardPhase>,
    stop: oneshot::Sender<()>,
    run: JoinHandle<Result<(), GatewayError>>,
}

async fn start(trap: Trap, restart: RestartPolicy) -> Harness {
    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let registry = Registry::new([Plugin::new("hello").command(Hello)]).unwrap();
    let dispatcher = Dispatcher::new(registry, Policy::default(), DispatchConfig::default());
    let trap = Arc::new(Mutex::new(trap));
    let (tell, hearing) = mpsc::unbounded_channel();
    let hook_trap = Arc::clone(&trap);
    let config = GatewayConfig {
        on_shard_phase: Some(Arc::new(move |_, phase| {
            let _ = tell.send(phase);
            if spring(&hook_trap, phase) {
                panic!("the metrics backend failed on {}", phase.as_str());
            }
        })),
        restart,
        ..crate::config_for(&sim)
    };
    let bot = azcord_gateway::connect(config, dispatcher).await.unwrap();
    let status = bot.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let run = tokio::spawn(bot.run(async move {
        let _ = stopped.await;
    }));
    Harness {
        sim,
        status,
        trap,
        heard: Vec::new(),
        hearing,
        stop,
        run,
    }
}

/// Whether the hook must panic on `phase`; a one-off trap disarms itself.
fn spring(trap: &Mutex<Trap>, phase: ShardPhase) -> bool {
    let mut trap = trap.lock().unwrap_or_else(PoisonError::into_inner);
    match &mut *trap {
        Trap::Once(armed) if armed.first() == Some(&phase) => {
            armed.remove(0);
            true
        }
        Trap::Always(armed) => *armed == phase,
        Trap::Never | Trap::Once(_) => false,
    }
}

impl Harness {
    fn arm(&self, trap: Trap) {
        *self.trap.lock().unwrap_or_else(PoisonError::into_inner) = trap;
    }

    /// Waits until the phases heard so far satisfy `done`, and returns them.
    async fn heard_until(&mut self, done: impl Fn(&[ShardPhase]) -> bool) -> Vec<ShardPhase> {
        let wait = async {
            while !done(&self.heard) {
                let phase = self.hearing.recv().await.expect("the hook is alive");
                self.heard.push(phase);
            }
        };
        if tokio::time::timeout(PATIENCE, wait).await.is_err() {
            panic!("phases heard so far: {:?}", self.heard);
        }
        self.heard.clone()
    }

    /// Runs `/hello` and returns the bot's answer.
    async fn hello(&self) -> String {
        let guild = self.sim.config().guild_id;
        let mut handle = self.sim.invoke(Invocation {
            user: SimUser::new(7, "ops"),
            guild_id: Some(guild),
            channel_id: 100_000_000_000_000_003,
            data: self
                .sim
                .command_data(Some(guild), "hello", Vec::new())
                .unwrap(),
        });
        match handle.next_event().await {
            InteractionEvent::Acknowledged {
                message: Some(message),
                ..
            } => message.content,
            other => panic!("{other:?}"),
        }
    }

    /// Waits for the bot to stop on its own.
    async fn finish(self) -> Result<(), GatewayError> {
        // Holding `stop` keeps the shutdown signal from firing.
        let Self { run, stop, .. } = self;
        let result = tokio::time::timeout(PATIENCE, run)
            .await
            .expect("the bot stops in time")
            .expect("the bot task does not panic");
        drop(stop);
        result
    }

    /// Shuts the bot down the way SIGTERM does, and waits for it.
    async fn shutdown(self) -> Result<(), GatewayError> {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.run)
            .await
            .expect("the bot stops in time")
            .expect("the bot task does not panic")
    }
}

fn identifies(log: &[GatewayRecord]) -> usize {
    log.iter()
        .filter(|record| matches!(record, GatewayRecord::Identified { .. }))
        .count()
}

fn resumes(log: &[GatewayRecord]) -> usize {
    log.iter()
        .filter(|record| matches!(record, GatewayRecord::Resumed { .. }))
        .count()
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
