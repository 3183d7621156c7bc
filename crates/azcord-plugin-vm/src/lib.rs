//! `/vm`: list, inspect, start, stop, deallocate and restart Azure virtual machines.
//!
//! The list, status, the actions and autocomplete are azcord-resource's flow; this
//! crate says what is the VMs' own: their names, calls and wording, and how a list and
//! one VM look.

mod render;

use std::sync::Arc;

use azcord_azure::{
    Azure, AzureError, NameError, PendingOperation, PowerState, ResourceGroupName, VmAction,
    VmDetails, VmName, VmSummary,
};
use azcord_command::{BoxFuture, CommandKind, Plugin, Reply};
use azcord_resource::{
    ActionExample, ActionSpec, AzureSettings, Resource, ResourceFlow, ResourceNames, ResourceType,
    StatusSpec, Store, Verbs,
};

/// The `/vm` plugin over `azure`, recording its confirmations and operations in `store`.
pub fn plugin(azure: &Azure, settings: AzureSettings, store: Store) -> Plugin {
    let vms = VirtualMachines(Arc::clone(&azure.vms));
    ResourceFlow::generic_plugin(vms, Arc::clone(&azure.operations), settings, store)
}

/// Azure virtual machines as a resource type.
struct VirtualMachines(Arc<dyn azcord_azure::VirtualMachines>);

/// Every action shows the same example VM.
const EXAMPLE: ActionExample = ActionExample {
    name: "prod-web/web-2",
    about: "web-2",
};

impl ResourceType for VirtualMachines {
    type Name = VmName;
    type Summary = VmSummary;
    type Details = VmDetails;
    type Action = VmAction;

    fn names(&self) -> ResourceNames {
        ResourceNames {
            group: "vm",
            group_description: "Operate Azure virtual machines",
            noun: "VM",
            plural: "VMs",
            list_description: "List VMs with their power state, size and location",
        }
    }

    fn parse_name(&self, input: &str) -> Result<VmName, NameError> {
        VmName::new(input)
    }

    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        self.0.list(resource_group)
    }

    fn get<'a>(
        &'a self,
        target: &'a Resource<VmName>,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>> {
        self.0.get(&target.resource_group, &target.name)
    }

    fn begin<'a>(
        &'a self,
        target: &'a Resource<VmName>,
        action: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.0.begin(&target.resource_group, &target.name, action)
    }

    fn actions(&self) -> Vec<ActionSpec<VmAction>> {
        vec![
            ActionSpec {
                action: VmAction::Start,
                verbs: Verbs {
                    command: "start",
                    doing: "Starting",
                    done: "is running",
                    button: "Start",
                },
                description: "Start a VM",
                kind: CommandKind::Write,
                consequence: "Starting it bills compute from now on.",
                example: EXAMPLE,
            },
            ActionSpec {
                action: VmAction::PowerOff,
                verbs: Verbs {
                    command: "stop",
                    doing: "Stopping",
                    done: "is stopped (compute still billed)",
                    button: "Stop",
                },
                description: "Stop a VM (it stays allocated: compute is still billed)",
                kind: CommandKind::Destructive,
                consequence: "Stopping powers it off but keeps its hardware allocated: **compute is still billed**. To stop paying for compute, use `/vm deallocate` instead.",
                example: EXAMPLE,
            },
            ActionSpec {
                action: VmAction::Deallocate,
                verbs: Verbs {
                    command: "deallocate",
                    doing: "Deallocating",
                    done: "is deallocated (compute no longer billed)",
                    button: "Deallocate",
                },
                description: "Stop a VM and release its hardware (compute billing stops)",
                kind: CommandKind::Destructive,
                consequence: "Deallocating releases its hardware: **compute billing stops** (disks are still billed) and a dynamic public IP address is released.",
                example: EXAMPLE,
            },
            ActionSpec {
                action: VmAction::Restart,
                verbs: Verbs {
                    command: "restart",
                    doing: "Restarting",
                    done: "has restarted",
                    button: "Restart",
                },
                description: "Restart a VM",
                kind: CommandKind::Destructive,
                consequence: "It is unavailable while it reboots; billing does not change.",
                example: EXAMPLE,
            },
        ]
    }

    fn state(&self, vm: &VmSummary) -> Option<String> {
        vm.power_state
            .as_ref()
            .map(|state| PowerState::as_str(state).to_owned())
    }

    fn render_list(&self, vms: &[VmSummary], resource_group: Option<&str>) -> Reply {
        render::list(vms, resource_group)
    }

    fn status(&self) -> StatusSpec {
        StatusSpec {
            description: "Show one VM's details and power state",
            examples: &[
                ActionExample {
                    name: "db-1",
                    about: "details of db-1",
                },
                ActionExample {
                    name: "staging/web-1",
                    about: "details of web-1 in the staging resource group",
                },
            ],
        }
    }

    fn render_status(&self, details: &VmDetails) -> Reply {
        render::status(details)
    }
}

#[cfg(test)]
mod tests;
