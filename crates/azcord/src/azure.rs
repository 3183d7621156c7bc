//! Which Azure the bot talks to: a real subscription, the built-in simulator, or none.

use std::sync::Arc;

use azcord_azure::{
    Azure, AzureError, AzureErrorKind, ContainerGroupAction, ContainerGroupName,
    ContainerGroupSummary, ContainerGroups, ContainerName, OperationStatus, Operations,
    PendingOperation, ResourceGroupName, VirtualMachines, VmAction, VmDetails, VmName, VmSummary,
    WebAppAction, WebAppName, WebAppSummary, WebApps,
};
use azcord_command::BoxFuture;

/// Azure for a bot with no subscription configured: every call explains what to set.
pub(crate) fn unconfigured() -> Azure {
    let none = Arc::new(Unconfigured);
    Azure {
        vms: none.clone(),
        container_groups: none.clone(),
        web_apps: none.clone(),
        operations: none,
    }
}

struct Unconfigured;

fn refusal<T>() -> BoxFuture<'static, Result<T, AzureError>> {
    Box::pin(async {
        Err(AzureError {
            code: Some("NotConfigured".to_owned()),
            ..AzureError::new(
                AzureErrorKind::Credential,
                "this azcord has no Azure subscription configured; its operators set AZURE_SUBSCRIPTION_ID and credentials",
            )
        })
    })
}

impl VirtualMachines for Unconfigured {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        refusal()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a VmName,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>> {
        refusal()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a VmName,
        _: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        refusal()
    }
}

impl ContainerGroups for Unconfigured {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>> {
        refusal()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>> {
        refusal()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
        _: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        refusal()
    }

    fn logs<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
        _: &'a ContainerName,
        _: Option<u32>,
    ) -> BoxFuture<'a, Result<String, AzureError>> {
        refusal()
    }
}

impl WebApps for Unconfigured {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>> {
        refusal()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        refusal()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a WebAppName,
        _: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        refusal()
    }
}

impl Operations for Unconfigured {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        refusal()
    }
}
