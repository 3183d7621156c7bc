//! Building the [`Azure`] bundle from an [`AzureConfig`].

use std::sync::Arc;

use azure_core::{Url, auth::TokenCredential};

use crate::{
    Azure, AzureConfig, AzureError, AzureErrorKind,
    arm::Arm,
    compute::ArmVirtualMachines,
    containers::ArmContainerGroups,
    credentials,
    deployments::{ArmDeployments, Deployments},
    errors_map::map_error,
    lro::ArmOperations,
    pipeline,
    transport::Transports,
    web::ArmWebApps,
};

/// Connects to Azure Resource Manager: builds the credential and checks it by fetching
/// a token (so a wrong secret fails at startup, not at the first command), then the
/// clients, which all share one pipeline, one credential and the explicit scope
/// `<endpoint>/.default`.
pub async fn connect(config: AzureConfig) -> Result<Azure, AzureError> {
    connect_deployments(config).await.map(|(azure, _)| azure)
}

/// Connects as [`connect`] does, and also answers a [`Deployments`] client over the same
/// credential and pipeline, for delivery tooling that deploys templates.
pub async fn connect_deployments(
    config: AzureConfig,
) -> Result<(Azure, Arc<dyn Deployments>), AzureError> {
    let endpoint = Url::parse(&config.resource_manager_endpoint).map_err(|_| {
        AzureError::new(
            AzureErrorKind::Unexpected,
            format!(
                "the Resource Manager endpoint `{}` is not a URL",
                config.resource_manager_endpoint.escape_default()
            ),
        )
    })?;
    let scope = config.token_scope();
    let transports = Transports::new(&config.tls)?;
    let http_client = transports.arm.clone();
    let chain = credentials::credential(&config.credential, &transports, &config.retry)?;
    let credential: Arc<dyn TokenCredential> = chain.clone();
    credential
        .get_token(&[scope.as_str()])
        .await
        .map_err(|error| map_error(&error))?;
    tracing::info!(credential = chain.chosen(), endpoint = %endpoint, scope, "connected to azure resource manager");

    let scopes = vec![scope];
    let options = pipeline::client_options(
        &config.retry,
        credential.clone(),
        scopes.clone(),
        http_client,
    );
    let compute = azure_mgmt_compute::package_2024_07_01::Client::new(
        endpoint.clone(),
        credential.clone(),
        scopes.clone(),
        options.clone(),
    );
    let containers = azure_mgmt_containerinstance::package_preview_2024_05::Client::new(
        endpoint.clone(),
        credential.clone(),
        scopes.clone(),
        options.clone(),
    );
    let web = azure_mgmt_web::package_2024_04::Client::new(
        endpoint.clone(),
        credential.clone(),
        scopes.clone(),
        options.clone(),
    );
    let arm = Arc::new(Arm {
        subscription_id: config.subscription_id,
        endpoint,
        credential,
        scopes,
        pipeline: pipeline::pipeline(options),
    });
    let deployments: Arc<dyn Deployments> = Arc::new(ArmDeployments { arm: arm.clone() });
    let azure = Azure {
        vms: Arc::new(ArmVirtualMachines {
            client: compute,
            arm: arm.clone(),
        }),
        container_groups: Arc::new(ArmContainerGroups {
            client: containers,
            arm: arm.clone(),
        }),
        web_apps: Arc::new(ArmWebApps {
            client: web,
            arm: arm.clone(),
        }),
        operations: Arc::new(ArmOperations { arm }),
    };
    Ok((azure, deployments))
}
