//! The azure_core pipeline every ARM call goes through: a span per call, one
//! re-authentication on 401, bounded retries that honour `Retry-After`, a timeout per
//! attempt, and a transport that adds the token only to the copy of the request it
//! sends.
//!
//! That last part works around azure_core 0.21: its transport policy logs every request
//! at debug level, and its `Headers` `Debug` redacts every header *except*
//! `Authorization`, so `RUST_LOG=debug` would print bearer tokens. The per-call policy
//! takes the token out of the request and keeps it in the pipeline's context; only
//! [`AuthorizingTransport`] puts it back, on a copy that nothing logs.
//!
//! The policies implement azure_core's `async_trait` traits by hand (`impl_policy!`
//! writes the desugared signature once), since azcord does not depend on that crate.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use azcord_secret::Secret;
use azure_core::{
    ClientOptions, Context, HttpClient, Pipeline, Policy, PolicyResult, Request, RetryOptions,
    RetryPolicy, TransportOptions,
    auth::TokenCredential,
    error::{Error, ErrorKind},
    headers::{AUTHORIZATION, HeaderName, Headers, RETRY_AFTER},
};
use tracing::{Instrument, field};

use crate::{
    config::RetrySettings,
    errors_map::{ArmCallError, CallRecord, map_error},
};

/// The header ARM echoes (or assigns) to tie a request to its server-side logs.
pub(crate) const CORRELATION_ID: HeaderName =
    HeaderName::from_static("x-ms-correlation-request-id");
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
const X_MS_RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");

/// Implements azure_core's `Policy` (an `async_trait` trait, whose desugared signature
/// azcord writes only here) by calling an async method of the policy.
macro_rules! impl_policy {
    ($policy:ty, |$this:ident, $ctx:ident, $request:ident, $next:ident| $call:expr) => {
        impl Policy for $policy {
            fn send<'life0, 'life1, 'life2, 'life3, 'async_trait>(
                &'life0 self,
                $ctx: &'life1 Context,
                $request: &'life2 mut Request,
                $next: &'life3 [Arc<dyn Policy>],
            ) -> Pin<Box<dyn Future<Output = PolicyResult> + Send + 'async_trait>>
            where
                'life0: 'async_trait,
                'life1: 'async_trait,
                'life2: 'async_trait,
                'life3: 'async_trait,
                Self: 'async_trait,
            {
                let $this = self;
                Box::pin($call)
            }
        }
    };
}

/// The options shared by the azure_mgmt clients and azcord's own requests, so that all
/// of them go through the same policies and the same HTTP client.
pub(crate) fn client_options(
    retry: &RetrySettings,
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
    http_client: Arc<dyn HttpClient>,
) -> ClientOptions {
    let transport =
        TransportOptions::new_custom_policy(Arc::new(AuthorizingTransport { http_client }));
    let mut options =
        ClientOptions::new(transport).retry(RetryOptions::custom(Arc::new(BackoffRetry {
            settings: *retry,
        })));
    options
        .per_call_policies_mut()
        .push(Arc::new(ArmCallPolicy { credential, scopes }));
    options
        .per_retry_policies_mut()
        .push(Arc::new(AttemptPolicy {
            timeout: retry.attempt_timeout,
        }));
    options
}

/// A pipeline with `options`, for azcord's own requests (operation polls).
pub(crate) fn pipeline(options: ClientOptions) -> Pipeline {
    Pipeline::new(
        Some("azcord-azure"),
        Some(env!("CARGO_PKG_VERSION")),
        options,
        Vec::new(),
        Vec::new(),
    )
}

/// The `Retry-After` of an answer: `retry-after-ms`, `x-ms-retry-after-ms`, or
/// `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &Headers) -> Option<Duration> {
    let millis = |name: &HeaderName| {
        headers
            .get_optional_str(name)?
            .trim()
            .parse()
            .ok()
            .map(Duration::from_millis)
    };
    millis(&RETRY_AFTER_MS)
        .or_else(|| millis(&X_MS_RETRY_AFTER_MS))
        .or_else(|| {
            let value = headers.get_optional_str(&RETRY_AFTER)?.trim();
            value.parse().ok().map(Duration::from_secs).or_else(|| {
                let when: SystemTime = azure_core::date::parse_rfc1123(value).ok()?.into();
                Some(when.duration_since(SystemTime::now()).unwrap_or_default())
            })
        })
}

/// Which ARM operation a request URL names, for span names: the resource provider and
/// the resource types along the path, without names or ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArmRoute {
    /// Such as `Microsoft.Compute/virtualMachines/start`.
    pub(crate) operation: String,
    /// The resource group, if the path has one.
    pub(crate) resource_group: Option<String>,
    /// The name of the first resource after the provider, if the path has one.
    pub(crate) resource: Option<String>,
}

impl ArmRoute {
    pub(crate) fn parse(path: &str) -> Self {
        let segments: Vec<&str> = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .collect();
        let after = |key: &str| {
            segments
                .iter()
                .position(|segment| segment.eq_ignore_ascii_case(key))
                .and_then(|at| segments.get(at + 1))
        };
        let resource_group = after("resourceGroups").map(|name| (*name).to_owned());
        let provider_at = segments
            .iter()
            .rposition(|segment| segment.eq_ignore_ascii_case("providers"));
        let Some(namespace) = provider_at.and_then(|at| segments.get(at + 1)) else {
            let operation = if resource_group.is_some() {
                "resourceGroups"
            } else {
                "subscriptions"
            };
            return Self {
                operation: operation.to_owned(),
                resource_group,
                resource: None,
            };
        };
        let rest = provider_at.map_or(&[][..], |at| &segments[(at + 2).min(segments.len())..]);
        let mut operation = (*namespace).to_owned();
        for resource_type in rest.iter().step_by(2) {
            operation.push('/');
            operation.push_str(resource_type);
        }
        let resource = rest.get(1).map(|name| (*name).to_owned());
        Self {
            operation,
            resource_group,
            resource,
        }
    }
}

/// Wraps each call in an `azure.arm` span, retries once with a fresh token when the
/// token is refused, and attaches the [`CallRecord`] to errors.
#[derive(Debug)]
struct ArmCallPolicy {
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
}

/// What stands in the request for the token, which the context holds.
const HELD_TOKEN: &str = "Bearer <held by azcord until sent>";

/// The `Authorization` value of a call, kept out of the request (see the module docs);
/// a [`Secret`], so that no `Debug` of the context can print it.
#[derive(Debug, Clone, Default)]
struct HeldToken(Arc<Mutex<Option<Secret>>>);

impl HeldToken {
    fn set(&self, value: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Secret::new(value));
    }

    fn get(&self) -> Option<Secret> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Where [`AttemptPolicy`] notes what it saw, for [`ArmCallPolicy`].
#[derive(Debug, Clone, Default)]
struct RecordSlot(Arc<Mutex<CallRecord>>);

impl RecordSlot {
    fn update(&self, f: impl FnOnce(&mut CallRecord)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn get(&self) -> CallRecord {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ArmCallPolicy {
    /// One ARM call, in its `azure.arm` span: lift the token out of the request, send
    /// with one re-authentication, then record how the call went.
    async fn call(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let span = arm_span(request);
        async move {
            let slot = RecordSlot::default();
            let mut ctx = ctx.clone();
            ctx.insert(slot.clone());
            let held = lift_token(&mut ctx, request);
            let result = self
                .send_reauthenticating(&ctx, request, next, held.as_ref())
                .await;
            record_call(&tracing::Span::current(), slot.get(), result)
        }
        .instrument(span)
        .await
    }

    /// Sends the request; when ARM refuses a token the cache thought fresh (revoked, or
    /// the clocks disagree), forgets it and tries once more with a new one.
    async fn send_reauthenticating(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
        held: Option<&HeldToken>,
    ) -> PolicyResult {
        let result = next[0].send(ctx, request, &next[1..]).await;
        let Some(held) = held.filter(|_| is_unauthorized(&result)) else {
            return result;
        };
        tracing::info!("azure refused the token; fetching a new one");
        let authorization = self.fresh_authorization().await?;
        held.set(authorization);
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The `azure.arm` span of a request, named after its operation, with the fields
/// filled in once the call ends.
fn arm_span(request: &Request) -> tracing::Span {
    let route = ArmRoute::parse(request.url().path());
    let method = request.method().to_string();
    tracing::info_span!(
        "azure.arm",
        otel.name = format!("{method} {}", route.operation),
        otel.kind = "client",
        otel.status_code = field::Empty,
        http.request.method = method,
        azure.operation = route.operation.as_str(),
        azure.resource_group = route.resource_group.as_deref(),
        azure.resource = route.resource.as_deref(),
        http.response.status_code = field::Empty,
        azure.correlation_id = field::Empty,
        azure.attempts = field::Empty,
        error.type = field::Empty,
        azure.error_code = field::Empty,
        error.message = field::Empty,
    )
}

/// Moves the request's `Authorization` value into the context, leaving a placeholder
/// in the request; `None` when the request carries no token of its own.
fn lift_token(ctx: &mut Context, request: &mut Request) -> Option<HeldToken> {
    let value = request
        .headers()
        .get_optional_string(&AUTHORIZATION)
        .filter(|value| value != HELD_TOKEN)?;
    let held = HeldToken::default();
    held.set(value);
    request.insert_header(AUTHORIZATION, HELD_TOKEN);
    ctx.insert(held.clone());
    Some(held)
}

/// Records how a call went on its span, and attaches the [`CallRecord`] to an error.
fn record_call(span: &tracing::Span, record: CallRecord, result: PolicyResult) -> PolicyResult {
    // i64, not u32 or u16: the OTLP exporter sends unsigned numbers as strings.
    span.record("azure.attempts", i64::from(record.attempts));
    if let Some(status) = record.status {
        span.record("http.response.status_code", i64::from(status));
    }
    if let Some(correlation_id) = &record.correlation_id {
        span.record("azure.correlation_id", correlation_id.as_str());
    }
    result.map_err(|error| {
        let mapped = map_error(&error);
        span.record("otel.status_code", "ERROR");
        span.record("error.type", format!("{:?}", mapped.kind));
        span.record("error.message", mapped.message.as_str());
        if let Some(code) = &mapped.code {
            span.record("azure.error_code", code.as_str());
        }
        let kind = error.kind().clone();
        Error::full(
            kind,
            ArmCallError {
                record,
                source: error,
            },
            mapped.to_string(),
        )
    })
}

impl ArmCallPolicy {
    /// An `Authorization` value with a token fetched past the credential's cache.
    async fn fresh_authorization(&self) -> azure_core::Result<String> {
        self.credential.clear_cache().await?;
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let token = self.credential.get_token(&scopes).await?;
        Ok(format!("Bearer {}", token.token.secret()))
    }
}

fn is_unauthorized(result: &PolicyResult) -> bool {
    matches!(result, Err(error) if matches!(error.kind(), ErrorKind::HttpResponse { status, .. } if *status as u16 == 401))
}

impl_policy!(ArmCallPolicy, |this, ctx, request, next| this
    .call(ctx, request, next));

/// Bounds each attempt by a timeout and notes its status and headers.
#[derive(Debug)]
struct AttemptPolicy {
    timeout: Duration,
}

impl AttemptPolicy {
    async fn attempt(
        &self,
        ctx: &Context,
        request: &mut Request,
        next: &[Arc<dyn Policy>],
    ) -> PolicyResult {
        let result = match tokio::time::timeout(
            self.timeout,
            next[0].send(ctx, request, &next[1..]),
        )
        .await
        {
            Ok(result) => result,
            // An Io error, so that the retry policy tries again.
            Err(_) => Err(Error::with_message(ErrorKind::Io, || {
                format!(
                    "azure did not answer within {} ms",
                    self.timeout.as_millis()
                )
            })),
        };
        if let Some(slot) = ctx.get::<RecordSlot>() {
            slot.update(|record| {
                record.attempts += 1;
                match &result {
                    Ok(response) => {
                        record.status = Some(response.status() as u16);
                        record.correlation_id =
                            response.headers().get_optional_string(&CORRELATION_ID);
                        record.retry_after = retry_after(response.headers());
                    }
                    Err(_) => {
                        *record = CallRecord {
                            attempts: record.attempts,
                            ..CallRecord::default()
                        }
                    }
                }
            });
        }
        result
    }
}

impl_policy!(AttemptPolicy, |this, ctx, request, next| this
    .attempt(ctx, request, next));

/// Sends requests with the HTTP client, putting the held token on a copy of the
/// request: azure_core's `TransportPolicy` logs the request just before calling this.
#[derive(Debug)]
struct AuthorizingTransport {
    http_client: Arc<dyn HttpClient>,
}

impl AuthorizingTransport {
    async fn transmit(&self, ctx: &Context, request: &Request) -> PolicyResult {
        match ctx.get::<HeldToken>().and_then(HeldToken::get) {
            Some(authorization) => {
                let mut authorized = request.clone();
                authorized.insert_header(AUTHORIZATION, authorization.expose().to_owned());
                self.http_client.execute_request(&authorized).await
            }
            None => self.http_client.execute_request(request).await,
        }
    }
}

impl_policy!(AuthorizingTransport, |this, ctx, request, _next| this
    .transmit(ctx, request));

/// Exponential backoff without jitter (one bot, not a fleet), honouring `Retry-After`
/// up to [`RetrySettings::max_retry_after`]. azure_core's own exponential policy
/// raises any `max_delay` to a second and adds up to 255 ms of jitter, which makes
/// tests slow, and follows any `Retry-After` however long.
#[derive(Debug)]
struct BackoffRetry {
    settings: RetrySettings,
}

impl RetryPolicy for BackoffRetry {
    fn is_expired(&self, elapsed: Duration, retry_count: u32) -> bool {
        retry_count >= self.settings.max_retries || elapsed >= self.settings.max_elapsed
    }

    fn sleep_duration(&self, retry_count: u32) -> Duration {
        backoff(&self.settings, retry_count)
    }

    fn wait<'life0, 'life1, 'async_trait>(
        &'life0 self,
        error: &'life1 Error,
        retry_count: u32,
        retry_after: Option<Duration>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let delay = retry_delay(&self.settings, retry_count, retry_after);
        // Typed as i64 and f64 so that the exported span event carries numbers.
        tracing::info!(
            retry = i64::from(retry_count),
            delay_ms = delay.as_secs_f64() * 1000.0,
            reason = %error.kind(),
            "retrying an azure call"
        );
        Box::pin(tokio::time::sleep(delay))
    }
}

/// The backoff before retry number `retry_count` (from 1).
fn backoff(settings: &RetrySettings, retry_count: u32) -> Duration {
    let doublings = retry_count.saturating_sub(1).min(20);
    settings
        .initial_delay
        .saturating_mul(1 << doublings)
        .min(settings.max_delay)
}

/// The wait before retry number `retry_count`: the backoff, or Azure's `Retry-After`
/// (capped) when that is longer.
fn retry_delay(
    settings: &RetrySettings,
    retry_count: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let backoff = backoff(settings, retry_count);
    retry_after.map_or(backoff, |asked| {
        asked.min(settings.max_retry_after).max(backoff)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_operations_without_names() {
        let sub = "/subscriptions/0000/resourceGroups/prod/providers";
        let table = [
            (format!("{sub}/Microsoft.Compute/virtualMachines/web-1/start"), "Microsoft.Compute/virtualMachines/start", Some("prod"), Some("web-1")),
            (format!("{sub}/Microsoft.Compute/virtualMachines/web-1"), "Microsoft.Compute/virtualMachines", Some("prod"), Some("web-1")),
            ("/subscriptions/0000/providers/Microsoft.Compute/virtualMachines".to_owned(), "Microsoft.Compute/virtualMachines", None, None),
            (
                format!("{sub}/Microsoft.ContainerInstance/containerGroups/api/containers/app/logs"),
                "Microsoft.ContainerInstance/containerGroups/containers/logs",
                Some("prod"),
                Some("api"),
            ),
            (
                "/subscriptions/0000/providers/Microsoft.Compute/locations/westeurope/operations/abc-123".to_owned(),
                "Microsoft.Compute/locations/operations",
                None,
                Some("westeurope"),
            ),
            ("/subscriptions/0000/resourcegroups/prod".to_owned(), "resourceGroups", Some("prod"), None),
            ("/operations/42".to_owned(), "subscriptions", None, None),
            ("/subscriptions/0/providers".to_owned(), "subscriptions", None, None),
        ];
        for (path, operation, group, resource) in table {
            let route = ArmRoute::parse(&path);
            assert_eq!(
                (
                    route.operation.as_str(),
                    route.resource_group.as_deref(),
                    route.resource.as_deref()
                ),
                (operation, group, resource),
                "{path}"
            );
        }
    }

    #[test]
    fn azure_core_headers_debug_shows_only_the_authorization_header() {
        // FIXME(azure_core 0.21): the redaction is inverted. While it is, the token must
        // never sit in a request that goes through azure_core's policies (see the module
        // docs); this test notices when an upgrade fixes it.
        let mut request = Request::new(
            azure_core::Url::parse("https://management.azure.com/").unwrap(),
            azure_core::Method::Get,
        );
        request.insert_header(AUTHORIZATION, "Bearer token-123");
        request.insert_header("x-ms-client-request-id", "visible?");
        let debug = format!("{request:?}");
        assert!(
            debug.contains("Bearer token-123") && !debug.contains("visible?"),
            "{debug}"
        );
    }

    #[test]
    fn a_lifted_token_leaves_a_placeholder_and_debugs_as_redacted() {
        let mut request = Request::new(
            azure_core::Url::parse("https://management.azure.com/").unwrap(),
            azure_core::Method::Get,
        );
        request.insert_header(AUTHORIZATION, "Bearer token-123");
        let mut ctx = Context::new();
        let held = lift_token(&mut ctx, &mut request).expect("the request had a token");
        assert_eq!(
            request
                .headers()
                .get_optional_string(&AUTHORIZATION)
                .as_deref(),
            Some(HELD_TOKEN)
        );
        assert_eq!(
            held.get().map(|token| token.expose().to_owned()).as_deref(),
            Some("Bearer token-123")
        );
        for debug in [
            format!("{held:?}"),
            format!("{ctx:?}"),
            format!("{request:?}"),
        ] {
            assert!(!debug.contains("token-123"), "{debug}");
        }
        // A request already lifted is left alone.
        assert!(lift_token(&mut ctx, &mut request).is_none());
    }

    #[test]
    fn retry_after_headers() {
        let in_a_minute = azure_core::date::to_rfc1123(
            &(azure_core::date::parse_rfc3339("2100-01-01T00:01:00Z").unwrap()),
        );
        type Pairs<'a> = &'a [(&'a str, &'a str)];
        let table: [(Pairs, Option<u64>); 7] = [
            (&[], None),
            (&[("retry-after", "17")], Some(17_000)),
            (&[("retry-after", " 3 ")], Some(3_000)),
            (
                &[("retry-after-ms", "250"), ("retry-after", "17")],
                Some(250),
            ),
            (&[("x-ms-retry-after-ms", "40")], Some(40)),
            (&[("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")], Some(0)),
            (&[("retry-after", "soon")], None),
        ];
        for (pairs, expected) in table {
            let mut headers = Headers::new();
            for (name, value) in pairs {
                headers.insert(*name, *value);
            }
            assert_eq!(
                retry_after(&headers).map(|delay| delay.as_millis() as u64),
                expected,
                "{pairs:?}"
            );
        }
        let mut headers = Headers::new();
        headers.insert("retry-after", in_a_minute);
        assert!(retry_after(&headers).is_some_and(|delay| delay > Duration::from_secs(3600)));
    }

    #[test]
    fn retries_back_off_and_honour_retry_after() {
        let settings = RetrySettings {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
            max_retry_after: Duration::from_secs(5),
            ..RetrySettings::default()
        };
        let ms = |millis| Duration::from_millis(millis);
        let table = [
            (1, None, ms(100)),
            (2, None, ms(200)),
            (3, None, ms(400)),
            (4, None, ms(700)),
            (40, None, ms(700)),
            (1, Some(ms(2_000)), ms(2_000)),
            (3, Some(ms(10)), ms(400)),
            (1, Some(ms(60_000)), ms(5_000)),
        ];
        for (retry, asked, expected) in table {
            assert_eq!(
                retry_delay(&settings, retry, asked),
                expected,
                "{retry} {asked:?}"
            );
        }
        let policy = BackoffRetry {
            settings: RetrySettings {
                max_retries: 2,
                ..settings
            },
        };
        assert!(!policy.is_expired(Duration::ZERO, 1));
        assert!(policy.is_expired(Duration::ZERO, 2));
        assert!(policy.is_expired(settings.max_elapsed, 0));
    }
}
