//! A loopback OTLP/HTTP trace receiver, for testing trace export.
//!
//! [`OtlpReceiver::start`] binds `127.0.0.1:0` and accepts `POST /v1/traces`
//! with `application/x-protobuf` bodies, recording each request's headers and
//! flattening its spans into [`ReceivedSpan`]s that tests can assert on. Attribute
//! values are kept both as text, for easy comparison, and as the typed OTLP
//! [`AnyValue`] the exporter sent, for checks on their types.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
pub use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as ProtoStatusCode;
use prost::Message;

use crate::tls::{CaFile, TestCa};

/// How long [`OtlpReceiver::wait_for_spans`] waits before failing the test.
const WAIT_DEADLINE: Duration = Duration::from_secs(30);

/// A running loopback OTLP/HTTP receiver; stops when dropped.
pub struct OtlpReceiver {
    address: SocketAddr,
    /// The CA of an https receiver, and the file holding its PEM.
    tls: Option<(TestCa, CaFile)>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// One span as received, flattened with its resource's service name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSpan {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// 16 lowercase hex digits, or empty for a root span.
    pub parent_span_id: String,
    /// The span name.
    pub name: String,
    /// Span attributes, values stringified (see [`stringify_any_value`]).
    pub attributes: BTreeMap<String, String>,
    /// Span attributes with the values as sent, typed (see [`any_value_kind`]).
    pub typed_attributes: BTreeMap<String, AnyValue>,
    /// Span events in order.
    pub events: Vec<ReceivedEvent>,
    /// The `service.name` resource attribute.
    pub service_name: Option<String>,
    /// All resource attributes, stringified.
    pub resource: BTreeMap<String, String>,
    /// The instrumentation scope name.
    pub scope_name: String,
    /// The span status.
    pub status: ReceivedStatus,
}

/// A span event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The event name (for `tracing` events, the message).
    pub name: String,
    /// Event attributes, stringified.
    pub attributes: BTreeMap<String, String>,
    /// Event attributes with the values as sent, typed.
    pub typed_attributes: BTreeMap<String, AnyValue>,
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedStatus {
    /// No status set.
    Unset,
    /// Explicitly successful.
    Ok,
    /// Failed, with the status message.
    Error(String),
}

/// One export request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// Request headers, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Spans in the request (0 if it was rejected before decoding).
    pub span_count: usize,
    /// The status the receiver answered with.
    pub status: u16,
}

struct Shared {
    state: Mutex<ReceiverState>,
    /// Bumped after every request, so waiters re-check without polling.
    changed: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct ReceiverState {
    spans: Vec<ReceivedSpan>,
    requests: Vec<ReceivedRequest>,
    fail_with: Option<StatusCode>,
}

impl OtlpReceiver {
    /// Starts a receiver on `127.0.0.1` with an ephemeral port.
    pub async fn start() -> std::io::Result<OtlpReceiver> {
        Self::start_with(false).await
    }

    /// Starts a receiver that serves https, with a certificate from a CA made for it
    /// ([`OtlpReceiver::ca_file`]), as Honeycomb and most collectors are reached.
    pub async fn start_tls() -> std::io::Result<OtlpReceiver> {
        Self::start_with(true).await
    }

    async fn start_with(tls: bool) -> std::io::Result<OtlpReceiver> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(ReceiverState::default()),
            changed: tokio::sync::watch::Sender::new(0),
        });
        let router = Router::new()
            .route("/v1/traces", post(receive_traces))
            .with_state(shared.clone());
        let (server, tls) = if tls {
            let ca = TestCa::generate("azcord OTLP receiver")?;
            let ca_file = CaFile::write(&ca, "otlp-receiver", address)?;
            let listener = ca.listener(listener)?;
            let server = tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "otlp receiver stopped");
                }
            });
            (server, Some((ca, ca_file)))
        } else {
            let server = tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "otlp receiver stopped");
                }
            });
            (server, None)
        };
        Ok(OtlpReceiver {
            address,
            tls,
            shared,
            server,
        })
    }

    /// The file holding the PEM of an https receiver's CA (`SSL_CERT_FILE`), removed
    /// when the receiver is dropped; `None` for a plain http receiver.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|(_, file)| file.path.as_path())
    }

    /// The base endpoint, e.g. `http://127.0.0.1:4318` (`https://` for
    /// [`OtlpReceiver::start_tls`]); exporters append `/v1/traces`.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.shared.lock().spans.clone()
    }

    /// Every request received so far, rejected ones included.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Answers every following request with `status` (e.g. 503) instead of
    /// accepting it; `None` accepts again. Rejected spans are not recorded.
    pub fn fail_with(&self, status: Option<u16>) {
        let status = status
            .map(|code| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        self.shared.lock().fail_with = status;
    }

    /// Waits until `predicate` holds for the spans received so far, and returns them.
    ///
    /// Panics, listing what did arrive, if that takes longer than 30 s.
    pub async fn wait_for_spans(
        &self,
        predicate: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        self.wait_until(|state| predicate(&state.spans).then(|| state.spans.clone()))
            .await
    }

    /// Waits until at least `count` requests (accepted or not) have arrived, and returns them.
    ///
    /// Panics if that takes longer than 30 s.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<ReceivedRequest> {
        self.wait_until(|state| (state.requests.len() >= count).then(|| state.requests.clone()))
            .await
    }

    async fn wait_until<T>(&self, check: impl Fn(&ReceiverState) -> Option<T>) -> T {
        let mut changed = self.shared.changed.subscribe();
        let wait = async {
            loop {
                // Mark the current version seen before checking, so no update is missed.
                changed.borrow_and_update();
                if let Some(found) = check(&self.shared.lock()) {
                    return found;
                }
                if changed.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        match tokio::time::timeout(WAIT_DEADLINE, wait).await {
            Ok(found) => found,
            Err(_) => {
                let state = self.shared.lock();
                let names: Vec<&str> = state.spans.iter().map(|span| span.name.as_str()).collect();
                panic!(
                    "otlp receiver: condition not met within {WAIT_DEADLINE:?}; \
                     {} requests, spans received: {names:?}",
                    state.requests.len()
                );
            }
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ReceiverState> {
        // A panicking test thread must not hide the data from the others.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, request: ReceivedRequest, spans: Vec<ReceivedSpan>) {
        {
            let mut state = self.lock();
            state.requests.push(request);
            state.spans.extend(spans);
        }
        self.changed.send_modify(|version| *version += 1);
    }
}

async fn receive_traces(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let reject = |status: StatusCode, message: String| {
        shared.record(
            ReceivedRequest {
                headers: header_list.clone(),
                span_count: 0,
                status: status.as_u16(),
            },
            Vec::new(),
        );
        (status, message).into_response()
    };

    // Copied out first: the guard must be released before `reject` locks again.
    let fail_with = shared.lock().fail_with;
    if let Some(status) = fail_with {
        return reject(status, "failing on purpose".to_owned());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-protobuf") {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected application/x-protobuf, got `{content_type}`"),
        );
    }
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(request) => request,
        Err(error) => return reject(StatusCode::BAD_REQUEST, format!("bad protobuf: {error}")),
    };

    let spans = flatten_spans(request);
    shared.record(
        ReceivedRequest {
            headers: header_list,
            span_count: spans.len(),
            status: StatusCode::OK.as_u16(),
        },
        spans,
    );
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
        .into_response()
}

fn flatten_spans(request: ExportTraceServiceRequest) -> Vec<ReceivedSpan> {
    let mut flattened = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|resource| attribute_map(&resource.attributes))
            .unwrap_or_default();
        let service_name = resource.get("service.name").cloned();
        for scope_spans in resource_spans.scope_spans {
            let scope_name = scope_spans
                .scope
                .map(|scope| scope.name)
                .unwrap_or_default();
            for span in scope_spans.spans {
                let status = match span.status {
                    Some(status) if status.code == ProtoStatusCode::Error as i32 => {
                        ReceivedStatus::Error(status.message)
                    }
                    Some(status) if status.code == ProtoStatusCode::Ok as i32 => ReceivedStatus::Ok,
                    _ => ReceivedStatus::Unset,
                };
                flattened.push(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    name: span.name,
                    attributes: attribute_map(&span.attributes),
                    typed_attributes: typed_attribute_map(&span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| ReceivedEvent {
                            attributes: attribute_map(&event.attributes),
                            typed_attributes: typed_attribute_map(&event.attributes),
                            name: event.name,
                        })
                        .collect(),
                    service_name: service_name.clone(),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    status,
                });
            }
        }
    }
    flattened
}

fn attribute_map(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|attribute| {
            let value = attribute
                .value
                .as_ref()
                .map(stringify_any_value)
                .unwrap_or_default();
            (attribute.key.clone(), value)
        })
        .collect()
}

fn typed_attribute_map(attributes: &[KeyValue]) -> BTreeMap<String, AnyValue> {
    attributes
        .iter()
        .map(|attribute| {
            let value = attribute.value.clone().unwrap_or_default();
            (attribute.key.clone(), value)
        })
        .collect()
}

/// The OTLP type of a value: `string`, `bool`, `int`, `double`, `bytes`, `array`,
/// `kvlist`, `strindex`, or `empty` when it has none.
pub fn any_value_kind(value: &AnyValue) -> &'static str {
    match &value.value {
        None => "empty",
        Some(any_value::Value::StringValue(_)) => "string",
        Some(any_value::Value::StringValueStrindex(_)) => "strindex",
        Some(any_value::Value::BoolValue(_)) => "bool",
        Some(any_value::Value::IntValue(_)) => "int",
        Some(any_value::Value::DoubleValue(_)) => "double",
        Some(any_value::Value::BytesValue(_)) => "bytes",
        Some(any_value::Value::ArrayValue(_)) => "array",
        Some(any_value::Value::KvlistValue(_)) => "kvlist",
    }
}

/// Renders an OTLP value as text: strings as-is, scalars via `Display`,
/// arrays as `[a, b]`, maps as `{k: v}`, bytes as hex.
pub fn stringify_any_value(value: &AnyValue) -> String {
    match &value.value {
        None => String::new(),
        Some(any_value::Value::StringValue(text)) => text.clone(),
        Some(any_value::Value::BoolValue(flag)) => flag.to_string(),
        Some(any_value::Value::IntValue(number)) => number.to_string(),
        Some(any_value::Value::DoubleValue(number)) => number.to_string(),
        Some(any_value::Value::BytesValue(bytes)) => hex(bytes),
        Some(any_value::Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(stringify_any_value).collect();
            format!("[{}]", items.join(", "))
        }
        Some(any_value::Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| {
                    let value = kv
                        .value
                        .as_ref()
                        .map(stringify_any_value)
                        .unwrap_or_default();
                    format!("{}: {value}", kv.key)
                })
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Some(any_value::Value::StringValueStrindex(index)) => format!("strindex:{index}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    fn string(text: &str) -> AnyValue {
        AnyValue {
            value: Some(any_value::Value::StringValue(text.to_owned())),
        }
    }

    fn key_value(key: &str, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(value),
            ..Default::default()
        }
    }

    #[test]
    fn any_values_stringify_and_keep_their_kind() {
        let value = |value| AnyValue { value: Some(value) };
        let cases = [
            (AnyValue { value: None }, "", "empty"),
            (string("hi"), "hi", "string"),
            (value(any_value::Value::BoolValue(true)), "true", "bool"),
            (value(any_value::Value::IntValue(-7)), "-7", "int"),
            (value(any_value::Value::DoubleValue(1.5)), "1.5", "double"),
            (
                value(any_value::Value::BytesValue(vec![0, 171])),
                "00ab",
                "bytes",
            ),
            (
                value(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![string("a"), string("b")],
                })),
                "[a, b]",
                "array",
            ),
            (
                value(any_value::Value::KvlistValue(KeyValueList {
                    values: vec![key_value("k", string("v"))],
                })),
                "{k: v}",
                "kvlist",
            ),
            (
                value(any_value::Value::StringValueStrindex(3)),
                "strindex:3",
                "strindex",
            ),
        ];
        for (value, text, kind) in cases {
            assert_eq!(stringify_any_value(&value), text, "{value:?}");
            assert_eq!(any_value_kind(&value), kind, "{value:?}");
        }
    }

    #[test]
    fn spans_flatten_with_resource_and_status() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![key_value("service.name", string("azcord"))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: None,
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![1; 8],
                        parent_span_id: Vec::new(),
                        name: "interaction".to_owned(),
                        attributes: vec![
                            key_value("command.name", string("ping")),
                            key_value(
                                "latency_ms",
                                AnyValue {
                                    value: Some(any_value::Value::DoubleValue(0.25)),
                                },
                            ),
                        ],
                        status: Some(Status {
                            message: "boom".to_owned(),
                            code: ProtoStatusCode::Error as i32,
                        }),
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let spans = flatten_spans(request);
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.trace_id, "ab".repeat(16));
        assert_eq!(span.span_id, "0101010101010101");
        assert_eq!(span.parent_span_id, "");
        assert_eq!(span.service_name.as_deref(), Some("azcord"));
        assert_eq!(span.attributes["command.name"], "ping");
        assert_eq!(span.attributes["latency_ms"], "0.25");
        assert_eq!(
            span.typed_attributes["latency_ms"].value,
            Some(any_value::Value::DoubleValue(0.25))
        );
        assert_eq!(
            any_value_kind(&span.typed_attributes["command.name"]),
            "string"
        );
        assert_eq!(span.status, ReceivedStatus::Error("boom".to_owned()));
    }
}
