//! What a template deployment does when it completes: the planned resources are created
//! or updated, or the deployment fails with ARM's `DeploymentFailed`.
//!
//! `Microsoft.ContainerInstance/containerGroups` become the simulator's container groups;
//! every other type (role assignments, nested deployments, ...) is kept as a
//! [`SimResource`]. A container group follows ACI's update rules
//! (<https://learn.microsoft.com/azure/container-instances/container-instances-update>):
//! "When you update a container group, all running containers in the group are restarted
//! in-place", and redeploying with every property unchanged does not restart them. The
//! page says nothing of starting a stopped group, so a stopped group stays stopped after
//! an update (the deploying client must start it); a new group runs.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{
    SimContainer, SimContainerGroup, SimEnvVar, SimIdentity, SimPort, SimRegistryCredential,
    SimResource,
    error::ErrorDetail,
    ident,
    state::{GroupRecord, State, key},
    template::{Plan, PlannedResource},
};

/// The container group resource type.
pub(crate) const GROUP_TYPE: &str = "Microsoft.ContainerInstance/containerGroups";

/// How one resource of a deployment went, for `.../deployments/{name}/operations`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ResourceOutcome {
    pub(crate) operation_id: String,
    pub(crate) id: String,
    pub(crate) resource_type: String,
    pub(crate) name: String,
    /// Why it failed, if it did.
    pub(crate) failure: Option<ErrorDetail>,
    pub(crate) at: SystemTime,
}

/// Applies a succeeded deployment's plan; `injected` is a `fail_next_operation` error.
/// Returns each resource's outcome and, if any failed, the `DeploymentFailed` error.
pub(crate) fn apply(
    state: &mut State,
    plan: &Plan,
    deployment_id: &str,
    deployment: &str,
    injected: Option<ErrorDetail>,
    wall: SystemTime,
) -> (Vec<ResourceOutcome>, Option<ErrorDetail>) {
    let mut outcomes = Vec::new();
    if let Some(error) = injected {
        // The first resource fails with the injected error; nothing is created.
        let error = match plan.resources.first() {
            Some(first) => {
                let error = error.with_target(&first.id);
                outcomes.push(outcome(first, Some(error.clone()), wall));
                error
            }
            None => error,
        };
        return (
            outcomes,
            Some(deployment_failed(deployment_id, vec![error])),
        );
    }
    let mut failures = Vec::new();
    let mut failed: Vec<&PlannedResource> = Vec::new();
    for resource in &plan.resources {
        // ARM does not start a resource whose dependency failed: no operation, no resource.
        let blocked = resource.depends_on.iter().any(|dependency| {
            failed.iter().any(|failed| {
                failed.id.eq_ignore_ascii_case(dependency)
                    || failed.name.eq_ignore_ascii_case(dependency)
            })
        });
        if blocked {
            failed.push(resource);
            continue;
        }
        let failure = resource
            .failure
            .clone()
            .or_else(|| injected_failure(state, resource))
            .or_else(|| create(state, resource, deployment, wall).err());
        if let Some(failure) = &failure {
            failures.push(failure.clone());
            failed.push(resource);
        }
        outcomes.push(outcome(resource, failure, wall));
    }
    let error = (!failures.is_empty()).then(|| deployment_failed(deployment_id, failures));
    (outcomes, error)
}

/// ARM's error for a deployment whose resources failed.
pub(crate) fn deployment_failed(deployment_id: &str, details: Vec<ErrorDetail>) -> ErrorDetail {
    ErrorDetail {
        details,
        ..ErrorDetail::new(
            "DeploymentFailed",
            "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
        )
        .with_target(deployment_id)
    }
}

fn outcome(
    resource: &PlannedResource,
    failure: Option<ErrorDetail>,
    at: SystemTime,
) -> ResourceOutcome {
    ResourceOutcome {
        operation_id: ident::random_hex(16).to_uppercase(),
        id: resource.id.clone(),
        resource_type: resource.resource_type.clone(),
        name: resource.name.clone(),
        failure,
        at,
    }
}

/// The failure a test injected for this resource: a named resource, or an image that
/// cannot be pulled.
fn injected_failure(state: &mut State, resource: &PlannedResource) -> Option<ErrorDetail> {
    if let Some(at) = state.resource_failures.iter().position(|(name, _)| {
        name.eq_ignore_ascii_case(&resource.name)
            || name.eq_ignore_ascii_case(&resource.resource_type)
            || name.eq_ignore_ascii_case(&format!("{}/{}", resource.resource_type, resource.name))
    }) {
        let (_, detail) = state.resource_failures.remove(at);
        return Some(detail.with_target(&resource.id));
    }
    if !resource.resource_type.eq_ignore_ascii_case(GROUP_TYPE) {
        return None;
    }
    let containers = resource
        .body
        .pointer("/properties/containers")?
        .as_array()?;
    containers.iter().find_map(|container| {
        let image = container.pointer("/properties/image")?.as_str()?;
        state
            .unpullable_images
            .iter()
            .any(|bad| bad == image)
            .then(|| {
                ErrorDetail::new(
                    "InaccessibleImage",
                    &format!(
                        "The image '{image}' in container group '{}' is not accessible. Please check the image and registry credential.",
                        resource.name
                    ),
                )
                .with_target(&resource.id)
            })
    })
}

/// Creates or updates one resource.
fn create(
    state: &mut State,
    resource: &PlannedResource,
    deployment: &str,
    wall: SystemTime,
) -> Result<(), ErrorDetail> {
    if resource.resource_type.eq_ignore_ascii_case(GROUP_TYPE) {
        let group = container_group(resource).map_err(|message| {
            ErrorDetail::new("InvalidRequestContent", &message).with_target(&resource.id)
        })?;
        upsert_group(state, group, wall);
        return Ok(());
    }
    let properties = resource
        .body
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    state.resources.insert(
        resource.id.to_lowercase(),
        SimResource {
            id: resource.id.clone(),
            resource_type: resource.resource_type.clone(),
            name: resource.name.clone(),
            resource_group: resource.resource_group.clone(),
            scope: resource
                .body
                .get("scope")
                .and_then(Value::as_str)
                .map(str::to_owned),
            properties,
            body: resource.body.clone(),
            deployment: deployment.to_owned(),
        },
    );
    Ok(())
}

/// Puts a deployed group in place, following ACI's update rules (see the module docs).
fn upsert_group(state: &mut State, mut group: SimContainerGroup, wall: SystemTime) {
    let group_key = key(&group.resource_group, &group.name);
    let stop = state.stopped_after_deployment.remove(&group_key);
    state.ensure_resource_group(&group.resource_group, &group.location);
    let existing = state.container_groups.get(&group_key).cloned();
    let pending = match existing {
        None => {
            group.state = "Running".to_owned();
            None
        }
        Some(old) => {
            group.state.clone_from(&old.group.state);
            for container in &mut group.containers {
                if let Some(before) = old
                    .group
                    .containers
                    .iter()
                    .find(|before| before.name.eq_ignore_ascii_case(&container.name))
                {
                    container.logs.clone_from(&before.logs);
                    container.restart_count = before.restart_count;
                }
            }
            if group.ip.is_some() && old.group.ip.is_some() {
                group.ip.clone_from(&old.group.ip);
            }
            let running = old.group.state.eq_ignore_ascii_case("Running");
            if running && group != old.group {
                for container in &mut group.containers {
                    container.restart_count += 1;
                }
            }
            old.pending
        }
    };
    if stop {
        group.state = "Stopped".to_owned();
    }
    state.container_groups.insert(
        group_key,
        GroupRecord {
            group,
            pending: if stop { None } else { pending },
            changed_at: wall,
        },
    );
}

/// A container group from its evaluated declaration (and the identity ids planning gave it).
fn container_group(resource: &PlannedResource) -> Result<SimContainerGroup, String> {
    let body = &resource.body;
    let properties = body
        .get("properties")
        .ok_or("The container group has no 'properties'.")?;
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let ports = |value: Option<&Value>| -> Vec<SimPort> {
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|port| {
                let number = port.get("port")?;
                let number = number
                    .as_u64()
                    .or_else(|| number.as_str()?.trim().parse().ok())?;
                Some(SimPort {
                    protocol: text(port.get("protocol")).unwrap_or_else(|| "TCP".to_owned()),
                    port: u16::try_from(number).ok()?,
                })
            })
            .collect()
    };
    let containers = properties
        .get("containers")
        .and_then(Value::as_array)
        .filter(|containers| !containers.is_empty())
        .ok_or("The container group must have at least one container.")?
        .iter()
        .map(|container| {
            let name = text(container.get("name")).ok_or("A container has no 'name'.")?;
            let settings = container.get("properties").cloned().unwrap_or_default();
            let image = text(settings.get("image"))
                .ok_or_else(|| format!("The container '{name}' has no 'image'."))?;
            let requests = settings.pointer("/resources/requests");
            // ARM reads a number given as a string ("0.25"), as templates must pass
            // decimals (their parameters have no decimal type).
            let number = |field: &str, default: f64| {
                requests
                    .and_then(|requests| requests.get(field))
                    .and_then(|value| {
                        value
                            .as_f64()
                            .or_else(|| value.as_str()?.trim().parse().ok())
                    })
                    .unwrap_or(default)
            };
            Ok(SimContainer {
                cpu: number("cpu", 1.0),
                memory_gb: number("memoryInGB", 1.5),
                ports: ports(settings.get("ports")),
                environment: settings
                    .get("environmentVariables")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|variable| SimEnvVar {
                        name: text(variable.get("name")).unwrap_or_default(),
                        value: text(variable.get("value")),
                        secure_value: text(variable.get("secureValue")),
                    })
                    .collect(),
                command: settings
                    .get("command")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|part| text(Some(part)))
                    .collect(),
                liveness_probe: settings.get("livenessProbe").cloned(),
                readiness_probe: settings.get("readinessProbe").cloned(),
                ..SimContainer::new(&name, &image)
            })
        })
        .collect::<Result<Vec<SimContainer>, String>>()?;
    let address = properties.get("ipAddress");
    let ip = address
        .and_then(|address| text(address.get("type")))
        .filter(|kind| kind.eq_ignore_ascii_case("Public"))
        .map(|_| {
            let number = ident::stable_number(&resource.id.to_lowercase());
            let [a, b, c, ..] = number.to_le_bytes();
            format!("20.{a}.{b}.{}", c.max(1))
        });
    let identity = resource.full.get("identity").map(|identity| SimIdentity {
        kind: text(identity.get("type")).unwrap_or_default(),
        principal_id: text(identity.get("principalId")),
        tenant_id: text(identity.get("tenantId")),
        user_assigned: identity
            .get("userAssignedIdentities")
            .and_then(Value::as_object)
            .map(|ids| ids.keys().cloned().collect())
            .unwrap_or_default(),
    });
    Ok(SimContainerGroup {
        location: text(body.get("location")).unwrap_or_else(|| "westeurope".to_owned()),
        os_type: text(properties.get("osType")).unwrap_or_else(|| "Linux".to_owned()),
        ip,
        ip_ports: ports(address.and_then(|address| address.get("ports"))),
        restart_policy: text(properties.get("restartPolicy"))
            .unwrap_or_else(|| "Always".to_owned()),
        identity,
        registry_credentials: properties
            .get("imageRegistryCredentials")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|credential| SimRegistryCredential {
                server: text(credential.get("server")).unwrap_or_default(),
                username: text(credential.get("username")).unwrap_or_default(),
                password: text(credential.get("password")),
            })
            .collect(),
        tags: body
            .get("tags")
            .and_then(Value::as_object)
            .map(|tags| {
                tags.iter()
                    .map(|(key, value)| {
                        (key.clone(), value.as_str().unwrap_or_default().to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ..SimContainerGroup::new(&resource.resource_group, &resource.name, containers)
    })
}
