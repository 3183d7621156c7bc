//! Prometheus metrics served on the admin port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The gateway shard states reported by `shard_state`.
pub const SHARD_STATES: [&str; 4] = ["connecting", "connected", "resuming", "disconnected"];

/// Ack latency buckets in seconds: 5 ms up to Discord's 3 s interaction deadline.
const ACK_LATENCY_BUCKETS: [f64; 11] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0];

/// The bot's metrics; clones share the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    registry: Registry,
    interactions: Family<InteractionLabels, Counter>,
    ack_latency: Histogram,
    shard_state: Family<ShardStateLabels, Gauge>,
    /// The state last set per shard, so a state outside [`SHARD_STATES`] is still reset.
    current_shard_state: Mutex<HashMap<u32, String>>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InteractionLabels {
    command: String,
    /// One of a fixed set, so not copied per interaction.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardStateLabels {
    shard: String,
    state: String,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let interactions = Family::<InteractionLabels, Counter>::default();
        registry.register(
            "interactions",
            "Interactions handled, by command and outcome",
            interactions.clone(),
        );
        let ack_latency = Histogram::new(ACK_LATENCY_BUCKETS);
        registry.register(
            "interaction_ack_latency_seconds",
            "Time from receiving an interaction to acknowledging it",
            ack_latency.clone(),
        );
        let shard_state = Family::<ShardStateLabels, Gauge>::default();
        registry.register(
            "shard_state",
            "1 for the current state of each gateway shard, 0 for the others",
            shard_state.clone(),
        );
        Self {
            inner: Arc::new(MetricsInner {
                registry,
                interactions,
                ack_latency,
                shard_state,
                current_shard_state: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Counts one handled interaction.
    pub fn record_interaction(&self, command: &str, outcome: &'static str) {
        self.inner
            .interactions
            .get_or_create(&InteractionLabels {
                command: command.to_owned(),
                outcome,
            })
            .inc();
    }

    /// Records how long an interaction took to acknowledge.
    pub fn observe_ack_latency(&self, latency: Duration) {
        self.inner.ack_latency.observe(latency.as_secs_f64());
    }

    /// Marks `state` (one of [`SHARD_STATES`]) as the current state of `shard`.
    pub fn set_shard_state(&self, shard: u32, state: &str) {
        let shard_label = shard.to_string();
        let gauge = |state: &str| {
            self.inner.shard_state.get_or_create(&ShardStateLabels {
                shard: shard_label.clone(),
                state: state.to_owned(),
            })
        };
        let Ok(mut current) = self.inner.current_shard_state.lock() else {
            return;
        };
        if let Some(previous) = current.insert(shard, state.to_owned()) {
            gauge(&previous).set(0);
        }
        for known in SHARD_STATES {
            gauge(known).set(i64::from(known == state));
        }
        gauge(state).set(1);
    }

    /// The metrics in the OpenMetrics text format (see [`crate::METRICS_CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_starting(text: &str, prefix: &str) -> Vec<String> {
        let mut lines: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn interactions_are_counted_by_command_and_outcome() {
        let metrics = Metrics::new();
        let shared = metrics.clone();
        metrics.record_interaction("vm list", "ok");
        shared.record_interaction("vm list", "ok");
        metrics.record_interaction("vm start", "user_error");
        assert_eq!(
            lines_starting(&metrics.encode(), "interactions_total"),
            [
                r#"interactions_total{command="vm list",outcome="ok"} 2"#,
                r#"interactions_total{command="vm start",outcome="user_error"} 1"#,
            ]
        );
    }

    #[test]
    fn ack_latency_lands_in_buckets() {
        let metrics = Metrics::new();
        metrics.observe_ack_latency(Duration::from_millis(3));
        metrics.observe_ack_latency(Duration::from_millis(40));
        metrics.observe_ack_latency(Duration::from_secs(5));
        let text = metrics.encode();
        let cases = [
            (r#"le="0.005""#, 1),
            (r#"le="0.05""#, 2),
            (r#"le="3.0""#, 2),
            (r#"le="+Inf""#, 3),
        ];
        for (bucket, count) in cases {
            let line = format!("interaction_ack_latency_seconds_bucket{{{bucket}}} {count}");
            assert!(text.contains(&line), "missing `{line}` in\n{text}");
        }
        assert!(
            text.contains("interaction_ack_latency_seconds_count 3"),
            "{text}"
        );
    }

    #[test]
    fn shard_state_has_exactly_one_current_state() {
        let metrics = Metrics::new();
        metrics.set_shard_state(0, "connecting");
        metrics.set_shard_state(0, "connected");
        metrics.set_shard_state(1, "weird");
        metrics.set_shard_state(1, "resuming");
        let ones = lines_starting(&metrics.encode(), "shard_state{")
            .into_iter()
            .filter(|line| line.ends_with(" 1"))
            .collect::<Vec<_>>();
        assert_eq!(
            ones,
            [
                r#"shard_state{shard="0",state="connected"} 1"#,
                r#"shard_state{shard="1",state="resuming"} 1"#,
            ]
        );
        let shard0 = lines_starting(&metrics.encode(), r#"shard_state{shard="0""#);
        assert_eq!(shard0.len(), SHARD_STATES.len(), "{shard0:?}");
    }

    #[test]
    fn encoding_is_openmetrics_text() {
        let metrics = Metrics::new();
        metrics.record_interaction("ping", "ok");
        let text = metrics.encode();
        assert!(text.contains("# TYPE interactions counter"), "{text}");
        assert!(
            text.contains("# TYPE interaction_ack_latency_seconds histogram"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
