//! Traces: one per interaction, exported over OTLP, with no secret in them.

use std::collections::BTreeSet;

use azcord_sim::otlp::OtlpReceiver;
use azcord_telemetry::{LogCapture, LogFormat, TelemetryConfig};

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

    let test = support::start().await;
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
    let spans = receiver
        .wait_for_spans(|spans| {
            spans
                .iter()
                .filter(|span| span.name.ends_with("/callback"))
                .count()
                >= 3
                && spans
                    .iter()
                    .any(|span| span.attributes.get("interaction.id") == Some(&ping_id))
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
    assert!(traces.len() >= 3, "one trace per interaction: {traces:?}");

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
