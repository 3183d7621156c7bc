//! Traces: one per interaction, exported over OTLP, with no secret in them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use azcord::local::{LocalBot, LocalOptions};
use azcord_azure::RetrySettings;
use azcord_command::DispatchConfig;

use azcord_sim::otlp::{AnyValue, OtlpReceiver, ReceivedSpan, any_value_kind};
use azcord_telemetry::{LogCapture, LogFormat, TelemetryConfig};
use expect_test::expect;

use crate::support::{self, CHANNEL, user};

const HONEYCOMB_KEY: &str = "hc-test-key-0123456789";

// One thread, so that the test's default subscriber sees every task the bot spawns.
#[tokio::test(flavor = "current_thread")]
async fn every_interaction_is_one_trace_and_no_secret_leaves_the_process() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let endpoint = receiver.endpoint();
    let config = TelemetryConfig::from_lookup("azcord", |name| match name {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        "HONEYCOMB_API_KEY" => Some(HONEYCOMB_KEY.to_owned()),
        "RUST_LOG" => Some("debug".to_owned()),
        _ => None,
    })
    .unwrap();
    let logs = LogCapture::default();
    let telemetry = azcord_telemetry::build_subscriber(
        TelemetryConfig {
            log_format: LogFormat::Json,
            ..config
        },
        logs.clone(),
    )
    .unwrap();
    let _default = tracing::dispatcher::set_default(&telemetry.dispatch);

    // Azure retries at once, so that a throttled call shows its retry in the trace, and
    // no command is deferred however slow the machine, so every trace has one shape.
    let gate = support::Gate::new();
    let bot = LocalBot::start(LocalOptions {
        dispatch: DispatchConfig {
            ack_budget: Duration::from_secs(20),
            ..DispatchConfig::default()
        },
        azure_retry: RetrySettings {
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(1),
            ..RetrySettings::default()
        },
        ..support::options(&gate)
    })
    .await
    .unwrap();
    let test = support::TestBot { bot, gate };
    let guild = Some(test.bot.guild_id());
    let ping = test
        .bot
        .run_line(&user(), guild, CHANNEL, "/ping")
        .await
        .unwrap();
    let fail = test
        .bot
        .run_line(&user(), guild, CHANNEL, "/test fail")
        .await
        .unwrap();
    test.bot
        .arm
        .as_ref()
        .unwrap()
        .throttle_next(1, Duration::from_millis(1));
    let vm_list = test
        .bot
        .run_line(&user(), guild, CHANNEL, "/vm list")
        .await
        .unwrap();
    let broken = r#"{"op":0,"t":"INTERACTION_CREATE","s":99,"d":{"id":"x","token":"leaky-interaction-token"}}"#;
    test.bot.sim.send_raw_dispatch(0, broken).await.unwrap();
    let after = test
        .bot
        .run_line(&user(), guild, CHANNEL, "/ping")
        .await
        .unwrap();
    // Flushing blocks, and the receiver needs this thread to answer: flush beside it.
    let guard = telemetry.guard;
    let guard = tokio::task::spawn_blocking(move || guard.force_flush().map(|()| guard))
        .await
        .unwrap()
        .unwrap();

    let ping_id = ping.handle.id.to_string();
    let vm_list_id = vm_list.handle.id.to_string();
    let spans = receiver
        .wait_for_spans(|spans| {
            spans
                .iter()
                .filter(|span| span.name.ends_with("/callback"))
                .count()
                >= 4
                && [&ping_id, &vm_list_id].iter().all(|id| {
                    spans
                        .iter()
                        .any(|span| span.attributes.get("interaction.id") == Some(id))
                })
        })
        .await;

    // The root span of /ping carries the interaction's facts.
    let root = spans
        .iter()
        .find(|span| span.attributes.get("interaction.id") == Some(&ping_id))
        .unwrap();
    assert_eq!(root.name, "/ping");
    assert!(
        root.parent_span_id.is_empty(),
        "the interaction span is a root"
    );
    let expected = [
        ("interaction.kind", "command"),
        ("command.name", "ping"),
        ("command.kind", "read"),
        ("outcome", "success"),
        ("shard.id", "0"),
        ("user.id", &user().id.to_string()),
        ("channel.id", &CHANNEL.to_string()),
        ("guild.id", &test.bot.guild_id().to_string()),
    ];
    for (key, value) in expected {
        assert_eq!(
            root.attributes.get(key).map(String::as_str),
            Some(value),
            "{key} in {:?}",
            root.attributes
        );
    }
    for key in ["latency_ms", "ack_latency_ms"] {
        assert!(
            root.attributes.contains_key(key),
            "{key} in {:?}",
            root.attributes
        );
    }
    assert_eq!(root.service_name.as_deref(), Some("azcord"));

    // Its children: the command and the REST callback, in the same trace.
    let children: BTreeSet<&str> = spans
        .iter()
        .filter(|span| span.trace_id == root.trace_id && span.parent_span_id == root.span_id)
        .map(|span| span.name.as_str())
        .collect();
    assert!(children.contains("command"), "{children:?}");
    assert!(
        children.contains("POST /interactions/{interaction.id}/{interaction.token}/callback"),
        "{children:?}"
    );
    let traces: BTreeSet<&str> = spans
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .map(|s| s.trace_id.as_str())
        .collect();
    assert!(traces.len() >= 4, "one trace per interaction: {traces:?}");

    // Every trace is an interaction: nothing else (such as the gateway queue's
    // identify `bucket` spans) starts one.
    let stray_roots: Vec<&str> = spans
        .iter()
        .filter(|span| span.parent_span_id.is_empty())
        .filter(|span| !span.attributes.contains_key("interaction.id"))
        .map(|span| span.name.as_str())
        .collect();
    assert_eq!(
        stray_roots,
        Vec::<&str>::new(),
        "roots that are no interaction"
    );
    assert!(spans.iter().all(|span| span.name != "bucket"));

    // Numbers arrive as OTLP ints and doubles, which Honeycomb can chart (heatmaps,
    // P99, AVG); identifiers arrive as strings. Latencies are doubles in milliseconds,
    // with sub-millisecond precision.
    let vm_list_root = spans
        .iter()
        .find(|span| span.attributes.get("interaction.id") == Some(&vm_list_id))
        .unwrap();
    expect![[r#"
        (root) / audit: arguments=string channel=string command=string duration_ms=double guild=string level=string outcome=string target=string user=string
        (root): ack_latency_ms=double busy_ns=int channel.id=string command.kind=string command.name=string command.options=string guild.id=string idle_ns=int interaction.id=string interaction.kind=string latency_ms=double outcome=string shard.id=int target=string user.id=string
        GET Microsoft.Compute/virtualMachines / retrying an azure call: delay_ms=double level=string reason=string retry=int target=string
        GET Microsoft.Compute/virtualMachines: azure.attempts=int azure.correlation_id=string azure.operation=string busy_ns=int http.request.method=string http.response.status_code=int idle_ns=int target=string
        POST /interactions/{interaction.id}/{interaction.token}/callback: busy_ns=int http.request.method=string http.response.status_code=int http.route=string idle_ns=int target=string
        command: busy_ns=int command.name=string idle_ns=int target=string
    "#]]
    .assert_eq(&attribute_kinds(&spans, &[root, vm_list_root]));
    for key in ["latency_ms", "ack_latency_ms"] {
        let millis: f64 = root.attributes[key].parse().unwrap();
        assert!(millis > 0.0 && millis < 30_000.0, "{key} = {millis}");
        // Nanosecond clocks make a whole number of milliseconds a one-in-a-million chance.
        assert_ne!(
            millis.fract(),
            0.0,
            "{key} = {millis} has sub-millisecond precision"
        );
    }

    // The failure is recorded for the team, not shown to the user.
    let fail_id = fail.handle.id.to_string();
    let failed = spans
        .iter()
        .find(|span| span.attributes.get("interaction.id") == Some(&fail_id))
        .unwrap();
    assert_eq!(
        failed.attributes.get("outcome").map(String::as_str),
        Some("internal_error")
    );
    assert!(
        failed
            .attributes
            .get("error.message")
            .is_some_and(|message| message.contains("database is on fire"))
    );

    // The key went only into the header; no token reached a span or a log line.
    assert!(receiver.requests().iter().all(|request| {
        request
            .headers
            .iter()
            .any(|(name, value)| name == "x-honeycomb-team" && value == HONEYCOMB_KEY)
    }));
    let exported = format!("{spans:?}");
    let logged = logs.contents();
    assert!(
        logged.contains("skipping a gateway payload"),
        "the bad payload was logged"
    );
    let secrets = [
        HONEYCOMB_KEY.to_owned(),
        test.bot.sim.config().token.clone(),
        ping.handle.token.clone(),
        fail.handle.token.clone(),
        after.handle.token.clone(),
        "leaky-interaction-token".to_owned(),
    ];
    for secret in &secrets {
        let leaks: Vec<String> = spans
            .iter()
            .filter(|span| format!("{span:?}").contains(secret.as_str()))
            .map(|span| {
                format!(
                    "{} {:?}",
                    span.name,
                    span.attributes.keys().collect::<Vec<_>>()
                )
            })
            .collect();
        assert!(
            !exported.contains(secret.as_str()),
            "a secret reached the trace in {leaks:?}"
        );
        let lines: Vec<&str> = logged
            .lines()
            .filter(|line| line.contains(secret.as_str()))
            .collect();
        assert!(lines.is_empty(), "a secret reached the logs: {lines:#?}");
    }
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
}

/// Each span of the traces of `roots` as `name: key=kind ...`, and each of azcord's
/// events in them as `span / event: key=kind ...`, one line per distinct shape;
/// attributes that tracing-opentelemetry adds (`code.*`) are left out.
fn attribute_kinds(spans: &[ReceivedSpan], roots: &[&ReceivedSpan]) -> String {
    let kinds = |attributes: &BTreeMap<String, AnyValue>| {
        let kinds: Vec<String> = attributes
            .iter()
            .filter(|(key, _)| !key.starts_with("code."))
            .map(|(key, value)| format!("{key}={}", any_value_kind(value)))
            .collect();
        kinds.join(" ")
    };
    let mut lines = BTreeSet::new();
    for span in spans
        .iter()
        .filter(|span| roots.iter().any(|root| root.trace_id == span.trace_id))
    {
        let name = if span.parent_span_id.is_empty() {
            "(root)"
        } else {
            span.name.as_str()
        };
        lines.insert(format!("{name}: {}\n", kinds(&span.typed_attributes)));
        for event in &span.events {
            let ours = event
                .attributes
                .get("target")
                .is_some_and(|target| target.starts_with("azcord"));
            if ours {
                let attributes = kinds(&event.typed_attributes);
                lines.insert(format!("{name} / {}: {attributes}\n", event.name));
            }
        }
    }
    lines.into_iter().collect()
}
