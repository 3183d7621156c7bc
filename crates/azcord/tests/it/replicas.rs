//! `azcord serve` replicas on one Redis store: a confirmation prompted by one is
//! confirmed through the other, an operation whose owner is killed is finished by the
//! survivor, no action is ever begun twice; and a store that goes down and comes back.

use std::time::{Duration, Instant};

use azcord_sim::{
    ArmSim, DiscordSim, DiscordSimConfig, InteractionEvent, InteractionHandle, SimMessage,
    arm::PowerState, redis::RedisServer,
};

use crate::{
    process::STATE_KEY,
    serve::{CONFIG, ServeProcess, ServeState, arm_posts, invocation, ops, tempfile_dir},
    support::{button, held_arm},
};

/// The operation lease, short so that a dead replica's operation is taken over soon.
const LEASE: Duration = Duration::from_secs(1);

const NOT_RECORDED: &str = "azcord cannot record this operation; not started";

/// Both simulators, a VM transition lasting until the test finishes it, and a config
/// file with a short lease.
async fn simulators(prefix: &str) -> (DiscordSim, ArmSim, std::path::PathBuf) {
    let sim = DiscordSim::start(DiscordSimConfig {
        wait_timeout: Duration::from_secs(60),
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let arm = held_arm(Duration::from_millis(50)).await;
    let config = tempfile_dir(prefix).join("azcord.toml");
    std::fs::write(
        &config,
        format!(
            "{CONFIG}\n[azure]\noperation_lease_secs = {}\n",
            LEASE.as_secs()
        ),
    )
    .unwrap();
    (sim, arm, config)
}

/// The message of a response or an edit of it, if `event` carries one.
fn message_of(event: &InteractionEvent) -> Option<&SimMessage> {
    match event {
        InteractionEvent::Acknowledged {
            message: Some(message),
            ..
        }
        | InteractionEvent::OriginalEdited(message)
        | InteractionEvent::Followup(message) => Some(message),
        _ => None,
    }
}

/// A message's content and its embeds' titles and descriptions.
fn text_of(message: &SimMessage) -> String {
    let embeds = message.embeds.iter().flat_map(|embed| {
        [embed.title.as_deref(), embed.description.as_deref()]
            .into_iter()
            .flatten()
    });
    std::iter::once(message.content.as_str())
        .chain(embeds)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits (bounded by the simulator's patience) for a message containing `text`.
async fn wait_text(handle: &mut InteractionHandle, text: &str) -> SimMessage {
    let event = handle
        .wait_for(|event| message_of(event).is_some_and(|message| text_of(message).contains(text)))
        .await;
    message_of(&event).unwrap().clone()
}

/// How soon the start of web-1, handed over by a replica that stopped, must end.
struct TakenOver {
    /// When the replica that began it stopped.
    after: Instant,
    /// The bound from then.
    within: Duration,
    /// What a slower takeover would mean, for the failure message.
    unless: &'static str,
    /// The actions begun in Azure in all, this one included: one POST each, however
    /// many replicas followed them.
    posts: usize,
}

impl TakenOver {
    /// Waits for `survivor` to tell `start`'s user web-1 is running, within the bound,
    /// with each action begun once; then stops it. Returns how long the takeover took.
    async fn by(
        self,
        mut survivor: ServeProcess,
        start: &mut InteractionHandle,
        arm: &ArmSim,
    ) -> Duration {
        let started = wait_text(start, "is running").await;
        let taken_over_in = self.after.elapsed();
        assert!(
            started
                .content
                .starts_with("✅ **web-1** in `staging` is running · took "),
            "{}",
            started.content
        );
        assert!(
            taken_over_in <= self.within,
            "taken over {taken_over_in:?} after the replica stopped, {}: {}",
            self.unless,
            survivor.logs_so_far().await
        );
        assert_eq!(arm_posts(arm), self.posts, "{:#?}", arm.requests());
        survivor.stop().await;
        taken_over_in
    }
}

/// A progress edit with the time so far: the operation is being polled, so recorded.
fn polled(event: &InteractionEvent) -> bool {
    matches!(event, InteractionEvent::OriginalEdited(message)
        if message.content.starts_with("🔄") && message.content.ends_with(" s"))
}

#[tokio::test]
async fn replicas_share_confirmations_and_finish_each_others_operations() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (sim, arm, config) = simulators("azcord-replicas").await;
    let state = || ServeState::Redis {
        url: &url,
        key: STATE_KEY,
    };
    let first = ServeProcess::spawn(&sim, &arm, &config, state()).await;
    let second = ServeProcess::spawn(&sim, &arm, &config, state()).await;

    // Prompted by the first replica, confirmed through the second: it runs, once.
    sim.set_interactions_endpoint(Some(first.endpoint()));
    let mut stop = sim.invoke(invocation(&sim, "/vm stop name:staging/api-1"));
    let prompt = wait_text(&mut stop, "api-1").await;
    assert_eq!(arm_posts(&arm), 0, "nothing happens before the click");
    sim.set_interactions_endpoint(Some(second.endpoint()));
    let mut click = sim
        .click(&prompt, &button(&prompt, "Stop"), &ops())
        .unwrap();
    click.wait_for(polled).await;
    arm.finish_transitions();
    let stopped = wait_text(&mut click, "✅").await;
    assert!(
        stopped
            .content
            .starts_with("✅ **api-1** in `staging` is stopped"),
        "{}",
        stopped.content
    );
    assert_eq!(arm_posts(&arm), 1);

    // Begun by the first replica, which dies while Azure works: the second finishes it.
    sim.set_interactions_endpoint(Some(first.endpoint()));
    let mut start = sim.invoke(invocation(&sim, "/vm start name:staging/web-1"));
    start.wait_for(polled).await;
    arm.wait_for_vm_state("staging", "web-1", PowerState::Starting)
        .await;
    sim.set_interactions_endpoint(Some(second.endpoint()));
    let killed = Instant::now();
    first.sigkill().await;
    arm.finish_transitions();
    // The survivor looks every tenth of a lease, takes a lease once it has expired and
    // polls at once: a lease and a tenth, with room for a loaded machine.
    let taken_over = TakenOver {
        after: killed,
        within: LEASE * 11 / 10 + Duration::from_secs(2),
        unless: "later than a lease and a tenth",
        posts: 2,
    };
    let taken_over_in = taken_over.by(second, &mut start, &arm).await;
    eprintln!("replicas: operation taken over and finished {taken_over_in:?} after SIGKILL");
}

#[tokio::test]
async fn store_down_refuses_actions_keeps_reads_and_recovers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (sim, arm, config) = simulators("azcord-store-down").await;
    let mut served = ServeProcess::spawn(
        &sim,
        &arm,
        &config,
        ServeState::Redis {
            url: &url,
            key: STATE_KEY,
        },
    )
    .await;
    sim.set_interactions_endpoint(Some(served.endpoint()));

    redis.stop();
    // An action that cannot be recorded is not begun.
    let mut refused = sim.invoke(invocation(&sim, "/vm start name:staging/web-1"));
    let answer = wait_text(&mut refused, NOT_RECORDED).await;
    assert!(answer.content.contains(NOT_RECORDED), "{}", answer.content);
    assert_eq!(arm_posts(&arm), 0, "{:#?}", arm.requests());
    // Reads need no store.
    let mut list = sim.invoke(invocation(&sim, "/vm list"));
    let listed = wait_text(&mut list, "VMs in the subscription").await;
    assert!(text_of(&listed).contains("api-1"), "{listed:#?}");
    assert!(
        served.is_running(),
        "azcord serve died: {}",
        served.logs_so_far().await
    );

    // Back, empty: the next action works without restarting azcord.
    redis.restart();
    let mut start = sim.invoke(invocation(&sim, "/vm start name:staging/web-1"));
    start.wait_for(polled).await;
    arm.finish_transitions();
    let started = wait_text(&mut start, "is running").await;
    assert!(
        started
            .content
            .starts_with("✅ **web-1** in `staging` is running · took "),
        "{}",
        started.content
    );
    assert_eq!(arm_posts(&arm), 1, "{:#?}", arm.requests());
    let logs = served.stop().await;
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test]
async fn sigterm_releases_an_operation_to_the_next_replica_at_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (sim, arm, _) = simulators("azcord-handover").await;
    // The default lease, 30 s: on Redis a lease is waited out unless released.
    let config = tempfile_dir("azcord-handover-default-lease").join("azcord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = || ServeState::Redis {
        url: &url,
        key: STATE_KEY,
    };
    let first = ServeProcess::spawn(&sim, &arm, &config, state()).await;
    sim.set_interactions_endpoint(Some(first.endpoint()));
    let mut start = sim.invoke(invocation(&sim, "/vm start name:staging/web-1"));
    start.wait_for(polled).await;

    let log = first.stop().await;
    let stopped = Instant::now();
    assert!(log.contains("handed an operation over"), "{log}");
    let handed = wait_text(&mut start, "azcord is restarting").await;
    assert!(
        handed
            .content
            .ends_with("azcord is restarting and will report the outcome"),
        "{}",
        handed.content
    );
    arm.finish_transitions();
    let second = ServeProcess::spawn(&sim, &arm, &config, state()).await;
    let taken_over = TakenOver {
        after: stopped,
        within: Duration::from_secs(15),
        unless: "as if the lease were waited out",
        posts: 1,
    };
    taken_over.by(second, &mut start, &arm).await;
}

#[tokio::test]
async fn a_running_replica_takes_over_an_operation_handed_over_at_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (sim, arm, _) = simulators("azcord-handover-running").await;
    // A ten-minute lease: the survivor's own look comes every minute, so only being
    // told of the hand-over makes it take the operation within the bound below.
    let config = tempfile_dir("azcord-handover-long-lease").join("azcord.toml");
    std::fs::write(
        &config,
        format!("{CONFIG}\n[azure]\noperation_lease_secs = 600\n"),
    )
    .unwrap();
    let state = || ServeState::Redis {
        url: &url,
        key: STATE_KEY,
    };
    let first = ServeProcess::spawn(&sim, &arm, &config, state()).await;
    let second = ServeProcess::spawn(&sim, &arm, &config, state()).await;
    sim.set_interactions_endpoint(Some(first.endpoint()));
    let mut start = sim.invoke(invocation(&sim, "/vm start name:staging/web-1"));
    start.wait_for(polled).await;

    let log = first.stop().await;
    let stopped = Instant::now();
    assert!(log.contains("handed an operation over"), "{log}");
    arm.finish_transitions();
    let taken_over = TakenOver {
        after: stopped,
        within: Duration::from_secs(20),
        unless: "as if at the next look",
        posts: 1,
    };
    taken_over.by(second, &mut start, &arm).await;
}
