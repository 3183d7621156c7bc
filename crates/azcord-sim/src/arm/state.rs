//! The simulator's shared state: one mutex around everything, never held across an await.
//!
//! Long-running operations complete lazily: every request and every test accessor first
//! calls [`State::settle`], which completes the operations whose time has come. A timer
//! task per operation also settles at the due instant, so waiters wake without requests.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, SystemTime},
};

use serde_json::Value;
use tokio::{sync::watch, time::Instant};

use crate::tls::{CaFile, TestCa};

use super::{
    ArmRequest, ArmSimConfig, DeploymentState, PowerState, SimContainerGroup, SimDeployment,
    SimResource, SimResourceGroup, SimVm, SimWebApp, aci,
    deploy::{self, ResourceOutcome},
    error::ErrorDetail,
    ident,
    template::Plan,
};

/// A resource's identity: its resource group and name, both lowercase.
pub(crate) type Key = (String, String);

/// The lowercase key of `name` in `group`.
pub(crate) fn key(group: &str, name: &str) -> Key {
    (group.to_lowercase(), name.to_lowercase())
}

/// State shared by the HTTP server, the timers and the test API.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ArmSimConfig,
    pub(crate) addr: SocketAddr,
    /// The CA the server's certificate chains to, and the file that holds its PEM.
    pub(crate) tls: (TestCa, CaFile),
    state: Mutex<State>,
    /// Bumped whenever a resource changes, to wake `wait_for_vm_state`.
    changes: watch::Sender<()>,
}

impl Shared {
    pub(crate) fn new(
        config: ArmSimConfig,
        addr: SocketAddr,
        tls: (TestCa, CaFile),
        state: State,
    ) -> Self {
        Self {
            config,
            addr,
            tls,
            state: Mutex::new(state),
            changes: watch::Sender::new(()),
        }
    }

    /// Locks the state; a panic elsewhere while it was held does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the state after completing every operation that is due.
    pub(crate) fn settled(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        if state.settle(Instant::now(), SystemTime::now()) {
            self.changed();
        }
        state
    }

    /// Wakes everyone waiting for a change.
    pub(crate) fn changed(&self) {
        self.changes.send_replace(());
    }

    /// A receiver that wakes on the next change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changes.subscribe()
    }

    /// `https://127.0.0.1:PORT/`, both the ARM endpoint and the authority host.
    pub(crate) fn endpoint(&self) -> String {
        format!("https://{}/", self.addr)
    }

    /// Starts a timer for every operation started since the last call.
    pub(crate) fn schedule_timers(self: &Arc<Self>, state: &mut State) {
        for due in state.unscheduled.drain(..) {
            let shared: Weak<Self> = Arc::downgrade(self);
            tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                if let Some(shared) = shared.upgrade() {
                    drop(shared.settled());
                }
            });
        }
    }
}

/// A VM and what the simulator knows beyond [`SimVm`].
#[derive(Clone, Debug)]
pub(crate) struct VmRecord {
    pub(crate) vm: SimVm,
    /// A stable `vmId`.
    pub(crate) vm_id: String,
    /// The operation moving the VM, while it is transitional.
    pub(crate) pending: Option<String>,
    /// When the power state last changed, for instance view status times.
    pub(crate) changed_at: SystemTime,
}

/// A web app; its actions are synchronous, so it has no operation in flight.
#[derive(Clone, Debug)]
pub(crate) struct SiteRecord {
    pub(crate) app: SimWebApp,
    pub(crate) changed_at: SystemTime,
}

/// A container group and its in-flight operation.
#[derive(Clone, Debug)]
pub(crate) struct GroupRecord {
    pub(crate) group: SimContainerGroup,
    pub(crate) pending: Option<String>,
    pub(crate) changed_at: SystemTime,
}

/// A deployment and its bookkeeping.
#[derive(Clone, Debug)]
pub(crate) struct DeploymentRecord {
    pub(crate) deployment: SimDeployment,
    pub(crate) mode: String,
    pub(crate) template_link: Option<Value>,
    pub(crate) correlation_id: String,
    pub(crate) operation: String,
    pub(crate) started_at: SystemTime,
    pub(crate) ended_at: Option<SystemTime>,
    pub(crate) error: Option<ErrorDetail>,
    /// The deployment's resource id.
    pub(crate) id: String,
    /// What the template declares, evaluated when the deployment was accepted.
    pub(crate) plan: Plan,
    /// How each resource went, once the deployment ended.
    pub(crate) outcomes: Vec<ResourceOutcome>,
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct TokenRecord {
    pub(crate) expires_at: Instant,
    pub(crate) expires_wall: SystemTime,
}

/// What the next ARM calls answer instead of running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttle(Duration),
    Fail { status: u16, detail: ErrorDetail },
}

/// Where an operation is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    InProgress,
    Succeeded,
    Failed(ErrorDetail),
}

impl OperationStatus {
    /// The `status` value of an Azure-AsyncOperation body.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed(_) => "Failed",
        }
    }
}

/// What completing an operation does to a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    None,
    Vm {
        key: Key,
        target: PowerState,
        fallback: PowerState,
    },
    ContainerGroup {
        key: Key,
        target: &'static str,
        fallback: &'static str,
        restarted: bool,
    },
    Deployment {
        key: Key,
    },
}

/// A long-running operation.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub(crate) id: String,
    pub(crate) started_at: SystemTime,
    pub(crate) ended_at: Option<SystemTime>,
    pub(crate) due: Instant,
    pub(crate) status: OperationStatus,
    /// Set by `fail_next_operation`: the error the operation ends with.
    pub(crate) failure: Option<ErrorDetail>,
    pub(crate) effect: Effect,
}

/// Everything the simulator remembers.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) resource_groups: BTreeMap<String, SimResourceGroup>,
    pub(crate) vms: BTreeMap<Key, VmRecord>,
    pub(crate) container_groups: BTreeMap<Key, GroupRecord>,
    pub(crate) web_apps: BTreeMap<Key, SiteRecord>,
    /// Resources deployments created that are kept as data, by lowercase id.
    pub(crate) resources: BTreeMap<String, SimResource>,
    /// Resources (by name or `type/name`) whose next deployment fails with the error.
    pub(crate) resource_failures: Vec<(String, ErrorDetail)>,
    /// Images a deployed container group cannot pull.
    pub(crate) unpullable_images: Vec<String>,
    /// Container groups that end up stopped after their next deployment.
    pub(crate) stopped_after_deployment: std::collections::HashSet<Key>,
    /// Oldest first; a redeployment moves to the end.
    pub(crate) deployments: Vec<DeploymentRecord>,
    /// By lowercase id.
    pub(crate) operations: HashMap<String, Operation>,
    pub(crate) tokens: HashMap<String, TokenRecord>,
    pub(crate) token_scopes: Vec<String>,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) operation_failures: VecDeque<ErrorDetail>,
    pub(crate) requests: Vec<ArmRequest>,
    /// Due instants of operations without a timer yet.
    unscheduled: Vec<Instant>,
}

impl State {
    /// Adds a resource group unless one of that name exists.
    pub(crate) fn ensure_resource_group(&mut self, name: &str, location: &str) {
        self.resource_groups
            .entry(name.to_lowercase())
            .or_insert_with(|| SimResourceGroup::new(name, location));
    }

    /// The resource group `name`, if it exists.
    pub(crate) fn resource_group(&self, name: &str) -> Option<&SimResourceGroup> {
        self.resource_groups.get(&name.to_lowercase())
    }

    /// Adds or replaces a VM (dropping any transition it was in).
    pub(crate) fn insert_vm(&mut self, vm: SimVm, now: SystemTime) {
        self.ensure_resource_group(&vm.resource_group, &vm.location);
        let key = key(&vm.resource_group, &vm.name);
        let vm_id = ident::stable_guid(&format!("{}/{}", key.0, key.1));
        self.vms.insert(
            key,
            VmRecord {
                vm,
                vm_id,
                pending: None,
                changed_at: now,
            },
        );
    }

    /// Adds or replaces a container group (dropping any transition it was in).
    pub(crate) fn insert_container_group(&mut self, group: SimContainerGroup, now: SystemTime) {
        self.ensure_resource_group(&group.resource_group, &group.location);
        self.container_groups.insert(
            key(&group.resource_group, &group.name),
            GroupRecord {
                group,
                pending: None,
                changed_at: now,
            },
        );
    }

    /// Adds or replaces a web app.
    pub(crate) fn insert_web_app(&mut self, app: SimWebApp, now: SystemTime) {
        let location = app.location.to_lowercase().replace(' ', "");
        self.ensure_resource_group(&app.resource_group, &location);
        self.web_apps.insert(
            key(&app.resource_group, &app.name),
            SiteRecord {
                app,
                changed_at: now,
            },
        );
    }

    /// The full JSON of an existing resource by id (any case), as `reference()` sees it.
    pub(crate) fn resource_json(&self, subscription: &str, id: &str) -> Option<Value> {
        let wanted = id.to_lowercase();
        if let Some(resource) = self.resources.get(&wanted) {
            let mut body = resource.body.clone();
            if let Some(map) = body.as_object_mut() {
                map.insert("id".to_owned(), Value::String(resource.id.clone()));
                map.insert("properties".to_owned(), resource.properties.clone());
            }
            return Some(body);
        }
        self.container_groups
            .values()
            .map(|record| aci::group_json(subscription, record, false))
            .find(|body| {
                body["id"]
                    .as_str()
                    .is_some_and(|candidate| candidate.to_lowercase() == wanted)
            })
    }

    /// The deployment `name` in `group`, if any.
    pub(crate) fn deployment(&self, group: &str, name: &str) -> Option<&DeploymentRecord> {
        let wanted = key(group, name);
        self.deployments.iter().find(|record| {
            key(&record.deployment.resource_group, &record.deployment.name) == wanted
        })
    }

    /// Starts an operation that completes after `duration`, applying `effect`; returns its id.
    ///
    /// It fails instead if `fail_next_operation` queued an error.
    pub(crate) fn start_operation(
        &mut self,
        now: Instant,
        wall: SystemTime,
        duration: Duration,
        effect: Effect,
    ) -> String {
        let id = ident::random_guid();
        let due = now + duration;
        self.operations.insert(
            id.clone(),
            Operation {
                id: id.clone(),
                started_at: wall,
                ended_at: None,
                due,
                status: OperationStatus::InProgress,
                failure: self.operation_failures.pop_front(),
                effect,
            },
        );
        self.unscheduled.push(due);
        id
    }

    /// The operation `id` (any case).
    pub(crate) fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.get(&id.to_lowercase())
    }

    /// Completes every operation due at `now`; returns whether anything changed.
    pub(crate) fn settle(&mut self, now: Instant, wall: SystemTime) -> bool {
        let mut due: Vec<(Instant, String)> = self
            .operations
            .values()
            .filter(|operation| {
                operation.status == OperationStatus::InProgress && operation.due <= now
            })
            .map(|operation| (operation.due, operation.id.clone()))
            .collect();
        due.sort();
        for (_, id) in &due {
            self.complete(id, wall);
        }
        !due.is_empty()
    }

    /// Completes every operation in flight at once; returns whether anything changed.
    pub(crate) fn finish_all(&mut self, now: Instant, wall: SystemTime) -> bool {
        for operation in self.operations.values_mut() {
            if operation.status == OperationStatus::InProgress {
                operation.due = operation.due.min(now);
            }
        }
        self.settle(now, wall)
    }

    /// Ends operation `id` and applies its effect, unless the resource moved on since.
    fn complete(&mut self, id: &str, wall: SystemTime) {
        let Some(operation) = self.operations.get_mut(id) else {
            return;
        };
        operation.ended_at = Some(wall);
        let injected = operation.failure.clone();
        let effect = operation.effect.clone();
        let mut error = injected.clone();
        match effect {
            Effect::None => {}
            Effect::Vm {
                key,
                target,
                fallback,
            } => {
                if let Some(record) = self.vms.get_mut(&key)
                    && record.pending.as_deref() == Some(id)
                {
                    record.vm.power_state = if error.is_none() { target } else { fallback };
                    record.pending = None;
                    record.changed_at = wall;
                }
            }
            Effect::ContainerGroup {
                key,
                target,
                fallback,
                restarted,
            } => {
                if let Some(record) = self.container_groups.get_mut(&key)
                    && record.pending.as_deref() == Some(id)
                {
                    let succeeded = error.is_none();
                    record.group.state = (if succeeded { target } else { fallback }).to_owned();
                    if succeeded && restarted {
                        for container in &mut record.group.containers {
                            container.restart_count += 1;
                        }
                    }
                    record.pending = None;
                    record.changed_at = wall;
                }
            }
            Effect::Deployment { key: wanted } => {
                if let Some(index) = self.deployments.iter().position(|record| {
                    key(&record.deployment.resource_group, &record.deployment.name) == wanted
                        && record.operation == id
                }) {
                    let record = &self.deployments[index];
                    let (plan, deployment_id, name) = (
                        record.plan.clone(),
                        record.id.clone(),
                        record.deployment.name.clone(),
                    );
                    let (outcomes, failed) =
                        deploy::apply(self, &plan, &deployment_id, &name, injected, wall);
                    let record = &mut self.deployments[index];
                    record.deployment.state = if failed.is_none() {
                        DeploymentState::Succeeded
                    } else {
                        DeploymentState::Failed
                    };
                    record.deployment.error = failed.as_ref().map(ErrorDetail::to_json);
                    record.deployment.output_resources = if failed.is_none() {
                        outcomes.iter().map(|outcome| outcome.id.clone()).collect()
                    } else {
                        Vec::new()
                    };
                    record.ended_at = Some(wall);
                    record.error.clone_from(&failed);
                    record.outcomes = outcomes;
                    error = failed;
                }
            }
        }
        if let Some(operation) = self.operations.get_mut(id) {
            operation.status = match error {
                Some(error) => OperationStatus::Failed(error),
                None => OperationStatus::Succeeded,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm_in_transition(state: &mut State, now: Instant, wall: SystemTime) -> String {
        state.insert_vm(SimVm::new("rg", "vm", PowerState::Starting), wall);
        let id = state.start_operation(
            now,
            wall,
            Duration::from_secs(4),
            Effect::Vm {
                key: key("rg", "vm"),
                target: PowerState::Running,
                fallback: PowerState::Deallocated,
            },
        );
        state.vms.get_mut(&key("RG", "VM")).unwrap().pending = Some(id.clone());
        id
    }

    fn power(state: &State) -> PowerState {
        state.vms[&key("rg", "vm")].vm.power_state
    }

    #[test]
    fn operations_complete_when_due_and_not_before() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = State::default();
        let id = vm_in_transition(&mut state, now, wall);
        assert!(!state.settle(now + Duration::from_secs(3), wall));
        assert_eq!(power(&state), PowerState::Starting);
        assert_eq!(
            state.operation(&id).unwrap().status,
            OperationStatus::InProgress
        );
        assert!(state.settle(now + Duration::from_secs(4), wall));
        assert_eq!(power(&state), PowerState::Running);
        assert_eq!(
            state.operation(&id).unwrap().status,
            OperationStatus::Succeeded
        );
        assert!(state.vms[&key("rg", "vm")].pending.is_none());
    }

    #[test]
    fn finish_all_completes_at_once_and_failures_fall_back() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = State::default();
        state
            .operation_failures
            .push_back(ErrorDetail::new("AllocationFailed", "no capacity"));
        let id = vm_in_transition(&mut state, now, wall);
        assert!(state.finish_all(now, wall));
        assert_eq!(power(&state), PowerState::Deallocated);
        assert_eq!(
            state.operation(&id.to_uppercase()).unwrap().status,
            OperationStatus::Failed(ErrorDetail::new("AllocationFailed", "no capacity"))
        );
        assert!(!state.finish_all(now, wall));
    }

    #[test]
    fn a_replaced_vm_ignores_the_old_operation() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = State::default();
        vm_in_transition(&mut state, now, wall);
        state.insert_vm(SimVm::new("rg", "vm", PowerState::Stopped), wall);
        state.finish_all(now, wall);
        assert_eq!(power(&state), PowerState::Stopped);
        assert!(state.resource_group("RG").is_some());
    }
}
