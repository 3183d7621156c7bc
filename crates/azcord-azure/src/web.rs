//! [`WebApps`] over azure_mgmt_web (package-2024-04).

use std::sync::Arc;

use azure_mgmt_web::package_2024_04::{
    Client,
    models::{Site, WebAppCollection},
};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};

use crate::{
    AzureError, PendingOperation, ResourceGroupName, WebAppAction, WebAppName, WebAppSummary,
    WebApps, arm::Arm, compute::resource_group_of, errors_map::map_error,
    lro::pending_from_response,
};

/// [`WebApps`] of one subscription.
pub(crate) struct ArmWebApps {
    pub(crate) client: Client,
    pub(crate) arm: Arc<Arm>,
}

impl WebApps for ArmWebApps {
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>> {
        Box::pin(async move {
            let apps = self.client.web_apps_client();
            let subscription = &self.arm.subscription_id;
            let mut summaries = match resource_group {
                Some(group) => {
                    collect(
                        apps.list_by_resource_group(group.as_str(), subscription)
                            .into_stream(),
                    )
                    .await?
                }
                None => collect(apps.list(subscription).into_stream()).await?,
            };
            summaries.sort_by(|a, b| {
                (
                    a.resource_group.to_ascii_lowercase(),
                    a.name.to_ascii_lowercase(),
                )
                    .cmp(&(
                        b.resource_group.to_ascii_lowercase(),
                        b.name.to_ascii_lowercase(),
                    ))
            });
            Ok(summaries)
        })
    }

    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        Box::pin(async move {
            let site = self
                .client
                .web_apps_client()
                .get(
                    resource_group.as_str(),
                    name.as_str(),
                    &self.arm.subscription_id,
                )
                .send()
                .await
                .map_err(|error| map_error(&error))?
                .into_body()
                .await
                .map_err(|error| map_error(&error))?;
            Ok(site_summary(&site))
        })
    }

    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a WebAppName,
        action: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        Box::pin(async move {
            let apps = self.client.web_apps_client();
            let (group, app, subscription) = (
                resource_group.as_str(),
                name.as_str(),
                &self.arm.subscription_id,
            );
            // App Service answers all three with 200 once done and sends nothing to
            // poll, so this is `PendingOperation::Completed`; should it ever answer 202
            // with a URL, pending_from_response follows that instead.
            let response = match action {
                WebAppAction::Start => apps
                    .start(group, app, subscription)
                    .send()
                    .await
                    .map(|r| r.into_raw_response()),
                WebAppAction::Stop => apps
                    .stop(group, app, subscription)
                    .send()
                    .await
                    .map(|r| r.into_raw_response()),
                WebAppAction::Restart => apps
                    .restart(group, app, subscription)
                    .send()
                    .await
                    .map(|r| r.into_raw_response()),
            }
            .map_err(|error| map_error(&error))?;
            Ok(pending_from_response(
                response.status() as u16,
                response.headers(),
            ))
        })
    }
}

/// Every page of a list, as summaries.
async fn collect(
    mut pages: impl Stream<Item = azure_core::Result<WebAppCollection>> + Unpin,
) -> Result<Vec<WebAppSummary>, AzureError> {
    let mut summaries = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| map_error(&error))?;
        summaries.extend(page.value.iter().map(site_summary));
    }
    Ok(summaries)
}

/// What `/webapp list` and `/webapp status` show of a site.
fn site_summary(site: &Site) -> WebAppSummary {
    let id = site.resource.id.as_deref().unwrap_or_default();
    let properties = site.properties.as_ref();
    WebAppSummary {
        name: site
            .resource
            .name
            .clone()
            .unwrap_or_else(|| last_segment(id).to_owned()),
        resource_group: properties
            .and_then(|properties| properties.resource_group.clone())
            .or_else(|| resource_group_of(id).map(str::to_owned))
            .unwrap_or_default(),
        location: site.resource.location.clone(),
        state: properties.and_then(|properties| properties.state.clone()),
        default_host_name: properties.and_then(|properties| properties.default_host_name.clone()),
        plan: properties
            .and_then(|properties| properties.server_farm_id.as_deref())
            .map(|id| last_segment(id).to_owned())
            .filter(|plan| !plan.is_empty()),
    }
}

fn last_segment(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(json: serde_json::Value) -> Site {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn sites_from_list_and_get_bodies() {
        let full = site(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/Prod-Web/providers/Microsoft.Web/sites/shop",
            "name": "shop", "type": "Microsoft.Web/sites", "kind": "app,linux",
            "location": "West Europe",
            "properties": {
                "state": "Running",
                "resourceGroup": "Prod-Web",
                "defaultHostName": "shop.azurewebsites.net",
                "serverFarmId": "/subscriptions/s/resourceGroups/Prod-Web/providers/Microsoft.Web/serverfarms/prod-plan"
            }
        }));
        assert_eq!(
            site_summary(&full),
            WebAppSummary {
                name: "shop".into(),
                resource_group: "Prod-Web".into(),
                location: "West Europe".into(),
                state: Some("Running".into()),
                default_host_name: Some("shop.azurewebsites.net".into()),
                plan: Some("prod-plan".into()),
            }
        );

        let bare = site(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/dev/providers/Microsoft.Web/sites/docs",
            "location": "eastus"
        }));
        let summary = site_summary(&bare);
        assert_eq!(
            (
                summary.name.as_str(),
                summary.resource_group.as_str(),
                summary.state,
                summary.plan
            ),
            ("docs", "dev", None, None)
        );
    }
}
