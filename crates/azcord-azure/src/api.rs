//! The small traits the plugins use, so that Azure can be replaced by a fake in tests.

use std::{sync::Arc, time::Duration};

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use crate::{
    AzureError, AzureErrorKind, ContainerGroupAction, ContainerGroupName, ContainerGroupSummary,
    ContainerName, OperationStatus, PendingOperation, ResourceGroupName, VmAction, VmDetails,
    VmName, VmSummary, WebAppAction, WebAppName, WebAppSummary,
};

/// The VMs of one subscription.
pub trait VirtualMachines: Send + Sync {
    /// Every VM with its power state, in as few calls as paging allows; in one
    /// resource group if given.
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>>;

    /// One VM with its instance view.
    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a VmName,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>>;

    /// Starts an action and returns how to follow it; does not wait for it.
    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a VmName,
        action: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>>;
}

/// The container instances (container groups) of one subscription.
pub trait ContainerGroups: Send + Sync {
    /// Every container group, in one resource group if given.
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>>;

    /// One container group with its containers' states.
    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>>;

    /// Starts an action and returns how to follow it; does not wait for it.
    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        action: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>>;

    /// The last `tail` lines (all if `None`) of one container's log.
    fn logs<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        container: &'a ContainerName,
        tail: Option<u32>,
    ) -> BoxFuture<'a, Result<String, AzureError>>;
}

/// The App Service web apps of one subscription.
pub trait WebApps: Send + Sync {
    /// Every web app, in one resource group if given.
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>>;

    /// One web app.
    fn get<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>>;

    /// Starts an action and returns how to follow it. App Service acts synchronously,
    /// so this is `PendingOperation::Completed` once Azure has answered.
    fn begin<'a>(
        &'a self,
        resource_group: &'a ResourceGroupName,
        name: &'a WebAppName,
        action: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>>;
}

/// Polls long-running operations.
pub trait Operations: Send + Sync {
    /// Asks once where an operation stands.
    fn poll<'a>(
        &'a self,
        operation: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>>;
}

/// Everything the plugins need from Azure.
#[derive(Clone)]
pub struct Azure {
    /// VMs.
    pub vms: Arc<dyn VirtualMachines>,
    /// Container groups.
    pub container_groups: Arc<dyn ContainerGroups>,
    /// App Service web apps.
    pub web_apps: Arc<dyn WebApps>,
    /// Operation polling.
    pub operations: Arc<dyn Operations>,
}

/// How patiently to wait for a long-running operation.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// The longest the whole operation may take.
    pub deadline: Duration,
    /// How long to wait between polls when Azure sends no Retry-After.
    pub default_interval: Duration,
    /// The longest wait between polls, whatever Retry-After says.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(15 * 60),
            default_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
        }
    }
}

/// Polls `operation` until it succeeds, fails, is cancelled or runs past the deadline,
/// pacing the polls by Azure's Retry-After. `on_poll` hears the elapsed time after
/// every poll, for progress messages.
pub async fn wait_for(
    operations: &dyn Operations,
    operation: &PendingOperation,
    options: WaitOptions,
    mut on_poll: impl FnMut(Duration) + Send,
) -> Result<(), AzureError> {
    let started = Instant::now();
    let deadline = started + options.deadline;
    let PendingOperation::Running { retry_after, .. } = operation else {
        return Ok(());
    };
    let mut wait = retry_after.unwrap_or(options.default_interval);
    loop {
        let next = (Instant::now() + wait.min(options.max_interval)).min(deadline);
        tokio::time::sleep_until(next).await;
        match operations.poll(operation).await? {
            OperationStatus::Succeeded => return Ok(()),
            OperationStatus::Failed { code, message } => {
                return Err(AzureError {
                    code: Some(code),
                    correlation_id: operation.correlation_id().map(str::to_owned),
                    ..AzureError::new(AzureErrorKind::OperationFailed, message)
                });
            }
            OperationStatus::Canceled => {
                return Err(AzureError::new(
                    AzureErrorKind::OperationFailed,
                    "the operation was cancelled",
                ));
            }
            OperationStatus::InProgress { retry_after } => {
                on_poll(started.elapsed());
                if Instant::now() >= deadline {
                    return Err(AzureError::new(
                        AzureErrorKind::Timeout,
                        format!(
                            "the operation did not finish within {} s",
                            options.deadline.as_secs()
                        ),
                    ));
                }
                wait = retry_after.unwrap_or(options.default_interval);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::PollKind;

    /// Answers polls from a script.
    struct Script(Mutex<Vec<OperationStatus>>);

    impl Operations for Script {
        fn poll<'a>(
            &'a self,
            _: &'a PendingOperation,
        ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
            let next = self.0.lock().unwrap().remove(0);
            Box::pin(async move { Ok(next) })
        }
    }

    fn running(retry_after: u64) -> PendingOperation {
        PendingOperation::Running {
            url: "http://arm/operations/1".into(),
            kind: PollKind::AsyncOperation,
            retry_after: Some(Duration::from_secs(retry_after)),
            correlation_id: Some("corr-1".into()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn polls_are_paced_by_retry_after_until_the_end() {
        let in_progress = |secs| OperationStatus::InProgress {
            retry_after: Some(Duration::from_secs(secs)),
        };
        let script = Script(Mutex::new(vec![
            in_progress(2),
            in_progress(3),
            OperationStatus::Succeeded,
        ]));
        let mut ticks = Vec::new();
        let started = Instant::now();
        wait_for(&script, &running(1), WaitOptions::default(), |elapsed| {
            ticks.push(elapsed.as_secs())
        })
        .await
        .unwrap();
        assert_eq!(
            ticks,
            [1, 3],
            "polled after 1 s, then 2 s later, then 3 s later"
        );
        assert_eq!(started.elapsed().as_secs(), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_and_deadlines_end_the_wait() {
        let failed = OperationStatus::Failed {
            code: "VMAgentNotReady".into(),
            message: "the agent is not ready".into(),
        };
        let error = wait_for(
            &Script(Mutex::new(vec![failed])),
            &running(1),
            WaitOptions::default(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(
            (error.kind, error.code.as_deref()),
            (AzureErrorKind::OperationFailed, Some("VMAgentNotReady"))
        );
        assert_eq!(error.correlation_id.as_deref(), Some("corr-1"));

        let forever = (0..100)
            .map(|_| OperationStatus::InProgress { retry_after: None })
            .collect();
        let options = WaitOptions {
            deadline: Duration::from_secs(30),
            ..WaitOptions::default()
        };
        let error = wait_for(&Script(Mutex::new(forever)), &running(1), options, |_| {})
            .await
            .unwrap_err();
        assert_eq!(error.kind, AzureErrorKind::Timeout);
    }
}
