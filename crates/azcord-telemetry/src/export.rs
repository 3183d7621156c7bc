//! OTLP/HTTP span export: the tracer provider, its bounded batch processor, and
//! the hyper-based HTTP client the exporter sends through.
//!
//! The SDK's `BatchSpanProcessor` runs on its own OS thread and drives the
//! exporter future with `futures_executor::block_on`, outside any tokio
//! runtime. So the HTTP client never does I/O on the calling thread: it spawns
//! each request onto a small runtime owned by this module (one thread,
//! "azcord-otlp-export") and awaits the `JoinHandle`, which works from any
//! executor. Owning the runtime, rather than borrowing the application's, means
//! a flush from inside a single-threaded runtime cannot deadlock and export
//! keeps working while the application runtime shuts down.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azcord_tls::TlsTrust;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry::KeyValue;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};

use crate::TelemetryError;
use crate::config::{ExportConfig, OtlpTracesExport, TraceSampler};

/// Collector responses larger than this are refused (they should be tiny protobufs).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Counters describing export health, readable through [`crate::TelemetryGuard::export_stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Export requests that got a 2xx answer.
    pub succeeded: u64,
    /// Export requests that failed: no connection, timeout, or a non-2xx status.
    pub failed: u64,
    /// The most recent failure, if any.
    pub last_error: Option<String>,
}

/// A running trace pipeline: the tracer provider plus the runtime its HTTP client uses.
pub(crate) struct ExportPipeline {
    pub(crate) provider: SdkTracerProvider,
    pub(crate) health: Arc<ExportHealth>,
    runtime: ExportRuntime,
}

/// Shared export counters; the HTTP client writes, the guard reads.
#[derive(Debug, Default)]
pub(crate) struct ExportHealth {
    succeeded: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl ExportPipeline {
    pub(crate) fn start(
        service_name: &str,
        export: &ExportConfig,
        traces: &OtlpTracesExport,
    ) -> Result<Self, TelemetryError> {
        let runtime = ExportRuntime::start()?;
        let health = Arc::new(ExportHealth::default());
        let client = HyperExportClient::new(
            runtime.handle.clone(),
            traces.timeout,
            health.clone(),
            &traces.tls,
        )?;

        let exporter = span_exporter(client, traces)?;

        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(traces.max_queue_size)
            .with_max_export_batch_size(traces.max_queue_size.min(512))
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();

        let resource = resource(service_name, export);

        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(sampler(export.sampler))
            .with_resource(resource)
            .build();

        Ok(Self {
            provider,
            health,
            runtime,
        })
    }

    /// Flushes and shuts the provider down, then stops the export runtime.
    ///
    /// Bounded: the SDK waits at most 5 s for a flush and `timeout` for shutdown;
    /// stopping the runtime cancels any request still in flight.
    pub(crate) fn shutdown(self, timeout: Duration) -> Result<(), TelemetryError> {
        let flushed = self
            .provider
            .force_flush()
            .map_err(|error| TelemetryError::Flush(error.to_string()));
        let shut_down = self
            .provider
            .shutdown_with_timeout(timeout)
            .map_err(|error| TelemetryError::Shutdown(error.to_string()));
        self.runtime.stop();
        flushed.and(shut_down)
    }
}

impl ExportHealth {
    pub(crate) fn stats(&self) -> ExportStats {
        ExportStats {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .map(|last| last.clone())
                .unwrap_or_default(),
        }
    }

    fn record_success(&self) {
        let previous_failures = self.failed.load(Ordering::Relaxed);
        let was_failing = self
            .last_error
            .lock()
            .map(|mut last| last.take().is_some())
            .unwrap_or(false);
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        if was_failing {
            tracing::info!(
                failed_requests = previous_failures,
                "trace export recovered"
            );
        }
    }

    fn record_failure(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let was_healthy = self
            .last_error
            .lock()
            .map(|mut last| last.replace(error.clone()).is_none())
            .unwrap_or(false);
        // Log the transition only: a dead collector must not flood the logs.
        if was_healthy {
            tracing::warn!(%error, "trace export failing; spans may be dropped");
        }
    }
}

/// The OTLP/HTTP protobuf exporter to `traces`, sending through `client`.
pub(crate) fn span_exporter(
    client: HyperExportClient,
    traces: &OtlpTracesExport,
) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let headers = traces
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.expose().to_owned()))
        .collect();
    // Endpoint, protocol and timeout are set explicitly so the exporter's own
    // environment lookups cannot disagree with `config`. It still merges
    // OTEL_EXPORTER_OTLP_(TRACES_)HEADERS itself; `config` parsed the same
    // variables, so that only matters when a test passes a fake environment.
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces.endpoint.to_string())
        .with_timeout(traces.timeout)
        .with_headers(headers)
        .with_retry_policy(RetryPolicy::recommended())
        .build()
        .map_err(|error| TelemetryError::Exporter(error.to_string()))
}

/// The resource every exported span carries: `service.name` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn resource(service_name: &str, export: &ExportConfig) -> Resource {
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(
            export
                .resource_attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_service_name(service_name.to_owned())
        .build()
}

fn sampler(config: TraceSampler) -> Sampler {
    match config {
        TraceSampler::AlwaysOn => Sampler::AlwaysOn,
        TraceSampler::AlwaysOff => Sampler::AlwaysOff,
        TraceSampler::TraceIdRatio(ratio) => Sampler::TraceIdRatioBased(ratio),
        TraceSampler::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        TraceSampler::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        TraceSampler::ParentBasedTraceIdRatio(ratio) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
    }
}

/// A one-thread tokio runtime that only carries export requests.
pub(crate) struct ExportRuntime {
    pub(crate) handle: tokio::runtime::Handle,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl ExportRuntime {
    pub(crate) fn start() -> Result<Self, TelemetryError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("azcord-otlp-export")
            .build()
            .map_err(TelemetryError::Runtime)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("azcord-otlp-export".to_owned())
            .spawn(move || {
                // Spawned requests run while this thread sits in block_on.
                let _ = runtime.block_on(stopped);
            })
            .map_err(TelemetryError::Runtime)?;
        Ok(Self {
            handle,
            stop,
            thread,
        })
    }

    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        // Dropping the runtime cancels in-flight requests, so this join is prompt.
        let _ = self.thread.join();
    }
}

/// `opentelemetry_http::HttpClient` on hyper-util's pooled client with rustls
/// (ring, webpki roots); plain http is allowed for local collectors.
#[derive(Debug, Clone)]
pub(crate) struct HyperExportClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
    timeout: Duration,
    health: Arc<ExportHealth>,
}

impl HyperExportClient {
    /// A client whose TLS trusts what `tls` says: the compiled-in roots and
    /// `SSL_CERT_FILE`.
    pub(crate) fn new(
        runtime: tokio::runtime::Handle,
        timeout: Duration,
        health: Arc<ExportHealth>,
        tls: &TlsTrust,
    ) -> Result<Self, TelemetryError> {
        let tls_config = tls
            .client_config()
            .map_err(|error| TelemetryError::Exporter(format!("tls setup failed: {error}")))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(rustls::ClientConfig::clone(&tls_config))
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            runtime,
            timeout,
            health,
        })
    }

    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let timeout = self.timeout;
        let request = request.map(Full::new);
        let task = self.runtime.spawn(async move {
            tokio::time::timeout(timeout, async move {
                let response = client.request(request).await?;
                let (parts, body) = response.into_parts();
                let body = Limited::new(body, MAX_RESPONSE_BYTES)
                    .collect()
                    .await?
                    .to_bytes();
                Ok::<_, HttpError>(Response::from_parts(parts, body))
            })
            .await
            .map_err(|_| HttpError::from(format!("no response within {timeout:?}")))?
        });
        let result = match task.await {
            Ok(result) => result,
            Err(join_error) => Err(HttpError::from(format!(
                "export request was cancelled: {join_error}"
            ))),
        };
        match &result {
            Ok(response) if response.status().is_success() => self.health.record_success(),
            Ok(response) => self
                .health
                .record_failure(format!("collector answered {}", response.status())),
            Err(error) => self.health.record_failure(error_chain(error.as_ref())),
        }
        result
    }
}

impl HttpClient for HyperExportClient {
    // The trait is declared with #[async_trait]; this is its desugared form.
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, HttpError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.send(request))
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
