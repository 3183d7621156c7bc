//! Loopback simulators of the services azcord talks to, for tests and `azcord shell`, and
//! `tools`, for the tests that need an external program (`redis`: a real Redis server).

pub mod arm;
pub mod discord;
pub mod otlp;
pub mod redis;
pub mod terminal;
pub mod tls;
pub mod tools;

pub use arm::{
    ArmRequest, ArmSample, ArmSim, ArmSimConfig, DeploymentState, PowerState, SimContainer,
    SimContainerGroup, SimDeployment, SimEnvVar, SimIdentity, SimPort, SimRegistryCredential,
    SimResource, SimResourceGroup, SimVm, SimWebApp,
};
pub use discord::{
    DiscordSim, DiscordSimConfig, EndpointAnswer, EndpointError, GatewayRecord, InteractionEvent,
    InteractionHandle, Invocation, RestCall, ShardState, Signing, SimError, SimMessage, SimUser,
    WebhookDelivery,
};
