//! Sessions across clients: a RESUME after the connection is gone replays what was sent
//! meanwhile, within the resume window; identifies keep to `max_concurrency`.

use std::time::Duration;

use azcord_sim::{DiscordSim, DiscordSimConfig, GatewayRecord, ShardState};
use twilight_gateway::Event;
use twilight_model::id::{Id, marker::InteractionMarker};

use crate::support::{ShardDriver, http, invocation, start};

/// Connects shard 0 of 1, waits for READY, and returns the driver with its session id.
async fn connected(sim: &DiscordSim) -> (ShardDriver, String) {
    let mut shard = ShardDriver::connect(sim, 0, 1);
    let session_id = shard
        .wait_for(|event| match event {
            Event::Ready(ready) => Some(ready.session_id.clone()),
            _ => None,
        })
        .await;
    sim.wait_until_ready().await;
    (shard, session_id)
}

/// Ends the client's process: its TCP connection is gone without a close frame.
async fn kill(sim: &DiscordSim, shard: ShardDriver) {
    drop(shard);
    sim.wait_for_shards(|states| matches!(states[0], ShardState::Disconnected { .. }))
        .await;
}

/// The interactions a shard receives until `last` (included), in order.
async fn interactions_until(
    shard: &mut ShardDriver,
    last: Id<InteractionMarker>,
) -> Vec<Id<InteractionMarker>> {
    let mut seen = Vec::new();
    while seen.last() != Some(&last) {
        let id = shard
            .wait_for(|event| match event {
                Event::InteractionCreate(create) => Some(create.id),
                _ => None,
            })
            .await;
        seen.push(id);
    }
    seen
}

#[tokio::test]
async fn a_new_client_resumes_and_gets_the_interactions_sent_while_none_was_connected() {
    let sim = start(DiscordSimConfig::default()).await;
    let (shard, session_id) = connected(&sim).await;
    let session = shard.session().expect("a session after READY");
    kill(&sim, shard).await;

    let missed: Vec<_> = ["a", "b", "c"]
        .map(|vm| sim.invoke(invocation(&sim, vm)).id)
        .into();
    let mut resumed = ShardDriver::resume(&sim, 0, 1, session);
    let seen = interactions_until(&mut resumed, missed[2]).await;
    assert_eq!(seen, missed);
    resumed
        .wait_for(|event| matches!(event, Event::Resumed).then_some(()))
        .await;
    sim.wait_until_ready().await;

    let log = sim.gateway_log();
    assert!(
        log.contains(&GatewayRecord::Resumed {
            shard: 0,
            session_id: session_id.clone(),
            replayed: 3
        }),
        "{log:#?}"
    );
    assert_eq!(sim.shard_states(), [ShardState::Active { session_id }]);
    // The session goes on live.
    let after = sim.invoke(invocation(&sim, "after")).id;
    assert_eq!(interactions_until(&mut resumed, after).await, [after]);
}

#[tokio::test]
async fn a_session_past_the_resume_window_is_invalid_and_what_it_held_is_lost() {
    // A zero window: the session expires as soon as its connection is gone. The client
    // identifies again at once, which needs the identify limit lifted.
    let sim = start(DiscordSimConfig {
        resume_window: Duration::ZERO,
        identify_window: Duration::ZERO,
        ..DiscordSimConfig::default()
    })
    .await;
    let (shard, session_id) = connected(&sim).await;
    let session = shard.session().expect("a session after READY");
    kill(&sim, shard).await;

    let _lost = sim.invoke(invocation(&sim, "lost"));
    let mut client = ShardDriver::resume(&sim, 0, 1, session);
    let resumable = client
        .wait_for(|event| match event {
            Event::GatewayInvalidateSession(resumable) => Some(*resumable),
            _ => None,
        })
        .await;
    assert!(!resumable, "an expired session gets op 9 with d: false");
    let new_session = client
        .wait_for(|event| match event {
            Event::Ready(ready) => Some(ready.session_id.clone()),
            _ => None,
        })
        .await;
    assert_ne!(new_session, session_id);

    let after = sim.invoke(invocation(&sim, "after")).id;
    let seen = interactions_until(&mut client, after).await;
    assert_eq!(seen, [after], "the lost interaction is never delivered");
    let log = sim.gateway_log();
    let expiry = log
        .iter()
        .position(|record| {
            *record
                == GatewayRecord::SessionExpired {
                    shard: 0,
                    session_id: session_id.clone(),
                }
        })
        .unwrap_or_else(|| panic!("no expiry: {log:#?}"));
    assert!(
        log[expiry..].contains(&GatewayRecord::DispatchLost {
            shard: 0,
            event: "INTERACTION_CREATE".to_owned()
        }),
        "{log:#?}"
    );
    assert!(
        log.contains(&GatewayRecord::ResumeRefused { session_id }),
        "{log:#?}"
    );
}

#[tokio::test]
async fn an_identify_too_soon_in_its_bucket_gets_an_invalid_session() {
    // (max_concurrency, whether shard 1 identifying right after shard 0 is too early)
    for (max_concurrency, too_early) in [(1, true), (2, false)] {
        let sim = start(DiscordSimConfig {
            shard_count: 2,
            max_concurrency,
            ..DiscordSimConfig::default()
        })
        .await;
        let gateway = http(&sim, &sim.config().token)
            .gateway()
            .authed()
            .await
            .unwrap()
            .model()
            .await
            .unwrap();
        assert_eq!(
            u32::from(gateway.session_start_limit.max_concurrency),
            max_concurrency
        );

        let mut first = ShardDriver::connect(&sim, 0, 2);
        first
            .wait_for(|event| matches!(event, Event::Ready(_)).then_some(()))
            .await;
        // This client does not pace its identifies: it asks at once, and again after op 9.
        let mut second = ShardDriver::connect(&sim, 1, 2);
        second
            .wait_for(|event| match event {
                Event::Ready(_) if !too_early => Some(()),
                Event::GatewayInvalidateSession(false) if too_early => Some(()),
                _ => None,
            })
            .await;
        drop(second);

        assert_eq!(sim.identify_limit_broken(), too_early, "{max_concurrency}");
        let identifies = sim.identifies();
        let judged: Vec<_> = identifies
            .iter()
            .take(2)
            .map(|record| (record.shard, record.bucket, record.too_early))
            .collect();
        let bucket_of_1 = 1 % max_concurrency;
        assert_eq!(
            judged,
            [(0, 0, false), (1, bucket_of_1, too_early)],
            "{identifies:#?}"
        );
        assert_eq!(
            sim.gateway_log()
                .contains(&GatewayRecord::IdentifyTooEarly { shard: 1 }),
            too_early
        );
    }
}
