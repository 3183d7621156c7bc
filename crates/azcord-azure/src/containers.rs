//! [`ContainerGroups`] over azure_mgmt_containerinstance (package-preview-2024-05).

use std::sync::Arc;

use azure_mgmt_containerinstance::package_preview_2024_05::{
    Client,
    models::{ContainerGroup, ContainerGroupListResult},
};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};

use crate::{
    AzureError, ContainerGroupAction, ContainerGroupName, ContainerGroupSummary, ContainerGroups,
    ContainerName, ContainerSummary, PendingOperation, ResourceGroupName,
    arm::Arm,
    compute::{enum_text, resource_group_of},
    errors_map::map_error,
    lookup::sort_by_place,
    lro::{pending_from_raw, send_for_body, send_raw},
};

/// [`ContainerGroups`] of one subscription.
pub(crate) struct ArmContainerGroups {
    pub(crate) client: Client,
    pub(crate) arm: Arc<Arm>,
}

impl ContainerGroups for ArmContainerGroups {
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>> {
        Box::pin(async move {
            let groups = self.client.container_groups_client();
            let subscription = &self.arm.subscription_id;
            let mut summaries = match resource_group {
                Some(group) => {
                    collect(
                        groups
                            .list_by_resource_group(subscription, group.as_str())
                            .into_stream(),
                    )
                    .await?
                }
                None => collect(groups.list(subscription).into_stream()).await?,
            };
            sort_by_place(&mut summaries);
            Ok(summaries)
        })
    }

    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>> {
        Box::pin(async move {
            let groups = self.client.container_groups_client();
            let group = send_for_body!(groups.get(
                &self.arm.subscription_id,
                resource_group.as_str(),
                name.as_str(),
            ))?;
            Ok(group_summary(&group))
        })
    }

    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        action: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        Box::pin(async move {
            let groups = self.client.container_groups_client();
            let (subscription, group, name) = (
                &self.arm.subscription_id,
                resource_group.as_str(),
                name.as_str(),
            );
            // Start answers 202 with a poll URL (204 if already running), stop 204 when
            // done, restart 204 with a poll URL: pending_from_raw tells them apart.
            pending_from_raw(match action {
                ContainerGroupAction::Start => send_raw!(groups.start(subscription, group, name)),
                ContainerGroupAction::Stop => send_raw!(groups.stop(subscription, group, name)),
                ContainerGroupAction::Restart => {
                    send_raw!(groups.restart(subscription, group, name))
                }
            })
        })
    }

    fn logs<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        container: &'a ContainerName,
        tail: Option<u32>,
    ) -> BoxFuture<'a, Result<String, AzureError>> {
        Box::pin(async move {
            let mut request = self.client.containers_client().list_logs(
                &self.arm.subscription_id,
                resource_group.as_str(),
                name.as_str(),
                container.as_str(),
            );
            if let Some(tail) = tail {
                request = request.tail(i32::try_from(tail).unwrap_or(i32::MAX));
            }
            let logs = send_for_body!(request)?;
            Ok(logs.content.unwrap_or_default())
        })
    }
}

async fn collect(
    mut pages: impl Stream<Item = azure_core::Result<ContainerGroupListResult>> + Unpin,
) -> Result<Vec<ContainerGroupSummary>, AzureError> {
    let mut summaries = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| map_error(&error))?;
        summaries.extend(page.value.iter().map(group_summary));
    }
    Ok(summaries)
}

/// What `/aci list` and `/aci status` show of a container group.
fn group_summary(group: &ContainerGroup) -> ContainerGroupSummary {
    let id = group.resource.id.as_deref().unwrap_or_default();
    let properties = &group.container_group_properties.properties;
    ContainerGroupSummary {
        name: group
            .resource
            .name
            .clone()
            .unwrap_or_else(|| id.rsplit('/').next().unwrap_or_default().to_owned()),
        resource_group: resource_group_of(id).unwrap_or_default().to_owned(),
        location: group.resource.location.clone().unwrap_or_default(),
        state: properties
            .instance_view
            .as_ref()
            .and_then(|view| view.state.clone()),
        os_type: properties.os_type.as_ref().and_then(enum_text),
        ip_address: properties
            .ip_address
            .as_ref()
            .and_then(|address| address.ip.clone()),
        containers: properties
            .containers
            .iter()
            .map(|container| {
                let view = container.properties.instance_view.as_ref();
                ContainerSummary {
                    name: container.name.clone(),
                    image: container.properties.image.clone().unwrap_or_default(),
                    state: view
                        .and_then(|view| view.current_state.as_ref())
                        .and_then(|state| state.state.clone()),
                    restart_count: view.and_then(|view| view.restart_count),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_groups_from_bodies() {
        let group: ContainerGroup = serde_json::from_value(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/apps/providers/Microsoft.ContainerInstance/containerGroups/api",
            "name": "api",
            "location": "westeurope",
            "properties": {
                "provisioningState": "Succeeded",
                "osType": "Linux",
                "ipAddress": {"type": "Public", "ip": "20.1.2.3", "ports": [{"port": 80}]},
                "instanceView": {"state": "Running"},
                "containers": [
                    {"name": "app", "properties": {
                        "image": "nginx:1.27-alpine",
                        "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                        "instanceView": {"restartCount": 2, "currentState": {"state": "Running", "startTime": "2024-05-01T10:00:00Z"}}
                    }},
                    {"name": "sidecar", "properties": {"image": "busybox", "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}
                ]
            }
        }))
        .unwrap();
        assert_eq!(
            group_summary(&group),
            ContainerGroupSummary {
                name: "api".into(),
                resource_group: "apps".into(),
                location: "westeurope".into(),
                state: Some("Running".into()),
                os_type: Some("Linux".into()),
                ip_address: Some("20.1.2.3".into()),
                containers: vec![
                    ContainerSummary {
                        name: "app".into(),
                        image: "nginx:1.27-alpine".into(),
                        state: Some("Running".into()),
                        restart_count: Some(2),
                    },
                    ContainerSummary {
                        name: "sidecar".into(),
                        image: "busybox".into(),
                        state: None,
                        restart_count: None
                    },
                ],
            }
        );
    }
}
