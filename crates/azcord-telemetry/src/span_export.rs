//! Export of spans built by hand, with ids and times chosen by the caller.
//!
//! Build traces (the CircleCI pipeline as one trace) are not made of `tracing` spans:
//! each job and command runs in its own process, so their ids are derived from the
//! workflow and their times are known only afterwards. The SDK's tracer always draws
//! span ids itself, so [`SpanExport`] hands finished [`SpanData`] straight to the same
//! OTLP/HTTP exporter, environment variables and secret handling as the bot's traces.

use std::sync::Arc;

use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::export::{ExportHealth, ExportRuntime, HyperExportClient, resource, span_exporter};
use crate::{ExportStats, TelemetryConfig, TelemetryError};

/// A running OTLP/HTTP export for hand-built spans; stop it with [`SpanExport::shutdown`].
pub struct SpanExport {
    exporter: opentelemetry_otlp::SpanExporter,
    health: Arc<ExportHealth>,
    runtime: ExportRuntime,
}

impl SpanExport {
    /// Starts export as `config` describes, or `None` when no endpoint or key is set.
    pub fn start(config: &TelemetryConfig) -> Result<Option<SpanExport>, TelemetryError> {
        let Some(traces) = &config.export.traces else {
            return Ok(None);
        };
        let runtime = ExportRuntime::start()?;
        let health = Arc::new(ExportHealth::default());
        let client = HyperExportClient::new(
            runtime.handle.clone(),
            traces.timeout,
            health.clone(),
            &traces.tls,
        )?;
        let mut exporter = span_exporter(client, traces)?;
        exporter.set_resource(&resource(&config.service_name, &config.export));
        Ok(Some(SpanExport {
            exporter,
            health,
            runtime,
        }))
    }

    /// Sends `spans` in one request, retrying as the bot's export does; blocks until the
    /// collector answered or the export timeout passed. Call it from synchronous code.
    pub fn export(&self, spans: Vec<SpanData>) -> Result<(), TelemetryError> {
        let handle = self.runtime.handle.clone();
        handle
            .block_on(self.exporter.export(spans))
            .map_err(|error| TelemetryError::Flush(error.to_string()))
    }

    /// Export health so far.
    pub fn export_stats(&self) -> ExportStats {
        self.health.stats()
    }

    /// Stops the export runtime.
    pub fn shutdown(self) {
        self.runtime.stop();
    }
}
