//! The thin twilight layer: runs the shards, the interactions endpoint and the REST
//! client, feeds interactions to the [`Dispatcher`](azcord_command::Dispatcher) and
//! sends its replies back to Discord.
//!
//! Apart from the simulator, this is the only crate that knows twilight-gateway and
//! twilight-http.

mod audit;
mod bot;
mod endpoint;
mod identify;
mod registration;
mod relay;
mod responder;
mod sessions;
mod shards;
mod supervise;

pub use audit::ChannelAuditSink;
pub use azcord_tls::{TlsError, TlsTrust};
pub use bot::{
    Bot, GatewayConfig, GatewayError, RestClient, ShardSelection, connect, connect_with,
    install_crypto_provider,
};
pub use endpoint::{
    DEFAULT_BODY_LIMIT, Endpoint, EndpointConfig, INTERACTIONS_PATH, Inbound, MAX_CLOCK_SKEW,
    PublicKey, PublicKeyError, Rejection, connect_endpoint, inspect,
};
pub use identify::IDENTIFY_WINDOW;
pub use responder::{CALLBACK_WINDOW, RestResponder};
pub use sessions::{ShardSession, ShardSessions};
pub use shards::{ShardPhase, ShardStatus};
pub use supervise::RestartPolicy;
