use std::{fmt, time::Duration};

/// What kind of failure an Azure call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AzureErrorKind {
    /// The resource or resource group does not exist (404).
    NotFound,
    /// Azure refused the request as it stands (other 4xx, such as 409 OperationNotAllowed).
    Refused,
    /// Azure kept answering 429 after the retries.
    Throttled,
    /// Azure failed (5xx) after the retries.
    ServerError,
    /// The credentials were refused or no credential could be found.
    Credential,
    /// The network or the HTTP client failed.
    Transport,
    /// A long-running operation ended Failed or Canceled.
    OperationFailed,
    /// A long-running operation ran past its deadline.
    Timeout,
    /// Azure answered with something azcord could not read.
    Unexpected,
}

/// A failed Azure call, with Azure's own code and message where it sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureError {
    /// What kind of failure.
    pub kind: AzureErrorKind,
    /// The HTTP status, if there was a response.
    pub status: Option<u16>,
    /// Azure's error code, such as `OperationNotAllowed`.
    pub code: Option<String>,
    /// Azure's message, or a description of the failure. Never holds a secret.
    pub message: String,
    /// The `x-ms-correlation-request-id`, for support requests and the audit trail.
    pub correlation_id: Option<String>,
    /// How long Azure asked to wait, for throttling.
    pub retry_after: Option<Duration>,
}

impl AzureError {
    /// An error of `kind` with `message` and nothing else known.
    pub fn new(kind: AzureErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            code: None,
            message: message.into(),
            correlation_id: None,
            retry_after: None,
        }
    }

    /// Whether the user can do something about it (a missing resource, a refused
    /// action, a failed operation), rather than the team.
    pub fn is_users_to_fix(&self) -> bool {
        matches!(
            self.kind,
            AzureErrorKind::NotFound
                | AzureErrorKind::Refused
                | AzureErrorKind::OperationFailed
                | AzureErrorKind::Timeout
        )
    }

    /// A sentence for Discord: Azure's code and message, never a stack trace.
    pub fn user_message(&self) -> String {
        match (&self.code, self.kind) {
            (Some(code), _) => format!("Azure answered `{code}`: {}", self.message),
            (None, AzureErrorKind::Throttled) => {
                "Azure is throttling requests; try again in a minute".to_owned()
            }
            (None, _) => format!("the Azure call failed: {}", self.message),
        }
    }
}

impl fmt::Display for AzureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.status) {
            (Some(code), Some(status)) => {
                write!(f, "azure answered {status} {code}: {}", self.message)
            }
            (Some(code), None) => write!(f, "azure answered {code}: {}", self.message),
            (None, Some(status)) => write!(f, "azure answered {status}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AzureError {}
