//! An Azure Resource Manager simulator on loopback, with the AAD token endpoint beside it,
//! both over TLS (as Azure is https only) with a certificate from a CA made at start-up
//! ([`ArmSim::ca_pem`], [`ArmSim::ca_file`]).
//!
//! The bot runs its real clients against it: azure_identity's `ClientSecretCredential`
//! and `WorkloadIdentityCredential` with `AZURE_AUTHORITY_HOST` =
//! [`ArmSim::authority_host`], and
//! azure_mgmt_compute / azure_mgmt_containerinstance / azure_mgmt_web 0.21 clients built with
//! `.endpoint(`[`ArmSim::endpoint`]`)`. The test drives Azure's side through [`ArmSim`]:
//! it adds resources, completes power transitions, injects throttling and failures, and
//! reads back every request.
//!
//! # What is simulated
//!
//! * `POST /{tenant}/oauth2/v2.0/token` (client credentials, with a client secret or a
//!   federated token as a jwt-bearer client assertion): opaque bearer tokens that
//!   expire after `token_lifetime`; AAD's error bodies (`invalid_client` 7000215 for a
//!   wrong secret, 70021 for an assertion no federated credential matches, ...). Scopes must be `https://management.azure.com/.default`,
//!   `https://management.core.windows.net/.default` or `{endpoint}/.default`.
//! * Every ARM call needs a valid bearer token (401 `AuthenticationFailed` without the
//!   header, `InvalidAuthenticationToken`, `ExpiredAuthenticationToken`) and an
//!   `api-version` (400 `MissingApiVersionParameter`). Paths match case-insensitively.
//! * `Microsoft.Compute/virtualMachines`: list all (`statusOnly=true` adds instance
//!   views), list by resource group (`$expand=instanceView` or `statusOnly=true`), get
//!   (`$expand=instanceView`), `/instanceView`, and `start`, `powerOff`, `deallocate`,
//!   `restart` as long-running operations.
//! * `Microsoft.ContainerInstance/containerGroups`: list all / by group, get (identity,
//!   ports, environment with `secureValue`s left out, probes, restart policy), `start`
//!   (202 + Azure-AsyncOperation; 204 when already running), `restart` (204 +
//!   Azure-AsyncOperation: the specification declares it long-running with only 204),
//!   `stop` (204, synchronous), `containers/{name}/logs?tail=N`.
//! * `Microsoft.Web/sites` (App Service web apps): list all / by group, get
//!   (`properties.state` `Running` or `Stopped`, `defaultHostName`, `serverFarmId`), and
//!   `start`, `stop`, `restart`: 200 at once with nothing to poll, as App Service answers.
//! * `Microsoft.Resources`: resource groups (list, get, put) and template deployments
//!   (put, get, `operationStatuses`, `operations`). The template is evaluated when it is
//!   put (`template`): parameters with their types, defaults and allowed values, variables,
//!   the functions `parameters variables concat format resourceGroup subscription
//!   deployment resourceId subscriptionResourceId extensionResourceId guid uniqueString
//!   reference copyIndex length toLower toUpper string int json if equals empty not and
//!   or true false null coalesce createArray createObject union contains replace split
//!   join first last`, property access and indexing, resource and property `copy` loops,
//!   `condition`, `dependsOn` (a resource whose dependency failed is not attempted), and
//!   nested inline deployments into another group (`inner` or `outer` scope). Anything
//!   else (another function, an unknown parameter or variable, a missing or mistyped
//!   parameter) is 400 `InvalidTemplate`. When the deployment succeeds (`deploy`), its
//!   container groups are created or updated (new ones run, running ones restart in place
//!   if something changed, stopped ones stay stopped) and every other resource (role
//!   assignments, nested deployments, ...) is kept as a [`SimResource`]. A failure ends it
//!   `Failed` with `DeploymentFailed` and one detail per failed resource, targeted at it.
//!   A deployment `GET` shows secure parameters by type only.
//! * Lists page `page_size` items at a time with an absolute `nextLink` (`$skiptoken`).
//!
//! Long-running operations answer 202 with `Azure-AsyncOperation` (status body
//! `InProgress` → `Succeeded`/`Failed`), `Location` (202 → 200) and `Retry-After`
//! (whole seconds) plus `x-ms-retry-after-ms` (exact), and take `transition` of real time;
//! [`ArmSim::finish_transitions`] completes them at once. A VM shows `Starting`,
//! `Stopping` or `Deallocating` (provisioning state `Updating`) meanwhile. Power actions
//! follow Azure: starting a running VM is a no-op that succeeds, `restart` of a stopped or
//! deallocated VM is 409 `OperationNotAllowed`, another action during a transition is 409
//! `Conflict` (the same one joins the operation under way).
//!
//! Deployment faults: [`ArmSim::fail_next_deployment_of`] (one resource fails),
//! [`ArmSim::make_image_unpullable`] (ACI's `InaccessibleImage`),
//! [`ArmSim::stop_after_next_deployment`] (the group ends up stopped), and
//! [`ArmSim::fail_next_operation`] (the whole deployment fails). What a deployment did is
//! read back with [`ArmSim::deployment`], [`ArmSim::resources`],
//! [`ArmSim::role_assignments`], [`ArmSim::container_group`] and
//! [`ArmSim::container_group_starts`].
//!
//! There is no standalone simulator process: tests and `azcord shell` start [`ArmSim`]
//! in-process.
//!
//! # The sample subscription
//!
//! With `seed` (the default) the subscription holds [`sample()`]:
//!
//! | resource group | location | VMs (power state) | container groups | web apps (plan) |
//! |---|---|---|---|---|
//! | `prod-web` | westeurope | `web-1`, `web-2`, `web-3` (D2s_v5), `cache-1` (E2s_v5): running | `frontend` (running, 20.61.14.27; `nginx`, `sidecar`) | `shop` (running; `prod-plan`) |
//! | `prod-data` | westeurope | `db-1` (E4s_v5) running, `db-2` (E4s_v5) deallocated, `etl-worker` (F4s_v2, northeurope) stopped | `backup` (running; `pg-backup`) | |
//! | `staging` | westeurope | `web-1` (B2s) stopped — same name as `prod-web/web-1` on purpose, `api-1` (B2ms) running | `worker` (stopped; `worker`) | `shop-staging` (stopped; `staging-plan`) |
//! | `dev-sandbox` | eastus | `build-agent` (D4s_v5) deallocated, `jump-box` (B1s) running, `win-test` (B2s, Windows) deallocated | `jobs` (running, 52.170.33.8; `jobs`) | `docs` (running; `dev-plan`) |
//!
//! Every container has four to six log lines. Sizes are `Standard_*`.
//!
//! Layout: `route` matches paths, `aad` issues and checks tokens, `server` records,
//! injects faults and dispatches to `compute`, `aci`, `web` and `resources`; `lro` answers
//! operation polls, `power` is the VM state machine, `paging` the lists; `expr` parses
//! template expressions, `template` plans a deployment and `deploy` applies it.
//! Everything shares one `state::State` behind a mutex.

mod aad;
mod aci;
mod clock;
mod compute;
mod deploy;
mod error;
mod expr;
mod ident;
mod lro;
mod model;
mod paging;
mod power;
mod query;
mod resources;
mod route;
mod sample;
mod server;
mod state;
mod template;
mod web;

use std::{
    io,
    net::Ipv4Addr,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use tokio::{net::TcpListener, sync::watch, time::Instant};

use crate::tls::{CaFile, TestCa};

use self::{
    error::ErrorDetail,
    state::{Fault, Shared, State, key},
};
pub use self::{
    model::{
        ArmRequest, DeploymentState, PowerState, SimContainer, SimContainerGroup, SimDeployment,
        SimEnvVar, SimIdentity, SimPort, SimRegistryCredential, SimResource, SimResourceGroup,
        SimVm, SimWebApp,
    },
    sample::{ArmSample, sample},
};

/// How the simulated Azure is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArmSimConfig {
    /// The one subscription that exists; others answer 404 `SubscriptionNotFound`.
    pub subscription_id: String,
    /// The AAD tenant whose token endpoint is served.
    pub tenant_id: String,
    /// The service principal's application (client) id.
    pub client_id: String,
    /// The service principal's secret.
    pub client_secret: String,
    /// The Kubernetes service account token that the service principal's federated
    /// credential accepts as a client assertion (workload identity).
    pub federated_token: String,
    /// How long an access token is valid (`expires_in`).
    pub token_lifetime: Duration,
    /// How long starting, stopping, deallocating and deployments take.
    pub transition: Duration,
    /// The `Retry-After` sent with 202s and in-progress polls.
    pub retry_after: Duration,
    /// Items per list page, so paging is exercised (at least 1).
    pub page_size: usize,
    /// Whether to start with the [`sample()`] subscription.
    pub seed: bool,
    /// How long [`ArmSim::wait_for_vm_state`] waits before panicking.
    pub wait_timeout: Duration,
}

impl Default for ArmSimConfig {
    fn default() -> Self {
        Self {
            subscription_id: "8d3c6e2a-4f1b-4a7e-9c5d-2b7f0e9a1c34".to_owned(),
            tenant_id: "f2b4c6d8-1a3e-4c5b-8d7f-9e0a1b2c3d4e".to_owned(),
            client_id: "3a9e7c51-6b2d-4f80-a1c4-5d8e2f7b9c06".to_owned(),
            client_secret: "sim-client-secret".to_owned(),
            federated_token: "sim-federated-service-account-token".to_owned(),
            token_lifetime: Duration::from_secs(3600),
            transition: Duration::from_secs(4),
            retry_after: Duration::from_secs(1),
            page_size: 5,
            seed: true,
            wait_timeout: Duration::from_secs(10),
        }
    }
}

/// A running simulator. Clones share it; it stops when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct ArmSim {
    shared: Arc<Shared>,
    /// Dropping the last sender stops the server.
    _shutdown: Arc<watch::Sender<()>>,
}

impl ArmSim {
    /// Starts the simulator on a free loopback port.
    ///
    /// # Errors
    ///
    /// If the port cannot be bound, or `page_size` is 0.
    pub async fn start(config: ArmSimConfig) -> io::Result<Self> {
        if config.page_size == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the page size must be at least 1",
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let mut state = State::default();
        if config.seed {
            let now = SystemTime::now();
            let sample = sample();
            for group in sample.resource_groups {
                state
                    .resource_groups
                    .insert(group.name.to_lowercase(), group);
            }
            for vm in sample.vms {
                state.insert_vm(vm, now);
            }
            for group in sample.container_groups {
                state.insert_container_group(group, now);
            }
            for app in sample.web_apps {
                state.insert_web_app(app, now);
            }
        }
        let addr = listener.local_addr()?;
        let ca = TestCa::generate("azcord ARM simulator")?;
        let ca_file = CaFile::write(&ca, "arm-sim", addr)?;
        let listener = ca.listener(listener)?;
        let shared = Arc::new(Shared::new(config, addr, (ca, ca_file), state));
        let (shutdown, mut stopped) = watch::channel(());
        let router = server::router(Arc::clone(&shared));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await;
        });
        Ok(Self {
            shared,
            _shutdown: Arc::new(shutdown),
        })
    }

    /// The resource manager endpoint, `https://127.0.0.1:PORT/` (`AZURE_RESOURCE_MANAGER_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        self.shared.endpoint()
    }

    /// The AAD authority host, `https://127.0.0.1:PORT/` (`AZURE_AUTHORITY_HOST`); the same server.
    pub fn authority_host(&self) -> String {
        self.shared.endpoint()
    }

    /// The PEM of the test CA the server's certificate chains to, made when the simulator
    /// started: what a client must trust, besides the public roots.
    pub fn ca_pem(&self) -> &str {
        self.shared.tls.0.pem()
    }

    /// A file holding [`ArmSim::ca_pem`] (`SSL_CERT_FILE`), removed when the simulator stops.
    pub fn ca_file(&self) -> &Path {
        &self.shared.tls.1.path
    }

    /// The environment variables that point an Azure client (azcord's, or Microsoft's)
    /// at this simulator with its service principal, as `(name, value)` pairs; with
    /// `SSL_CERT_FILE`, which makes azcord trust the simulator's CA.
    pub fn client_environment(&self) -> Vec<(&'static str, String)> {
        let config = &self.shared.config;
        vec![
            ("AZURE_SUBSCRIPTION_ID", config.subscription_id.clone()),
            ("AZURE_RESOURCE_MANAGER_ENDPOINT", self.endpoint()),
            ("AZURE_AUTHORITY_HOST", self.authority_host()),
            ("AZURE_TENANT_ID", config.tenant_id.clone()),
            ("AZURE_CLIENT_ID", config.client_id.clone()),
            ("AZURE_CLIENT_SECRET", config.client_secret.clone()),
            ("SSL_CERT_FILE", self.ca_file().display().to_string()),
        ]
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &ArmSimConfig {
        &self.shared.config
    }

    // ---- resources ----

    /// Adds or replaces a resource group.
    pub fn add_resource_group(&self, group: SimResourceGroup) {
        self.shared
            .lock()
            .resource_groups
            .insert(group.name.to_lowercase(), group);
        self.shared.changed();
    }

    /// Adds or replaces a VM, creating its resource group if needed.
    pub fn add_vm(&self, vm: SimVm) {
        self.shared.lock().insert_vm(vm, SystemTime::now());
        self.shared.changed();
    }

    /// The VM as it stands now (names match case-insensitively).
    pub fn vm(&self, resource_group: &str, name: &str) -> Option<SimVm> {
        self.shared
            .settled()
            .vms
            .get(&key(resource_group, name))
            .map(|record| record.vm.clone())
    }

    /// Every VM, ordered by resource group and name.
    pub fn vms(&self) -> Vec<SimVm> {
        self.shared
            .settled()
            .vms
            .values()
            .map(|record| record.vm.clone())
            .collect()
    }

    /// Adds or replaces a container group, creating its resource group if needed.
    pub fn add_container_group(&self, group: SimContainerGroup) {
        self.shared
            .lock()
            .insert_container_group(group, SystemTime::now());
        self.shared.changed();
    }

    /// The container group as it stands now (names match case-insensitively).
    pub fn container_group(&self, resource_group: &str, name: &str) -> Option<SimContainerGroup> {
        self.shared
            .settled()
            .container_groups
            .get(&key(resource_group, name))
            .map(|record| record.group.clone())
    }

    /// Adds or replaces a web app, creating its resource group if needed.
    pub fn add_web_app(&self, app: SimWebApp) {
        self.shared.lock().insert_web_app(app, SystemTime::now());
        self.shared.changed();
    }

    /// The web app as it stands now (names match case-insensitively).
    pub fn web_app(&self, resource_group: &str, name: &str) -> Option<SimWebApp> {
        self.shared
            .settled()
            .web_apps
            .get(&key(resource_group, name))
            .map(|record| record.app.clone())
    }

    /// Every deployment the client created, oldest first (a redeployment moves to the end).
    pub fn deployments(&self) -> Vec<SimDeployment> {
        self.shared
            .settled()
            .deployments
            .iter()
            .map(|record| record.deployment.clone())
            .collect()
    }

    /// The deployment `name` in `resource_group` (any case), if the client created it.
    pub fn deployment(&self, resource_group: &str, name: &str) -> Option<SimDeployment> {
        self.shared
            .settled()
            .deployment(resource_group, name)
            .map(|record| record.deployment.clone())
    }

    /// Every resource deployments created that the simulator keeps as data only (all
    /// types but container groups), of `resource_type` (any case), ordered by id.
    pub fn resources(&self, resource_type: &str) -> Vec<SimResource> {
        self.shared
            .settled()
            .resources
            .values()
            .filter(|resource| resource.resource_type.eq_ignore_ascii_case(resource_type))
            .cloned()
            .collect()
    }

    /// The role assignments deployments created (`Microsoft.Authorization/roleAssignments`).
    pub fn role_assignments(&self) -> Vec<SimResource> {
        self.resources("Microsoft.Authorization/roleAssignments")
    }

    /// How many `start` calls the container group got (answered or refused), from the
    /// request log.
    pub fn container_group_starts(&self, resource_group: &str, name: &str) -> usize {
        let suffix = format!(
            "/resourcegroups/{}/providers/microsoft.containerinstance/containergroups/{}/start",
            resource_group.to_lowercase(),
            name.to_lowercase()
        );
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| {
                request.method == http::Method::POST
                    && request.path.to_lowercase().ends_with(&suffix)
            })
            .count()
    }

    /// Completes every operation in flight now: power transitions, container group
    /// starts and restarts, deployments.
    pub fn finish_transitions(&self) {
        let changed = self
            .shared
            .lock()
            .finish_all(Instant::now(), SystemTime::now());
        if changed {
            self.shared.changed();
        }
    }

    /// Waits until the VM reaches `state`; panics after `config.wait_timeout`.
    pub async fn wait_for_vm_state(&self, resource_group: &str, name: &str, state: PowerState) {
        let mut changes = self.shared.subscribe();
        let deadline = Instant::now() + self.shared.config.wait_timeout;
        loop {
            let current = self.vm(resource_group, name).map(|vm| vm.power_state);
            if current == Some(state) {
                return;
            }
            let woke = tokio::time::timeout_at(deadline, changes.changed()).await;
            if !matches!(woke, Ok(Ok(()))) {
                panic!(
                    "VM {resource_group}/{name} did not reach {state} within {:?}; it is {}",
                    self.shared.config.wait_timeout,
                    current.map_or_else(|| "missing".to_owned(), |state| state.to_string())
                );
            }
        }
    }

    // ---- faults ----

    /// The next `count` ARM calls answer 429 `TooManyRequests` with `Retry-After`.
    pub fn throttle_next(&self, count: usize, retry_after: Duration) {
        self.shared
            .lock()
            .faults
            .extend(std::iter::repeat_n(Fault::Throttle(retry_after), count));
    }

    /// The next `count` ARM calls answer `status` with `{"error": {"code", "message"}}`.
    pub fn fail_next(&self, count: usize, status: u16, code: &str, message: &str) {
        let fault = Fault::Fail {
            status,
            detail: ErrorDetail::new(code, message),
        };
        self.shared
            .lock()
            .faults
            .extend(std::iter::repeat_n(fault, count));
    }

    /// The next long-running operation started ends `Failed` with this error; the
    /// resource falls back to the state it had. A deployment ends `Failed` with
    /// `DeploymentFailed`, this error (targeted at its first resource) in its details, and
    /// creates nothing.
    pub fn fail_next_operation(&self, code: &str, message: &str) {
        self.shared
            .lock()
            .operation_failures
            .push_back(ErrorDetail::new(code, message));
    }

    /// The next deployment that declares the resource `name` (or `type/name`, or any
    /// resource of `type`; any case) fails that resource with this error: the deployment ends `Failed` with `DeploymentFailed`
    /// and the error, targeted at the resource, in its details. Other resources are created.
    pub fn fail_next_deployment_of(&self, name: &str, code: &str, message: &str) {
        self.shared
            .lock()
            .resource_failures
            .push((name.to_owned(), ErrorDetail::new(code, message)));
    }

    /// Container groups deployed with `image` fail from now on with ACI's
    /// `InaccessibleImage`, as an image that cannot be pulled does.
    pub fn make_image_unpullable(&self, image: &str) {
        self.shared.lock().unpullable_images.push(image.to_owned());
    }

    /// The container group ends up `Stopped` after the next deployment that creates or
    /// updates it succeeds, so a test can check that the deploying client starts it.
    pub fn stop_after_next_deployment(&self, resource_group: &str, name: &str) {
        self.shared
            .lock()
            .stopped_after_deployment
            .insert(key(resource_group, name));
    }

    /// Every token issued so far is rejected from now on with 401 `ExpiredAuthenticationToken`.
    pub fn expire_tokens(&self) {
        let (now, wall) = (Instant::now(), SystemTime::now());
        for token in self.shared.lock().tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
            token.expires_wall = token.expires_wall.min(wall);
        }
    }

    // ---- recordings ----

    /// Every request so far in the order answered, token requests included (flagged).
    pub fn requests(&self) -> Vec<ArmRequest> {
        self.shared.lock().requests.clone()
    }

    /// How many requests went to the token endpoint.
    pub fn token_requests(&self) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|request| request.token_request)
            .count()
    }

    /// The `scope` of every token request that got past the client id check, in order.
    pub fn token_scopes(&self) -> Vec<String> {
        self.shared.lock().token_scopes.clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Map, Value};

    /// Pretty JSON with sorted keys, whatever serde_json's `preserve_order` says.
    pub(crate) fn pretty(value: &Value) -> String {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by_key(|(key, _)| *key);
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(key, value)| (key.clone(), sorted(value)))
                            .collect::<Map<String, Value>>(),
                    )
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        serde_json::to_string_pretty(&sorted(value)).unwrap()
    }
}
