//! Discord's JSON error responses, with the codes its documentation lists.

use axum::{
    Json,
    response::{IntoResponse, Response},
};
use http::StatusCode;
use serde_json::{Value, json};

/// An error answer of the REST API: `{"message": ..., "code": ...}` and maybe `errors`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: u32,
    pub(crate) message: String,
    /// The nested `errors` object of 50035 "Invalid Form Body".
    pub(crate) errors: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: u32, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            errors: None,
        }
    }

    /// The generic body Discord sends for a bare status, e.g. `"500: Internal Server Error"`.
    pub(crate) fn status(status: StatusCode) -> Self {
        let reason = status.canonical_reason().unwrap_or("Error");
        Self::new(status, 0, &format!("{}: {reason}", status.as_u16()))
    }

    pub(crate) fn unauthorized() -> Self {
        Self::status(StatusCode::UNAUTHORIZED)
    }

    pub(crate) fn not_found() -> Self {
        Self::status(StatusCode::NOT_FOUND)
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::status(StatusCode::METHOD_NOT_ALLOWED)
    }

    pub(crate) fn unknown_application() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10002, "Unknown Application")
    }

    pub(crate) fn unknown_message() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10008, "Unknown Message")
    }

    pub(crate) fn unknown_webhook() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10015, "Unknown Webhook")
    }

    pub(crate) fn unknown_interaction() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10062, "Unknown interaction")
    }

    pub(crate) fn unknown_command() -> Self {
        Self::new(StatusCode::NOT_FOUND, 10063, "Unknown application command")
    }

    pub(crate) fn already_acknowledged() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            40060,
            "Interaction has already been acknowledged.",
        )
    }

    pub(crate) fn empty_message() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        )
    }

    pub(crate) fn invalid_webhook_token() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 50027, "Invalid Webhook Token")
    }

    pub(crate) fn invalid_json() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    }

    /// 50035 with one error at `path` (e.g. `["embeds", "0", "title"]`).
    pub(crate) fn invalid_form_body(path: &[&str], error_code: &str, message: &str) -> Self {
        let mut errors = json!({ "_errors": [{ "code": error_code, "message": message }] });
        for key in path.iter().rev() {
            errors = json!({ *key: errors });
        }
        Self {
            errors: Some(errors),
            ..Self::new(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body")
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        let mut body = json!({ "message": self.message, "code": self.code });
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_discords() {
        let cases = [
            (
                ApiError::unauthorized(),
                401,
                json!({"message": "401: Unauthorized", "code": 0}),
            ),
            (
                ApiError::not_found(),
                404,
                json!({"message": "404: Not Found", "code": 0}),
            ),
            (
                ApiError::status(StatusCode::BAD_GATEWAY),
                502,
                json!({"message": "502: Bad Gateway", "code": 0}),
            ),
            (
                ApiError::already_acknowledged(),
                400,
                json!({"message": "Interaction has already been acknowledged.", "code": 40060}),
            ),
            (
                ApiError::unknown_interaction(),
                404,
                json!({"message": "Unknown interaction", "code": 10062}),
            ),
            (
                ApiError::invalid_form_body(
                    &["embeds", "0", "title"],
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 256 or fewer in length.",
                ),
                400,
                json!({
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {"embeds": {"0": {"title": {"_errors": [
                        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}
                    ]}}}}
                }),
            ),
        ];
        for (error, status, body) in cases {
            assert_eq!(error.status.as_u16(), status);
            assert_eq!(error.body(), body);
        }
    }
}
