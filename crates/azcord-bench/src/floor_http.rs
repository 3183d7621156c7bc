//! The HTTP floor: the least an interactions endpoint can do and still be one that
//! Discord accepts. It checks the Ed25519 signature and the timestamp, decodes the
//! interaction with twilight-model, and answers a PING with a PONG and a command with
//! "🏓 pong" in the HTTP response; no framework, no store, no REST call.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse as _, Response},
    routing::post,
};
use ed25519_dalek::{Signature, VerifyingKey};
use twilight_model::{
    application::interaction::{Interaction, InteractionType},
    http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType},
};

/// How far a request's timestamp may be from now, as Discord's documentation asks.
const MAX_SKEW_SECS: u64 = 5 * 60;

pub(crate) async fn run(
    api_url: &str,
    token: String,
    public_key: &str,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    let key: [u8; 32] = decode_hex(public_key)
        .and_then(|bytes| bytes.try_into().ok())
        .context("the public key is not 64 hex digits")?;
    let key = Arc::new(
        VerifyingKey::from_bytes(&key)
            .ok()
            .context("the public key is not an Ed25519 key")?,
    );
    super::floor::register_ping(api_url, token).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let router = Router::new()
        .route("/interactions", post(receive))
        .with_state(key);
    println!("{}", super::SERVING);
    axum::serve(listener, router).await?;
    Ok(())
}

async fn receive(
    State(key): State<Arc<VerifyingKey>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).map(|value| value.as_bytes());
    let (Some(signature), Some(timestamp)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(signature) = decode_hex_bytes(signature)
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|bytes| Signature::from_bytes(&bytes))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp);
    message.extend_from_slice(&body);
    if key.verify_strict(&message, &signature).is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let fresh = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .is_some_and(|signed_at| now.abs_diff(signed_at) <= MAX_SKEW_SECS);
    if !fresh {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(interaction) = serde_json::from_slice::<Interaction>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let response = if interaction.kind == InteractionType::Ping {
        InteractionResponse {
            kind: InteractionResponseType::Pong,
            data: None,
        }
    } else {
        InteractionResponse {
            kind: InteractionResponseType::ChannelMessageWithSource,
            data: Some(InteractionResponseData {
                content: Some("🏓 pong".to_owned()),
                ..Default::default()
            }),
        }
    };
    match serde_json::to_vec(&response) {
        Ok(body) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    decode_hex_bytes(text.trim().as_bytes())
}

fn decode_hex_bytes(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |byte: u8| char::from(byte).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}
