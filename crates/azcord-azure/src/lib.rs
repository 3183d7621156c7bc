//! azcord's Azure plumbing: validated names, the small traits the plugins use, and
//! their implementation over the azure_mgmt_* clients, with credentials, long-running
//! operation polling, readable errors and a span for every ARM call.
//!
//! Only this crate knows the azure_mgmt_* clients. Plugins see [`VirtualMachines`],
//! [`ContainerGroups`], [`WebApps`] and [`Operations`], so their logic runs in tests
//! with fakes.
//!
//! Layout: `config` reads [`AzureConfig`] from the environment; `credentials` builds the
//! token chain over azure_identity 1.x, adapted to the azure_core 0.21 `TokenCredential`
//! that the azure_mgmt clients take; `transport` builds the HTTP clients of both
//! azure_core versions with azcord-tls's roots; `pipeline` holds the azure_core policies every call goes through (span,
//! re-authentication, retries, the token-hiding transport); `connect` wires them into the
//! azure_mgmt clients; `compute`, `containers`, `web` and `lro` implement the traits; `arm` sends
//! azcord's own requests (operation polls); `errors_map` turns failures into
//! [`AzureError`].

mod api;
mod arm;
mod compute;
mod config;
mod connect;
mod containers;
mod credentials;
mod deployments;
mod error;
mod errors_map;
mod lookup;
mod lro;
mod model;
mod names;
mod pipeline;
mod refusing;
mod transport;
mod web;

pub use api::{
    Azure, ContainerGroups, Operations, VirtualMachines, WaitOptions, WebApps, wait_for,
};
pub use azcord_secret::Secret;
pub use azcord_tls::{TlsError, TlsTrust};
pub use config::{
    AzureConfig, ConfigError, CredentialSource, PUBLIC_CLOUD_AUTHORITY, PUBLIC_CLOUD_ENDPOINT,
    RetrySettings, ServicePrincipal, WorkloadIdentity, credential_from_env,
};
pub use connect::{connect, connect_deployments};
pub use deployments::{
    DeploymentError, DeploymentSummary, Deployments, ParameterValue, TemplateDeployment,
};
pub use error::{AzureError, AzureErrorKind};
pub use lookup::{Named, find_unique};
pub use model::{
    ContainerGroupAction, ContainerGroupSummary, ContainerSummary, OperationStatus,
    PendingOperation, PollKind, PowerState, VmAction, VmDetails, VmSummary, WebAppAction,
    WebAppSummary,
};
pub use names::{
    ContainerGroupName, ContainerName, DeploymentName, NameError, ResourceGroupName, Target,
    VmName, WebAppName,
};
