//! ARM template deployments to a resource group: begin one, and read how it ended.
//!
//! azcord sends these itself over the shared pipeline rather than through
//! azure_mgmt_resources: one PUT and one GET need no generated client, and the PUT is a
//! long-running operation that [`crate::wait_for`] follows like every other.

use std::sync::Arc;

use azcord_secret::Secret;
use azure_core::Method;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};

use crate::{
    AzureError, AzureErrorKind, DeploymentName, PendingOperation, ResourceGroupName, arm::Arm,
    lro::pending_from_response,
};

/// The `api-version` of `Microsoft.Resources/deployments`.
const API_VERSION: &str = "2024-03-01";

/// Template deployments in one subscription.
pub trait Deployments: Send + Sync {
    /// Starts deploying `deployment` as `name` in `resource_group`; does not wait.
    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a DeploymentName,
        deployment: &'a TemplateDeployment,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>>;

    /// Where a deployment stands, with Azure's error when it failed.
    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a DeploymentName,
    ) -> BoxFuture<'a, Result<DeploymentSummary, AzureError>>;
}

/// What to deploy: an inline template and its parameters, in incremental mode.
#[derive(Debug, Clone)]
pub struct TemplateDeployment {
    /// The deploymentTemplate document.
    pub template: Value,
    /// Parameter values by name, in the order given.
    pub parameters: Vec<(String, ParameterValue)>,
}

/// One parameter's value.
#[derive(Debug, Clone)]
pub enum ParameterValue {
    /// Any JSON value, shown as it is.
    Plain(Value),
    /// A `secureString` value: sent to Azure, never shown.
    Secure(Secret),
}

/// A deployment as Azure reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSummary {
    /// `properties.provisioningState`: `Accepted`, `Running`, `Succeeded`, `Failed`, ...
    pub provisioning_state: String,
    /// `properties.error`, when the deployment failed.
    pub error: Option<DeploymentError>,
}

/// Azure's account of a failed deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DeploymentError {
    /// Such as `DeploymentFailed` or `InvalidTemplate`.
    pub code: String,
    /// Azure's message.
    #[serde(default)]
    pub message: String,
    /// The resource at fault, when Azure names one.
    #[serde(default)]
    pub target: Option<String>,
    /// The underlying errors, often one per failed resource.
    #[serde(default)]
    pub details: Vec<DeploymentError>,
}

impl TemplateDeployment {
    /// The PUT body Azure expects: `{"properties": {"mode", "template", "parameters"}}`.
    ///
    /// Holds secure values in clear: send it, never log it.
    pub fn request_body(&self) -> Value {
        let parameters: Map<String, Value> = self
            .parameters
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    ParameterValue::Plain(value) => value.clone(),
                    ParameterValue::Secure(secret) => Value::String(secret.expose().to_owned()),
                };
                (name.clone(), json!({ "value": value }))
            })
            .collect();
        json!({
            "properties": {
                "mode": "Incremental",
                "template": self.template,
                "parameters": parameters,
            }
        })
    }
}

impl DeploymentError {
    /// The innermost errors: the ones that name what failed, rather than "at least one
    /// resource deployment operation failed".
    pub fn root_causes(&self) -> Vec<&DeploymentError> {
        if self.details.is_empty() {
            return vec![self];
        }
        self.details
            .iter()
            .flat_map(DeploymentError::root_causes)
            .collect()
    }

    /// The error as an [`AzureError`]: Azure's outer code, and a message that names each
    /// failing resource with its own code and message.
    pub fn into_azure_error(self) -> AzureError {
        let causes: Vec<String> = self
            .root_causes()
            .into_iter()
            .filter(|cause| !std::ptr::eq(*cause, &self))
            .map(|cause| match &cause.target {
                Some(target) => format!("{target}: {} ({})", cause.message, cause.code),
                None => format!("{} ({})", cause.message, cause.code),
            })
            .collect();
        let message = if causes.is_empty() {
            self.message.clone()
        } else {
            format!("{}; {}", self.message, causes.join("; "))
        };
        AzureError {
            code: Some(self.code.clone()),
            ..AzureError::new(AzureErrorKind::OperationFailed, message)
        }
    }
}

/// [`Deployments`] over the ARM pipeline.
pub(crate) struct ArmDeployments {
    pub(crate) arm: Arc<Arm>,
}

impl ArmDeployments {
    fn path(&self, resource_group: &ResourceGroupName, name: &DeploymentName) -> String {
        format!(
            "/subscriptions/{}/resourcegroups/{}/providers/Microsoft.Resources/deployments/{}?api-version={API_VERSION}",
            self.arm.subscription_id,
            resource_group.as_str(),
            name.as_str()
        )
    }
}

impl Deployments for ArmDeployments {
    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a DeploymentName,
        deployment: &'a TemplateDeployment,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&deployment.request_body())
                .map_err(|error| AzureError::new(AzureErrorKind::Unexpected, error.to_string()))?;
            let (status, headers, _) = self
                .arm
                .send_to_path(Method::Put, &self.path(resource_group, name), Some(body))
                .await?;
            Ok(pending_from_response(status, &headers))
        })
    }

    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a DeploymentName,
    ) -> BoxFuture<'a, Result<DeploymentSummary, AzureError>> {
        Box::pin(async move {
            let (_, _, body) = self
                .arm
                .send_to_path(Method::Get, &self.path(resource_group, name), None)
                .await?;
            parse_deployment(&body)
        })
    }
}

fn parse_deployment(body: &[u8]) -> Result<DeploymentSummary, AzureError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Properties {
        provisioning_state: String,
        error: Option<DeploymentError>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        properties: Properties,
    }
    let body: Body = serde_json::from_slice(body).map_err(|error| {
        AzureError::new(
            AzureErrorKind::Unexpected,
            format!("azure answered a deployment that does not parse: {error}"),
        )
    })?;
    Ok(DeploymentSummary {
        provisioning_state: body.properties.provisioning_state,
        error: body.properties.error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_secure_values_and_the_debug_form_hides_them() {
        let deployment = TemplateDeployment {
            template: json!({"resources": []}),
            parameters: vec![
                (
                    "image".to_owned(),
                    ParameterValue::Plain(json!("r.io/a@sha256:1")),
                ),
                (
                    "discordToken".to_owned(),
                    ParameterValue::Secure(Secret::new("tok-123")),
                ),
            ],
        };
        let body = deployment.request_body();
        assert_eq!(body["properties"]["mode"], "Incremental");
        assert_eq!(
            body["properties"]["parameters"]["image"]["value"],
            "r.io/a@sha256:1"
        );
        assert_eq!(
            body["properties"]["parameters"]["discordToken"]["value"],
            "tok-123"
        );
        assert!(!format!("{deployment:?}").contains("tok-123"));
    }

    #[test]
    fn a_failed_deployment_names_the_failing_resource() {
        let body = br#"{"properties": {"provisioningState": "Failed", "error": {
            "code": "DeploymentFailed",
            "message": "At least one resource deployment operation failed.",
            "details": [{"code": "InaccessibleImage", "target": "/subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerInstance/containerGroups/azcord",
                         "message": "The image 'r.io/azcord@sha256:1' in container group 'azcord' is not accessible."}]}}}"#;
        let summary = parse_deployment(body).unwrap();
        assert_eq!(summary.provisioning_state, "Failed");
        let error = summary.error.unwrap().into_azure_error();
        assert_eq!(error.code.as_deref(), Some("DeploymentFailed"));
        expect_test::expect![[r#"At least one resource deployment operation failed.; /subscriptions/s/resourceGroups/g/providers/Microsoft.ContainerInstance/containerGroups/azcord: The image 'r.io/azcord@sha256:1' in container group 'azcord' is not accessible. (InaccessibleImage)"#]]
        .assert_eq(&error.message);
    }
}
