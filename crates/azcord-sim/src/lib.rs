//! Loopback simulators of the services azcord talks to, for tests and `azcord shell`.

pub mod discord;
pub mod otlp;
pub mod terminal;

pub use discord::{
    DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent, InteractionHandle, Invocation,
    RestCall, ShardState, SimError, SimMessage, SimUser,
};
