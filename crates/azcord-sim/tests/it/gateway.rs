//! The gateway against a real twilight shard: identify, routing, faults and recovery.

use std::time::Duration;

use azcord_sim::{DiscordSim, DiscordSimConfig, GatewayRecord, Invocation, ShardState};
use twilight_gateway::{CloseFrame, Event};

use crate::support::{CHANNEL, Incoming, ShardDriver, alice, invocation, start, vm_start};

#[tokio::test]
async fn identify_gets_ready_and_the_shard_becomes_active() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    let ready = shard
        .wait_for(|event| match event {
            Event::Ready(ready) => Some(ready.clone()),
            _ => None,
        })
        .await;
    sim.wait_until_ready().await;

    let config = sim.config();
    assert_eq!(ready.version, 10);
    assert_eq!(ready.application.id.get(), config.application_id);
    assert_eq!(ready.user.id.get(), config.bot_user_id);
    assert!(ready.user.bot);
    assert_eq!(ready.resume_gateway_url, sim.gateway_url());
    assert_eq!(
        ready.shard.map(|shard| (shard.number(), shard.total())),
        Some((0, 1))
    );
    assert_eq!(ready.guilds.len(), 1);
    assert_eq!(ready.guilds[0].id.get(), config.guild_id);
    assert_eq!(
        sim.shard_states(),
        [ShardState::Active {
            session_id: ready.session_id.clone()
        }]
    );
    assert_eq!(
        sim.gateway_log(),
        [GatewayRecord::Identified {
            shard: 0,
            session_id: ready.session_id
        }]
    );
}

#[tokio::test]
async fn interactions_reach_the_shard_that_owns_the_guild() {
    let guild_of_shard = |shard: u64| (1000 + shard) << 22;
    // The driven shards do not pace their identifies.
    let sim = start(DiscordSimConfig {
        shard_count: 2,
        guild_id: guild_of_shard(1),
        identify_window: Duration::ZERO,
        ..DiscordSimConfig::default()
    })
    .await;
    let mut shards = [
        ShardDriver::connect(&sim, 0, 2),
        ShardDriver::connect(&sim, 1, 2),
    ];
    sim.wait_until_ready().await;

    let cases = [
        (Some(guild_of_shard(0)), 0),
        (Some(guild_of_shard(1)), 1),
        (None, 0),
    ];
    for (guild_id, expected_shard) in cases {
        let handle = sim.invoke(Invocation {
            user: alice(),
            guild_id,
            channel_id: CHANNEL,
            data: vm_start("web-1"),
        });
        let interaction = shards[expected_shard].interaction(handle.id).await;
        assert_eq!(interaction.guild_id.map(|id| id.get()), guild_id);
        assert_eq!(interaction.is_dm(), guild_id.is_none(), "{guild_id:?}");
        assert_eq!(interaction.author_id().map(|id| id.get()), Some(alice().id));
    }
}

/// A fault a test injects into a shard's connection.
#[derive(Clone, Copy, Debug)]
enum Fault {
    Reconnect,
    InvalidSession { resumable: bool },
    DropConnection,
    CloseWith(u16),
}

async fn inject(sim: &DiscordSim, fault: Fault) {
    match fault {
        Fault::Reconnect => sim.send_reconnect(0).await,
        Fault::InvalidSession { resumable } => sim.send_invalid_session(0, resumable).await,
        Fault::DropConnection => sim.drop_connection(0).await,
        Fault::CloseWith(code) => sim.close_connection(0, code).await,
    }
    .expect("the fault is injected");
}

#[tokio::test]
async fn no_interaction_is_lost_across_reconnects() {
    // (fault, whether the shard resumes rather than identifying again)
    let cases = [
        (Fault::Reconnect, true),
        (Fault::InvalidSession { resumable: true }, true),
        (Fault::InvalidSession { resumable: false }, false),
        (Fault::DropConnection, true),
        (Fault::CloseWith(4000), true),
    ];
    for (fault, resumes) in cases {
        // The driven shard identifies again at once after an invalid session.
        let sim = start(DiscordSimConfig {
            identify_window: Duration::ZERO,
            ..DiscordSimConfig::default()
        })
        .await;
        let mut shard = ShardDriver::connect(&sim, 0, 1);
        let first_session = shard
            .wait_for(|event| match event {
                Event::Ready(ready) => Some(ready.session_id.clone()),
                _ => None,
            })
            .await;
        sim.wait_until_ready().await;

        inject(&sim, fault).await;
        // Injected while the shard is reconnecting: it must still arrive.
        let during = sim.invoke(invocation(&sim, "during"));

        let mut arrived = false;
        let mut recovered = false;
        while !(arrived && recovered) {
            shard
                .wait_for(|event| match event {
                    Event::InteractionCreate(create) if create.id == during.id => {
                        arrived = true;
                        Some(())
                    }
                    Event::Resumed if resumes => {
                        recovered = true;
                        Some(())
                    }
                    Event::Ready(ready) if !resumes => {
                        assert_ne!(ready.session_id, first_session, "{fault:?}");
                        recovered = true;
                        Some(())
                    }
                    _ => None,
                })
                .await;
        }
        sim.wait_until_ready().await;

        let log = sim.gateway_log();
        if resumes {
            assert!(
                log.iter().any(|record| matches!(
                    record,
                    GatewayRecord::Resumed { session_id, replayed, .. }
                        if *session_id == first_session && *replayed >= 1
                )),
                "{fault:?}: {log:#?}"
            );
        } else {
            let identifies = log
                .iter()
                .filter(|record| matches!(record, GatewayRecord::Identified { .. }))
                .count();
            assert_eq!(identifies, 2, "{fault:?}: {log:#?}");
        }

        // The session goes on: a new interaction arrives live.
        let after = sim.invoke(invocation(&sim, "after"));
        shard.interaction(after.id).await;
    }
}

#[tokio::test]
async fn a_zombie_connection_is_detected_and_resumed() {
    let sim = start(DiscordSimConfig {
        heartbeat_interval: Duration::from_secs(1),
        ..DiscordSimConfig::default()
    })
    .await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;

    sim.stop_heartbeat_acks(0, true);
    shard
        .wait_for(|event| matches!(event, Event::Resumed).then_some(()))
        .await;
    sim.stop_heartbeat_acks(0, false);
    sim.wait_until_ready().await;

    let log = sim.gateway_log();
    assert!(
        log.iter()
            .any(|record| matches!(record, GatewayRecord::ConnectionLost { .. })),
        "{log:#?}"
    );
    let handle = sim.invoke(invocation(&sim, "web-1"));
    shard.interaction(handle.id).await;
}

#[tokio::test]
async fn unparsable_payloads_are_reported_and_skipped() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;

    for raw in [
        "{ definitely not json",
        r#"{"op":0,"t":"INTERACTION_CREATE","d":{"id":"not an interaction"}}"#,
    ] {
        sim.send_raw_dispatch(0, raw).await.unwrap();
        loop {
            match shard.next().await {
                Some(Incoming::Error(_)) => break,
                Some(Incoming::Event(_)) => {}
                None => panic!("the shard stopped after {raw}"),
            }
        }
    }
    let handle = sim.invoke(invocation(&sim, "web-1"));
    shard.interaction(handle.id).await;
    // The connection survived: still the one and only session.
    assert_eq!(sim.gateway_log().len(), 1, "{:#?}", sim.gateway_log());
}

#[tokio::test]
async fn a_wrong_token_is_closed_with_4004() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect_with(&sim, 0, 1, "not-the-token");
    let code = shard
        .wait_for(|event| match event {
            Event::GatewayClose(frame) => Some(frame.as_ref().map(|frame| frame.code)),
            _ => None,
        })
        .await;
    assert_eq!(code, Some(4004));
    // A fatal close code ends the shard.
    loop {
        match shard.next().await {
            None => break,
            Some(Incoming::Event(event)) if matches!(*event, Event::Ready(_)) => {
                panic!("identified with a wrong token")
            }
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn closing_normally_ends_the_session() {
    // The driven shard identifies again at once.
    let sim = start(DiscordSimConfig {
        identify_window: Duration::ZERO,
        ..DiscordSimConfig::default()
    })
    .await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    let first = shard
        .wait_for(|event| match event {
            Event::Ready(ready) => Some(ready.session_id.clone()),
            _ => None,
        })
        .await;

    shard.sender.close(CloseFrame::NORMAL).unwrap();
    let code = shard
        .wait_for(|event| match event {
            Event::GatewayClose(frame) => Some(frame.as_ref().map(|frame| frame.code)),
            _ => None,
        })
        .await;
    assert_eq!(code, Some(1000));
    assert!(sim.gateway_log().contains(&GatewayRecord::ClientClosed {
        shard: Some(0),
        code: Some(1000)
    }));

    // The server answered the close and shut the connection, so twilight starts afresh.
    let second = shard
        .wait_for(|event| match event {
            Event::Ready(ready) => Some(ready.session_id.clone()),
            _ => None,
        })
        .await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn faults_need_a_connected_shard() {
    let sim = start(DiscordSimConfig::default()).await;
    assert!(matches!(
        sim.send_reconnect(0).await,
        Err(azcord_sim::SimError::ShardNotConnected(0))
    ));
    assert!(matches!(
        sim.send_reconnect(3).await,
        Err(azcord_sim::SimError::NoSuchShard {
            shard: 3,
            shard_count: 1
        })
    ));
}
