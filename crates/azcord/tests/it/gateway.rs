//! The gateway connection: reconnects, invalid sessions, bad payloads, shutdown and
//! registration.

use azcord_gateway::ShardPhase;
use azcord_sim::{GatewayRecord, InteractionEvent, ShardState};
use expect_test::expect;

use crate::support::{self, CHANNEL, user};

/// Waits until shard 0 has a live session again after `since` gateway records.
async fn wait_reconnected(test: &support::TestBot, since: usize) {
    test.bot
        .sim
        .wait_for_shards(|states| {
            states
                .iter()
                .all(|state| matches!(state, ShardState::Active { .. }))
        })
        .await;
    let records = test.bot.sim.gateway_log();
    assert!(
        records[since..].iter().any(|record| matches!(
            record,
            GatewayRecord::Resumed { .. } | GatewayRecord::Identified { .. }
        )),
        "no new session after the fault: {records:#?}"
    );
}

#[tokio::test]
async fn no_interaction_is_lost_across_a_reconnect_request() {
    let test = support::start().await;
    let before = test.bot.sim.gateway_log().len();
    test.bot.sim.send_reconnect(0).await.unwrap();
    // Sent while the shard reconnects: the simulator buffers it for the resumed session.
    let mut handle = test.invoke("/ping");
    let InteractionEvent::Acknowledged {
        message: Some(message),
        ..
    } = handle.next_event().await
    else {
        panic!()
    };
    assert_eq!(message.content, "🏓 pong");
    wait_reconnected(&test, before).await;
    assert!(
        test.bot.sim.gateway_log()[before..]
            .iter()
            .any(|record| matches!(record, GatewayRecord::Resumed { .. })),
        "op 7 leads to a resume"
    );
}

#[tokio::test]
async fn no_interaction_is_lost_across_an_invalid_session() {
    let test = support::start().await;
    let before = test.bot.sim.gateway_log().len();
    test.bot.sim.send_invalid_session(0, false).await.unwrap();
    let mut handle = test.invoke("/ping");
    let InteractionEvent::Acknowledged {
        message: Some(message),
        ..
    } = handle.next_event().await
    else {
        panic!()
    };
    assert_eq!(message.content, "🏓 pong");
    wait_reconnected(&test, before).await;
}

#[tokio::test]
async fn no_interaction_is_lost_across_a_dropped_connection() {
    let test = support::start().await;
    test.bot.sim.drop_connection(0).await.unwrap();
    let mut handle = test.invoke("/ping");
    let InteractionEvent::Acknowledged {
        message: Some(message),
        ..
    } = handle.next_event().await
    else {
        panic!()
    };
    assert_eq!(message.content, "🏓 pong");
}

#[tokio::test]
async fn an_unparsable_payload_is_skipped_and_the_shard_goes_on() {
    let test = support::start().await;
    let broken = r#"{"op":0,"t":"INTERACTION_CREATE","s":99,"d":{"id":"not a snowflake","token":"leaky-interaction-token"}}"#;
    test.bot.sim.send_raw_dispatch(0, broken).await.unwrap();
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
}

#[tokio::test]
async fn shutdown_finishes_the_command_in_flight_and_closes_resumably() {
    let mut test = support::start().await;
    let mut held = test.invoke("/test held");
    let InteractionEvent::Acknowledged { deferred: true, .. } = held.next_event().await else {
        panic!()
    };

    test.bot.begin_shutdown();
    // A command that arrives while shutting down is turned away politely.
    let mut late = test.invoke("/ping");
    let InteractionEvent::Acknowledged {
        message: Some(message),
        ..
    } = late.next_event().await
    else {
        panic!()
    };
    assert_eq!(
        message.content,
        "azcord is restarting; try again in a few seconds"
    );

    test.gate.step("finished during shutdown");
    let InteractionEvent::OriginalEdited(message) = held.next_event().await else {
        panic!()
    };
    assert_eq!(message.content, "released: finished during shutdown");

    let sim = test.bot.sim.clone();
    let status = test.bot.status().clone();
    test.bot.join().await.unwrap();
    assert_eq!(status.phases(), [(0, ShardPhase::Closed)]);
    let closes: Vec<Option<u16>> = sim
        .gateway_log()
        .iter()
        .filter_map(|record| match record {
            GatewayRecord::ClientClosed { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        closes,
        [Some(4000)],
        "closed with a code that keeps the session resumable"
    );
}

#[tokio::test]
async fn commands_are_registered_only_when_they_change() {
    let test = support::start().await;
    let guild_puts = |sim: &azcord_sim::DiscordSim| {
        sim.rest_calls()
            .iter()
            .filter(|call| call.method == http::Method::PUT && call.path.contains("/guilds/"))
            .count()
    };
    assert_eq!(guild_puts(&test.bot.sim), 1);
    let registered: Vec<String> = test
        .bot
        .sim
        .registered_commands(Some(test.bot.guild_id()))
        .into_iter()
        .map(|command| command.name)
        .collect();
    assert_eq!(
        registered,
        ["ping", "help", "about", "vm", "aci", "webapp", "test"]
    );

    // A second process with the same commands leaves them alone.
    let dispatcher = test.bot.dispatcher.clone();
    let config = azcord_gateway::GatewayConfig {
        token: azcord_command::Secret::new(test.bot.sim.config().token.clone()),
        api_url: Some(test.bot.sim.api_url()),
        gateway_url: Some(test.bot.sim.gateway_url()),
        shards: azcord_gateway::ShardSelection::Recommended,
        guild: azcord_command::twilight_model::id::Id::new_checked(test.bot.guild_id()),
        drain_timeout: std::time::Duration::from_secs(1),
        on_shard_phase: None,
        restart: azcord_gateway::RestartPolicy::default(),
        tls: azcord_gateway::TlsTrust::default(),
    };
    drop(
        azcord_gateway::connect(config.clone(), dispatcher.clone())
            .await
            .unwrap(),
    );
    assert_eq!(guild_puts(&test.bot.sim), 1);

    let error = azcord_gateway::connect(
        azcord_gateway::GatewayConfig {
            token: azcord_command::Secret::new("wrong-token"),
            ..config
        },
        dispatcher,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "Discord rejected the bot token (401 Unauthorized): check DISCORD_TOKEN"
    );
}

#[tokio::test]
async fn a_zombied_connection_is_detected_and_replaced() {
    let gate = support::Gate::new();
    let mut options = support::options(&gate);
    options.sim.heartbeat_interval = std::time::Duration::from_millis(100);
    let bot = azcord::local::LocalBot::start(options).await.unwrap();
    let test = support::TestBot { bot, gate };
    let before = test.bot.sim.gateway_log().len();
    // The server stops acknowledging heartbeats: twilight must give up on the
    // connection and resume on a new one.
    test.bot.sim.stop_heartbeat_acks(0, true);
    test.bot
        .sim
        .wait_for_shards(|states| {
            matches!(
                states,
                [ShardState::Reconnecting { .. } | ShardState::Disconnected { .. }]
            )
        })
        .await;
    test.bot.sim.stop_heartbeat_acks(0, false);
    wait_reconnected(&test, before).await;
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
}

#[tokio::test]
async fn a_failing_rest_api_loses_the_reply_but_not_the_bot() {
    let test = support::start().await;
    test.bot.sim.fail_next_rest(1, 500);
    let exchange = test
        .bot
        .run_line(&user(), Some(test.bot.guild_id()), CHANNEL, "/ping")
        .await
        .unwrap();
    assert_eq!(
        exchange.finished.outcome,
        azcord_command::Outcome::ResponseFailed
    );
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
}
