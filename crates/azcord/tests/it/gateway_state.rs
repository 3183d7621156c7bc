//! The gateway's state in the store, through `azcord run` processes: identifies paced
//! across processes sharing a Redis store, and sessions recorded on shutdown and
//! resumed by the next process, so that interactions sent meanwhile are answered.

use std::time::Duration;

use azcord_sim::{
    DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent, InteractionHandle, Invocation,
    SimUser, redis::RedisServer,
};

use crate::{
    process::{RunProcess, State, wait_all_active},
    support::CHANNEL,
};

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
