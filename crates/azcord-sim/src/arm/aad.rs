//! The AAD v2.0 token endpoint (client credentials) and ARM's bearer token check.
//!
//! azure_identity's `ClientSecretCredential` posts a form to
//! `{authority}/{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, `scope`
//! (space-separated), `client_id` and `client_secret` in the body, and reads
//! `access_token`, `token_type` and `expires_in` from the JSON answer.
//! `WorkloadIdentityCredential` sends `client_assertion` (the service account token read
//! from `AZURE_FEDERATED_TOKEN_FILE`) and `client_assertion_type` instead of the secret.

use std::{collections::HashMap, sync::Arc, time::SystemTime};

use axum::{
    Form, Json,
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
};
use http::{HeaderMap, Method, StatusCode, header};
use serde_json::json;
use tokio::time::Instant;

use super::{
    clock,
    error::{AadError, ArmError},
    ident::random_hex,
    state::{Shared, State, TokenRecord},
};

/// Resources a token may be requested for, besides the simulator's own endpoint.
const KNOWN_RESOURCES: [&str; 2] = [
    "https://management.azure.com",
    "https://management.core.windows.net",
];

/// Answers a token request; the flag tells whether credentials were accepted.
pub(crate) async fn token_endpoint(
    shared: &Arc<Shared>,
    tenant: &str,
    request: Request,
) -> (Response, bool) {
    match issue_token(shared, tenant, request).await {
        Ok(response) => (response, true),
        Err(error) => (error.into_response(), false),
    }
}

async fn issue_token(
    shared: &Arc<Shared>,
    tenant: &str,
    request: Request,
) -> Result<Response, AadError> {
    let config = &shared.config;
    if request.method() != Method::POST {
        return Err(AadError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900_561,
            &format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                request.method()
            ),
        ));
    }
    if !tenant.eq_ignore_ascii_case(&config.tenant_id) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID \
                 and are signing into the correct cloud."
            ),
        ));
    }
    let Form(form) = Form::<HashMap<String, String>>::from_request(request, &())
        .await
        .map_err(|_| AadError::missing_parameter("grant_type"))?;
    let field = |name: &str| form.get(name).map(String::as_str);

    let grant_type =
        field("grant_type").ok_or_else(|| AadError::missing_parameter("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = field("client_id").ok_or_else(|| AadError::missing_parameter("client_id"))?;
    if !client_id.eq_ignore_ascii_case(&config.client_id) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory \
                 '{tenant}'. This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may \
                 have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    let scope = field("scope").ok_or_else(|| AadError::missing_parameter("scope"))?;
    shared.lock().token_scopes.push(scope.to_owned());
    check_scope(scope, &shared.endpoint(), tenant)?;
    match (field("client_secret"), field("client_assertion")) {
        (None, None) => {
            return Err(AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or \
                 'client_secret'.",
            ));
        }
        (Some(secret), _) if secret != config.client_secret => {
            return Err(AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7_000_215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request \
                     is the client secret value, not the client secret ID, for a secret added to \
                     app '{client_id}'."
                ),
            ));
        }
        (Some(_), _) => {}
        (None, Some(assertion)) => check_assertion(
            assertion,
            field("client_assertion_type"),
            &config.federated_token,
        )?,
    }

    let token = format!("sim.{}", random_hex(96));
    let lifetime = config.token_lifetime;
    shared.lock().tokens.insert(
        token.clone(),
        TokenRecord {
            expires_at: Instant::now() + lifetime,
            expires_wall: SystemTime::now() + lifetime,
        },
    );
    let body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": token,
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// The assertion type of a federated token (RFC 7523), the only one accepted.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client assertion must be a jwt-bearer assertion that the federated credential
/// accepts: here, exactly the configured service account token.
fn check_assertion(
    assertion: &str,
    assertion_type: Option<&str>,
    federated_token: &str,
) -> Result<(), AadError> {
    if assertion_type != Some(JWT_BEARER) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50_027,
            "Invalid JWT token. The client_assertion_type must be \
             urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    if assertion.trim() != federated_token {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            70_021,
            "No matching federated identity record found for presented assertion. Please \
             check your federated identity credential Subject, Audience and Issuer against the \
             presented assertion.",
        ));
    }
    Ok(())
}

/// Client credential scopes must be `{resource}/.default` for a resource ARM answers for.
fn check_scope(scope: &str, endpoint: &str, tenant: &str) -> Result<(), AadError> {
    for requested in scope.split(' ').filter(|part| !part.is_empty()) {
        let Some(resource) = requested.strip_suffix("/.default") else {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1_002_012,
                &format!(
                    "The provided value for scope {requested} is not valid. Client credential \
                     flows must have a scope value with /.default suffixed to the resource \
                     identifier (application ID URI)."
                ),
            ));
        };
        let resource = resource.trim_end_matches('/');
        let known = KNOWN_RESOURCES
            .iter()
            .chain([&endpoint.trim_end_matches('/')])
            .any(|known| known.eq_ignore_ascii_case(resource));
        if !known {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_resource",
                500_011,
                &format!(
                    "The resource principal named {resource} was not found in the tenant named \
                     {tenant}. This can happen if the application has not been installed by the \
                     administrator of the tenant or consented to by any user in the tenant."
                ),
            ));
        }
    }
    Ok(())
}

/// Checks `Authorization: Bearer <token>` against the issued tokens.
///
/// `authority` goes into the `WWW-Authenticate` challenge of a 401.
pub(crate) fn check_bearer(
    state: &State,
    headers: &HeaderMap,
    now: Instant,
    wall: SystemTime,
    authority: &str,
) -> Result<(), ArmError> {
    let unauthorized = |code: &str, message: &str| ArmError::unauthorized(code, message, authority);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
        })
        .ok_or_else(|| {
            unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            )
        })?;
    let record = state.tokens.get(token).ok_or_else(|| {
        unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
    })?;
    if record.expires_at <= now {
        return Err(unauthorized(
            "ExpiredAuthenticationToken",
            &format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                clock::rfc3339(record.expires_wall),
                clock::rfc3339(wall)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::HeaderValue;

    use super::*;

    fn headers(authorization: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn code(result: Result<(), ArmError>) -> Option<String> {
        result.err().map(|error| error.detail.code)
    }

    #[test]
    fn bearer_tokens_are_checked_and_expire() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let mut state = State::default();
        state.tokens.insert(
            "good".to_owned(),
            TokenRecord {
                expires_at: now + Duration::from_secs(60),
                expires_wall: wall + Duration::from_secs(60),
            },
        );
        let later = now + Duration::from_secs(60);
        let cases = [
            (None, now, Some("AuthenticationFailed")),
            (Some("Basic abc"), now, Some("AuthenticationFailed")),
            (Some("Bearer nope"), now, Some("InvalidAuthenticationToken")),
            (Some("Bearer good"), now, None),
            (Some("bearer good"), now, None),
            (
                Some("Bearer good"),
                later,
                Some("ExpiredAuthenticationToken"),
            ),
        ];
        for (authorization, at, expected) in cases {
            let result = check_bearer(&state, &headers(authorization), at, wall, "http://a/t");
            assert_eq!(code(result).as_deref(), expected, "{authorization:?}");
        }
    }

    #[test]
    fn scopes_must_be_default_scopes_of_known_resources() {
        let endpoint = "http://127.0.0.1:4000/";
        let cases = [
            ("https://management.azure.com/.default", None),
            ("https://management.azure.com//.default", None),
            ("https://management.core.windows.net/.default", None),
            ("http://127.0.0.1:4000/.default", None),
            (
                "https://management.azure.com/user_impersonation",
                Some(1_002_012),
            ),
            ("https://graph.microsoft.com/.default", Some(500_011)),
        ];
        for (scope, expected) in cases {
            let result = check_scope(scope, endpoint, "tenant")
                .err()
                .map(|error| error.code);
            assert_eq!(result, expected, "{scope}");
        }
    }
}
