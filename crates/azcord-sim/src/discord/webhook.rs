//! Webhook delivery: with an interactions endpoint URL set, interactions are not sent
//! over the gateway but signed with the simulator's Ed25519 key and POSTed to that URL,
//! as Discord does for applications with an "interactions endpoint URL". The endpoint's
//! HTTP answer is the interaction response, with the same rules as the callback route.
//!
//! A webhook request (an edit or a follow-up) that arrives while its interaction's
//! delivery is still waiting for its answer waits for that answer first, so that a
//! deferral answered over HTTP cannot be overtaken by the edit that follows it.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use ed25519_dalek::{Signer as _, SigningKey};
use http_body_util::{BodyExt as _, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::Value;
use tokio::sync::watch;
use twilight_model::id::{Id, marker::InteractionMarker};

use super::{InteractionEvent, interaction::Deadlines, snowflake::random_hex, state::Shared};

/// How a request to the interactions endpoint is signed: correctly, or in one of the
/// ways the endpoint must refuse (Discord's own endpoint check sends such requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// Signed with the simulator's key over the timestamp and the body, as Discord does.
    Valid,
    /// Without `X-Signature-Ed25519` and `X-Signature-Timestamp`.
    Missing,
    /// With a signature made by another key.
    WrongKey,
    /// With a signature that is not even hex.
    Garbage,
    /// Correctly signed, but with a timestamp six minutes old.
    Stale,
    /// Correctly signed, then the body was changed on the way.
    ChangedBody,
}

/// What the interactions endpoint answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl EndpointAnswer {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One interaction delivered to the interactions endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The interaction.
    pub interaction_id: Id<InteractionMarker>,
    /// How it was signed.
    pub signing: Signing,
    /// What the endpoint answered; `None` if it could not be reached.
    pub status: Option<u16>,
}

/// Why the interactions endpoint could not be asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No interactions endpoint URL is set.
    #[error("no interactions endpoint URL is set")]
    NotSet,
    /// The URL is not a usable `http://` URL.
    #[error("invalid interactions endpoint URL `{0}`")]
    Url(String),
    /// The request failed.
    #[error("could not reach the interactions endpoint: {0}")]
    Request(String),
}

/// The simulator's side of webhook delivery: its key pair, the endpoint URL, and the
/// deliveries in flight.
pub(crate) struct Webhooks {
    signing_key: SigningKey,
    other_key: SigningKey,
    endpoint: Mutex<Option<String>>,
    in_flight: Mutex<HashSet<String>>,
    finished: watch::Sender<()>,
    log: Mutex<Vec<WebhookDelivery>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("public_key", &self.public_key_hex())
            .field("endpoint", &*lock(&self.endpoint))
            .finish_non_exhaustive()
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            signing_key: random_key(),
            other_key: random_key(),
            endpoint: Mutex::new(None),
            in_flight: Mutex::new(HashSet::new()),
            finished: watch::Sender::new(()),
            log: Mutex::new(Vec::new()),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl Webhooks {
    /// The application's public key as the developer portal shows it: 64 hex digits.
    pub(crate) fn public_key_hex(&self) -> String {
        hex(self.signing_key.verifying_key().as_bytes())
    }

    /// Sets or clears the interactions endpoint URL.
    pub(crate) fn set_endpoint(&self, url: Option<String>) {
        *lock(&self.endpoint) = url;
    }

    /// The interactions endpoint URL, if set.
    pub(crate) fn endpoint(&self) -> Option<String> {
        lock(&self.endpoint).clone()
    }

    /// Every delivery so far, in the order they were answered.
    pub(crate) fn log(&self) -> Vec<WebhookDelivery> {
        lock(&self.log).clone()
    }

    /// Waits until the delivery of the interaction with `token`, if one is in flight,
    /// has been answered (bounded, so that a stuck endpoint cannot hang a request).
    pub(crate) async fn wait_delivered(&self, token: &str, patience: Duration) {
        let mut finished = self.finished.subscribe();
        let wait = async {
            while lock(&self.in_flight).contains(token) {
                if finished.changed().await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(patience, wait).await;
    }

    /// POSTs `body` to the endpoint, signed as `signing` says.
    pub(crate) async fn post(
        &self,
        body: Bytes,
        signing: Signing,
    ) -> Result<EndpointAnswer, EndpointError> {
        let url = self.endpoint().ok_or(EndpointError::NotSet)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let timestamp = match signing {
            Signing::Stale => now.saturating_sub(6 * 60),
            _ => now,
        }
        .to_string();
        let signed = |key: &SigningKey, body: &[u8]| {
            let mut message = timestamp.clone().into_bytes();
            message.extend_from_slice(body);
            hex(&key.sign(&message).to_bytes())
        };
        let (signature, body) = match signing {
            Signing::Valid | Signing::Stale => (Some(signed(&self.signing_key, &body)), body),
            Signing::Missing => (None, body),
            Signing::WrongKey => (Some(signed(&self.other_key, &body)), body),
            Signing::Garbage => (Some("not-a-signature".to_owned()), body),
            Signing::ChangedBody => {
                let signature = signed(&self.signing_key, &body);
                let mut changed = body.to_vec();
                // The same length, one byte different: only the signature can tell.
                if let Some(last) = changed.iter_mut().rev().find(|byte| byte.is_ascii_digit()) {
                    *last = if *last == b'9' { b'8' } else { *last + 1 };
                } else {
                    changed.push(b' ');
                }
                (Some(signature), Bytes::from(changed))
            }
        };
        let mut request = http::Request::post(&url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                "Discord-Interactions/1.0 (+https://discord.com)",
            );
        if let Some(signature) = signature {
            request = request
                .header("x-signature-ed25519", signature)
                .header("x-signature-timestamp", &timestamp);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| EndpointError::Url(url.clone()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| EndpointError::Request(error.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| EndpointError::Request(error.to_string()))?
            .to_bytes();
        Ok(EndpointAnswer { status, body })
    }
}

/// Delivers an interaction to the endpoint on a task of its own, and applies the answer
/// as the interaction's callback.
pub(crate) fn deliver(
    shared: &Arc<Shared>,
    id: Id<InteractionMarker>,
    token: String,
    data: Value,
    signing: Signing,
) {
    lock(&shared.webhooks.in_flight).insert(token.clone());
    if let Some(record) = shared.lock().interactions.get_mut(&id) {
        record.dispatched_at = Some(Instant::now());
    }
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let body = Bytes::from(serde_json::to_vec(&data).unwrap_or_default());
        let answer = shared.webhooks.post(body, signing).await;
        let status = answer.as_ref().ok().map(|answer| answer.status);
        let event = match answer {
            Ok(answer) if answer.status == 200 => {
                apply_answer(&shared, id, &token, &answer.body).err()
            }
            Ok(answer) => Some(format!(
                "the interactions endpoint answered {}: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )),
            Err(error) => Some(error.to_string()),
        };
        if let Some(reason) = event
            && let Some(record) = shared.lock().interactions.get(&id)
        {
            let _ = record.events.send(InteractionEvent::Rejected(reason));
        }
        lock(&shared.webhooks.log).push(WebhookDelivery {
            interaction_id: id,
            signing,
            status,
        });
        lock(&shared.webhooks.in_flight).remove(&token);
        shared.webhooks.finished.send_replace(());
    });
}

/// Applies the endpoint's answer as the callback; the reason it was refused otherwise.
fn apply_answer(
    shared: &Shared,
    id: Id<InteractionMarker>,
    token: &str,
    body: &[u8],
) -> Result<(), String> {
    let deadlines = Deadlines {
        ack: shared.config.interaction_ack_deadline,
        token_lifetime: shared.config.interaction_token_lifetime,
    };
    let ids = &shared.ids;
    shared
        .lock()
        .interaction_callback(|| ids.next(), deadlines, &id.to_string(), token, body)
        .map(drop)
        .map_err(|error| format!("the endpoint's response was refused: {error:?}"))
}

fn random_key() -> SigningKey {
    let seed = random_hex(64);
    let mut bytes = [0; 32];
    for (byte, pair) in bytes.iter_mut().zip(seed.as_bytes().chunks(2)) {
        *byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .unwrap_or_default();
    }
    SigningKey::from_bytes(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
