//! Error answers: ARM's `{"error": {"code", "message"}}` and AAD's OAuth error bodies.

use std::time::{Duration, SystemTime};

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::{HeaderName, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::{clock, ident::random_guid};

/// The `{code, message, target?, details?}` inside an ARM error, also an LRO's `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorDetail {
    pub(crate) code: String,
    pub(crate) message: String,
    /// What the error is about, e.g. a resource id.
    pub(crate) target: Option<String>,
    /// The errors behind this one (a failed deployment lists its resources' errors).
    pub(crate) details: Vec<ErrorDetail>,
    /// ARM's `additionalInfo` entries, e.g. a `TemplateViolation` with the path.
    pub(crate) additional_info: Vec<Value>,
}

impl ErrorDetail {
    pub(crate) fn new(code: &str, message: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
            target: None,
            details: Vec::new(),
            additional_info: Vec::new(),
        }
    }

    /// The same error, about `target`.
    pub(crate) fn with_target(self, target: &str) -> Self {
        Self {
            target: Some(target.to_owned()),
            ..self
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(target) = &self.target {
            body["target"] = json!(target);
        }
        if !self.details.is_empty() {
            body["details"] = Value::Array(self.details.iter().map(Self::to_json).collect());
        }
        if !self.additional_info.is_empty() {
            body["additionalInfo"] = Value::Array(self.additional_info.clone());
        }
        body
    }
}

/// An ARM error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArmError {
    pub(crate) status: StatusCode,
    /// Boxed: a deployment error with details is large, and errors travel in `Result`s.
    pub(crate) detail: Box<ErrorDetail>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl ArmError {
    pub(crate) fn new(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            detail: Box::new(ErrorDetail::new(code, message)),
            headers: Vec::new(),
        }
    }

    pub(crate) fn bad_request(code: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn conflict(code: &str, message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// An error with a full detail (target, details, additional info).
    pub(crate) fn with_detail(status: StatusCode, detail: ErrorDetail) -> Self {
        Self {
            status,
            detail: Box::new(detail),
            headers: Vec::new(),
        }
    }

    /// A 401 with ARM's `WWW-Authenticate` challenge pointing at the tenant's authority.
    pub(crate) fn unauthorized(code: &str, message: &str, authority: &str) -> Self {
        let challenge = format!(
            "Bearer authorization_uri=\"{authority}\", error=\"invalid_token\", error_description=\"{message}\""
        );
        let mut error = Self::new(StatusCode::UNAUTHORIZED, code, message);
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            error.headers.push((header::WWW_AUTHENTICATE, value));
        }
        error
    }

    pub(crate) fn missing_api_version() -> Self {
        Self::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    pub(crate) fn subscription_not_found(subscription: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{subscription}' could not be found."),
        )
    }

    pub(crate) fn resource_group_not_found(group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{group}' could not be found."),
        )
    }

    /// `resource_type` is e.g. `Microsoft.Compute/virtualMachines`.
    pub(crate) fn resource_not_found(resource_type: &str, name: &str, group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource '{resource_type}/{name}' under resource group '{group}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// A path no simulated resource provider serves.
    pub(crate) fn unknown_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            &format!("The resource type of '{path}' is not served by this simulator."),
        )
    }

    pub(crate) fn method_not_allowed(method: &http::Method, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!("The method '{method}' is not supported on '{path}' by this simulator."),
        )
    }

    pub(crate) fn invalid_request_content(reason: &str) -> Self {
        Self::bad_request(
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{reason}'."),
        )
    }

    /// 429 with ARM's throttling body and `Retry-After`.
    pub(crate) fn throttled(retry_after: Duration) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - \
             Read_ObservationWindow_00:05:00. For more information, refer to - https://aka.ms/armthrottling",
        );
        error.headers.extend(retry_after_headers(retry_after));
        error
    }

    /// An injected failure with any status (an invalid status becomes 500).
    pub(crate) fn injected(status: u16, code: &str, message: &str) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, code, message)
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.detail.to_json() });
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// `Retry-After` in whole seconds (rounded up, as the header only carries integers) and
/// `x-ms-retry-after-ms` with the exact value, which azure_core's retry policy and LRO
/// helpers read first; with it, tests can use sub-second values.
pub(crate) fn retry_after_headers(retry_after: Duration) -> [(HeaderName, HeaderValue); 2] {
    let whole_seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let millis = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
    [
        (header::RETRY_AFTER, HeaderValue::from(whole_seconds)),
        (
            HeaderName::from_static("x-ms-retry-after-ms"),
            HeaderValue::from(millis),
        ),
    ]
}

/// An AAD token endpoint error: `{"error", "error_description", "error_codes", ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AadError {
    pub(crate) status: StatusCode,
    /// The OAuth error, e.g. `invalid_client`.
    pub(crate) error: &'static str,
    /// The AADSTS number, e.g. 7000215.
    pub(crate) code: u32,
    pub(crate) description: String,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: &str,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.to_owned(),
        }
    }

    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            &format!("The request body must contain the following parameter: '{name}'."),
        )
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let now = SystemTime::now();
        let timestamp = clock::aad_timestamp(now);
        let trace_id = random_guid();
        let correlation_id = random_guid();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}
