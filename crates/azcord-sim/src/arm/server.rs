//! The HTTP front: one fallback handler that records, injects faults, authenticates and
//! dispatches to the resource providers by the case-insensitive [`route`](super::route).

use std::{sync::Arc, time::SystemTime};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method},
    response::{IntoResponse, Response},
};
use tokio::time::Instant;

use super::{
    ArmRequest, ArmSimConfig, aad, aci, compute,
    error::ArmError,
    ident::random_guid,
    lro,
    query::QueryParams,
    resources,
    route::{self, ArmRoute, Route},
    state::{Fault, Shared, State as SimState},
    web,
};

/// Largest request body read; deployment templates are the big ones.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What a provider handler sees of a request.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a ArmSimConfig,
    /// `http://127.0.0.1:PORT/`.
    pub(crate) endpoint: &'a str,
    pub(crate) method: &'a Method,
    /// The path as sent.
    pub(crate) path: &'a str,
    pub(crate) query: &'a QueryParams,
    pub(crate) body: &'a [u8],
    /// The request's `api-version`, echoed into operation URLs.
    pub(crate) api_version: &'a str,
    pub(crate) now: Instant,
    pub(crate) wall: SystemTime,
}

impl Ctx<'_> {
    /// The configured subscription id.
    pub(crate) fn subscription(&self) -> &str {
        &self.config.subscription_id
    }
}

/// The router: everything goes through [`handle`].
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = QueryParams::from_uri(request.uri());
    let route = route::parse(&path);

    let (response, authorized, token_request, body) = match route {
        Some(Route::Token { tenant }) => {
            let (response, accepted) = aad::token_endpoint(&shared, &tenant, request).await;
            (response, accepted, true, None)
        }
        route => {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, BODY_LIMIT)
                .await
                .unwrap_or_default();
            let (mut response, authorized) = arm(
                &shared,
                &parts.headers,
                &method,
                &path,
                &query,
                route,
                &bytes,
            );
            add_arm_headers(response.headers_mut(), &parts.headers, &method);
            let json = serde_json::from_slice(&bytes).ok();
            (response, authorized, false, json)
        }
    };
    shared.lock().requests.push(ArmRequest {
        method,
        path,
        query: query.raw().map(str::to_owned),
        status: response.status().as_u16(),
        authorized,
        token_request,
        body,
    });
    response
}

/// Answers an ARM request; the flag tells whether its bearer token was valid.
fn arm(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    query: &QueryParams,
    route: Option<Route>,
    body: &[u8],
) -> (Response, bool) {
    let config = &shared.config;
    let endpoint = shared.endpoint();
    let (now, wall) = (Instant::now(), SystemTime::now());
    let mut state = shared.settled();
    let authority = format!("{endpoint}{}", config.tenant_id);
    let authorization = aad::check_bearer(&state, headers, now, wall, &authority);
    let authorized = authorization.is_ok();

    if let Some(fault) = state.faults.pop_front() {
        let error = match fault {
            Fault::Throttle(retry_after) => ArmError::throttled(retry_after),
            Fault::Fail { status, detail } => {
                ArmError::injected(status, &detail.code, &detail.message)
            }
        };
        return (error.into_response(), authorized);
    }
    let result = authorization.and_then(|()| {
        let api_version = query
            .get("api-version")
            .filter(|version| !version.is_empty())
            .ok_or_else(ArmError::missing_api_version)?;
        let Some(Route::Arm {
            subscription,
            resource,
        }) = route
        else {
            return Err(ArmError::unknown_route(path));
        };
        if !subscription.eq_ignore_ascii_case(&config.subscription_id) {
            return Err(ArmError::subscription_not_found(&subscription));
        }
        let ctx = Ctx {
            config,
            endpoint: &endpoint,
            method,
            path,
            query,
            body,
            api_version,
            now,
            wall,
        };
        dispatch(&ctx, &mut state, resource)
    });
    shared.schedule_timers(&mut state);
    drop(state);
    // Operations that complete at once (no-ops, zero transition) wake waiters now.
    drop(shared.settled());
    shared.changed();
    let response = match result {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    (response, authorized)
}

/// Routes a request to its provider by resource and method.
fn dispatch(ctx: &Ctx<'_>, state: &mut SimState, resource: ArmRoute) -> Result<Response, ArmError> {
    use ArmRoute as R;
    match (resource, ctx.method.as_str()) {
        (R::ResourceGroups, "GET") => resources::list_groups(ctx, state),
        (R::ResourceGroup { group }, "GET") => resources::get_group(ctx, state, &group),
        (R::ResourceGroup { group }, "PUT") => resources::put_group(ctx, state, &group),
        (R::VirtualMachines { group }, "GET") => compute::list(ctx, state, group.as_deref()),
        (R::VirtualMachine { group, name }, "GET") => compute::get(ctx, state, &group, &name),
        (R::VirtualMachineInstanceView { group, name }, "GET") => {
            compute::instance_view(ctx, state, &group, &name)
        }
        (
            R::VirtualMachineAction {
                group,
                name,
                action,
            },
            "POST",
        ) => compute::act(ctx, state, &group, &name, action),
        (R::Operation { id } | R::DeploymentOperationStatus { id }, "GET") => {
            lro::status(ctx, state, &id)
        }
        (R::ContainerGroups { group }, "GET") => aci::list(ctx, state, group.as_deref()),
        (R::ContainerGroup { group, name }, "GET") => aci::get(ctx, state, &group, &name),
        (
            R::ContainerGroupAction {
                group,
                name,
                action,
            },
            "POST",
        ) => aci::act(ctx, state, &group, &name, action),
        (
            R::ContainerLogs {
                group,
                name,
                container,
            },
            "GET",
        ) => aci::logs(ctx, state, &group, &name, &container),
        (R::WebApps { group }, "GET") => web::list(ctx, state, group.as_deref()),
        (R::WebApp { group, name }, "GET") => web::get(ctx, state, &group, &name),
        (
            R::WebAppAction {
                group,
                name,
                action,
            },
            "POST",
        ) => web::act(ctx, state, &group, &name, action),
        (R::Deployment { group, name }, "PUT") => {
            resources::put_deployment(ctx, state, &group, &name)
        }
        (R::Deployment { group, name }, "GET") => {
            resources::get_deployment(ctx, state, &group, &name)
        }
        (R::DeploymentOperations { group, name }, "GET") => {
            resources::list_deployment_operations(state, &group, &name)
        }
        _ => Err(ArmError::method_not_allowed(ctx.method, ctx.path)),
    }
}

/// The headers ARM puts on every answer.
fn add_arm_headers(headers: &mut HeaderMap, request: &HeaderMap, method: &Method) {
    let correlation = request
        .get("x-ms-correlation-request-id")
        .cloned()
        .or_else(|| HeaderValue::from_str(&random_guid()).ok());
    if let Ok(request_id) = HeaderValue::from_str(&random_guid()) {
        headers.insert(HeaderName::from_static("x-ms-request-id"), request_id);
    }
    if let Some(correlation) = correlation {
        headers.insert(
            HeaderName::from_static("x-ms-correlation-request-id"),
            correlation,
        );
    }
    let (name, remaining) = if method == Method::GET {
        ("x-ms-ratelimit-remaining-subscription-reads", "11999")
    } else {
        ("x-ms-ratelimit-remaining-subscription-writes", "1199")
    };
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_static(remaining),
    );
}

/// An empty answer with `status`.
pub(crate) fn empty(status: http::StatusCode) -> Response {
    (status, Body::empty()).into_response()
}
