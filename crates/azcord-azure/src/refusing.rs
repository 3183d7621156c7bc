//! [`Azure::refusing`]: an Azure whose every call fails with one error, for a bot with
//! no subscription and for tests that fake only the resource type they test.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::{
    Azure, AzureError, ContainerGroupAction, ContainerGroupName, ContainerGroupSummary,
    ContainerGroups, ContainerName, OperationStatus, Operations, PendingOperation,
    ResourceGroupName, VirtualMachines, VmAction, VmDetails, VmName, VmSummary, WebAppAction,
    WebAppName, WebAppSummary, WebApps,
};

impl Azure {
    /// An Azure whose every call, of every resource type, fails with `error`. Replace
    /// the parts a caller has: `Azure { vms, ..Azure::refusing(error) }`.
    pub fn refusing(error: AzureError) -> Self {
        let refusing = Arc::new(Refusing(error));
        Self {
            vms: refusing.clone(),
            container_groups: refusing.clone(),
            web_apps: refusing.clone(),
            operations: refusing,
        }
    }
}

/// Answers every call with its error.
struct Refusing(AzureError);

impl Refusing {
    fn refuse<T>(&self) -> BoxFuture<'static, Result<T, AzureError>> {
        let error = self.0.clone();
        Box::pin(async move { Err(error) })
    }
}

impl VirtualMachines for Refusing {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        self.refuse()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a VmName,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>> {
        self.refuse()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a VmName,
        _: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.refuse()
    }
}

impl ContainerGroups for Refusing {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>> {
        self.refuse()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>> {
        self.refuse()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
        _: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.refuse()
    }

    fn logs<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a ContainerGroupName,
        _: &'a ContainerName,
        _: Option<u32>,
    ) -> BoxFuture<'a, Result<String, AzureError>> {
        self.refuse()
    }
}

impl WebApps for Refusing {
    fn list<'a>(
        &'a self,
        _: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>> {
        self.refuse()
    }

    fn get<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        self.refuse()
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a WebAppName,
        _: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.refuse()
    }
}

impl Operations for Refusing {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        self.refuse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AzureErrorKind;

    #[tokio::test]
    async fn every_part_answers_the_error() {
        let error = AzureError::new(AzureErrorKind::Credential, "no subscription");
        let azure = Azure::refusing(error.clone());
        let group = ResourceGroupName::new("ops").unwrap();
        assert_eq!(azure.vms.list(Some(&group)).await.unwrap_err(), error);
        assert_eq!(azure.container_groups.list(None).await.unwrap_err(), error);
        assert_eq!(azure.web_apps.list(None).await.unwrap_err(), error);
        let pending = PendingOperation::Completed {
            correlation_id: None,
        };
        assert_eq!(azure.operations.poll(&pending).await.unwrap_err(), error);
    }
}
