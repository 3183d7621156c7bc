//! Telemetry configuration and its resolution from the environment.
//!
//! Reading the environment is a pure function over a lookup closure
//! ([`TelemetryConfig::from_lookup`]), so every rule here is unit-tested with
//! a table rather than by mutating the process environment.

use std::fmt;
use std::io::IsTerminal;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use azcord_tls::TlsTrust;
use http::{HeaderName, HeaderValue, Uri};

use crate::TelemetryError;

/// Honeycomb's OTLP/HTTP ingest endpoint, used when only `HONEYCOMB_API_KEY` is set.
pub const HONEYCOMB_DEFAULT_ENDPOINT: &str = "https://api.honeycomb.io";

/// Everything [`crate::init`] needs: how to log and where (if anywhere) to export traces.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// The `service.name` resource attribute of exported spans.
    pub service_name: String,
    /// How log lines are written to stdout.
    pub log_format: LogFormat,
    /// An `EnvFilter` directive string; `None` means `"info"`.
    pub log_filter: Option<String>,
    /// Trace export; off unless an endpoint or a Honeycomb key is configured.
    pub export: ExportConfig,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise.
    #[default]
    Auto,
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Where and how spans are exported.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportConfig {
    /// The OTLP/HTTP destination; `None` turns export off.
    pub traces: Option<OtlpTracesExport>,
    /// Extra resource attributes (from `OTEL_RESOURCE_ATTRIBUTES`), excluding `service.name`.
    pub resource_attributes: Vec<(String, String)>,
    /// Which traces are sampled.
    pub sampler: TraceSampler,
}

/// An OTLP/HTTP protobuf trace destination.
#[derive(Debug, Clone, PartialEq)]
pub struct OtlpTracesExport {
    /// The full URL spans are POSTed to, e.g. `https://api.honeycomb.io/v1/traces`.
    pub endpoint: Uri,
    /// Headers sent with every export request; values may be credentials.
    pub headers: Vec<(HeaderName, Secret)>,
    /// Deadline for one export, retries included.
    pub timeout: Duration,
    /// Spans buffered while waiting for export; newer spans are dropped when it is full.
    pub max_queue_size: usize,
    /// What an https endpoint's certificate must chain to besides the compiled-in
    /// roots (`SSL_CERT_FILE`).
    pub tls: TlsTrust,
}

/// Which traces are sampled, mirroring `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum TraceSampler {
    /// Sample every trace.
    AlwaysOn,
    /// Sample nothing.
    AlwaysOff,
    /// Sample this fraction of traces by trace id.
    TraceIdRatio(f64),
    /// Follow the parent's decision; sample every root.
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; sample no root.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; sample this fraction of roots.
    ParentBasedTraceIdRatio(f64),
}

/// A credential that never shows up in `Debug` or `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl TelemetryConfig {
    /// Reads the configuration from the process environment (see [`Self::from_lookup`]).
    pub fn from_env(default_service_name: &str) -> Result<Self, TelemetryError> {
        Self::from_lookup(default_service_name, |name| std::env::var(name).ok())
    }

    /// Builds the configuration from environment-style variables supplied by `lookup`.
    ///
    /// The service name is `OTEL_SERVICE_NAME`, else `service.name` from
    /// `OTEL_RESOURCE_ATTRIBUTES`, else `default_service_name`. The log filter is
    /// `RUST_LOG`. Empty variables count as unset.
    pub fn from_lookup(
        default_service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut resource_attributes = match lookup("OTEL_RESOURCE_ATTRIBUTES") {
            Some(raw) => parse_key_value_list("OTEL_RESOURCE_ATTRIBUTES", &raw)?,
            None => Vec::new(),
        };
        let service_name_attribute = resource_attributes
            .iter()
            .position(|(key, _)| key == "service.name")
            .map(|index| resource_attributes.remove(index).1);
        let service_name = lookup("OTEL_SERVICE_NAME")
            .or(service_name_attribute)
            .unwrap_or_else(|| default_service_name.to_owned());

        let disabled = lookup("OTEL_SDK_DISABLED")
            .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        let traces = if disabled {
            None
        } else {
            OtlpTracesExport::from_lookup(&lookup)?
        };
        let sampler = TraceSampler::from_lookup(&lookup)?;

        Ok(Self {
            service_name,
            log_format: LogFormat::Auto,
            log_filter: lookup("RUST_LOG"),
            export: ExportConfig {
                traces,
                resource_attributes,
                sampler,
            },
        })
    }

    /// A configuration that only logs, for `service_name`.
    pub fn logs_only(service_name: &str) -> Self {
        Self {
            service_name: service_name.to_owned(),
            log_format: LogFormat::Auto,
            log_filter: None,
            export: ExportConfig::default(),
        }
    }
}

impl LogFormat {
    /// Resolves `Auto` against whether stdout is a terminal.
    pub fn is_json(self) -> bool {
        match self {
            LogFormat::Auto => !std::io::stdout().is_terminal(),
            LogFormat::Human => false,
            LogFormat::Json => true,
        }
    }
}

impl FromStr for LogFormat {
    type Err = TelemetryError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LogFormat::Auto),
            "human" | "pretty" | "text" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(TelemetryError::InvalidConfig {
                setting: "log format",
                reason: format!("`{other}` is not one of auto, human, json"),
            }),
        }
    }
}

impl OtlpTracesExport {
    /// Default deadline for one export, retries included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default number of spans buffered for export.
    pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;

    /// Exports to `{base_endpoint}/v1/traces` with no extra headers and default limits.
    pub fn to_base_endpoint(base_endpoint: &str) -> Result<Self, TelemetryError> {
        Ok(Self {
            endpoint: traces_endpoint_from_base("OTEL_EXPORTER_OTLP_ENDPOINT", base_endpoint)?,
            headers: Vec::new(),
            timeout: Self::DEFAULT_TIMEOUT,
            max_queue_size: Self::DEFAULT_MAX_QUEUE_SIZE,
            tls: TlsTrust::default(),
        })
    }

    /// The header names sent with every request (values withheld).
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TelemetryError> {
        let honeycomb_key = lookup("HONEYCOMB_API_KEY").map(|key| Secret::new(key.trim()));

        let endpoint = if let Some(url) = lookup("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            // The signal-specific endpoint is used exactly as given (OTLP spec).
            parse_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.trim())?
        } else if let Some(base) = lookup("OTEL_EXPORTER_OTLP_ENDPOINT") {
            traces_endpoint_from_base("OTEL_EXPORTER_OTLP_ENDPOINT", &base)?
        } else if honeycomb_key.is_some() {
            traces_endpoint_from_base("HONEYCOMB_API_KEY", HONEYCOMB_DEFAULT_ENDPOINT)?
        } else {
            return Ok(None);
        };

        let mut headers: Vec<(HeaderName, Secret)> = Vec::new();
        for variable in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            if let Some(raw) = lookup(variable) {
                for (name, value) in parse_key_value_list(variable, &raw)? {
                    insert_header(&mut headers, variable, &name, Secret::new(value))?;
                }
            }
        }
        if let Some(key) = honeycomb_key {
            if endpoint.scheme_str() == Some("http") && !is_loopback(&endpoint) {
                return Err(TelemetryError::InvalidConfig {
                    setting: "HONEYCOMB_API_KEY",
                    reason: format!(
                        "refusing to send the api key over plain http to {endpoint}; use https"
                    ),
                });
            }
            insert_header(&mut headers, "HONEYCOMB_API_KEY", "x-honeycomb-team", key)?;
        }
        if let Some(dataset) = lookup("HONEYCOMB_DATASET") {
            let dataset = Secret::new(dataset.trim());
            insert_header(
                &mut headers,
                "HONEYCOMB_DATASET",
                "x-honeycomb-dataset",
                dataset,
            )?;
        }

        let timeout = match lookup("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .map(|value| ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", value))
            .or_else(|| {
                lookup("OTEL_EXPORTER_OTLP_TIMEOUT")
                    .map(|value| ("OTEL_EXPORTER_OTLP_TIMEOUT", value))
            }) {
            Some((variable, millis)) => {
                let millis: u64 =
                    millis
                        .trim()
                        .parse()
                        .map_err(|_| TelemetryError::InvalidConfig {
                            setting: variable,
                            reason: format!("`{millis}` is not a whole number of milliseconds"),
                        })?;
                Duration::from_millis(millis)
            }
            None => Self::DEFAULT_TIMEOUT,
        };

        let max_queue_size = match lookup("OTEL_BSP_MAX_QUEUE_SIZE") {
            Some(size) => size
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|size| *size > 0)
                .ok_or_else(|| TelemetryError::InvalidConfig {
                    setting: "OTEL_BSP_MAX_QUEUE_SIZE",
                    reason: format!("`{size}` is not a positive whole number"),
                })?,
            None => Self::DEFAULT_MAX_QUEUE_SIZE,
        };

        Ok(Some(Self {
            endpoint,
            headers,
            timeout,
            max_queue_size,
            tls: TlsTrust::from_env(lookup),
        }))
    }
}

impl TraceSampler {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, TelemetryError> {
        let Some(name) = lookup("OTEL_TRACES_SAMPLER") else {
            return Ok(Self::default());
        };
        let ratio = || -> Result<f64, TelemetryError> {
            match lookup("OTEL_TRACES_SAMPLER_ARG") {
                None => Ok(1.0),
                Some(arg) => arg
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|ratio| (0.0..=1.0).contains(ratio))
                    .ok_or_else(|| TelemetryError::InvalidConfig {
                        setting: "OTEL_TRACES_SAMPLER_ARG",
                        reason: format!("`{arg}` is not a number between 0 and 1"),
                    }),
            }
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "always_on" => Ok(Self::AlwaysOn),
            "always_off" => Ok(Self::AlwaysOff),
            "traceidratio" => Ok(Self::TraceIdRatio(ratio()?)),
            "parentbased_always_on" => Ok(Self::ParentBasedAlwaysOn),
            "parentbased_always_off" => Ok(Self::ParentBasedAlwaysOff),
            "parentbased_traceidratio" => Ok(Self::ParentBasedTraceIdRatio(ratio()?)),
            other => Err(TelemetryError::InvalidConfig {
                setting: "OTEL_TRACES_SAMPLER",
                reason: format!(
                    "`{other}` is not one of always_on, always_off, traceidratio, \
                     parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
                ),
            }),
        }
    }
}

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself; only for the place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn traces_endpoint_from_base(variable: &'static str, base: &str) -> Result<Uri, TelemetryError> {
    let base = base.trim().trim_end_matches('/');
    parse_endpoint(variable, &format!("{base}/v1/traces"))
}

fn parse_endpoint(variable: &'static str, url: &str) -> Result<Uri, TelemetryError> {
    let invalid = |reason: String| TelemetryError::InvalidConfig {
        setting: variable,
        reason,
    };
    let uri: Uri = url
        .parse()
        .map_err(|error| invalid(format!("`{url}` is not a url: {error}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(invalid(format!(
                "`{url}` must start with http:// or https://"
            )));
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid(format!("`{url}` has no host")));
    }
    Ok(uri)
}

fn is_loopback(uri: &Uri) -> bool {
    let Some(host) = uri.host() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Inserts or replaces a header, validating it without ever echoing its value.
fn insert_header(
    headers: &mut Vec<(HeaderName, Secret)>,
    variable: &'static str,
    name: &str,
    value: Secret,
) -> Result<(), TelemetryError> {
    let name = HeaderName::from_str(name.trim()).map_err(|_| TelemetryError::InvalidConfig {
        setting: variable,
        reason: format!("`{name}` is not a valid header name"),
    })?;
    if HeaderValue::from_str(value.expose()).is_err() {
        return Err(TelemetryError::InvalidConfig {
            setting: variable,
            reason: format!("the value of header `{name}` is not a valid header value"),
        });
    }
    headers.retain(|(existing, _)| *existing != name);
    headers.push((name, value));
    Ok(())
}

/// Parses the `key=value,key=value` lists of `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES`; values are percent-decoded. Errors name the key, never the value.
fn parse_key_value_list(
    variable: &'static str,
    raw: &str,
) -> Result<Vec<(String, String)>, TelemetryError> {
    let mut pairs = Vec::new();
    let items = raw
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty());
    for (position, item) in items.enumerate() {
        let Some((key, value)) = item.split_once('=') else {
            // The entry itself may be a credential pasted without its key: do not echo it.
            return Err(TelemetryError::InvalidConfig {
                setting: variable,
                reason: format!("entry {} is not key=value", position + 1),
            });
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(TelemetryError::InvalidConfig {
                setting: variable,
                reason: "an entry has an empty key".to_owned(),
            });
        }
        let value = percent_decode(value.trim()).ok_or_else(|| TelemetryError::InvalidConfig {
            setting: variable,
            reason: format!("the value of `{key}` is not valid percent-encoded utf-8"),
        })?;
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes.get(index + 1..index + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Environment variables for one table row.
    type Env = &'static [(&'static str, &'static str)];
    /// An expected export: endpoint and `name=value` headers.
    type Expected = Option<(&'static str, &'static [&'static str])>;

    fn config(vars: &[(&str, &str)]) -> Result<TelemetryConfig, TelemetryError> {
        TelemetryConfig::from_lookup("azcord", |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    /// (endpoint, header name=value pairs) of the resolved export, or None when off.
    fn export_summary(vars: &[(&str, &str)]) -> Option<(String, Vec<String>)> {
        let traces = config(vars).unwrap().export.traces?;
        let headers = traces
            .headers
            .iter()
            .map(|(name, value)| format!("{name}={}", value.expose()))
            .collect();
        Some((traces.endpoint.to_string(), headers))
    }

    #[test]
    fn export_destination_follows_the_environment() {
        let cases: &[(Env, Expected)] = &[
            (&[], None),
            (&[("RUST_LOG", "debug")], None),
            (
                &[("HONEYCOMB_API_KEY", "hc-key")],
                Some((
                    "https://api.honeycomb.io/v1/traces",
                    &["x-honeycomb-team=hc-key"],
                )),
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    ("HONEYCOMB_DATASET", "bot"),
                ],
                Some((
                    "https://api.honeycomb.io/v1/traces",
                    &["x-honeycomb-team=hc-key", "x-honeycomb-dataset=bot"],
                )),
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    (
                        "OTEL_EXPORTER_OTLP_ENDPOINT",
                        "https://api.eu1.honeycomb.io/",
                    ),
                ],
                Some((
                    "https://api.eu1.honeycomb.io/v1/traces",
                    &["x-honeycomb-team=hc-key"],
                )),
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ],
                Some((
                    "http://127.0.0.1:4318/v1/traces",
                    &["x-honeycomb-team=hc-key"],
                )),
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")],
                Some(("http://collector:4318/v1/traces", &[])),
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                    (
                        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                        "http://traces:9999/custom",
                    ),
                ],
                Some(("http://traces:9999/custom", &[])),
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                    ("OTEL_EXPORTER_OTLP_HEADERS", "a=1, b=two%20words"),
                    ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=3"),
                ],
                Some(("http://collector:4318/v1/traces", &["a=1", "b=3"])),
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
                    (
                        "OTEL_EXPORTER_OTLP_HEADERS",
                        "x-honeycomb-team=from-headers",
                    ),
                    ("HONEYCOMB_API_KEY", "from-key"),
                ],
                Some((
                    "https://collector:4318/v1/traces",
                    &["x-honeycomb-team=from-key"],
                )),
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    ("OTEL_SDK_DISABLED", "TRUE"),
                ],
                None,
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    ("OTEL_SDK_DISABLED", "false"),
                ],
                Some((
                    "https://api.honeycomb.io/v1/traces",
                    &["x-honeycomb-team=hc-key"],
                )),
            ),
            (&[("HONEYCOMB_API_KEY", "  ")], None),
        ];
        for (vars, expected) in cases {
            let expected = expected.map(|(endpoint, headers)| {
                (
                    endpoint.to_owned(),
                    headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
                )
            });
            assert_eq!(export_summary(vars), expected, "env: {vars:?}");
        }
    }

    #[test]
    fn service_name_and_resource_attributes_follow_the_environment() {
        let cases: &[(Env, &str, Env)] = &[
            (&[], "azcord", &[]),
            (&[("OTEL_SERVICE_NAME", "bot-prod")], "bot-prod", &[]),
            (
                &[(
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "service.name=from-attrs,deployment.environment=prod",
                )],
                "from-attrs",
                &[("deployment.environment", "prod")],
            ),
            (
                &[
                    ("OTEL_SERVICE_NAME", "wins"),
                    ("OTEL_RESOURCE_ATTRIBUTES", "service.name=loses,team=a%2Cb"),
                ],
                "wins",
                &[("team", "a,b")],
            ),
        ];
        for (vars, service_name, attributes) in cases {
            let config = config(vars).unwrap();
            assert_eq!(config.service_name, *service_name, "env: {vars:?}");
            let attributes: Vec<(String, String)> = attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(
                config.export.resource_attributes, attributes,
                "env: {vars:?}"
            );
        }
    }

    #[test]
    fn sampler_timeout_queue_and_filter_follow_the_environment() {
        const BASE: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        let cases: &[(Env, TraceSampler, Duration, usize)] = &[
            (
                &[BASE],
                TraceSampler::ParentBasedAlwaysOn,
                Duration::from_secs(10),
                2048,
            ),
            (
                &[BASE, ("OTEL_TRACES_SAMPLER", "always_off")],
                TraceSampler::AlwaysOff,
                Duration::from_secs(10),
                2048,
            ),
            (
                &[
                    BASE,
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
                ],
                TraceSampler::TraceIdRatio(0.25),
                Duration::from_secs(10),
                2048,
            ),
            (
                &[BASE, ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")],
                TraceSampler::ParentBasedTraceIdRatio(1.0),
                Duration::from_secs(10),
                2048,
            ),
            (
                &[
                    BASE,
                    ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
                    ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
                ],
                TraceSampler::ParentBasedAlwaysOn,
                Duration::from_secs(2),
                64,
            ),
            (
                &[
                    BASE,
                    ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
                    ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "500"),
                ],
                TraceSampler::ParentBasedAlwaysOn,
                Duration::from_millis(500),
                2048,
            ),
        ];
        for (vars, sampler, timeout, queue) in cases {
            let config = config(vars).unwrap();
            let traces = config.export.traces.unwrap();
            assert_eq!(config.export.sampler, *sampler, "env: {vars:?}");
            assert_eq!(traces.timeout, *timeout, "env: {vars:?}");
            assert_eq!(traces.max_queue_size, *queue, "env: {vars:?}");
        }
        assert_eq!(config(&[]).unwrap().log_filter, None);
        assert_eq!(
            config(&[("RUST_LOG", "azcord=debug")])
                .unwrap()
                .log_filter
                .as_deref(),
            Some("azcord=debug")
        );
    }

    #[test]
    fn invalid_settings_are_rejected_without_echoing_secrets() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                &[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                &[
                    ("HONEYCOMB_API_KEY", "hc-key"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ],
                "HONEYCOMB_API_KEY",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
                    ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=hc-key%0A"),
                ],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
                    ("OTEL_EXPORTER_OTLP_HEADERS", "hc-key"),
                ],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (
                &[("OTEL_TRACES_SAMPLER", "sometimes")],
                "OTEL_TRACES_SAMPLER",
            ),
            (
                &[
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "2"),
                ],
                "OTEL_TRACES_SAMPLER_ARG",
            ),
            (
                &[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
                    ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
                ],
                "OTEL_BSP_MAX_QUEUE_SIZE",
            ),
        ];
        for (vars, setting) in cases {
            let error = config(vars).unwrap_err().to_string();
            assert!(error.contains(setting), "env: {vars:?}, error: {error}");
            assert!(!error.contains("hc-key"), "env: {vars:?}, error: {error}");
        }
    }

    #[test]
    fn debug_output_redacts_credentials() {
        let config = config(&[
            ("HONEYCOMB_API_KEY", "hc-super-secret"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20other-secret",
            ),
        ])
        .unwrap();
        let debug = format!("{config:?} {:#?}", config.export);
        assert!(!debug.contains("hc-super-secret"), "{debug}");
        assert!(!debug.contains("other-secret"), "{debug}");
        assert!(debug.contains("x-honeycomb-team"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");

        let secret = Secret::new("s3cr3t");
        assert_eq!(
            format!("{secret} {secret:?}"),
            "<redacted> Secret(<redacted>)"
        );
        assert_eq!(secret.expose(), "s3cr3t");
    }

    #[test]
    fn log_format_parses() {
        let cases = [
            ("auto", Some(LogFormat::Auto)),
            ("Human", Some(LogFormat::Human)),
            ("json", Some(LogFormat::Json)),
            ("xml", None),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<LogFormat>().ok(), expected, "{input}");
        }
        assert!(LogFormat::Json.is_json());
        assert!(!LogFormat::Human.is_json());
    }
}
