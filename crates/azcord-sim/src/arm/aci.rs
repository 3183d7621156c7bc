//! `Microsoft.ContainerInstance/containerGroups`: lists, get, start/stop/restart and logs.
//!
//! The JSON follows API version 2024-05-01-preview as azure_mgmt_containerinstance 0.21
//! deserializes it. Like ACI, lists leave out the instance views; `GET` of one group has
//! them (`properties.instanceView.state`, each container's `currentState` and `restartCount`).

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde_json::{Value, json};

use super::{
    SimPort, clock,
    compute::require_group,
    error::ArmError,
    lro,
    paging::{list_body, next_link, page, skip_of},
    route::GroupAction,
    server::{Ctx, empty},
    state::{Effect, GroupRecord, State, key},
};

const GROUP_TYPE: &str = "Microsoft.ContainerInstance/containerGroups";
const RUNNING: &str = "Running";
const STOPPED: &str = "Stopped";
const PENDING: &str = "Pending";

/// `GET .../containerGroups` by subscription or resource group, paged.
pub(crate) fn list(
    ctx: &Ctx<'_>,
    state: &State,
    group: Option<&str>,
) -> Result<Response, ArmError> {
    if let Some(group) = group {
        require_group(state, group)?;
    }
    let records: Vec<&GroupRecord> = state
        .container_groups
        .values()
        .filter(|record| {
            group.is_none_or(|group| record.group.resource_group.eq_ignore_ascii_case(group))
        })
        .collect();
    let (records, next) = page(&records, skip_of(ctx.query)?, ctx.config.page_size);
    let values = records
        .into_iter()
        .map(|record| group_json(ctx.subscription(), record, false))
        .collect();
    let next = next.map(|skip| next_link(ctx.endpoint, ctx.path, ctx.query, skip));
    Ok(Json(list_body(values, next)).into_response())
}

/// `GET .../containerGroups/{name}`, with instance views.
pub(crate) fn get(
    ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    Ok(Json(group_json(ctx.subscription(), record, true)).into_response())
}

/// `POST .../start`, `.../stop` or `.../restart`, answered as the service's specification
/// (containerInstance.json, 2024-05-01-preview) declares them:
///
/// * `start` is long-running: 202 with `Azure-AsyncOperation` while the group starts,
///   204 when it is "already running or starting" (joining the start under way, if any);
/// * `stop` is synchronous: 204;
/// * `restart` is long-running but declares only 204: the simulator sends 204 with the
///   `Azure-AsyncOperation` URL of the restart, which a poller that follows the header
///   (azure-core's `ARMPolling`, azcord's own) waits on.
pub(crate) fn act(
    ctx: &Ctx<'_>,
    state: &mut State,
    group: &str,
    name: &str,
    action: GroupAction,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    let current = record.group.state.clone();
    let group_name = record.group.name.clone();
    let location = record.group.location.clone();
    let in_flight = record.pending.clone();
    let is = |state: &str| current.eq_ignore_ascii_case(state);
    let follow = |id: &str, status: StatusCode| {
        let url = lro::provider_operation_url(ctx, "Microsoft.ContainerInstance", &location, id);
        lro::accepted_with(ctx, status, &url, None)
    };
    match action {
        GroupAction::Stop if is(PENDING) => Err(ArmError::conflict(
            "Conflict",
            &format!(
                "Container group '{group_name}' cannot be stopped while another operation is in progress."
            ),
        )),
        GroupAction::Stop => {
            if let Some(record) = state.container_groups.get_mut(&key(group, name))
                && !record.group.state.eq_ignore_ascii_case(STOPPED)
            {
                record.group.state = STOPPED.to_owned();
                record.changed_at = ctx.wall;
            }
            Ok(empty(StatusCode::NO_CONTENT))
        }
        GroupAction::Restart if is(STOPPED) => Err(ArmError::conflict(
            "OperationNotAllowed",
            &format!(
                "Container group '{group_name}' is stopped. Start the container group instead of restarting it."
            ),
        )),
        _ if is(PENDING) => Ok(match in_flight {
            Some(id) => follow(&id, StatusCode::NO_CONTENT),
            None => empty(StatusCode::NO_CONTENT),
        }),
        GroupAction::Start if is(RUNNING) => Ok(empty(StatusCode::NO_CONTENT)),
        GroupAction::Start => {
            let id = begin(ctx, state, group, name, STOPPED, false);
            Ok(follow(&id, StatusCode::ACCEPTED))
        }
        GroupAction::Restart => {
            let id = begin(ctx, state, group, name, RUNNING, true);
            Ok(follow(&id, StatusCode::NO_CONTENT))
        }
    }
}

/// Puts the group in `Pending` until an operation brings it to `Running`; returns its id.
fn begin(
    ctx: &Ctx<'_>,
    state: &mut State,
    group: &str,
    name: &str,
    fallback: &'static str,
    restarted: bool,
) -> String {
    let effect = Effect::ContainerGroup {
        key: key(group, name),
        target: RUNNING,
        fallback,
        restarted,
    };
    let id = state.start_operation(ctx.now, ctx.wall, ctx.config.transition, effect);
    if let Some(record) = state.container_groups.get_mut(&key(group, name)) {
        record.group.state = PENDING.to_owned();
        record.pending = Some(id.clone());
        record.changed_at = ctx.wall;
    }
    id
}

/// `GET .../containers/{container}/logs?tail=N&timestamps=true` → `{"content": "..."}`.
pub(crate) fn logs(
    ctx: &Ctx<'_>,
    state: &State,
    group: &str,
    name: &str,
    container: &str,
) -> Result<Response, ArmError> {
    let record = find(state, group, name)?;
    let found = record
        .group
        .containers
        .iter()
        .find(|candidate| candidate.name.eq_ignore_ascii_case(container))
        .ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "ContainerNotFound",
                &format!(
                    "The container '{container}' is not found in container group '{}'.",
                    record.group.name
                ),
            )
        })?;
    let tail = match ctx.query.get("tail") {
        None => found.logs.len(),
        Some(tail) => tail.parse::<usize>().map_err(|_| {
            ArmError::bad_request(
                "InvalidParameter",
                &format!("The value '{tail}' of parameter 'tail' is not a valid number of lines."),
            )
        })?,
    };
    let stamp = ctx
        .query
        .flag("timestamps")
        .then(|| clock::rfc3339(record.changed_at));
    let start = found.logs.len().saturating_sub(tail);
    let content: String = found.logs[start..]
        .iter()
        .map(|line| match &stamp {
            Some(stamp) => format!("{stamp} {line}\n"),
            None => format!("{line}\n"),
        })
        .collect();
    Ok(Json(json!({ "content": content })).into_response())
}

/// The group, or the 404 ARM sends for a missing group or container group.
fn find<'a>(state: &'a State, group: &str, name: &str) -> Result<&'a GroupRecord, ArmError> {
    require_group(state, group)?;
    state
        .container_groups
        .get(&key(group, name))
        .ok_or_else(|| ArmError::resource_not_found(GROUP_TYPE, name, group))
}

/// A container group as ACI returns it; `detail` adds the instance views (single `GET`).
pub(crate) fn group_json(subscription: &str, record: &GroupRecord, detail: bool) -> Value {
    let group = &record.group;
    let running = group.state.eq_ignore_ascii_case(RUNNING);
    let since = clock::rfc3339(record.changed_at);
    let current_state = if running {
        json!({ "state": "Running", "startTime": since, "detailStatus": "" })
    } else if group.state.eq_ignore_ascii_case(PENDING) {
        json!({ "state": "Waiting", "detailStatus": "ContainerCreating" })
    } else {
        json!({ "state": "Terminated", "exitCode": 0, "finishTime": since, "detailStatus": "Completed" })
    };
    let ports = |ports: &[SimPort]| -> Value {
        ports
            .iter()
            .map(|port| json!({ "protocol": port.protocol, "port": port.port }))
            .collect()
    };
    let containers: Vec<Value> = group
        .containers
        .iter()
        .map(|container| {
            // A secure value is stored but never returned, as ACI does.
            let environment: Vec<Value> = container
                .environment
                .iter()
                .map(|variable| match &variable.value {
                    Some(value) => json!({ "name": variable.name, "value": value }),
                    None => json!({ "name": variable.name }),
                })
                .collect();
            let mut properties = json!({
                "image": container.image,
                "ports": ports(&container.ports),
                "environmentVariables": environment,
                "resources": { "requests": { "memoryInGB": container.memory_gb, "cpu": container.cpu } },
            });
            if !container.command.is_empty() {
                properties["command"] = json!(container.command);
            }
            if let Some(probe) = &container.liveness_probe {
                properties["livenessProbe"] = probe.clone();
            }
            if let Some(probe) = &container.readiness_probe {
                properties["readinessProbe"] = probe.clone();
            }
            if detail {
                properties["instanceView"] = json!({
                    "restartCount": container.restart_count,
                    "currentState": current_state,
                    "events": [],
                });
            }
            json!({ "name": container.name, "properties": properties })
        })
        .collect();
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "containers": containers,
        "initContainers": [],
        "restartPolicy": group.restart_policy,
        "osType": group.os_type,
        "sku": "Standard",
    });
    if !group.registry_credentials.is_empty() {
        properties["imageRegistryCredentials"] = group
            .registry_credentials
            .iter()
            .map(|credential| json!({ "server": credential.server, "username": credential.username }))
            .collect();
    }
    if let Some(ip) = &group.ip {
        let mut address = json!({ "ports": ports(&group.ip_ports), "type": "Public" });
        if running {
            address["ip"] = json!(ip);
        }
        properties["ipAddress"] = address;
    }
    if detail {
        properties["instanceView"] = json!({ "state": group.state, "events": [] });
    }
    let mut body = json!({
        "id": format!(
            "/subscriptions/{subscription}/resourceGroups/{}/providers/{GROUP_TYPE}/{}",
            group.resource_group, group.name
        ),
        "name": group.name,
        "type": GROUP_TYPE,
        "location": group.location,
        "properties": properties,
    });
    if let Some(identity) = &group.identity {
        let mut value = json!({ "type": identity.kind });
        if let Some(principal) = &identity.principal_id {
            value["principalId"] = json!(principal);
        }
        if let Some(tenant) = &identity.tenant_id {
            value["tenantId"] = json!(tenant);
        }
        if !identity.user_assigned.is_empty() {
            value["userAssignedIdentities"] = identity
                .user_assigned
                .iter()
                .map(|id| (id.clone(), json!({})))
                .collect::<serde_json::Map<String, Value>>()
                .into();
        }
        body["identity"] = value;
    }
    if !group.tags.is_empty() {
        body["tags"] = json!(group.tags);
    }
    body
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use expect_test::expect;

    use super::*;
    use crate::arm::{SimContainer, SimContainerGroup, SimPort, tests::pretty};

    fn record(state: &str) -> GroupRecord {
        GroupRecord {
            group: SimContainerGroup {
                state: state.to_owned(),
                ip: Some("20.61.14.27".to_owned()),
                ip_ports: vec![SimPort::tcp(80)],
                ..SimContainerGroup::new(
                    "prod-web",
                    "frontend",
                    vec![SimContainer {
                        ports: vec![SimPort::tcp(80)],
                        ..SimContainer::new("nginx", "nginx:1.27-alpine")
                    }],
                )
            },
            pending: None,
            changed_at: UNIX_EPOCH + Duration::from_secs(1_715_675_400),
        }
    }

    #[test]
    fn a_running_group_in_detail() {
        expect![[r#"
            {
              "id": "/subscriptions/sub/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups/frontend",
              "location": "westeurope",
              "name": "frontend",
              "properties": {
                "containers": [
                  {
                    "name": "nginx",
                    "properties": {
                      "environmentVariables": [],
                      "image": "nginx:1.27-alpine",
                      "instanceView": {
                        "currentState": {
                          "detailStatus": "",
                          "startTime": "2024-05-14T08:30:00.0000000+00:00",
                          "state": "Running"
                        },
                        "events": [],
                        "restartCount": 0
                      },
                      "ports": [
                        {
                          "port": 80,
                          "protocol": "TCP"
                        }
                      ],
                      "resources": {
                        "requests": {
                          "cpu": 1.0,
                          "memoryInGB": 1.5
                        }
                      }
                    }
                  }
                ],
                "initContainers": [],
                "instanceView": {
                  "events": [],
                  "state": "Running"
                },
                "ipAddress": {
                  "ip": "20.61.14.27",
                  "ports": [
                    {
                      "port": 80,
                      "protocol": "TCP"
                    }
                  ],
                  "type": "Public"
                },
                "osType": "Linux",
                "provisioningState": "Succeeded",
                "restartPolicy": "Always",
                "sku": "Standard"
              },
              "type": "Microsoft.ContainerInstance/containerGroups"
            }"#]]
        .assert_eq(&pretty(&group_json("sub", &record("Running"), true)));
    }

    #[test]
    fn lists_leave_out_instance_views_and_stopped_groups_their_ip() {
        let body = group_json("sub", &record("Stopped"), false);
        assert_eq!(body["properties"].get("instanceView"), None);
        assert_eq!(
            body["properties"]["containers"][0]["properties"].get("instanceView"),
            None
        );
        assert_eq!(body["properties"]["ipAddress"].get("ip"), None);
        let detail = group_json("sub", &record("Stopped"), true);
        assert_eq!(
            detail["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]["state"],
            "Terminated"
        );
    }
}
