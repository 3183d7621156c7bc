//! Logs, traces and metrics for azcord.
//!
//! - [`init`] installs the global `tracing` subscriber: an `EnvFilter`, a human
//!   or JSON log layer on stdout, and — only when an OTLP endpoint or a
//!   Honeycomb key is configured — an OpenTelemetry layer exporting spans over
//!   OTLP/HTTP protobuf. Without export the bot behaves the same, it just logs.
//! - [`build_subscriber`] builds the same stack as a [`tracing::Dispatch`]
//!   without touching globals, for tests.
//! - [`Metrics`] and [`serve_admin`] serve `/metrics`, `/healthz` and `/readyz`.
//!
//! Export never blocks the caller: finished spans go into a bounded queue that
//! a background thread drains; when the collector is slow or down the queue
//! fills and further spans are dropped.

mod admin;
mod config;
mod export;
mod metrics;
mod span_export;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider};
use tracing::Dispatch;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use admin::{AdminState, METRICS_CONTENT_TYPE, admin_router, serve_admin};
pub use config::{
    ExportConfig, HONEYCOMB_DEFAULT_ENDPOINT, LogFormat, OtlpTracesExport, Secret, TelemetryConfig,
    TraceSampler,
};
pub use export::ExportStats;
pub use metrics::{Metrics, SHARD_STATES};
pub use span_export::SpanExport;

/// How long [`TelemetryGuard::shutdown`] waits for the tracer provider to shut
/// down, after a flush that the SDK bounds at 5 s.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why telemetry could not be set up or torn down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// A setting (usually an environment variable) has an unusable value.
    #[error("invalid {setting}: {reason}")]
    InvalidConfig {
        /// The variable or setting at fault.
        setting: &'static str,
        /// What is wrong with it; never contains a credential.
        reason: String,
    },
    /// The log filter directives did not parse.
    #[error("invalid log filter: {0}")]
    InvalidLogFilter(String),
    /// A global subscriber was already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialised,
    /// The OTLP exporter could not be built.
    #[error("cannot build the otlp exporter: {0}")]
    Exporter(String),
    /// The export runtime thread could not start.
    #[error("cannot start the export runtime")]
    Runtime(#[source] std::io::Error),
    /// Pending spans could not be exported on flush.
    #[error("flushing spans failed: {0}")]
    Flush(String),
    /// The tracer provider did not shut down cleanly.
    #[error("shutting down the tracer provider failed: {0}")]
    Shutdown(String),
}

/// A subscriber stack that has not been installed globally, with the guard that flushes it.
pub struct Telemetry {
    /// The subscriber; use with `tracing::dispatcher::with_default` or `set_default`.
    pub dispatch: Dispatch,
    /// Flushes and stops export; keep it alive as long as the dispatch is used.
    pub guard: TelemetryGuard,
}

/// Keeps trace export running; [`TelemetryGuard::shutdown`] (or drop) flushes and stops it.
///
/// Shutting down blocks the calling thread for a bounded time (at most about
/// 10 s with a hung collector). From async code, call it inside
/// `tokio::task::spawn_blocking` so the runtime keeps serving meanwhile.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    pipeline: Option<export::ExportPipeline>,
}

/// An in-memory log sink for tests: pass a clone to [`build_subscriber`] and read it back.
#[derive(Clone, Default)]
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

/// Installs the global subscriber described by `config`, logging to stdout.
pub fn init(config: TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let ansi = !config.log_format.is_json() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let telemetry = build(config, BoxMakeWriter::new(std::io::stdout), ansi)?;
    tracing::dispatcher::set_global_default(telemetry.dispatch)
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(telemetry.guard)
}

/// Builds the subscriber described by `config` without installing it, logging to `log_writer`.
pub fn build_subscriber<W>(
    config: TelemetryConfig,
    log_writer: W,
) -> Result<Telemetry, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(config, BoxMakeWriter::new(log_writer), false)
}

/// The trace id (32 hex digits) of the current span, when spans are being exported.
///
/// Use it as the correlation id shown to a user for an internal error.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

impl TelemetryGuard {
    /// Whether spans are being exported at all.
    pub fn is_exporting(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Export health so far; all zero when not exporting.
    pub fn export_stats(&self) -> ExportStats {
        self.pipeline
            .as_ref()
            .map(|pipeline| pipeline.health.stats())
            .unwrap_or_default()
    }

    /// Exports every finished span now; blocks for at most 5 s.
    pub fn force_flush(&self) -> Result<(), TelemetryError> {
        match &self.pipeline {
            Some(pipeline) => pipeline
                .provider
                .force_flush()
                .map_err(|error| TelemetryError::Flush(error.to_string())),
            None => Ok(()),
        }
    }

    /// Flushes pending spans and stops export, waiting a bounded time.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        match self.pipeline.take() {
            Some(pipeline) => pipeline.shutdown(SHUTDOWN_TIMEOUT),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(pipeline) = self.pipeline.take()
            && let Err(error) = pipeline.shutdown(SHUTDOWN_TIMEOUT)
        {
            // Best effort: the subscriber may be gone, so stderr is the only safe place.
            let _ = writeln!(std::io::stderr(), "azcord-telemetry: {error}");
        }
    }
}

impl LogCapture {
    /// Everything written so far, lossily decoded as UTF-8.
    pub fn contents(&self) -> String {
        let buffer = self.buffer.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl<'w> MakeWriter<'w> for LogCapture {
    type Writer = LogCaptureWriter;

    fn make_writer(&'w self) -> Self::Writer {
        LogCaptureWriter {
            buffer: self.buffer.clone(),
        }
    }
}

/// The writer [`LogCapture`] hands to the log layer.
pub struct LogCaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Write for LogCaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut buffer) = self.buffer.lock() {
            buffer.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether a span or event may be recorded at all, whatever the log filter says.
///
/// twilight-http and its rate limiter record the full request path in their spans and
/// debug events, and interaction routes carry the interaction token in their path. So
/// their spans are never enabled and only their warnings and errors (which carry no
/// path) are, whatever the log filter says; azcord's own `discord.rest` spans name the
/// route instead.
fn not_secret_bearing(metadata: &tracing::Metadata<'_>) -> bool {
    !metadata.target().starts_with("twilight_http")
        || (metadata.is_event() && *metadata.level() <= tracing::Level::WARN)
}

/// Whether a span or event goes into the exported traces.
///
/// twilight-gateway-queue opens a `bucket` span each time it lets a shard identify;
/// it belongs to no interaction and would arrive as a trace of its own. Its spans stay
/// in the logs (at the filter's level) but are never exported.
fn belongs_in_traces(metadata: &tracing::Metadata<'_>) -> bool {
    !(metadata.is_span() && metadata.target().starts_with("twilight_gateway_queue"))
}

fn build(
    config: TelemetryConfig,
    log_writer: BoxMakeWriter,
    ansi: bool,
) -> Result<Telemetry, TelemetryError> {
    let filter_directives = config.log_filter.as_deref().unwrap_or("info");
    let filter = EnvFilter::builder()
        .parse(filter_directives)
        .map_err(|error| TelemetryError::InvalidLogFilter(error.to_string()))?;

    let log_layer: Box<dyn Layer<Registry> + Send + Sync> = if config.log_format.is_json() {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(log_writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(log_writer)
            .boxed()
    };

    let pipeline = match &config.export.traces {
        Some(traces) => Some(export::ExportPipeline::start(
            &config.service_name,
            &config.export,
            traces,
        )?),
        None => None,
    };
    let otel_layer = pipeline.as_ref().map(|pipeline| {
        let tracer = pipeline.provider.tracer("azcord");
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_threads(false)
            .with_filter(tracing_subscriber::filter::filter_fn(belongs_in_traces))
    });

    let subscriber = Registry::default()
        .with(log_layer)
        .with(otel_layer)
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(not_secret_bearing));
    let dispatch = Dispatch::new(subscriber);

    tracing::dispatcher::with_default(&dispatch, || match &config.export.traces {
        Some(traces) => tracing::info!(
            endpoint = %traces.endpoint,
            headers = ?traces.header_names(),
            service.name = %config.service_name,
            "exporting traces over otlp/http"
        ),
        None => tracing::debug!("trace export off: no otlp endpoint or honeycomb key configured"),
    });

    Ok(Telemetry {
        dispatch,
        guard: TelemetryGuard { pipeline },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_only_config_builds_without_export() {
        let logs = LogCapture::default();
        let mut config = TelemetryConfig::logs_only("azcord");
        config.log_format = LogFormat::Json;
        let telemetry = build_subscriber(config, logs.clone()).unwrap();
        assert!(!telemetry.guard.is_exporting());
        tracing::dispatcher::with_default(&telemetry.dispatch, || {
            let _span = tracing::info_span!("interaction", command.name = "ping").entered();
            tracing::info!(answer = 42, "handled");
            assert_eq!(current_trace_id(), None);
        });
        let line = logs.contents();
        assert!(line.contains(r#""answer":42"#), "{line}");
        assert!(line.contains(r#""command.name":"ping""#), "{line}");
        assert_eq!(telemetry.guard.export_stats(), ExportStats::default());
        telemetry.guard.shutdown().unwrap();
    }

    #[test]
    fn init_installs_the_global_subscriber_once() {
        // Export off and nothing logged at info, so this test writes nothing to stdout.
        let guard = init(TelemetryConfig::logs_only("azcord")).unwrap();
        assert!(!guard.is_exporting());
        assert!(matches!(
            init(TelemetryConfig::logs_only("azcord")),
            Err(TelemetryError::AlreadyInitialised)
        ));
        guard.shutdown().unwrap();
    }

    #[test]
    fn spans_that_carry_request_paths_are_never_recorded() {
        let capture = LogCapture::default();
        let mut config = TelemetryConfig::logs_only("test");
        config.log_format = LogFormat::Human;
        config.log_filter = Some("trace".to_owned());
        let telemetry = build_subscriber(config, capture.clone()).unwrap();
        tracing::dispatcher::with_default(&telemetry.dispatch, || {
            let path = "webhooks/1/secret-interaction-token/messages/@original";
            let span = tracing::info_span!(target: "twilight_http::client", "request", path);
            span.in_scope(|| {
                tracing::debug!(target: "twilight_http_ratelimiting::actor", path, "permitted");
                tracing::warn!(target: "twilight_http::client", "header parsing failed");
            });
            let ours = tracing::info_span!(
                "discord.rest",
                http.route = "/webhooks/{application.id}/{interaction.token}"
            );
            ours.in_scope(|| tracing::info!("sent"));
        });
        let logs = capture.contents();
        assert!(
            logs.contains("header parsing failed") && logs.contains("discord.rest"),
            "{logs}"
        );
        assert!(!logs.contains("secret-interaction-token"), "{logs}");
    }

    #[test]
    fn log_filter_applies_and_rejects_garbage() {
        let logs = LogCapture::default();
        let mut config = TelemetryConfig::logs_only("azcord");
        config.log_format = LogFormat::Human;
        config.log_filter = Some("warn".to_owned());
        let telemetry = build_subscriber(config, logs.clone()).unwrap();
        tracing::dispatcher::with_default(&telemetry.dispatch, || {
            tracing::info!("quiet");
            tracing::warn!("loud");
        });
        let output = logs.contents();
        assert!(
            output.contains("loud") && !output.contains("quiet"),
            "{output}"
        );

        let mut config = TelemetryConfig::logs_only("azcord");
        config.log_filter = Some("=[".to_owned());
        assert!(matches!(
            build_subscriber(config, LogCapture::default()),
            Err(TelemetryError::InvalidLogFilter(_))
        ));
    }
}
