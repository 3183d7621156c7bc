//! Build traces: spans for CI jobs, commands and delivery steps, exported over OTLP
//! through azcord-telemetry, or shown as a table of durations when nothing exports.
//!
//! A process learns its parent span from `TRACEPARENT` (W3C trace context), which
//! `cargo xtask ci step` sets for the command it runs: so the steps of
//! `cargo xtask deploy` become children of the CI command that ran it.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use azcord_telemetry::{SpanExport, TelemetryConfig};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SpanData, SpanEvents, SpanLinks};

/// The `service.name` of build traces, unless `OTEL_SERVICE_NAME` says otherwise.
pub(crate) const SERVICE_NAME: &str = "azcord-ci";

/// Where a span sits in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanPlace {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// `None` for the root span.
    pub(crate) parent: Option<SpanId>,
}

/// A finished span, as plain data.
#[derive(Debug, Clone)]
pub(crate) struct BuildSpan {
    pub(crate) place: SpanPlace,
    pub(crate) name: String,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    /// Fields, with numbers as numbers.
    pub(crate) fields: Vec<KeyValue>,
    /// Why it failed, if it did.
    pub(crate) failure: Option<String>,
}

/// Sends finished spans to the configured collector, if any.
pub(crate) struct SpanSink {
    export: Option<SpanExport>,
}

impl SpanPlace {
    /// A new child of `parent`, with a random span id.
    pub(crate) fn child_of(parent: SpanPlace) -> SpanPlace {
        SpanPlace {
            trace_id: parent.trace_id,
            span_id: RandomIdGenerator::default().new_span_id(),
            parent: Some(parent.span_id),
        }
    }

    /// A root span of a new random trace.
    pub(crate) fn new_root() -> SpanPlace {
        let ids = RandomIdGenerator::default();
        SpanPlace {
            trace_id: ids.new_trace_id(),
            span_id: ids.new_span_id(),
            parent: None,
        }
    }

    /// The `TRACEPARENT` value that makes this span the parent of another process's spans.
    pub(crate) fn traceparent(self) -> String {
        format!("00-{}-{}-01", self.trace_id, self.span_id)
    }

    /// The span named by a `TRACEPARENT` value (`00-<trace>-<span>-<flags>`).
    pub(crate) fn from_traceparent(value: &str) -> Option<SpanPlace> {
        let mut parts = value.trim().split('-');
        let (version, trace, span, _flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || trace.len() != 32 || span.len() != 16 || parts.next().is_some() {
            return None;
        }
        let trace_id = TraceId::from_hex(trace).ok()?;
        let span_id = SpanId::from_hex(span).ok()?;
        (trace_id != TraceId::INVALID && span_id != SpanId::INVALID).then_some(SpanPlace {
            trace_id,
            span_id,
            parent: None,
        })
    }
}

impl BuildSpan {
    /// How long it took.
    pub(crate) fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }

    fn into_span_data(self) -> SpanData {
        let duration_ms = self.duration().as_secs_f64() * 1000.0;
        let mut attributes = self.fields;
        attributes.push(KeyValue::new("duration_ms", duration_ms));
        let status = match &self.failure {
            Some(reason) => {
                attributes.push(KeyValue::new("status", "failure"));
                attributes.push(KeyValue::new("failure_reason", reason.clone()));
                Status::error(reason.clone())
            }
            None => {
                attributes.push(KeyValue::new("status", "success"));
                Status::Ok
            }
        };
        SpanData {
            span_context: SpanContext::new(
                self.place.trace_id,
                self.place.span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: self.place.parent.unwrap_or(SpanId::INVALID),
            parent_span_is_remote: self.place.parent.is_some(),
            span_kind: SpanKind::Internal,
            name: Cow::Owned(self.name),
            start_time: self.start,
            end_time: self.end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder("xtask").build(),
        }
    }
}

impl SpanSink {
    /// Export as the environment configures it (`OTEL_EXPORTER_OTLP_*`,
    /// `HONEYCOMB_API_KEY`), the same variables as the bot's.
    pub(crate) fn from_env() -> anyhow::Result<SpanSink> {
        let config = TelemetryConfig::from_env(SERVICE_NAME)?;
        Ok(SpanSink {
            export: SpanExport::start(&config)?,
        })
    }

    /// Whether spans go anywhere.
    pub(crate) fn is_exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Sends `spans`; a collector that fails is a warning, never a failed build.
    pub(crate) fn send(&self, spans: Vec<BuildSpan>) {
        let Some(export) = &self.export else {
            return;
        };
        let count = spans.len();
        let data = spans.into_iter().map(BuildSpan::into_span_data).collect();
        if let Err(error) = export.export(data) {
            eprintln!("warning: {count} trace span(s) were not exported: {error}");
        }
    }

    /// Stops export.
    pub(crate) fn shutdown(self) {
        if let Some(export) = self.export {
            export.shutdown();
        }
    }
}

/// A number when the text is one, else the text: fields read from files keep their type.
pub(crate) fn typed_value(text: &str) -> Value {
    if let Ok(integer) = text.parse::<i64>() {
        Value::I64(integer)
    } else if let Ok(float) = text.parse::<f64>()
        && float.is_finite()
    {
        Value::F64(float)
    } else if let Ok(boolean) = text.parse::<bool>() {
        Value::Bool(boolean)
    } else {
        Value::String(text.to_owned().into())
    }
}

/// `rows` of (name, duration, outcome) as an aligned table.
pub(crate) fn duration_table(rows: &[(String, Duration, String)]) -> String {
    let width = rows
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut table = format!("{:<width$}  {:>10}  {}\n", "STEP", "DURATION", "STATUS");
    for (name, duration, outcome) in rows {
        table.push_str(&format!(
            "{name:<width$}  {:>9.1}s  {outcome}\n",
            duration.as_secs_f64()
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_garbage() {
        let place = SpanPlace {
            trace_id: TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            span_id: SpanId::from_hex("b7ad6b7169203331").unwrap(),
            parent: None,
        };
        assert_eq!(
            place.traceparent(),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        );
        assert_eq!(
            SpanPlace::from_traceparent(&place.traceparent()),
            Some(place)
        );
        for bad in [
            "",
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
            "00-zzf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert_eq!(SpanPlace::from_traceparent(bad), None, "{bad}");
        }
    }

    #[test]
    fn file_fields_keep_their_types() {
        let cases = [
            ("12", Value::I64(12)),
            ("1.5", Value::F64(1.5)),
            ("true", Value::Bool(true)),
            ("0.1.0", Value::String("0.1.0".into())),
            ("NaN", Value::String("NaN".into())),
        ];
        for (text, expected) in cases {
            assert_eq!(typed_value(text), expected, "{text}");
        }
    }

    #[test]
    fn failures_become_error_spans_with_a_reason() {
        let place = SpanPlace::new_root();
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let data = BuildSpan {
            place: SpanPlace::child_of(place),
            name: "build".into(),
            start,
            end: start + Duration::from_millis(1500),
            fields: vec![KeyValue::new("build_num", 42_i64)],
            failure: Some("exit status 1".into()),
        }
        .into_span_data();
        assert_eq!(data.parent_span_id, place.span_id);
        assert_eq!(data.span_context.trace_id(), place.trace_id);
        assert_eq!(data.status, Status::error("exit status 1"));
        let field = |key: &str| {
            data.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(field("duration_ms"), Some(Value::F64(1500.0)));
        assert_eq!(field("build_num"), Some(Value::I64(42)));
        assert_eq!(field("status"), Some(Value::String("failure".into())));
    }
}
