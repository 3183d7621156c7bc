//! `Microsoft.Compute/virtualMachines`: lists, get, instance view and power actions.
//!
//! The JSON follows API version 2024-07-01 as azure_mgmt_compute 0.21 deserializes it
//! (`VirtualMachine`, `VirtualMachineListResult`, `VirtualMachineInstanceView`).

use std::time::Duration;

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    SimResourceGroup, clock,
    error::ArmError,
    lro,
    paging::{list_body, next_link, page, skip_of},
    power::{self, Plan, PowerAction, Refusal},
    server::Ctx,
    state::{Effect, State, VmRecord, key},
};

/// The resource type in ids and error messages.
const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";
/// Every simulated VM was created at this instant.
const TIME_CREATED: &str = "2024-03-12T09:41:27.1538113+00:00";

/// `GET .../virtualMachines` by subscription or resource group, paged.
///
/// `statusOnly=true` (list all) or `$expand=instanceView` (both lists) add each VM's
/// instance view, so one call carries the power states.
pub(crate) fn list(
    ctx: &Ctx<'_>,
    state: &State,
    group: Option<&str>,
) -> Result<Response, ArmError> {
    if let Some(group) = group {
        require_group(state, group)?;
    }
    let with_view = ctx.query.flag("statusOnly") || expands_instance_view(ctx);
    let records: Vec<&VmRecord> = state
        .vms
        .values()
        .filter(|record| {
            group.is_none_or(|group| record.vm.resource_group.eq_ignore_ascii_case(group))
        })
        .collect();
    let (records, next) = page(&records, skip_of(ctx.query)?, ctx.config.page_size);
    let values = records
        .into_iter()
        .map(|record| vm_json(ctx.subscription(), record, with_view))
        .collect();
    let next = next.map(|skip| next_link(ctx.endpoint, ctx.path, ctx.query, skip));
    Ok(Json(list_body(values, next)).into_response())
}

/// `GET .../virtualMachines/{vm}`, with the instance view on `$expand=instanceView`.
pub(crate) fn get(
    ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    let body = vm_json(ctx.subscription(), record, expands_instance_view(ctx));
    Ok(Json(body).into_response())
}

/// `GET .../virtualMachines/{vm}/instanceView`.
pub(crate) fn instance_view(
    _ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    Ok(Json(instance_view_json(record)).into_response())
}

/// `POST .../virtualMachines/{vm}/{start|powerOff|deallocate|restart}`: 202 and an operation.
pub(crate) fn act(
    ctx: &Ctx<'_>,
    state: &mut State,
    group: &str,
    name: &str,
    action: PowerAction,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    let current = record.vm.power_state;
    let location = record.vm.location.clone();
    let vm_name = record.vm.name.clone();
    let in_flight = record.pending.clone();
    let id = match power::plan(action, current) {
        Err(Refusal::Busy { current }) => {
            return Err(ArmError::conflict(
                "Conflict",
                &format!(
                    "Operation '{}' on VM '{vm_name}' cannot be performed while the VM is {current}; \
                     another operation is in progress. Retry after it completes.",
                    action.name()
                ),
            ));
        }
        Err(Refusal::NotAllowed { current }) => {
            return Err(ArmError::conflict(
                "OperationNotAllowed",
                &format!(
                    "Operation '{}' is not allowed on VM '{vm_name}' since the VM is {current}.",
                    action.name()
                ),
            ));
        }
        Ok(Plan::Join) => in_flight.unwrap_or_else(|| {
            state.start_operation(ctx.now, ctx.wall, Duration::ZERO, Effect::None)
        }),
        Ok(Plan::NoOp) => state.start_operation(ctx.now, ctx.wall, Duration::ZERO, Effect::None),
        Ok(Plan::Transition { during, target }) => {
            let effect = Effect::Vm {
                key: key(group, name),
                target,
                fallback: current,
            };
            let id = state.start_operation(ctx.now, ctx.wall, ctx.config.transition, effect);
            if let Some(record) = state.vms.get_mut(&key(group, name)) {
                record.vm.power_state = during;
                record.pending = Some(id.clone());
                record.changed_at = ctx.wall;
            }
            id
        }
    };
    let url = lro::provider_operation_url(ctx, "Microsoft.Compute", &location, &id);
    Ok(lro::accepted(ctx, &url, Some(&lro::monitor_url(&url))))
}

/// The resource group, or 404 `ResourceGroupNotFound`.
pub(crate) fn require_group<'a>(
    state: &'a State,
    group: &str,
) -> Result<&'a SimResourceGroup, ArmError> {
    state
        .resource_group(group)
        .ok_or_else(|| ArmError::resource_group_not_found(group))
}

/// The VM, or the 404 ARM sends for a missing group or VM.
fn find<'a>(state: &'a State, group: &str, name: &str) -> Result<&'a VmRecord, ArmError> {
    require_group(state, group)?;
    state
        .vms
        .get(&key(group, name))
        .ok_or_else(|| ArmError::resource_not_found(VM_TYPE, name, group))
}

fn expands_instance_view(ctx: &Ctx<'_>) -> bool {
    ctx.query
        .get("$expand")
        .is_some_and(|expand| expand.eq_ignore_ascii_case("instanceView"))
}

fn is_windows(record: &VmRecord) -> bool {
    record.vm.os_type.eq_ignore_ascii_case("windows")
}

fn os_disk_name(record: &VmRecord) -> String {
    format!(
        "{}_OsDisk_1_{}",
        record.vm.name,
        record.vm_id.replace('-', "")
    )
}

/// A VM as `GET` returns it, with the instance view if asked for.
pub(crate) fn vm_json(subscription: &str, record: &VmRecord, with_instance_view: bool) -> Value {
    let vm = &record.vm;
    let group_id = format!(
        "/subscriptions/{subscription}/resourceGroups/{}",
        vm.resource_group
    );
    let disk_name = os_disk_name(record);
    let (image, os_configuration, disk_size) = if is_windows(record) {
        (
            json!({
                "publisher": "MicrosoftWindowsServer",
                "offer": "WindowsServer",
                "sku": "2022-datacenter-azure-edition",
                "version": "latest",
                "exactVersion": "20348.2402.240405",
            }),
            json!({ "windowsConfiguration": {
                "provisionVMAgent": true,
                "enableAutomaticUpdates": true,
                "patchSettings": { "patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault" },
            }}),
            127,
        )
    } else {
        (
            json!({
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
                "exactVersion": "22.04.202404090",
            }),
            json!({ "linuxConfiguration": {
                "disablePasswordAuthentication": true,
                "provisionVMAgent": true,
                "patchSettings": { "patchMode": "ImageDefault", "assessmentMode": "ImageDefault" },
            }}),
            30,
        )
    };
    let mut os_profile = json!({
        "computerName": vm.name,
        "adminUsername": "azureuser",
        "secrets": [],
        "allowExtensionOperations": true,
        "requireGuestProvisionSignal": true,
    });
    merge(&mut os_profile, os_configuration);
    let mut body = json!({
        "name": vm.name,
        "id": format!("{group_id}/providers/{VM_TYPE}/{}", vm.name),
        "type": VM_TYPE,
        "location": vm.location,
        "properties": {
            "vmId": record.vm_id,
            "hardwareProfile": { "vmSize": vm.size },
            "storageProfile": {
                "imageReference": image,
                "osDisk": {
                    "osType": vm.os_type,
                    "name": disk_name,
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {
                        "storageAccountType": "Premium_LRS",
                        "id": format!("{group_id}/providers/Microsoft.Compute/disks/{disk_name}"),
                    },
                    "deleteOption": "Delete",
                    "diskSizeGB": disk_size,
                },
                "dataDisks": [],
                "diskControllerType": "SCSI",
            },
            "osProfile": os_profile,
            "networkProfile": {
                "networkInterfaces": [{
                    "id": format!("{group_id}/providers/Microsoft.Network/networkInterfaces/{}-nic", vm.name),
                    "properties": { "primary": true },
                }],
            },
            "provisioningState": provisioning_state(record),
            "timeCreated": TIME_CREATED,
        },
    });
    if !vm.tags.is_empty() {
        body["tags"] = json!(vm.tags);
    }
    if with_instance_view {
        body["properties"]["instanceView"] = instance_view_json(record);
    }
    body
}

/// `Updating` while a power operation runs, as Azure reports it.
fn provisioning_state(record: &VmRecord) -> &'static str {
    if record.pending.is_some() {
        "Updating"
    } else {
        "Succeeded"
    }
}

/// The instance view: provisioning and power statuses, plus guest details while running.
pub(crate) fn instance_view_json(record: &VmRecord) -> Value {
    let vm = &record.vm;
    let time = clock::rfc3339(record.changed_at);
    let provisioning = if record.pending.is_some() {
        json!({ "code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating" })
    } else {
        json!({
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": time,
        })
    };
    let power = json!({
        "code": format!("PowerState/{}", vm.power_state.code()),
        "level": "Info",
        "displayStatus": vm.power_state.display_status(),
    });
    let mut view = json!({
        "hyperVGeneration": "V2",
        "disks": [{
            "name": os_disk_name(record),
            "statuses": [{
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": time,
            }],
        }],
        "statuses": [provisioning, power],
    });
    if vm.power_state == super::PowerState::Running {
        let (os_name, os_version) = if is_windows(record) {
            (
                "Windows Server 2022 Datacenter Azure Edition",
                "10.0.20348.2402",
            )
        } else {
            ("ubuntu", "22.04")
        };
        merge(
            &mut view,
            json!({
                "computerName": vm.name,
                "osName": os_name,
                "osVersion": os_version,
                "vmAgent": {
                    "vmAgentVersion": "2.10.0.8",
                    "statuses": [{
                        "code": "ProvisioningState/succeeded",
                        "level": "Info",
                        "displayStatus": "Ready",
                        "message": "GuestAgent is running and processing the extensions.",
                        "time": time,
                    }],
                },
            }),
        );
    }
    view
}

/// Copies the fields of the object `extra` into the object `target`.
fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        target.extend(extra);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use expect_test::expect;

    use super::*;
    use crate::arm::{PowerState, SimVm, tests::pretty};

    fn record(power_state: PowerState, pending: bool) -> VmRecord {
        let mut vm = SimVm::new("prod-web", "web-1", power_state);
        vm.tags.insert("env".to_owned(), "prod".to_owned());
        VmRecord {
            vm,
            vm_id: "0f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19".to_owned(),
            pending: pending.then(|| "op".to_owned()),
            changed_at: UNIX_EPOCH + Duration::from_secs(1_715_675_400),
        }
    }

    #[test]
    fn a_running_vm_with_its_instance_view() {
        let body = vm_json("sub", &record(PowerState::Running, false), true);
        expect![[r#"
            {
              "id": "/subscriptions/sub/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1",
              "location": "westeurope",
              "name": "web-1",
              "properties": {
                "hardwareProfile": {
                  "vmSize": "Standard_B2s"
                },
                "instanceView": {
                  "computerName": "web-1",
                  "disks": [
                    {
                      "name": "web-1_OsDisk_1_0f8e7d6c5b4a439281706e5d4c3b2a19",
                      "statuses": [
                        {
                          "code": "ProvisioningState/succeeded",
                          "displayStatus": "Provisioning succeeded",
                          "level": "Info",
                          "time": "2024-05-14T08:30:00.0000000+00:00"
                        }
                      ]
                    }
                  ],
                  "hyperVGeneration": "V2",
                  "osName": "ubuntu",
                  "osVersion": "22.04",
                  "statuses": [
                    {
                      "code": "ProvisioningState/succeeded",
                      "displayStatus": "Provisioning succeeded",
                      "level": "Info",
                      "time": "2024-05-14T08:30:00.0000000+00:00"
                    },
                    {
                      "code": "PowerState/running",
                      "displayStatus": "VM running",
                      "level": "Info"
                    }
                  ],
                  "vmAgent": {
                    "statuses": [
                      {
                        "code": "ProvisioningState/succeeded",
                        "displayStatus": "Ready",
                        "level": "Info",
                        "message": "GuestAgent is running and processing the extensions.",
                        "time": "2024-05-14T08:30:00.0000000+00:00"
                      }
                    ],
                    "vmAgentVersion": "2.10.0.8"
                  }
                },
                "networkProfile": {
                  "networkInterfaces": [
                    {
                      "id": "/subscriptions/sub/resourceGroups/prod-web/providers/Microsoft.Network/networkInterfaces/web-1-nic",
                      "properties": {
                        "primary": true
                      }
                    }
                  ]
                },
                "osProfile": {
                  "adminUsername": "azureuser",
                  "allowExtensionOperations": true,
                  "computerName": "web-1",
                  "linuxConfiguration": {
                    "disablePasswordAuthentication": true,
                    "patchSettings": {
                      "assessmentMode": "ImageDefault",
                      "patchMode": "ImageDefault"
                    },
                    "provisionVMAgent": true
                  },
                  "requireGuestProvisionSignal": true,
                  "secrets": []
                },
                "provisioningState": "Succeeded",
                "storageProfile": {
                  "dataDisks": [],
                  "diskControllerType": "SCSI",
                  "imageReference": {
                    "exactVersion": "22.04.202404090",
                    "offer": "0001-com-ubuntu-server-jammy",
                    "publisher": "Canonical",
                    "sku": "22_04-lts-gen2",
                    "version": "latest"
                  },
                  "osDisk": {
                    "caching": "ReadWrite",
                    "createOption": "FromImage",
                    "deleteOption": "Delete",
                    "diskSizeGB": 30,
                    "managedDisk": {
                      "id": "/subscriptions/sub/resourceGroups/prod-web/providers/Microsoft.Compute/disks/web-1_OsDisk_1_0f8e7d6c5b4a439281706e5d4c3b2a19",
                      "storageAccountType": "Premium_LRS"
                    },
                    "name": "web-1_OsDisk_1_0f8e7d6c5b4a439281706e5d4c3b2a19",
                    "osType": "Linux"
                  }
                },
                "timeCreated": "2024-03-12T09:41:27.1538113+00:00",
                "vmId": "0f8e7d6c-5b4a-4392-8170-6e5d4c3b2a19"
              },
              "tags": {
                "env": "prod"
              },
              "type": "Microsoft.Compute/virtualMachines"
            }"#]]
        .assert_eq(&pretty(&body));
    }

    #[test]
    fn a_transition_shows_as_updating_without_guest_details() {
        let view = instance_view_json(&record(PowerState::Deallocating, true));
        assert_eq!(
            view["statuses"],
            json!([
                { "code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating" },
                { "code": "PowerState/deallocating", "level": "Info", "displayStatus": "VM deallocating" },
            ])
        );
        assert_eq!(view.get("computerName"), None);
        let vm = vm_json("sub", &record(PowerState::Deallocating, true), false);
        assert_eq!(vm["properties"]["provisioningState"], "Updating");
        assert_eq!(vm["properties"].get("instanceView"), None);
    }
}
