//! The gateway's state in the store, through `azcord run` processes: identifies paced
//! across processes sharing a Redis store, and sessions recorded on shutdown and
//! resumed by the next process, so that interactions sent meanwhile are answered.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use azcord_sim::{
    DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent, InteractionHandle, Invocation,
    ShardState, SimUser, redis::RedisServer,
};

use crate::support::CHANNEL;

/// A key for the Redis store, which needs one shared by every process.
const STATE_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Where an `azcord run` process keeps its state.
enum State<'a> {
    File(&'a Path),
    Redis(&'a str),
}

/// An `azcord run` process, its output in files (a pipe nobody reads would stall it);
/// killed if the test ends without stopping it.
struct RunProcess {
    child: Option<Child>,
    name: String,
    log: PathBuf,
}

impl RunProcess {
    fn spawn(sim: &DiscordSim, dir: &Path, name: &str, state: State<'_>, args: &[&str]) -> Self {
        let config = dir.join(format!("{name}.toml"));
        let window = sim.config().identify_window.as_millis();
        std::fs::write(
            &config,
            format!("[discord]\nidentify_window_ms = {window}\n"),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcord"));
        command
            .args(["run", "--log-format", "json", "--config"])
            .arg(&config)
            .args(args)
            .env("DISCORD_TOKEN", &sim.config().token)
            .env("DISCORD_API_URL", sim.api_url())
            .env("DISCORD_GATEWAY_URL", sim.gateway_url())
            .env("RUST_LOG", "info,azcord_gateway=debug")
            .env_remove("AZCORD_STATE")
            .env_remove("AZCORD_STORE_URL")
            .env_remove("AZCORD_STATE_KEY")
            .env_remove("HONEYCOMB_API_KEY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap());
        match state {
            State::File(path) => command.env("AZCORD_STATE", path),
            State::Redis(url) => command
                .env("AZCORD_STORE_URL", url)
                .env("AZCORD_STATE_KEY", STATE_KEY),
        };
        Self {
            child: Some(command.spawn().unwrap()),
            name: name.to_owned(),
            log,
        }
    }

    /// What the process logged so far, and its standard error.
    fn output(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!(
            "--- {} stdout\n{}\n--- stderr\n{}",
            self.name,
            read(&self.log),
            read(&self.log.with_extension("err"))
        )
    }

    /// Sends SIGTERM and waits for a clean exit; returns its log.
    async fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await;
        let status = waited
            .unwrap_or_else(|_| panic!("{} did not stop: {}", self.name, self.output()))
            .unwrap()
            .unwrap();
        assert!(status.success(), "exit {status:?}: {}", self.output());
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for RunProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits (bounded) until every shard is active; on failure shows what the processes said.
async fn wait_all_active(sim: &DiscordSim, processes: &[&RunProcess]) {
    let active = sim.wait_for_shards(|shards| {
        shards
            .iter()
            .all(|shard| matches!(shard, ShardState::Active { .. }))
    });
    if tokio::time::timeout(Duration::from_secs(90), active)
        .await
        .is_err()
    {
        let outputs: Vec<String> = processes.iter().map(|process| process.output()).collect();
        panic!(
            "not every shard became active: {:?}\n{}",
            sim.shard_states(),
            outputs.join("\n")
        );
    }
}

fn ping(sim: &DiscordSim, guild: u64) -> InteractionHandle {
    let data = sim
        .command_data(None, "ping", Vec::new())
        .expect("registered globally without --guild");
    sim.invoke(Invocation {
        user: SimUser::new(7, "ops"),
        guild_id: Some(guild),
        channel_id: CHANNEL,
        data,
    })
}

/// Whether `handle`'s interaction is answered with a pong.
async fn answered(handle: &mut InteractionHandle) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(60), handle.next_event()).await,
        Ok(InteractionEvent::Acknowledged { message: Some(message), .. }) if message.content == "🏓 pong"
    )
}

fn count(log: &[GatewayRecord], wanted: impl Fn(&GatewayRecord) -> bool) -> usize {
    log.iter().filter(|record| wanted(record)).count()
}

#[tokio::test]
async fn processes_sharing_a_redis_store_keep_to_max_concurrency_together() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 8,
        max_concurrency: 2,
        identify_window: Duration::from_secs(1),
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let processes: Vec<RunProcess> = (0..4)
        .map(|process| {
            let shards = format!("{}..{}", process * 2, process * 2 + 2);
            RunProcess::spawn(
                &sim,
                dir.path(),
                &format!("shards-{process}"),
                State::Redis(&url),
                &["--shards", &shards, "--shard-total", "8"],
            )
        })
        .collect();
    wait_all_active(&sim, &processes.iter().collect::<Vec<_>>()).await;

    let identifies = sim.identifies();
    assert!(
        !sim.identify_limit_broken(),
        "an identify came too early: {identifies:#?}"
    );
    let mut shards: Vec<u32> = identifies.iter().map(|record| record.shard).collect();
    shards.sort_unstable();
    assert_eq!(shards, (0..8).collect::<Vec<_>>(), "{identifies:#?}");
    // Four shards per bucket, one per window: the last of each took three windows.
    let first = identifies.iter().map(|record| record.at).min().unwrap();
    let last = identifies.iter().map(|record| record.at).max().unwrap();
    assert!(
        last - first >= Duration::from_millis(2_700),
        "{identifies:#?}"
    );
    for process in processes {
        process.stop().await;
    }
}

#[tokio::test]
async fn interactions_sent_during_a_restart_are_answered() {
    const SENT_WHILE_DOWN: usize = 20;
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 1,
        identify_window: Duration::from_millis(500),
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.redb");
    let first = RunProcess::spawn(&sim, dir.path(), "first", State::File(&state), &[]);
    wait_all_active(&sim, &[&first]).await;
    let log = first.stop().await;
    assert!(log.contains("recorded the gateway session"), "{log}");

    let guild = sim.config().guild_id;
    let mut handles: Vec<InteractionHandle> =
        (0..SENT_WHILE_DOWN).map(|_| ping(&sim, guild)).collect();
    let second = RunProcess::spawn(&sim, dir.path(), "second", State::File(&state), &[]);
    let mut answers = 0;
    for handle in &mut handles {
        answers += usize::from(answered(handle).await);
    }
    // The figure in docs/performance.md (on standard error, shown with --nocapture).
    eprintln!("replay: {answers} of {SENT_WHILE_DOWN} interactions sent during a restart answered");
    assert_eq!(answers, SENT_WHILE_DOWN, "{}", second.output());
    let log = sim.gateway_log();
    assert_eq!(
        count(&log, |record| matches!(
            record,
            GatewayRecord::Identified { .. }
        )),
        1,
        "the second process resumed rather than identified: {log:#?}"
    );
    assert!(
        log.iter().any(|record| matches!(
            record,
            GatewayRecord::Resumed { replayed, .. } if *replayed == SENT_WHILE_DOWN
        )),
        "{log:#?}"
    );
    second.stop().await;
}

#[tokio::test]
async fn a_session_too_old_to_resume_is_replaced_by_a_new_identify() {
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 1,
        // The session expires as soon as the process is gone.
        resume_window: Duration::ZERO,
        identify_window: Duration::from_millis(500),
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.redb");
    let first = RunProcess::spawn(&sim, dir.path(), "first", State::File(&state), &[]);
    wait_all_active(&sim, &[&first]).await;
    first.stop().await;

    let second = RunProcess::spawn(&sim, dir.path(), "second", State::File(&state), &[]);
    // What is sent before a new identify is lost with the expired session, as on Discord.
    wait_all_active(&sim, &[&second]).await;
    let mut handle = ping(&sim, sim.config().guild_id);
    assert!(answered(&mut handle).await, "{}", second.output());
    let log = sim.gateway_log();
    assert_eq!(
        count(&log, |record| matches!(
            record,
            GatewayRecord::ResumeRefused { .. }
        )),
        1,
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
    // The store paced the second identify after the first, across processes.
    assert!(!sim.identify_limit_broken(), "{:#?}", sim.identifies());
    second.stop().await;
}
