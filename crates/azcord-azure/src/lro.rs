//! Long-running operations, read from raw answers: the 0.21 crates' action calls
//! return on the first 202 without following it, and their own polling loop re-sends
//! PUTs and misreads `provisioningState`, so azcord reads the headers itself.

use std::{sync::Arc, time::Duration};

use azure_core::headers::{AZURE_ASYNCOPERATION, HeaderName, Headers, LOCATION};
use futures_util::future::BoxFuture;

use crate::{
    AzureError, AzureErrorKind, OperationStatus, Operations, PendingOperation, PollKind,
    arm::Arm,
    errors_map::parse_error_body,
    pipeline::{CORRELATION_ID, retry_after},
};

/// Sends an azure_mgmt 0.21 request builder and gives its raw answer: `.send()`, never
/// `.await` on the builder, which would read the body and lose the 202's poll URL.
macro_rules! send_raw {
    ($builder:expr) => {
        $builder
            .send()
            .await
            .map(|response| response.into_raw_response())
    };
}
pub(crate) use send_raw;

/// Sends an azure_mgmt 0.21 request builder and reads its body, with Azure's error
/// mapped to an [`AzureError`].
macro_rules! send_for_body {
    ($builder:expr) => {
        async { $builder.send().await?.into_body().await }
            .await
            .map_err(|error| crate::errors_map::map_error(&error))
    };
}
pub(crate) use send_for_body;

/// How to follow an action, from Azure's raw first answer (see [`send_raw`]) or the
/// error it gave.
pub(crate) fn pending_from_raw(
    answer: azure_core::Result<azure_core::Response>,
) -> Result<PendingOperation, AzureError> {
    let response = answer.map_err(|error| crate::errors_map::map_error(&error))?;
    Ok(pending_from_response(
        response.status() as u16,
        response.headers(),
    ))
}

/// How to follow an action, from the status and headers of Azure's first answer:
/// 201 or 202 with `Azure-AsyncOperation` (preferred) or `Location` is running, and so is
/// 204 with `Azure-AsyncOperation` (ACI's restart is a long-running operation whose
/// specification declares only 204); anything else that succeeded is done.
pub(crate) fn pending_from_response(status: u16, headers: &Headers) -> PendingOperation {
    let correlation_id = headers.get_optional_string(&CORRELATION_ID);
    let header = |name: &HeaderName| {
        headers
            .get_optional_str(name)
            .map(str::trim)
            .filter(|url| !url.is_empty())
    };
    let poll = match status {
        201 | 202 => header(&AZURE_ASYNCOPERATION)
            .map(|url| (url, PollKind::AsyncOperation))
            .or_else(|| header(&LOCATION).map(|url| (url, PollKind::Location))),
        204 => header(&AZURE_ASYNCOPERATION).map(|url| (url, PollKind::AsyncOperation)),
        _ => None,
    };
    match poll {
        Some((url, kind)) => PendingOperation::Running {
            url: url.to_owned(),
            kind,
            retry_after: retry_after(headers),
            correlation_id,
        },
        None => {
            if status == 202 {
                tracing::warn!(
                    "azure accepted the action without a URL to follow it; treating it as done"
                );
            }
            PendingOperation::Completed { correlation_id }
        }
    }
}

/// Where an operation stands, from one poll's answer (which succeeded: failures are
/// errors of the call).
pub(crate) fn operation_status(
    kind: PollKind,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<OperationStatus, AzureError> {
    let in_progress = OperationStatus::InProgress { retry_after };
    match kind {
        PollKind::Location => Ok(if status == 202 {
            in_progress
        } else {
            OperationStatus::Succeeded
        }),
        PollKind::AsyncOperation => {
            #[derive(serde::Deserialize)]
            struct Body {
                status: Option<String>,
            }
            let state = serde_json::from_slice::<Body>(body)
                .ok()
                .and_then(|body| body.status);
            match state.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("succeeded") => Ok(OperationStatus::Succeeded),
                Some("failed") => {
                    let (code, message) = parse_error_body(body).unwrap_or_default();
                    Ok(OperationStatus::Failed {
                        code: code.unwrap_or_else(|| "OperationFailed".to_owned()),
                        message: message.unwrap_or_else(|| "the operation failed".to_owned()),
                    })
                }
                Some("canceled" | "cancelled") => Ok(OperationStatus::Canceled),
                // InProgress, and the non-terminal states some providers use (Accepted,
                // Running, Creating, ...).
                Some(_) => Ok(in_progress),
                None if status == 202 => Ok(in_progress),
                None => Err(AzureError {
                    status: Some(status),
                    ..AzureError::new(
                        AzureErrorKind::Unexpected,
                        "the operation status has no `status`",
                    )
                }),
            }
        }
    }
}

/// [`Operations`] over the ARM pipeline.
pub(crate) struct ArmOperations {
    pub(crate) arm: Arc<Arm>,
}

impl Operations for ArmOperations {
    fn poll<'a>(
        &'a self,
        operation: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        Box::pin(async move {
            let PendingOperation::Running { url, kind, .. } = operation else {
                return Ok(OperationStatus::Succeeded);
            };
            let (status, headers, body) = self.arm.get_absolute(url).await?;
            operation_status(*kind, status, retry_after(&headers), &body).map_err(|error| {
                AzureError {
                    correlation_id: headers.get_optional_string(&CORRELATION_ID),
                    ..error
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.insert(name.to_string(), value.to_string());
        }
        headers
    }

    #[test]
    fn first_answers_say_how_to_follow() {
        let op = "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/operations/1";
        let loc = "https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/operationResults/1";
        let running = |url: &str, kind, secs: Option<u64>| PendingOperation::Running {
            url: url.to_owned(),
            kind,
            retry_after: secs.map(Duration::from_secs),
            correlation_id: Some("corr".into()),
        };
        let done = PendingOperation::Completed {
            correlation_id: Some("corr".into()),
        };
        let corr = ("x-ms-correlation-request-id", "corr");
        let table = [
            (
                202,
                vec![
                    corr,
                    ("azure-asyncoperation", op),
                    ("location", loc),
                    ("retry-after", "10"),
                ],
                running(op, PollKind::AsyncOperation, Some(10)),
            ),
            (
                202,
                vec![corr, ("location", loc)],
                running(loc, PollKind::Location, None),
            ),
            (
                201,
                vec![corr, ("azure-asyncoperation", op)],
                running(op, PollKind::AsyncOperation, None),
            ),
            (202, vec![corr, ("azure-asyncoperation", " ")], done.clone()),
            (202, vec![corr], done.clone()),
            (200, vec![corr, ("azure-asyncoperation", op)], done.clone()),
            (
                204,
                vec![corr, ("azure-asyncoperation", op)],
                running(op, PollKind::AsyncOperation, None),
            ),
            (204, vec![corr, ("location", loc)], done.clone()),
            (204, vec![corr], done),
            (
                204,
                vec![],
                PendingOperation::Completed {
                    correlation_id: None,
                },
            ),
        ];
        for (status, pairs, expected) in table {
            assert_eq!(
                pending_from_response(status, &headers(&pairs)),
                expected,
                "{status} {pairs:?}"
            );
        }
    }

    #[test]
    fn poll_answers_map_to_statuses() {
        let wait = Some(Duration::from_secs(3));
        let in_progress = Ok(OperationStatus::InProgress { retry_after: wait });
        let failed = |code: &str, message: &str| {
            Ok(OperationStatus::Failed {
                code: code.to_owned(),
                message: message.to_owned(),
            })
        };
        let table: Vec<(PollKind, u16, &str, Result<OperationStatus, AzureErrorKind>)> = vec![
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"InProgress"}"#,
                in_progress.clone(),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Accepted"}"#,
                in_progress.clone(),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Succeeded","endTime":"2024-01-01T00:00:00Z"}"#,
                Ok(OperationStatus::Succeeded),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"succeeded"}"#,
                Ok(OperationStatus::Succeeded),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Failed","error":{"code":"VMAgentNotReady","message":"The VM agent is not ready."}}"#,
                failed("VMAgentNotReady", "The VM agent is not ready."),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Failed"}"#,
                failed("OperationFailed", "the operation failed"),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Canceled"}"#,
                Ok(OperationStatus::Canceled),
            ),
            (
                PollKind::AsyncOperation,
                200,
                r#"{"status":"Cancelled"}"#,
                Ok(OperationStatus::Canceled),
            ),
            (PollKind::AsyncOperation, 202, "", in_progress.clone()),
            (
                PollKind::AsyncOperation,
                200,
                "<html/>",
                Err(AzureErrorKind::Unexpected),
            ),
            (PollKind::Location, 202, "", in_progress),
            (
                PollKind::Location,
                200,
                "{}",
                Ok(OperationStatus::Succeeded),
            ),
            (PollKind::Location, 204, "", Ok(OperationStatus::Succeeded)),
        ];
        for (kind, status, body, expected) in table {
            let actual =
                operation_status(kind, status, wait, body.as_bytes()).map_err(|error| error.kind);
            assert_eq!(actual, expected, "{kind:?} {status} {body}");
        }
    }
}
