//! [`WebApps`] over azure_mgmt_web (package-2024-04) for the actions, and azcord's own
//! GETs for the list and one app.
//!
//! azure_mgmt_web 0.21 cannot read a site as App Service sends it: its `Site` model
//! reads `usageState`, `availabilityState` and other plain strings as XML text nodes
//! (`azure_core::xml::text_content`), so every real list or get fails with "expected
//! struct Field". The list and the get therefore go through [`Arm`] on the same
//! pipeline and credential, and read only the fields azcord shows.

use std::sync::Arc;

use azure_core::Method;
use azure_mgmt_web::package_2024_04::Client;
use futures_util::future::BoxFuture;
use serde::Deserialize;

use crate::{
    AzureError, AzureErrorKind, PendingOperation, ResourceGroupName, WebAppAction, WebAppName,
    WebAppSummary, WebApps,
    arm::Arm,
    compute::resource_group_of,
    lookup::sort_by_place,
    lro::{pending_from_raw, send_raw},
};

/// The App Service API version azure_mgmt_web's package-2024-04 speaks.
const API_VERSION: &str = "2024-04-01";

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
            let scope = match resource_group {
                Some(group) => format!(
                    "/subscriptions/{}/resourceGroups/{}",
                    self.arm.subscription_id,
                    group.as_str()
                ),
                None => format!("/subscriptions/{}", self.arm.subscription_id),
            };
            let first = format!("{scope}/providers/Microsoft.Web/sites?api-version={API_VERSION}");
            let (_, _, body) = self.arm.send_to_path(Method::Get, &first, None).await?;
            let mut page: SitePage = parse(&body)?;
            let mut summaries: Vec<WebAppSummary> = page.value.iter().map(site_summary).collect();
            while let Some(next) = page.next_link.take().filter(|link| !link.is_empty()) {
                let (_, _, body) = self.arm.get_absolute(&next).await?;
                page = parse(&body)?;
                summaries.extend(page.value.iter().map(site_summary));
            }
            sort_by_place(&mut summaries);
            Ok(summaries)
        })
    }

    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        Box::pin(async move {
            let path = format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/sites/{}?api-version={API_VERSION}",
                self.arm.subscription_id,
                resource_group.as_str(),
                name.as_str()
            );
            let (_, _, body) = self.arm.send_to_path(Method::Get, &path, None).await?;
            Ok(site_summary(&parse(&body)?))
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
            // with a URL, pending_from_raw follows that instead.
            pending_from_raw(match action {
                WebAppAction::Start => send_raw!(apps.start(group, app, subscription)),
                WebAppAction::Stop => send_raw!(apps.stop(group, app, subscription)),
                WebAppAction::Restart => send_raw!(apps.restart(group, app, subscription)),
            })
        })
    }
}

/// One page of a site list.
#[derive(Deserialize)]
struct SitePage {
    value: Vec<Site>,
    #[serde(rename = "nextLink")]
    next_link: Option<String>,
}

/// What azcord reads of a site.
#[derive(Deserialize)]
struct Site {
    id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    location: String,
    properties: Option<SiteProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteProperties {
    state: Option<String>,
    resource_group: Option<String>,
    default_host_name: Option<String>,
    server_farm_id: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AzureError> {
    serde_json::from_slice(body).map_err(|error| {
        AzureError::new(
            AzureErrorKind::Unexpected,
            format!("azure answered a web app that does not parse: {error}"),
        )
    })
}

/// What `/webapp list` and `/webapp status` show of a site.
fn site_summary(site: &Site) -> WebAppSummary {
    let id = site.id.as_deref().unwrap_or_default();
    let properties = site.properties.as_ref();
    WebAppSummary {
        name: site
            .name
            .clone()
            .unwrap_or_else(|| last_segment(id).to_owned()),
        resource_group: properties
            .and_then(|properties| properties.resource_group.clone())
            .or_else(|| resource_group_of(id).map(str::to_owned))
            .unwrap_or_default(),
        location: site.location.clone(),
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

    /// FIXME: azure_mgmt_web 0.21 reads these strings as XML text nodes, so its `Site`
    /// fails on every site App Service sends; when this starts to pass, the list and
    /// the get can go back to the generated client.
    #[test]
    fn the_generated_site_model_cannot_read_app_service_json() {
        let body = serde_json::json!({
            "location": "West Europe",
            "properties": {"state": "Running", "usageState": "Normal", "availabilityState": "Normal"}
        });
        let error = serde_json::from_value::<azure_mgmt_web::package_2024_04::models::Site>(body)
            .unwrap_err();
        assert!(
            error.to_string().contains("expected struct Field"),
            "{error}"
        );
    }

    #[test]
    fn sites_from_list_and_get_bodies() {
        let full = site(serde_json::json!({
            "id": "/subscriptions/s/resourceGroups/Prod-Web/providers/Microsoft.Web/sites/shop",
            "name": "shop", "type": "Microsoft.Web/sites", "kind": "app,linux",
            "location": "West Europe",
            "properties": {
                "state": "Running",
                "usageState": "Normal",
                "availabilityState": "Normal",
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
