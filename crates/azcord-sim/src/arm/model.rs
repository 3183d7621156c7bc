//! The simulator's public data: the resources it holds and the requests it answered.

use std::{collections::BTreeMap, fmt};

use serde_json::Value;

/// The power state of a virtual machine, as its instance view reports it (`PowerState/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PowerState {
    /// On its way to `Running` (after start or restart).
    Starting,
    /// Running and billed.
    Running,
    /// On its way to `Stopped` (after powerOff).
    Stopping,
    /// Powered off but still allocated, so still billed for compute.
    Stopped,
    /// On its way to `Deallocated`.
    Deallocating,
    /// Powered off and released; not billed for compute.
    Deallocated,
}

impl PowerState {
    /// The lowercase word of the status code, e.g. `running` in `PowerState/running`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Deallocating => "deallocating",
            Self::Deallocated => "deallocated",
        }
    }

    /// The status's display text, e.g. `VM running`.
    pub fn display_status(self) -> &'static str {
        match self {
            Self::Starting => "VM starting",
            Self::Running => "VM running",
            Self::Stopping => "VM stopping",
            Self::Stopped => "VM stopped",
            Self::Deallocating => "VM deallocating",
            Self::Deallocated => "VM deallocated",
        }
    }

    /// Whether the VM is between two settled states.
    pub fn is_transitional(self) -> bool {
        matches!(self, Self::Starting | Self::Stopping | Self::Deallocating)
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A resource group of the simulated subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimResourceGroup {
    /// The name, in the case it was created with.
    pub name: String,
    /// The Azure region, e.g. `westeurope`.
    pub location: String,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
}

impl SimResourceGroup {
    /// A resource group without tags.
    pub fn new(name: &str, location: &str) -> Self {
        Self {
            name: name.to_owned(),
            location: location.to_owned(),
            tags: BTreeMap::new(),
        }
    }
}

/// A virtual machine (`Microsoft.Compute/virtualMachines`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimVm {
    /// The VM name, in the case it was created with.
    pub name: String,
    /// Its resource group; created on the fly by [`super::ArmSim::add_vm`] if missing.
    pub resource_group: String,
    /// The Azure region, e.g. `westeurope`.
    pub location: String,
    /// The VM size, e.g. `Standard_B2s`.
    pub size: String,
    /// `Linux` or `Windows`.
    pub os_type: String,
    /// The current power state.
    pub power_state: PowerState,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
}

impl SimVm {
    /// A Linux `Standard_B2s` VM in `westeurope` without tags.
    pub fn new(resource_group: &str, name: &str, power_state: PowerState) -> Self {
        Self {
            name: name.to_owned(),
            resource_group: resource_group.to_owned(),
            location: "westeurope".to_owned(),
            size: "Standard_B2s".to_owned(),
            os_type: "Linux".to_owned(),
            power_state,
            tags: BTreeMap::new(),
        }
    }
}

/// An App Service web app (`Microsoft.Web/sites`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimWebApp {
    /// The app name, in the case it was created with.
    pub name: String,
    /// Its resource group; created on the fly by [`super::ArmSim::add_web_app`] if missing.
    pub resource_group: String,
    /// The Azure region as App Service spells it, e.g. `West Europe`.
    pub location: String,
    /// `Running` or `Stopped` (`properties.state`).
    pub state: String,
    /// The name of its App Service plan, in the same resource group (`serverFarmId`).
    pub plan: String,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
}

impl SimWebApp {
    /// A running app in `West Europe` on the plan `NAME-plan`, without tags.
    pub fn new(resource_group: &str, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            resource_group: resource_group.to_owned(),
            location: "West Europe".to_owned(),
            state: "Running".to_owned(),
            plan: format!("{name}-plan"),
            tags: BTreeMap::new(),
        }
    }
}

/// A container group (`Microsoft.ContainerInstance/containerGroups`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimContainerGroup {
    /// The group name, in the case it was created with.
    pub name: String,
    /// Its resource group; created on the fly by [`super::ArmSim::add_container_group`] if missing.
    pub resource_group: String,
    /// The Azure region, e.g. `westeurope`.
    pub location: String,
    /// `Linux` or `Windows`.
    pub os_type: String,
    /// `Running` or `Stopped`; `Pending` while starting or restarting.
    pub state: String,
    /// The public IP address, reported while the group runs.
    pub ip: Option<String>,
    /// The ports the IP address exposes.
    pub ip_ports: Vec<SimPort>,
    /// The group's containers.
    pub containers: Vec<SimContainer>,
    /// `Always`, `OnFailure` or `Never`.
    pub restart_policy: String,
    /// The managed identity, if any.
    pub identity: Option<SimIdentity>,
    /// Credentials for private registries; a `GET` never shows the password.
    pub registry_credentials: Vec<SimRegistryCredential>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
}

impl SimContainerGroup {
    /// A running Linux group without an IP address, identity or tags.
    pub fn new(resource_group: &str, name: &str, containers: Vec<SimContainer>) -> Self {
        Self {
            name: name.to_owned(),
            resource_group: resource_group.to_owned(),
            location: "westeurope".to_owned(),
            os_type: "Linux".to_owned(),
            state: "Running".to_owned(),
            ip: None,
            ip_ports: Vec::new(),
            containers,
            restart_policy: "Always".to_owned(),
            identity: None,
            registry_credentials: Vec::new(),
            tags: BTreeMap::new(),
        }
    }
}

/// A managed identity of a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimIdentity {
    /// `SystemAssigned`, `UserAssigned` or `SystemAssigned, UserAssigned`.
    pub kind: String,
    /// The system-assigned identity's object id, generated when it is created.
    pub principal_id: Option<String>,
    /// The tenant of the system-assigned identity.
    pub tenant_id: Option<String>,
    /// The user-assigned identities' resource ids, as given.
    pub user_assigned: Vec<String>,
}

/// A port and its protocol (`TCP` or `UDP`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPort {
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// The port number.
    pub port: u16,
}

impl SimPort {
    /// A TCP port.
    pub fn tcp(port: u16) -> Self {
        Self {
            protocol: "TCP".to_owned(),
            port,
        }
    }
}

/// A registry credential of a container group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRegistryCredential {
    /// e.g. `ghcr.io`.
    pub server: String,
    /// The user name.
    pub username: String,
    /// The password: stored, never returned.
    pub password: Option<String>,
}

/// An environment variable of a container: a `value`, or a `secureValue` that a `GET`
/// never returns (as ACI does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimEnvVar {
    /// The variable name.
    pub name: String,
    /// A plain value, returned by `GET`.
    pub value: Option<String>,
    /// A secure value: stored, never returned.
    pub secure_value: Option<String>,
}

/// One container of a [`SimContainerGroup`].
#[derive(Clone, Debug, PartialEq)]
pub struct SimContainer {
    /// The container name.
    pub name: String,
    /// The image, e.g. `nginx:1.27-alpine`.
    pub image: String,
    /// Requested CPU cores.
    pub cpu: f64,
    /// Requested memory in GB.
    pub memory_gb: f64,
    /// The log, one line per entry, oldest first; `.../logs?tail=N` returns the last N.
    pub logs: Vec<String>,
    /// How often the container has restarted.
    pub restart_count: u32,
    /// The ports it exposes.
    pub ports: Vec<SimPort>,
    /// Its environment.
    pub environment: Vec<SimEnvVar>,
    /// The command line, if it overrides the image's.
    pub command: Vec<String>,
    /// `livenessProbe` as given.
    pub liveness_probe: Option<Value>,
    /// `readinessProbe` as given.
    pub readiness_probe: Option<Value>,
}

impl SimContainer {
    /// A container with 1 core, 1.5 GB, no logs, ports, environment or restarts.
    pub fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.to_owned(),
            image: image.to_owned(),
            cpu: 1.0,
            memory_gb: 1.5,
            logs: Vec::new(),
            restart_count: 0,
            ports: Vec::new(),
            environment: Vec::new(),
            command: Vec::new(),
            liveness_probe: None,
            readiness_probe: None,
        }
    }
}

/// A resource a deployment created that the simulator keeps as data only, such as a
/// role assignment (`Microsoft.Authorization/roleAssignments`).
#[derive(Clone, Debug, PartialEq)]
pub struct SimResource {
    /// The resource id.
    pub id: String,
    /// e.g. `Microsoft.Authorization/roleAssignments`.
    pub resource_type: String,
    /// The full name (`parent/child` for child resources).
    pub name: String,
    /// The resource group it was deployed to.
    pub resource_group: String,
    /// The `scope` of an extension resource (e.g. a role assignment), if it had one.
    pub scope: Option<String>,
    /// `properties`, evaluated.
    pub properties: Value,
    /// The evaluated declaration (`location`, `identity`, `sku`, ...).
    pub body: Value,
    /// The deployment that last wrote it.
    pub deployment: String,
}

/// Where a template deployment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeploymentState {
    /// Accepted, not yet running (only ever in the PUT response body).
    Accepted,
    /// Deploying; lasts [`super::ArmSimConfig::transition`].
    Running,
    /// Finished.
    Succeeded,
    /// Ended with an error (`DeploymentFailed`).
    Failed,
}

impl DeploymentState {
    /// The `provisioningState` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

/// A template deployment (`Microsoft.Resources/deployments`) the client created.
#[derive(Clone, Debug, PartialEq)]
pub struct SimDeployment {
    /// The resource group, in the case the request used.
    pub resource_group: String,
    /// The deployment name.
    pub name: String,
    /// `properties.template` as sent (`null` if the request used a `templateLink`).
    pub template: Value,
    /// `properties.parameters` as sent (`{}` if absent).
    pub parameters: Value,
    /// Where the deployment is now.
    pub state: DeploymentState,
    /// The error it failed with (`DeploymentFailed` and its details), as JSON.
    pub error: Option<Value>,
    /// The ids of the resources it created or updated, once it succeeded.
    pub output_resources: Vec<String>,
}

/// One request the simulator answered, ARM or AAD token endpoint alike.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmRequest {
    /// The HTTP method.
    pub method: http::Method,
    /// The path as sent, case preserved.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// The status code answered.
    pub status: u16,
    /// ARM: a valid, unexpired bearer token was presented. Token endpoint: the
    /// client credentials were accepted.
    pub authorized: bool,
    /// Whether this was a request to the AAD token endpoint.
    pub token_request: bool,
    /// The JSON body of an ARM request, if it had one (token requests: never recorded).
    pub body: Option<Value>,
}
