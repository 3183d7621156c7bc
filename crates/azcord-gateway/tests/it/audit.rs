//! The audit channel posts from the first event on, before any shard connects.

use std::time::Duration;

use azcord_command::{AuditEvent, AuditOutcome, AuditSink as _, twilight_model::id::Id};
use azcord_gateway::{ChannelAuditSink, GatewayConfig, RestClient};
use azcord_sim::{DiscordSim, DiscordSimConfig};

const AUDIT_CHANNEL: u64 = 700;

#[tokio::test]
async fn an_event_recorded_before_the_gateway_connects_reaches_the_channel() {
    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let config = GatewayConfig {
        drain_timeout: Duration::from_secs(1),
        ..crate::config_for(&sim)
    };
    let rest = RestClient::new(&config).await.unwrap();
    let sink = ChannelAuditSink::new(&rest, Id::new(AUDIT_CHANNEL));
    let mut posts = sim.subscribe_channel_messages();

    sink.record(&AuditEvent {
        interaction_id: Id::new(99),
        user_id: Id::new(7),
        guild_id: None,
        channel_id: None,
        command: "startup".into(),
        arguments: String::new(),
        outcome: AuditOutcome::Succeeded,
        rule: None,
        duration: Duration::ZERO,
        operation_id: None,
    });

    let posted = tokio::time::timeout(Duration::from_secs(10), posts.recv())
        .await
        .expect("the audit event was not posted within 10 s")
        .unwrap();
    assert_eq!(posted.channel_id, AUDIT_CHANNEL);
    assert!(
        posted.content.starts_with("`/startup` by <@7>"),
        "{}",
        posted.content
    );
    assert!(
        sim.gateway_log().is_empty(),
        "no shard had to connect: {:?}",
        sim.gateway_log()
    );
}
