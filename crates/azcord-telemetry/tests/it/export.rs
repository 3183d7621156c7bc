//! Span export over OTLP/HTTP to a loopback receiver.

use azcord_sim::otlp::{AnyValue, OtlpReceiver, ReceivedSpan, ReceivedStatus, any_value_kind};
use azcord_telemetry::{LogCapture, LogFormat, OtlpTracesExport, TelemetryConfig};

const API_KEY: &str = "hc-test-key-5f2b9c";

fn config_from(vars: &[(&str, &str)]) -> TelemetryConfig {
    let mut config = TelemetryConfig::from_lookup("azcord-test", |name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .unwrap();
    config.log_format = LogFormat::Json;
    config
}

fn find<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| panic!("no span named {name} in {spans:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_the_collector_with_attributes_parent_service_and_key_header() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let config = config_from(&[
        ("HONEYCOMB_API_KEY", API_KEY),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint()),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
    ]);
    let logs = LogCapture::default();
    let telemetry = azcord_telemetry::build_subscriber(config.clone(), logs.clone()).unwrap();
    assert!(telemetry.guard.is_exporting());

    let trace_id_seen_in_span = tracing::dispatcher::with_default(&telemetry.dispatch, || {
        tracing::info!(?config, "starting with config");
        let root = tracing::info_span!(
            "interaction",
            interaction.id = 4242_u64,
            command.name = "vm list",
            outcome = tracing::field::Empty,
        );
        let trace_id = root.in_scope(|| {
            tracing::info_span!("azure.request", http.request.method = "GET").in_scope(|| {
                tracing::info!(resource_group = "rg-test", "listing vms");
            });
            azcord_telemetry::current_trace_id()
        });
        root.record("outcome", "ok");
        trace_id
    });

    let guard = telemetry.guard;
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    let spans = receiver.wait_for_spans(|spans| spans.len() >= 2).await;

    let root = find(&spans, "interaction");
    let child = find(&spans, "azure.request");
    assert_eq!(root.attributes["interaction.id"], "4242");
    assert_eq!(root.attributes["command.name"], "vm list");
    assert_eq!(root.attributes["outcome"], "ok");
    assert_eq!(child.attributes["http.request.method"], "GET");
    assert_eq!(root.parent_span_id, "");
    assert_eq!(child.parent_span_id, root.span_id);
    assert_eq!(child.trace_id, root.trace_id);
    assert_eq!(
        trace_id_seen_in_span.as_deref(),
        Some(root.trace_id.as_str())
    );
    assert_eq!(root.status, ReceivedStatus::Unset);
    assert!(
        child.events.iter().any(|event| event.name == "listing vms"
            && event.attributes.get("resource_group").map(String::as_str) == Some("rg-test")),
        "{:#?}",
        child.events
    );
    for span in [root, child] {
        assert_eq!(span.service_name.as_deref(), Some("azcord-test"));
        assert_eq!(span.resource["deployment.environment"], "test");
    }

    let requests = receiver.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.header("x-honeycomb-team"), Some(API_KEY));
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
    }

    let logs = logs.contents();
    assert!(logs.contains("exporting traces over otlp/http"), "{logs}");
    assert!(logs.contains("x-honeycomb-team"), "{logs}");
    assert!(logs.contains("starting with config"), "{logs}");
    assert!(
        !logs.contains(API_KEY),
        "the api key leaked into the logs:\n{logs}"
    );
}

/// A collector that is down costs the caller nothing: span creation never
/// waits on the network, the queue is bounded, and the failure surfaces
/// through the guard instead of a panic.
#[test]
fn a_dead_collector_neither_blocks_span_creation_nor_panics() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = config_from(&[]);
    let mut export =
        OtlpTracesExport::to_base_endpoint(&format!("http://127.0.0.1:{port}")).unwrap();
    export.max_queue_size = 64;
    config.export.traces = Some(export);
    let telemetry = azcord_telemetry::build_subscriber(config, LogCapture::default()).unwrap();

    let created = tracing::dispatcher::with_default(&telemetry.dispatch, || {
        let mut created = 0_u32;
        for index in 0..10_000_u32 {
            let span = tracing::info_span!("interaction", index);
            span.in_scope(|| tracing::info_span!("child").in_scope(|| ()));
            created += 1;
        }
        created
    });
    assert_eq!(created, 10_000);

    // Waits for the exports already under way, so their failures are recorded.
    // It may still succeed: batches that failed earlier are dropped, not retried.
    let _ = telemetry.guard.force_flush();
    let stats = telemetry.guard.export_stats();
    assert_eq!(stats.succeeded, 0);
    assert!(stats.failed > 0, "{stats:?}");
    let last_error = stats.last_error.unwrap_or_default();
    assert!(last_error.contains("onnect"), "{last_error}");
    // Returns within its bounded wait whatever the collector does.
    let _ = telemetry.guard.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_errors_are_retried_reported_and_recovered_from() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let config = config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())]);
    let telemetry = azcord_telemetry::build_subscriber(config, LogCapture::default()).unwrap();
    let guard = &telemetry.guard;

    receiver.fail_with(Some(503));
    tracing::dispatcher::with_default(&telemetry.dispatch, || {
        tracing::info_span!("lost").in_scope(|| ());
    });
    let flushed = tokio::task::block_in_place(|| guard.force_flush());
    assert!(flushed.is_err(), "{flushed:?}");
    let requests = receiver.requests();
    assert!(requests.len() >= 2, "503 should be retried: {requests:?}");
    assert!(requests.iter().all(|request| request.status == 503));
    let stats = guard.export_stats();
    assert!(stats.failed >= 2, "{stats:?}");
    assert!(stats.last_error.unwrap_or_default().contains("503"));

    receiver.fail_with(None);
    tracing::dispatcher::with_default(&telemetry.dispatch, || {
        tracing::info_span!("kept").in_scope(|| ());
    });
    tokio::task::block_in_place(|| guard.force_flush()).unwrap();
    let spans = receiver
        .wait_for_spans(|spans| spans.iter().any(|s| s.name == "kept"))
        .await;
    assert!(spans.iter().all(|span| span.name != "lost"));
    let stats = guard.export_stats();
    assert_eq!(stats.succeeded, 1);
    assert_eq!(stats.last_error, None);

    let guard = telemetry.guard;
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
}

/// An https collector whose CA is trusted through `SSL_CERT_FILE` gets the spans; with
/// only the compiled-in roots, the export fails on the certificate and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_collector_is_trusted_through_ssl_cert_file() {
    let receiver = OtlpReceiver::start_tls().await.unwrap();
    assert!(receiver.endpoint().starts_with("https://"));
    let ca_file = receiver.ca_file().unwrap().display().to_string();
    for trusted in [false, true] {
        let mut vars = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())];
        if trusted {
            vars.push(("SSL_CERT_FILE", ca_file.clone()));
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let telemetry =
            azcord_telemetry::build_subscriber(config_from(&vars), LogCapture::default()).unwrap();
        let name = if trusted { "trusted" } else { "untrusted" };
        tracing::dispatcher::with_default(&telemetry.dispatch, || {
            tracing::info_span!("export", tls = name).in_scope(|| ());
        });
        let flushed = tokio::task::block_in_place(|| telemetry.guard.force_flush());
        if trusted {
            flushed.unwrap();
            receiver
                .wait_for_spans(|spans| spans.iter().any(|span| span.name == "export"))
                .await;
        } else {
            assert!(flushed.is_err(), "{flushed:?}");
            let last_error = telemetry
                .guard
                .export_stats()
                .last_error
                .unwrap_or_default();
            assert!(last_error.contains("certificate"), "{last_error}");
            assert!(receiver.requests().is_empty(), "no request got through");
        }
        let guard = telemetry.guard;
        tokio::task::spawn_blocking(move || guard.shutdown())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(receiver.spans().len(), 1);
}

#[tokio::test]
async fn receiver_rejects_what_is_not_otlp_protobuf() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let url = format!("{}/v1/traces", receiver.endpoint());
    let cases = [
        ("application/x-protobuf", vec![0xff, 0xff, 0xff], 400),
        ("application/json", b"{}".to_vec(), 415),
        ("application/x-protobuf", Vec::new(), 200),
    ];
    for (content_type, body, status) in cases {
        let reply = crate::http::send("POST", &url, content_type, body).await;
        assert_eq!(reply.status, status, "{content_type}: {}", reply.body);
    }
    let requests = receiver.wait_for_requests(3).await;
    let statuses: Vec<u16> = requests.iter().map(|request| request.status).collect();
    assert_eq!(statuses, [400, 415, 200]);
    assert!(receiver.spans().is_empty());
}

/// Honeycomb charts (heatmaps, percentiles) only typed numbers: i64 and f64 fields must
/// arrive as OTLP int and double. And the `bucket` spans twilight's gateway queue opens
/// when a shard identifies belong to no interaction: they stay in the logs but never
/// reach the exporter, where each would be a trace of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_arrive_typed_and_gateway_queue_spans_stay_out() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let config = config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint())]);
    let logs = LogCapture::default();
    let telemetry = azcord_telemetry::build_subscriber(config, logs.clone()).unwrap();

    tracing::dispatcher::with_default(&telemetry.dispatch, || {
        let bucket = tracing::info_span!(target: "twilight_gateway_queue::in_memory", "bucket");
        tracing::info!(target: "twilight_gateway_queue::in_memory", parent: &bucket, shard = 0, "identify permitted");
        drop(bucket);
        let root = tracing::info_span!(
            "interaction",
            shard.id = 1_i64,
            latency_ms = tracing::field::Empty,
            deferred = false,
            command.name = "ping",
            // tracing-opentelemetry 0.34 sends u64 as text: azcord records i64 instead.
            unsigned = 7_u64,
        );
        root.record("latency_ms", 0.25_f64);
        root.in_scope(|| tracing::info!(retry = 2_i64, delay_ms = 1.5_f64, "retrying"));
    });
    let guard = telemetry.guard;
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .unwrap();
    let spans = receiver
        .wait_for_spans(|spans| spans.iter().any(|span| span.name == "interaction"))
        .await;

    let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
    assert_eq!(names, ["interaction"]);
    let root = find(&spans, "interaction");
    let kinds = |attributes: &std::collections::BTreeMap<String, AnyValue>| {
        attributes
            .iter()
            .filter(|(key, _)| !key.starts_with("code.") && !key.starts_with("target"))
            .map(|(key, value)| format!("{key}: {}", any_value_kind(value)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&root.typed_attributes),
        [
            "busy_ns: int",
            "command.name: string",
            "deferred: bool",
            "idle_ns: int",
            "latency_ms: double",
            "shard.id: int",
            "unsigned: string",
        ]
    );
    assert_eq!(root.attributes["latency_ms"], "0.25");
    let event = &root.events[0];
    assert_eq!(event.name, "retrying");
    assert_eq!(
        kinds(&event.typed_attributes),
        ["delay_ms: double", "level: string", "retry: int"]
    );
    let logs = logs.contents();
    assert!(
        logs.contains("identify permitted") && logs.contains("bucket"),
        "{logs}"
    );
}
