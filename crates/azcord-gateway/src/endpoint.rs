//! `azcord serve`: interactions delivered by Discord as signed HTTP POSTs (the
//! "interactions endpoint URL" of the developer portal) instead of over the gateway.
//!
//! Every request is checked in this order, before anything in it is parsed: the body
//! size (413), then the Ed25519 signature over `X-Signature-Timestamp` + body with the
//! application's public key (401), then the timestamp's age (401). A PING is answered
//! with a PONG; anything else goes to the same [`Dispatcher`] as the gateway's
//! interactions. The dispatcher's first response (the reply itself, or a deferral once
//! the acknowledgement budget is spent) becomes the HTTP response; everything after it
//! goes over REST, through the same [`RestResponder`] as the gateway path.

use std::{
    convert::Infallible,
    fmt,
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use azcord_command::{
    BoxFuture, Dispatcher, InteractionTarget, RespondError, Responder,
    twilight_model::{
        application::interaction::{Interaction, InteractionType},
        http::interaction::{InteractionResponse, InteractionResponseData},
    },
};
use ed25519_dalek::{Signature, VerifyingKey};
use futures_util::{StreamExt as _, stream};
use tokio::{net::TcpListener, sync::oneshot};
use twilight_model::id::{
    Id,
    marker::{ApplicationMarker, ChannelMarker, MessageMarker},
};

use crate::{GatewayConfig, GatewayError, RestClient, RestResponder, bot::prepare_application};

/// The path Discord POSTs interactions to; configure `https://HOST/interactions` as the
/// interactions endpoint URL in the developer portal.
pub const INTERACTIONS_PATH: &str = "/interactions";

/// The largest request body accepted. Discord's interactions, with their resolved users,
/// members and messages, stay well under it.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// How far `X-Signature-Timestamp` may be from this host's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// How long a request waits for the dispatcher's first response. Discord allows 3 s;
/// the dispatcher defers well within that.
const RESPONSE_DEADLINE: Duration = Duration::from_secs(3);

/// How long the responder waits for the HTTP response to be handed to the connection
/// before it lets REST edits follow, so that an edit does not overtake its deferral.
const HANDOFF_WAIT: Duration = Duration::from_secs(1);

/// How the interactions endpoint checks and answers requests.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The application's public key, from the developer portal.
    pub public_key: PublicKey,
    /// The largest request body accepted; larger ones get 413.
    pub body_limit: usize,
    /// How far a request's timestamp may be from this host's clock; further gets 401.
    pub max_clock_skew: Duration,
}

impl EndpointConfig {
    /// The defaults for `public_key`: a 256 KiB body limit and 5 minutes of skew.
    pub fn new(public_key: PublicKey) -> Self {
        Self {
            public_key,
            body_limit: DEFAULT_BODY_LIMIT,
            max_clock_skew: MAX_CLOCK_SKEW,
        }
    }
}

/// An application's Ed25519 public key, as the developer portal shows it (64 hex digits).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses the key from hex.
    pub fn from_hex(text: &str) -> Result<Self, PublicKeyError> {
        let bytes: [u8; 32] = decode_hex(text.trim())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(PublicKeyError::NotHex)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| PublicKeyError::NotAKey)
    }

    /// Whether `signature` (hex) signs `timestamp` followed by `body`.
    pub fn verify(&self, signature: &str, timestamp: &[u8], body: &[u8]) -> bool {
        let Some(signature) = decode_hex(signature)
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .map(|bytes| Signature::from_bytes(&bytes))
        else {
            return false;
        };
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp);
        message.extend_from_slice(body);
        self.0.verify_strict(&message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self
            .0
            .as_bytes()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        f.debug_tuple("PublicKey").field(&hex).finish()
    }
}

/// Why a public key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// Not 64 hex digits.
    #[error(
        "DISCORD_PUBLIC_KEY must be the 64 hex digits of the application's public key, from the developer portal's General Information page"
    )]
    NotHex,
    /// 64 hex digits, but not a point on the curve.
    #[error("DISCORD_PUBLIC_KEY is not a valid Ed25519 public key")]
    NotAKey,
}

/// Why a request was refused, before anything in it was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The body is over the size limit: 413.
    TooLarge,
    /// No `X-Signature-Ed25519` or `X-Signature-Timestamp` header: 401.
    MissingSignature,
    /// The signature does not verify: 401.
    BadSignature,
    /// The signature verifies but the timestamp is too far from now: 401.
    StaleTimestamp,
    /// Signed, but not an interaction: 400.
    Malformed,
}

impl Rejection {
    /// The HTTP status the request is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MissingSignature | Self::BadSignature | Self::StaleTimestamp => {
                StatusCode::UNAUTHORIZED
            }
            Self::Malformed => StatusCode::BAD_REQUEST,
        }
    }

    /// A short reason, for the log and the response body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "request body too large",
            Self::MissingSignature => "missing request signature",
            Self::BadSignature => "invalid request signature",
            Self::StaleTimestamp => "request timestamp too old or too far ahead",
            Self::Malformed => "not an interaction",
        }
    }
}

/// A request that passed every check.
#[derive(Debug)]
pub enum Inbound {
    /// Discord checking that the endpoint is alive: answered with a PONG.
    Ping,
    /// An interaction for the dispatcher.
    Interaction(Box<Interaction>),
}

/// Checks one request and decodes it: the size, then the signature, then the timestamp,
/// and only then the body. `now` is this host's clock.
pub fn inspect(
    config: &EndpointConfig,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Inbound, Rejection> {
    if body.len() > config.body_limit {
        return Err(Rejection::TooLarge);
    }
    let header = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return Err(Rejection::MissingSignature);
    };
    let signature = std::str::from_utf8(signature).map_err(|_| Rejection::BadSignature)?;
    if !config.public_key.verify(signature, timestamp, body) {
        return Err(Rejection::BadSignature);
    }
    let signed_at = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or(Rejection::StaleTimestamp)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if now.abs_diff(signed_at) > config.max_clock_skew.as_secs() {
        return Err(Rejection::StaleTimestamp);
    }
    // A PING needs only its type: Discord's endpoint check must pass whatever else
    // the payload carries.
    let kind: KindOnly = serde_json::from_slice(body).map_err(|_| Rejection::Malformed)?;
    if kind.kind == InteractionType::Ping {
        return Ok(Inbound::Ping);
    }
    let interaction: Interaction =
        serde_json::from_slice(body).map_err(|_| Rejection::Malformed)?;
    Ok(Inbound::Interaction(Box::new(interaction)))
}

/// The `type` of an interaction, and nothing else of it.
#[derive(serde::Deserialize)]
struct KindOnly {
    #[serde(rename = "type")]
    kind: InteractionType,
}

/// The interactions endpoint, connected to Discord's REST API with its commands
/// registered, ready to serve.
pub struct Endpoint {
    application_id: Id<ApplicationMarker>,
    state: Arc<EndpointState>,
    drain_timeout: Duration,
}

struct EndpointState {
    config: EndpointConfig,
    dispatcher: Dispatcher,
    rest: RestResponder,
    ready: AtomicBool,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("application_id", &self.application_id)
            .finish_non_exhaustive()
    }
}

/// Prepares the interactions endpoint through `rest`, which must have been built from
/// `gateway`: finds the application and registers the commands if they changed. The
/// gateway settings for shards are not used.
pub async fn connect_endpoint(
    gateway: GatewayConfig,
    rest: RestClient,
    dispatcher: Dispatcher,
    config: EndpointConfig,
) -> Result<Endpoint, GatewayError> {
    let application_id = prepare_application(&gateway, &rest, &dispatcher).await?;
    Ok(Endpoint {
        application_id,
        state: Arc::new(EndpointState {
            config,
            dispatcher,
            rest: RestResponder::over(&rest),
            ready: AtomicBool::new(false),
        }),
        drain_timeout: gateway.drain_timeout,
    })
}

impl Endpoint {
    /// The bot's application id.
    pub fn application_id(&self) -> Id<ApplicationMarker> {
        self.application_id
    }

    /// Whether the endpoint is serving and not shutting down, for `/readyz`.
    pub fn readiness(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let state = Arc::clone(&self.state);
        move || state.ready.load(Ordering::SeqCst)
    }

    /// The endpoint's routes, for serving them in a test or behind another server.
    pub fn router(&self) -> Router {
        router(Arc::clone(&self.state))
    }

    /// Serves on `listener` until `shutdown` completes, then shuts down in order: stop
    /// taking requests, answer those in flight, and finish the interactions still
    /// running (bounded by the drain timeout).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), GatewayError> {
        let address = listener.local_addr().ok();
        tracing::info!(
            address = address.map(|address: SocketAddr| address.to_string()),
            path = INTERACTIONS_PATH,
            "serving the interactions endpoint"
        );
        self.state.ready.store(true, Ordering::SeqCst);
        let state = Arc::clone(&self.state);
        let result = axum::serve(listener, router(Arc::clone(&self.state)))
            .with_graceful_shutdown(async move {
                shutdown.await;
                state.ready.store(false, Ordering::SeqCst);
                tracing::info!("shutting down: no new requests");
            })
            .await;
        self.state.ready.store(false, Ordering::SeqCst);
        let dispatcher = &self.state.dispatcher;
        tracing::info!(
            in_flight = dispatcher.in_flight(),
            "finishing interactions in flight"
        );
        dispatcher.close();
        if !dispatcher.drain(self.drain_timeout).await {
            tracing::warn!(
                in_flight = dispatcher.in_flight(),
                "stopped waiting for interactions in flight"
            );
        }
        tracing::info!("interactions endpoint closed");
        result.map_err(|source| GatewayError::Http {
            what: "serve the interactions endpoint",
            source: Box::new(source),
        })
    }
}

fn router(state: Arc<EndpointState>) -> Router {
    // The limit is checked again in `inspect`; this one stops reading early. One byte
    // more than the limit is read so that `inspect` sees the body is too large.
    let read_limit = state.config.body_limit.saturating_add(1);
    Router::new()
        .route(INTERACTIONS_PATH, post(receive))
        .layer(DefaultBodyLimit::max(read_limit))
        .with_state(state)
}

async fn receive(
    State(state): State<Arc<EndpointState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.config.body_limit;
    let body = match axum::body::to_bytes(body, limit.saturating_add(1)).await {
        Ok(body) => body,
        Err(_) => return reject(Rejection::TooLarge),
    };
    let interaction = match inspect(&state.config, &headers, &body, SystemTime::now()) {
        Ok(Inbound::Ping) => return json_response(Bytes::from_static(br#"{"type":1}"#), None),
        Ok(Inbound::Interaction(interaction)) => interaction,
        Err(rejection) => return reject(rejection),
    };
    let (initial, response) = oneshot::channel();
    let responder = Arc::new(HttpResponder {
        initial: Mutex::new(Some(initial)),
        rest: state.rest.clone(),
    });
    state.dispatcher.spawn(interaction, responder, 0);
    match tokio::time::timeout(RESPONSE_DEADLINE, response).await {
        Ok(Ok(Initial {
            response,
            handed_off,
        })) => match serde_json::to_vec(&response) {
            Ok(body) => json_response(Bytes::from(body), Some(handed_off)),
            Err(error) => {
                tracing::error!(%error, "could not encode an interaction response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        // The dispatcher skipped the interaction, or did not answer in time: Discord
        // shows the user that the interaction failed.
        Ok(Err(_)) | Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn reject(rejection: Rejection) -> Response {
    tracing::info!(
        reason = rejection.as_str(),
        status = rejection.status().as_u16(),
        "refused an interactions endpoint request"
    );
    (rejection.status(), rejection.as_str()).into_response()
}

/// A JSON response; `handed_off` is told once hyper has taken the whole body.
fn json_response(body: Bytes, handed_off: Option<oneshot::Sender<()>>) -> Response {
    let length = body.len();
    let mut handed_off = handed_off;
    let chunks = stream::iter([Ok::<_, Infallible>(body)]).chain(stream::poll_fn(move |_| {
        if let Some(handed_off) = handed_off.take() {
            let _ = handed_off.send(());
        }
        Poll::<Option<Result<Bytes, Infallible>>>::Ready(None)
    }));
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The initial response of an interaction, on its way into the HTTP response.
struct Initial {
    response: InteractionResponse,
    /// Told once the HTTP response's body has been handed to the connection.
    handed_off: oneshot::Sender<()>,
}

/// Sends the interaction's initial response as the HTTP response to Discord's request,
/// and everything after it over REST.
struct HttpResponder {
    initial: Mutex<Option<oneshot::Sender<Initial>>>,
    rest: RestResponder,
}

impl Responder for HttpResponder {
    fn respond<'a>(
        &'a self,
        target: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let initial = self
            .initial
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        Box::pin(async move {
            // The dispatcher responds once; a second response can only go over REST,
            // where Discord refuses it as it would over HTTP.
            let Some(initial) = initial else {
                return self.rest.respond(target, response).await;
            };
            let (handed_off, was_handed_off) = oneshot::channel();
            initial
                .send(Initial {
                    response: response.clone(),
                    handed_off,
                })
                .map_err(|_| {
                    RespondError::new("Discord's request ended before the response was ready")
                })?;
            // Bounded: if the connection stalls, later edits go out anyway.
            let _ = tokio::time::timeout(HANDOFF_WAIT, was_handed_off).await;
            Ok(())
        })
    }

    fn edit_original<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.rest.edit_original(target, data)
    }

    fn edit_original_message<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<Option<Id<MessageMarker>>, RespondError>> {
        self.rest.edit_original_message(target, data)
    }

    fn followup<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.rest.followup(target, data)
    }

    fn post_in_channel<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.rest.post_in_channel(channel_id, message_id, data)
    }
}

/// Decodes hex digits (either case); `None` unless every pair is a byte.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |byte: u8| (byte as char).to_digit(16);
            Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_decoded_or_refused() {
        let table: [(&str, Option<&[u8]>); 6] = [
            ("", Some(&[])),
            ("00ff", Some(&[0, 255])),
            ("ABcd", Some(&[0xab, 0xcd])),
            ("abc", None),
            ("zz", None),
            ("é0", None),
        ];
        for (text, expected) in table {
            assert_eq!(decode_hex(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    fn public_keys_are_checked() {
        let table = [
            ("", Err(PublicKeyError::NotHex)),
            ("abcd", Err(PublicKeyError::NotHex)),
            (&"g".repeat(64) as &str, Err(PublicKeyError::NotHex)),
        ];
        for (text, expected) in table {
            assert_eq!(PublicKey::from_hex(text).map(drop), expected, "{text:?}");
        }
        // The Ed25519 base point's encoding is a valid key.
        let key = "5866666666666666666666666666666666666666666666666666666666666666";
        assert!(PublicKey::from_hex(key).is_ok());
    }
}
