//! The loopback relay that lets Discord's REST API trust what every other azcord client
//! trusts.
//!
//! twilight-http 0.18 builds its TLS connector itself, from compiled-in or system roots,
//! and takes none from its user. When `SSL_CERT_FILE` adds a certificate authority (a
//! TLS-inspecting proxy's, say), the REST client is pointed at this relay over plain
//! HTTP on loopback instead (twilight-http's `ClientBuilder::proxy`), and the relay sends
//! each request on to Discord over TLS with [`TlsTrust::client_config`]: the compiled-in
//! roots plus that bundle, as for Azure and the trace exporter. Without `SSL_CERT_FILE`
//! there is no relay and twilight-http connects by itself, with the same compiled-in
//! roots.
//!
//! Request paths carry interaction tokens (`/webhooks/{application}/{token}/…`), so the
//! relay never logs a path or a URL; it logs only why a request could not be sent.

use std::{error::Error as _, net::Ipv4Addr, sync::Arc};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{
        HeaderName, HeaderValue, StatusCode, Uri,
        header::{CONNECTION, CONTENT_TYPE, HOST, TE, TRAILER, TRANSFER_ENCODING, UPGRADE},
        uri::{Authority, PathAndQuery, Scheme},
    },
    response::{IntoResponse, Response},
};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use rustls::ClientConfig;
use tokio::net::TcpListener;

/// Headers that describe one hop's connection, which a relay must not pass on.
const HOP_BY_HOP: [HeaderName; 5] = [CONNECTION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE];

/// A running relay: where twilight-http sends its requests.
#[derive(Debug)]
pub(crate) struct TlsRelay {
    /// `127.0.0.1:PORT`, as twilight-http's `ClientBuilder::proxy` takes it.
    pub(crate) proxy: String,
}

struct Relay {
    client: Client<HttpsConnector<HttpConnector>, Body>,
    upstream: Authority,
}

impl TlsRelay {
    /// Starts relaying to `https://{upstream}` on a free loopback port, with `tls`
    /// (from [`TlsTrust::client_config`](azcord_tls::TlsTrust::client_config)). It
    /// serves for as long as the Tokio runtime it was started on runs, which in azcord
    /// is the process.
    pub(crate) async fn start(upstream: Authority, tls: &ClientConfig) -> std::io::Result<Self> {
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_only()
            .enable_http1()
            .build();
        let relay = Arc::new(Relay {
            client: Client::builder(TokioExecutor::new()).build(connector),
            upstream,
        });
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let proxy = listener.local_addr()?.to_string();
        let router = Router::new().fallback(forward).with_state(relay);
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the TLS relay to Discord stopped");
            }
        });
        Ok(Self { proxy })
    }
}

/// Sends one request on to Discord and its answer back, or answers 502 in Discord's
/// error shape, saying why, so that twilight-http reports the cause.
async fn forward(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    parts.uri = Uri::builder()
        .scheme(Scheme::HTTPS)
        .authority(relay.upstream.clone())
        .path_and_query(path)
        .build()
        .expect("an https scheme, a parsed authority and a parsed path make a URI");
    for name in HOP_BY_HOP {
        parts.headers.remove(name);
    }
    let host = HeaderValue::from_str(relay.upstream.as_str())
        .expect("a parsed authority is a valid header value");
    parts.headers.insert(HOST, host);
    match relay.client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            for name in HOP_BY_HOP {
                parts.headers.remove(name);
            }
            Response::from_parts(parts, Body::new(body))
        }
        Err(error) => {
            let reason = error_chain(&error);
            tracing::warn!(%reason, "could not send a request to Discord over TLS");
            let body = serde_json::json!({
                "code": 0,
                "message": format!("azcord could not reach Discord over TLS: {reason}"),
            });
            (
                StatusCode::BAD_GATEWAY,
                [(CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}

/// `error` and its sources, joined with `: `; none of them holds the request's URI.
fn error_chain(error: &hyper_util::client::legacy::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use axum::{body::Bytes, http::HeaderMap, routing::post};
    use azcord_sim::tls::TestCa;
    use azcord_tls::TlsTrust;

    use super::*;

    /// An HTTPS server that answers with the Host it was sent, the path and the body.
    async fn echo_server(ca: &TestCa) -> String {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let router = Router::new().route(
            "/api/v10/channels/{id}/messages",
            post(
                |headers: HeaderMap, request_uri: Uri, body: Bytes| async move {
                    let host = headers[HOST].to_str().unwrap().to_owned();
                    let connection = headers.contains_key(CONNECTION);
                    format!(
                        "{host} {request_uri} connection={connection} {}",
                        String::from_utf8_lossy(&body)
                    )
                },
            ),
        );
        let listener = ca.listener(listener).unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        authority
    }

    /// Sends `request` to the relay over plain HTTP, as twilight-http does.
    async fn send(relay: &TlsRelay, request: axum::http::request::Builder, body: &str) -> Response {
        let client: Client<HttpConnector, Body> =
            Client::builder(TokioExecutor::new()).build_http();
        let request = request
            .uri(format!(
                "http://{}/api/v10/channels/7/messages?wait=true",
                relay.proxy
            ))
            .header(CONNECTION, "keep-alive")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = client.request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, Body::new(body))
    }

    async fn text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn trusting(ca: &TestCa, dir: &std::path::Path) -> Arc<ClientConfig> {
        let file = dir.join("ca.pem");
        ca.write_pem(&file).unwrap();
        TlsTrust {
            extra_roots: Some(file),
        }
        .client_config()
        .unwrap()
    }

    #[tokio::test]
    async fn a_request_reaches_the_upstream_over_tls_as_if_sent_to_it() {
        let ca = TestCa::generate("upstream").unwrap();
        let upstream = echo_server(&ca).await;
        let dir = tempfile::tempdir().unwrap();
        let relay = TlsRelay::start(upstream.parse().unwrap(), &trusting(&ca, dir.path()))
            .await
            .unwrap();

        let response = send(&relay, Request::post("/"), r#"{"content":"hi"}"#).await;
        assert_eq!(response.status(), StatusCode::OK);
        // The upstream sees its own authority as Host, not the relay's, the path and
        // query unchanged, no hop-by-hop header and the body.
        assert_eq!(
            text(response).await,
            format!(
                r#"{upstream} /api/v10/channels/7/messages?wait=true connection=false {{"content":"hi"}}"#
            )
        );
    }

    #[tokio::test]
    async fn an_untrusted_upstream_gets_a_502_that_says_why_and_names_no_path() {
        let ca = TestCa::generate("upstream").unwrap();
        let upstream = echo_server(&ca).await;
        let stranger = TestCa::generate("stranger").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let relay = TlsRelay::start(upstream.parse().unwrap(), &trusting(&stranger, dir.path()))
            .await
            .unwrap();

        let response = send(&relay, Request::post("/"), "{}").await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        let body = text(response).await;
        assert!(
            body.contains("azcord could not reach Discord over TLS")
                && body.contains("UnknownIssuer"),
            "{body}"
        );
        assert!(!body.contains("/channels/7"), "{body}");
    }
}
