//! [`VirtualMachines`] over azure_mgmt_compute (package-2024-07-01).

use std::sync::Arc;

use azure_mgmt_compute::package_2024_07_01::{
    Client,
    models::{InstanceViewStatus, VirtualMachine},
};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use crate::{
    AzureError, PendingOperation, PowerState, ResourceGroupName, VirtualMachines, VmAction,
    VmDetails, VmName, VmSummary,
    arm::Arm,
    errors_map::map_error,
    lookup::sort_by_place,
    lro::{pending_from_raw, send_for_body, send_raw},
};

/// [`VirtualMachines`] of one subscription.
pub(crate) struct ArmVirtualMachines {
    pub(crate) client: Client,
    pub(crate) arm: Arc<Arm>,
}

impl VirtualMachines for ArmVirtualMachines {
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        Box::pin(async move {
            // `statusOnly=true` exists only on the subscription-wide list; the per-group
            // list gives power states only with a VM scale set filter. So one paged call
            // for the subscription, filtered here, rather than a call per VM.
            let mut pages = self
                .client
                .virtual_machines_client()
                .list_all(&self.arm.subscription_id)
                .status_only("true")
                .into_stream();
            let mut vms = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| map_error(&error))?;
                vms.extend(page.value.iter().map(vm_summary).filter(|vm| {
                    resource_group
                        .is_none_or(|group| vm.resource_group.eq_ignore_ascii_case(group.as_str()))
                }));
            }
            sort_by_place(&mut vms);
            Ok(vms)
        })
    }

    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a VmName,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>> {
        Box::pin(async move {
            let vms = self.client.virtual_machines_client();
            let vm = send_for_body!(
                vms.get(
                    resource_group.as_str(),
                    name.as_str(),
                    &self.arm.subscription_id,
                )
                .expand("instanceView")
            )?;
            Ok(vm_details(&vm))
        })
    }

    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a VmName,
        action: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        Box::pin(async move {
            let vms = self.client.virtual_machines_client();
            let (group, vm, subscription) = (
                resource_group.as_str(),
                name.as_str(),
                &self.arm.subscription_id,
            );
            pending_from_raw(match action {
                VmAction::Start => send_raw!(vms.start(group, vm, subscription)),
                VmAction::PowerOff => send_raw!(vms.power_off(group, vm, subscription)),
                VmAction::Deallocate => send_raw!(vms.deallocate(group, vm, subscription)),
                VmAction::Restart => send_raw!(vms.restart(group, vm, subscription)),
            })
        })
    }
}

/// What `/vm list` shows of a VM from the list (or a get).
fn vm_summary(vm: &VirtualMachine) -> VmSummary {
    let id = vm.resource.id.as_deref().unwrap_or_default();
    let properties = vm.properties.as_ref();
    VmSummary {
        name: vm
            .resource
            .name
            .clone()
            .unwrap_or_else(|| last_segment(id).to_owned()),
        resource_group: resource_group_of(id).unwrap_or_default().to_owned(),
        location: vm.resource.location.clone(),
        size: properties
            .and_then(|properties| properties.hardware_profile.as_ref())
            .and_then(|hardware| hardware.vm_size.as_ref())
            .and_then(enum_text),
        power_state: properties
            .and_then(|properties| properties.instance_view.as_ref())
            .and_then(|view| power_state(&view.statuses)),
    }
}

/// What `/vm status` shows of a VM fetched with its instance view.
fn vm_details(vm: &VirtualMachine) -> VmDetails {
    let properties = vm.properties.as_ref();
    VmDetails {
        summary: vm_summary(vm),
        os_type: properties
            .and_then(|properties| properties.storage_profile.as_ref())
            .and_then(|storage| storage.os_disk.as_ref())
            .and_then(|disk| disk.os_type.as_ref())
            .and_then(enum_text),
        provisioning_state: properties.and_then(|properties| properties.provisioning_state.clone()),
        id: vm.resource.id.clone(),
        tags: tags(vm.resource.tags.as_ref()),
    }
}

/// The power state among instance-view statuses (`PowerState/running`).
fn power_state(statuses: &[InstanceViewStatus]) -> Option<PowerState> {
    statuses
        .iter()
        .filter_map(|status| status.code.as_deref())
        .find_map(PowerState::from_code)
}

/// The resource group in a resource id, as Azure spells it.
pub(crate) fn resource_group_of(id: &str) -> Option<&str> {
    let mut segments = id.split('/');
    segments
        .by_ref()
        .find(|segment| segment.eq_ignore_ascii_case("resourceGroups"))?;
    segments.next().filter(|group| !group.is_empty())
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

/// The wire text of one of the generated enums, such as `Standard_B2s` or `Linux`.
pub(crate) fn enum_text<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()?
        .as_str()
        .map(str::to_owned)
}

/// Tags sorted by key; values that are not strings are shown as JSON.
pub(crate) fn tags(tags: Option<&serde_json::Value>) -> Vec<(String, String)> {
    let Some(serde_json::Value::Object(map)) = tags else {
        return Vec::new();
    };
    let mut tags: Vec<(String, String)> = map
        .iter()
        .map(|(key, value)| {
            (
                key.clone(),
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned),
            )
        })
        .collect();
    tags.sort();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(json: serde_json::Value) -> VirtualMachine {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn vms_from_list_and_get_bodies() {
        let id = "/subscriptions/s/resourceGroups/Prod-RG/providers/Microsoft.Compute/virtualMachines/web-1";
        let status_only = vm(serde_json::json!({
            "name": "web-1", "id": id, "location": "westeurope",
            "properties": {"instanceView": {"statuses": [
                {"code": "ProvisioningState/succeeded", "level": "Info"},
                {"code": "PowerState/deallocated", "level": "Info", "displayStatus": "VM deallocated"}
            ]}}
        }));
        assert_eq!(
            vm_summary(&status_only),
            VmSummary {
                name: "web-1".into(),
                resource_group: "Prod-RG".into(),
                location: "westeurope".into(),
                size: None,
                power_state: Some(PowerState::Deallocated),
            }
        );

        let full = vm(serde_json::json!({
            "id": id, "location": "westeurope", "tags": {"owner": "ops", "cost": 3},
            "properties": {
                "provisioningState": "Succeeded",
                "hardwareProfile": {"vmSize": "Standard_B2s_v9"},
                "storageProfile": {"osDisk": {"osType": "Linux", "createOption": "FromImage"}},
                "instanceView": {"statuses": [{"code": "PowerState/hibernated", "time": "2024-05-01T10:00:00.1234567+00:00"}]}
            }
        }));
        let details = vm_details(&full);
        assert_eq!(details.summary.name, "web-1");
        assert_eq!(details.summary.size.as_deref(), Some("Standard_B2s_v9"));
        assert_eq!(
            details.summary.power_state,
            Some(PowerState::Unknown("hibernated".into()))
        );
        assert_eq!(details.os_type.as_deref(), Some("Linux"));
        assert_eq!(details.provisioning_state.as_deref(), Some("Succeeded"));
        assert_eq!(
            details.tags,
            [
                ("cost".to_owned(), "3".to_owned()),
                ("owner".to_owned(), "ops".to_owned())
            ]
        );

        let bare = vm(serde_json::json!({"location": "northeurope"}));
        assert_eq!(
            (
                vm_summary(&bare).name.as_str(),
                vm_summary(&bare).power_state
            ),
            ("", None)
        );
    }

    #[test]
    fn resource_groups_from_ids() {
        let table = [
            (
                "/subscriptions/s/resourceGroups/prod/providers/x/y/z",
                Some("prod"),
            ),
            (
                "/subscriptions/s/resourcegroups/Prod/providers/x/y/z",
                Some("Prod"),
            ),
            ("/subscriptions/s/resourceGroups/", None),
            ("/subscriptions/s", None),
            ("", None),
        ];
        for (id, group) in table {
            assert_eq!(resource_group_of(id), group, "{id}");
        }
    }
}
