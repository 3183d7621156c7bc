//! Long-running operations as ARM exposes them: the 202 with `Azure-AsyncOperation`,
//! `Location` and `Retry-After`, and the two ways of polling.
//!
//! * The Azure-AsyncOperation URL always answers 200 with
//!   `{"name", "startTime", "status", "endTime"?, "error"?}`; `status` is `InProgress`,
//!   `Succeeded` or `Failed`, and `Retry-After` comes with `InProgress`.
//! * The Location URL (the same URL with `monitor=true`) answers 202 while running,
//!   200 with no body on success, and the error (409) on failure.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::json;

use super::{
    clock,
    error::{ArmError, retry_after_headers},
    server::{Ctx, empty},
    state::{OperationStatus, State},
};

/// The Azure-AsyncOperation URL of operation `id`, served under a provider's locations,
/// e.g. `.../providers/Microsoft.Compute/locations/westeurope/operations/{id}?api-version=...`.
pub(crate) fn provider_operation_url(
    ctx: &Ctx<'_>,
    provider: &str,
    location: &str,
    id: &str,
) -> String {
    format!(
        "{}subscriptions/{}/providers/{provider}/locations/{location}/operations/{id}?api-version={}",
        ctx.endpoint,
        ctx.subscription(),
        ctx.api_version
    )
}

/// The Location URL: the status URL with `monitor=true`.
pub(crate) fn monitor_url(operation_url: &str) -> String {
    operation_url.replacen('?', "?monitor=true&", 1)
}

/// A 202 Accepted that starts polling: `Azure-AsyncOperation`, optional `Location`, `Retry-After`.
pub(crate) fn accepted(ctx: &Ctx<'_>, operation_url: &str, location: Option<&str>) -> Response {
    accepted_with(ctx, StatusCode::ACCEPTED, operation_url, location)
}

/// An answer with `status` (202, or 204 for operations whose specification declares only
/// 204) and the polling headers of [`accepted`].
pub(crate) fn accepted_with(
    ctx: &Ctx<'_>,
    status: StatusCode,
    operation_url: &str,
    location: Option<&str>,
) -> Response {
    let mut response = empty(status);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(operation_url) {
        headers.insert(HeaderName::from_static("azure-asyncoperation"), value);
    }
    if let Some(location) = location
        && let Ok(value) = HeaderValue::from_str(location)
    {
        headers.insert(header::LOCATION, value);
    }
    headers.extend(retry_after_headers(ctx.config.retry_after));
    response
}

/// `GET` of an operation URL, in either polling style.
pub(crate) fn status(ctx: &Ctx<'_>, state: &State, id: &str) -> Result<Response, ArmError> {
    let operation = state.operation(id).ok_or_else(|| {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The operation '{id}' was not found."),
        )
    })?;
    let in_progress = operation.status == OperationStatus::InProgress;
    let mut response = if ctx.query.flag("monitor") {
        match &operation.status {
            OperationStatus::InProgress => {
                let mut response = empty(StatusCode::ACCEPTED);
                let url = format!(
                    "{}{}?{}",
                    ctx.endpoint.trim_end_matches('/'),
                    ctx.path,
                    ctx.query.raw().unwrap_or_default()
                );
                if let Ok(value) = HeaderValue::from_str(&url) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                response
            }
            OperationStatus::Succeeded => empty(StatusCode::OK),
            OperationStatus::Failed(error) => {
                ArmError::conflict(&error.code, &error.message).into_response()
            }
        }
    } else {
        let mut body = json!({
            "name": operation.id,
            "startTime": clock::rfc3339(operation.started_at),
            "status": operation.status.as_str(),
        });
        if let Some(ended_at) = operation.ended_at {
            body["endTime"] = json!(clock::rfc3339(ended_at));
        }
        if let OperationStatus::Failed(error) = &operation.status {
            body["error"] = error.to_json();
        }
        (StatusCode::OK, Json(body)).into_response()
    };
    if in_progress {
        response
            .headers_mut()
            .extend(retry_after_headers(ctx.config.retry_after));
    }
    Ok(response)
}
