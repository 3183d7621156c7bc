//! The gateway against the Discord simulator over loopback: how shards are supervised,
//! how the audit channel posts, and how the responder's calls end.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod audit;
mod responder;
mod sessions;
mod supervision;

use std::time::Duration;

use azcord_command::{Secret, twilight_model::id::Id};
use azcord_gateway::{GatewayConfig, RestartPolicy, ShardSelection};
use azcord_sim::DiscordSim;

/// A gateway on every shard `sim` recommends, with no hook and the default restart
/// policy; tests override what they need.
fn config_for(sim: &DiscordSim) -> GatewayConfig {
    GatewayConfig {
        token: Secret::new(sim.config().token.clone()),
        api_url: Some(sim.api_url()),
        gateway_url: Some(sim.gateway_url()),
        shards: ShardSelection::Recommended,
        guild: Id::new_checked(sim.config().guild_id),
        drain_timeout: Duration::from_secs(5),
        on_shard_phase: None,
        restart: RestartPolicy::default(),
        tls: azcord_gateway::TlsTrust::default(),
    }
}
