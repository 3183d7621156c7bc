//! Plain data about Azure resources, as the plugins see it.

use std::{fmt, time::Duration};

/// The power state of a VM, from its instance view (`PowerState/running`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerState {
    /// Booting.
    Starting,
    /// Running, and billed for compute.
    Running,
    /// Shutting down.
    Stopping,
    /// Stopped but still allocated: compute is still billed.
    Stopped,
    /// Releasing its hardware.
    Deallocating,
    /// Released: compute is no longer billed.
    Deallocated,
    /// A state azcord does not know, as Azure named it.
    Unknown(String),
}

impl PowerState {
    /// Parses the code of an instance-view status, such as `PowerState/running`.
    pub fn from_code(code: &str) -> Option<Self> {
        let state = code.strip_prefix("PowerState/")?;
        Some(match state.to_ascii_lowercase().as_str() {
            "starting" => Self::Starting,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "deallocating" => Self::Deallocating,
            "deallocated" => Self::Deallocated,
            _ => Self::Unknown(state.to_owned()),
        })
    }

    /// The lowercase word shown to users.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Deallocating => "deallocating",
            Self::Deallocated => "deallocated",
            Self::Unknown(state) => state,
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VM as `/vm list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmSummary {
    /// The VM's name.
    pub name: String,
    /// Its resource group, as Azure spells it.
    pub resource_group: String,
    /// Its region, such as `westeurope`.
    pub location: String,
    /// Its size, such as `Standard_B2s`.
    pub size: Option<String>,
    /// Its power state; `None` when Azure did not report one.
    pub power_state: Option<PowerState>,
}

/// A VM as `/vm status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmDetails {
    /// What the list shows.
    pub summary: VmSummary,
    /// `Linux` or `Windows`.
    pub os_type: Option<String>,
    /// The provisioning state, such as `Succeeded`.
    pub provisioning_state: Option<String>,
    /// The full resource id.
    pub id: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<(String, String)>,
}

/// What to do to a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmAction {
    /// Start it.
    Start,
    /// Power it off; compute is still billed.
    PowerOff,
    /// Deallocate it; compute billing stops.
    Deallocate,
    /// Restart it.
    Restart,
}

/// A container group as `/aci list` and `/aci status` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerGroupSummary {
    /// The group's name.
    pub name: String,
    /// Its resource group, as Azure spells it.
    pub resource_group: String,
    /// Its region.
    pub location: String,
    /// Its state, such as `Running` or `Stopped`.
    pub state: Option<String>,
    /// `Linux` or `Windows`.
    pub os_type: Option<String>,
    /// Its public IP address, if it has one.
    pub ip_address: Option<String>,
    /// Its containers.
    pub containers: Vec<ContainerSummary>,
}

/// One container of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    /// The container's name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// Its current state, such as `Running`.
    pub state: Option<String>,
    /// How often it has restarted.
    pub restart_count: Option<i32>,
}

/// What to do to a container group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerGroupAction {
    /// Start every container.
    Start,
    /// Stop every container; billing stops.
    Stop,
    /// Restart every container in place.
    Restart,
}

/// An App Service web app as `/webapp list` and `/webapp status` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAppSummary {
    /// The app's name.
    pub name: String,
    /// Its resource group, as Azure spells it.
    pub resource_group: String,
    /// Its region, such as `West Europe`.
    pub location: String,
    /// Its state, `Running` or `Stopped`, from `properties.state`.
    pub state: Option<String>,
    /// Its default host name, such as `shop.azurewebsites.net`.
    pub default_host_name: Option<String>,
    /// The name of the App Service plan it runs on (the last segment of `serverFarmId`).
    pub plan: Option<String>,
}

/// What to do to a web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebAppAction {
    /// Start it.
    Start,
    /// Stop it; its App Service plan is still billed.
    Stop,
    /// Restart it.
    Restart,
}

/// How to follow a long-running operation that Azure accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingOperation {
    /// Azure finished it in the first response.
    Completed {
        /// The `x-ms-correlation-request-id` of the request, for the audit trail.
        correlation_id: Option<String>,
    },
    /// Azure answered 202 (or 201) with a URL to poll.
    Running {
        /// The absolute URL to poll.
        url: String,
        /// Whether it is an `Azure-AsyncOperation` status URL or a `Location` URL.
        kind: PollKind,
        /// How long Azure asked to wait before the first poll.
        retry_after: Option<Duration>,
        /// The `x-ms-correlation-request-id` of the request, for the audit trail.
        correlation_id: Option<String>,
    },
}

impl PendingOperation {
    /// The correlation id of the request that started the operation.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::Completed { correlation_id } | Self::Running { correlation_id, .. } => {
                correlation_id.as_deref()
            }
        }
    }
}

/// Which header an operation's poll URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollKind {
    /// `Azure-AsyncOperation`: the body has a `status`.
    AsyncOperation,
    /// `Location`: 202 while running, 200 or 204 when done.
    Location,
}

/// Where a long-running operation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationStatus {
    /// Still running; poll again after `retry_after` (or the default interval).
    InProgress {
        /// How long Azure asked to wait.
        retry_after: Option<Duration>,
    },
    /// Done.
    Succeeded,
    /// Azure gave up; the error code and message say why.
    Failed {
        /// Azure's error code.
        code: String,
        /// Azure's message.
        message: String,
    },
    /// Someone cancelled it.
    Canceled,
}
