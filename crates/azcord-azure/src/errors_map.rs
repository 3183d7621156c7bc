//! Turning azure_core's errors into [`AzureError`]: Azure's code and message, the
//! status, the correlation id and the Retry-After of the last attempt.

use std::{fmt, time::Duration};

use azure_core::error::ErrorKind;

use crate::{AzureError, AzureErrorKind};

/// What the pipeline saw of the attempts of one ARM call. azure_core keeps the headers
/// of a failed response private, so the pipeline notes what azcord needs from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallRecord {
    /// How many requests were sent, retries and the re-authentication included.
    pub(crate) attempts: u32,
    /// The status of the last answer.
    pub(crate) status: Option<u16>,
    /// The `x-ms-correlation-request-id` of the last answer.
    pub(crate) correlation_id: Option<String>,
    /// The `Retry-After` of the last answer.
    pub(crate) retry_after: Option<Duration>,
}

/// A failed ARM call: azure_core's error with the [`CallRecord`] of the call.
#[derive(Debug)]
pub(crate) struct ArmCallError {
    pub(crate) record: CallRecord,
    pub(crate) source: azure_core::Error,
}

impl fmt::Display for ArmCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl std::error::Error for ArmCallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Maps any error of an ARM call (or of getting its token) to an [`AzureError`].
pub(crate) fn map_error(error: &azure_core::Error) -> AzureError {
    // The pipeline's wrapper carries the record; its own text is already a mapping.
    match find_in_chain::<ArmCallError>(error) {
        Some(call) => map_with_record(&call.source, call.record.clone()),
        None => map_with_record(error, CallRecord::default()),
    }
}

fn map_with_record(error: &azure_core::Error, record: CallRecord) -> AzureError {
    match error.kind() {
        ErrorKind::HttpResponse { status, error_code } => {
            let http = error.as_http_error();
            let code = error_code
                .clone()
                .or_else(|| http.and_then(|http| http.error_code().map(str::to_owned)));
            let message = http
                .and_then(|http| http.error_message())
                .map(str::to_owned);
            from_response(*status as u16, code, message, &record)
        }
        ErrorKind::Credential => AzureError {
            correlation_id: record.correlation_id,
            ..AzureError::new(
                AzureErrorKind::Credential,
                format!("no Azure token: {}", chain_message(error)),
            )
        },
        ErrorKind::Io => AzureError {
            correlation_id: record.correlation_id,
            ..AzureError::new(
                AzureErrorKind::Transport,
                format!("could not reach Azure: {}", chain_message(error)),
            )
        },
        ErrorKind::DataConversion => AzureError {
            status: record.status,
            correlation_id: record.correlation_id,
            ..AzureError::new(
                AzureErrorKind::Unexpected,
                format!("could not read Azure's answer: {}", chain_message(error)),
            )
        },
        _ => AzureError {
            status: record.status,
            correlation_id: record.correlation_id,
            ..AzureError::new(AzureErrorKind::Unexpected, chain_message(error))
        },
    }
}

/// An error from a failed HTTP answer: its status, Azure's code and message, and the
/// record of the call.
pub(crate) fn from_response(
    status: u16,
    code: Option<String>,
    message: Option<String>,
    record: &CallRecord,
) -> AzureError {
    let kind = kind_for_status(status);
    let message = message
        .map(|message| message.trim().to_owned())
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| default_message(status));
    AzureError {
        kind,
        status: Some(status),
        code,
        message,
        correlation_id: record.correlation_id.clone(),
        retry_after: if kind == AzureErrorKind::Throttled {
            record.retry_after
        } else {
            None
        },
    }
}

/// Azure's `{"error": {"code", "message"}}` (or the same at the top level), as sent
/// with failed answers and failed operations.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    #[derive(serde::Deserialize)]
    struct Detail {
        #[serde(alias = "Code")]
        code: Option<String>,
        #[serde(alias = "Message")]
        message: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(alias = "Error")]
        error: Option<Detail>,
        #[serde(flatten)]
        top: Detail,
    }
    let body: Body = serde_json::from_slice(body).ok()?;
    let detail = body.error.unwrap_or(body.top);
    (detail.code.is_some() || detail.message.is_some()).then_some((detail.code, detail.message))
}

fn kind_for_status(status: u16) -> AzureErrorKind {
    match status {
        404 => AzureErrorKind::NotFound,
        // Only after a fresh token was refused too (see the pipeline).
        401 => AzureErrorKind::Credential,
        429 => AzureErrorKind::Throttled,
        400..=499 => AzureErrorKind::Refused,
        500..=599 => AzureErrorKind::ServerError,
        _ => AzureErrorKind::Unexpected,
    }
}

fn default_message(status: u16) -> String {
    match status {
        401 => "the token was refused".to_owned(),
        403 => "the credential is not allowed to do this".to_owned(),
        404 => "not found".to_owned(),
        409 => "conflict".to_owned(),
        429 => "too many requests".to_owned(),
        500..=599 => "azure failed to answer".to_owned(),
        _ => "unexpected answer".to_owned(),
    }
}

/// The messages of an error and its sources, without repeats. azure_core's `HttpError`
/// is left out: its text holds the whole response.
pub(crate) fn chain_message(error: &azure_core::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if error
            .downcast_ref::<azure_core::error::HttpError>()
            .is_some()
        {
            break;
        }
        let text = error.to_string();
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

fn find_in_chain<T: std::error::Error + 'static>(error: &azure_core::Error) -> Option<&T> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use azure_core::{BytesStream, Response, StatusCode, error::HttpError, headers::Headers};

    use super::*;

    async fn http_error(status: StatusCode, body: &'static str) -> azure_core::Error {
        let mut headers = Headers::new();
        headers.insert("content-type", "application/json; charset=utf-8");
        let response = Response::new(status, headers, Box::pin(BytesStream::new(body)));
        let http = HttpError::new(response).await;
        let kind = ErrorKind::http_response(status, http.error_code().map(str::to_owned));
        azure_core::Error::new(kind, http)
    }

    fn with_record(error: azure_core::Error, record: CallRecord) -> azure_core::Error {
        let kind = error.kind().clone();
        azure_core::Error::new(
            kind,
            ArmCallError {
                record,
                source: error,
            },
        )
    }

    #[tokio::test]
    async fn errors_from_sample_bodies() {
        let record = CallRecord {
            attempts: 3,
            status: None,
            correlation_id: Some("corr-9".into()),
            retry_after: Some(Duration::from_secs(7)),
        };
        type Row = (
            StatusCode,
            &'static str,
            AzureErrorKind,
            Option<&'static str>,
            &'static str,
            Option<u64>,
        );
        let table: [Row; 7] = [
            (
                StatusCode::NotFound,
                r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.Compute/virtualMachines/web-9' under resource group 'prod' was not found."}}"#,
                AzureErrorKind::NotFound,
                Some("ResourceNotFound"),
                "The Resource 'Microsoft.Compute/virtualMachines/web-9' under resource group 'prod' was not found.",
                None,
            ),
            (
                StatusCode::Conflict,
                r#"{"error":{"code":"OperationNotAllowed","message":"Operation 'start' is not allowed on VM 'web-1' since the VM is marked for deletion."}}"#,
                AzureErrorKind::Refused,
                Some("OperationNotAllowed"),
                "Operation 'start' is not allowed on VM 'web-1' since the VM is marked for deletion.",
                None,
            ),
            (
                StatusCode::Forbidden,
                r#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization to perform action."}}"#,
                AzureErrorKind::Refused,
                Some("AuthorizationFailed"),
                "The client 'x' does not have authorization to perform action.",
                None,
            ),
            (
                StatusCode::TooManyRequests,
                r#"{"error":{"code":"TooManyRequests","message":"The request is being throttled."}}"#,
                AzureErrorKind::Throttled,
                Some("TooManyRequests"),
                "The request is being throttled.",
                Some(7),
            ),
            (
                StatusCode::InternalServerError,
                "",
                AzureErrorKind::ServerError,
                None,
                "azure failed to answer",
                None,
            ),
            (
                StatusCode::ServiceUnavailable,
                "<html>oops</html>",
                AzureErrorKind::ServerError,
                None,
                "azure failed to answer",
                None,
            ),
            (
                StatusCode::Unauthorized,
                r#"{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}"#,
                AzureErrorKind::Credential,
                Some("ExpiredAuthenticationToken"),
                "The access token expiry UTC time is earlier than current UTC time.",
                None,
            ),
        ];
        for (status, body, kind, code, message, retry_after) in table {
            let error = map_error(&with_record(http_error(status, body).await, record.clone()));
            assert_eq!(
                (
                    error.kind,
                    error.status,
                    error.code.as_deref(),
                    error.message.as_str()
                ),
                (kind, Some(status as u16), code, message),
                "{status}"
            );
            assert_eq!(error.correlation_id.as_deref(), Some("corr-9"));
            assert_eq!(error.retry_after, retry_after.map(Duration::from_secs));
        }
    }

    #[test]
    fn errors_wrapped_by_the_pipeline_keep_their_message() {
        let io = azure_core::Error::new(ErrorKind::Io, std::io::Error::other("connection refused"));
        let record = CallRecord {
            attempts: 3,
            ..CallRecord::default()
        };
        let first = map_error(&io);
        let wrapped = azure_core::Error::full(
            ErrorKind::Io,
            ArmCallError { record, source: io },
            first.to_string(),
        );
        assert_eq!(map_error(&wrapped), first);
        assert_eq!(first.message, "could not reach Azure: connection refused");
    }

    #[test]
    fn errors_without_a_response() {
        let table = [
            (
                azure_core::Error::message(ErrorKind::Credential, "no credential answered"),
                AzureErrorKind::Credential,
                "no Azure token: no credential answered",
            ),
            (
                azure_core::Error::new(ErrorKind::Io, std::io::Error::other("connection refused")),
                AzureErrorKind::Transport,
                "could not reach Azure: connection refused",
            ),
            (
                azure_core::Error::from(serde_json::from_str::<u8>("x").unwrap_err()),
                AzureErrorKind::Unexpected,
                "could not read Azure's answer: expected value at line 1 column 1",
            ),
        ];
        for (error, kind, message) in table {
            let error = map_error(&error);
            assert_eq!((error.kind, error.message.as_str()), (kind, message));
        }
    }

    #[test]
    fn error_bodies() {
        type Parsed<'a> = Option<(Option<&'a str>, Option<&'a str>)>;
        let table: [(&str, Parsed); 5] = [
            (
                r#"{"error":{"code":"Conflict","message":"busy"}}"#,
                Some((Some("Conflict"), Some("busy"))),
            ),
            (
                r#"{"Error":{"Code":"Conflict","Message":"busy"}}"#,
                Some((Some("Conflict"), Some("busy"))),
            ),
            (
                r#"{"code":"Conflict","message":"busy"}"#,
                Some((Some("Conflict"), Some("busy"))),
            ),
            (r#"{"status":"Failed"}"#, None),
            ("not json", None),
        ];
        for (body, expected) in table {
            let parsed = parse_error_body(body.as_bytes());
            let parsed = parsed
                .as_ref()
                .map(|(code, message)| (code.as_deref(), message.as_deref()));
            assert_eq!(parsed, expected, "{body}");
        }
    }
}
