//! `cargo xtask ci`: one trace per workflow, against the OTLP receiver and a stand-in
//! for the CircleCI API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{Json, Router, extract::Path, http::HeaderMap, routing::get};
use azcord_sim::otlp::{OtlpReceiver, ReceivedSpan, ReceivedStatus, any_value_kind};
use serde_json::json;

use crate::support::{run, xtask};

const WORKFLOW_ID: &str = "5a9c1e0e-1b3f-4a59-8e52-0d3f4c2b7a61";
const TRACE_ID: &str = "5a9c1e0e1b3f4a598e520d3f4c2b7a61";
const ROOT_SPAN_ID: &str = "5a9c1e0e1b3f4a59";
/// The first 16 hex digits of `echo "build-0" | sha256sum`.
const BUILD_JOB_SPAN_ID: &str = "b9e369515fe20364";
const CIRCLE_TOKEN: &str = "circle-token-0d9f8e7c";

/// A CircleCI API v2 stand-in: the jobs run for `running_polls` polls, then end with
/// `build` failed.
async fn circleci(running_polls: usize) -> (String, Arc<AtomicUsize>) {
    let polls = Arc::new(AtomicUsize::new(0));
    let counter = polls.clone();
    let app = Router::new()
        .route(
            "/workflow/{id}",
            get(|Path(id): Path<String>, headers: HeaderMap| async move {
                assert_eq!(headers["circle-token"], CIRCLE_TOKEN);
                Json(json!({
                    "id": id, "name": "pipeline", "status": "running",
                    "created_at": "2026-11-30T16:00:00Z",
                }))
            }),
        )
        .route(
            "/workflow/{id}/job",
            get(move || {
                let poll = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let (build, test) = if poll < running_polls {
                        ("running", "running")
                    } else {
                        ("failed", "success")
                    };
                    Json(json!({"items": [
                        {"name": "watch", "status": "running"},
                        {"name": "build", "status": build},
                        {"name": "test", "status": test},
                        {"name": "deploy", "status": "blocked"},
                    ], "next_page_token": null}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, polls)
}

fn job_vars(
    job: &str,
    state: &std::path::Path,
    otlp: &OtlpReceiver,
) -> Vec<(&'static str, String)> {
    vec![
        ("CIRCLECI", "true".to_owned()),
        ("CIRCLE_WORKFLOW_ID", WORKFLOW_ID.to_owned()),
        ("CIRCLE_JOB", job.to_owned()),
        ("CIRCLE_NODE_INDEX", "0".to_owned()),
        ("CIRCLE_BUILD_NUM", "4242".to_owned()),
        ("CIRCLE_BRANCH", "main".to_owned()),
        (
            "CIRCLE_BUILD_URL",
            "https://circleci.com/gh/azcord/azcord/4242".to_owned(),
        ),
        (
            "CIRCLE_REPOSITORY_URL",
            "git@github.com:azcord/azcord.git".to_owned(),
        ),
        ("BUILDEVENTS_DIR", state.display().to_string()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()),
    ]
}

fn by_name(spans: &[ReceivedSpan]) -> BTreeMap<&str, &ReceivedSpan> {
    spans
        .iter()
        .map(|span| (span.name.as_str(), span))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_is_one_trace_of_jobs_and_commands() {
    let otlp = OtlpReceiver::start().await.unwrap();
    let state = tempfile::tempdir().unwrap();
    let build = job_vars("build", state.path(), &otlp);

    let setup = run(xtask(&["ci", "setup"], &build)).await;
    assert!(setup.success, "{}", setup.all());

    // A command that adds fields, as `cargo xtask build` adds the artifact size.
    let script = r#"printf 'artifact_size_bytes=10485760 version="0.0.0"\n' >> "$BUILDEVENT_FILE"; echo "parent=$TRACEPARENT""#;
    let step = run(xtask(
        &[
            "ci",
            "step",
            "--name",
            "release build",
            "--",
            "sh",
            "-c",
            script,
        ],
        &build,
    ))
    .await;
    assert!(step.success, "{}", step.all());
    let failing = run(xtask(
        &["ci", "step", "--name", "lint", "--", "sh", "-c", "exit 3"],
        &build,
    ))
    .await;
    assert_eq!(failing.code, Some(3), "ci step exits as its command did");
    let finish = run(xtask(&["ci", "finish"], &build)).await;
    assert!(finish.success, "{}", finish.all());

    let (api, polls) = circleci(2).await;
    let mut watch = job_vars("watch", state.path(), &otlp);
    watch.push(("CIRCLECI_API_URL", api));
    watch.push(("CIRCLE_TOKEN", CIRCLE_TOKEN.to_owned()));
    let watched = run(xtask(&["ci", "watch", "--interval", "0.01"], &watch)).await;
    assert!(watched.success, "{}", watched.all());
    assert_eq!(
        polls.load(Ordering::SeqCst),
        3,
        "polled while running, then once finished"
    );
    assert!(
        watched
            .stderr
            .contains("workflow `pipeline` did not pass: failed jobs: build"),
        "{}",
        watched.stderr
    );
    assert!(!watched.all().contains(CIRCLE_TOKEN));

    let spans = otlp.wait_for_spans(|spans| spans.len() >= 4).await;
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let spans = by_name(&spans);
    let (root, job, command, lint) = (
        spans["pipeline"],
        spans["build"],
        spans["release build"],
        spans["lint"],
    );
    // One trace, ids as buildevents derives them.
    for span in spans.values() {
        assert_eq!(span.trace_id, TRACE_ID, "{}", span.name);
        assert_eq!(span.service_name.as_deref(), Some("azcord-ci"));
    }
    assert_eq!(
        (root.span_id.as_str(), root.parent_span_id.as_str()),
        (ROOT_SPAN_ID, "")
    );
    assert_eq!(
        (job.span_id.as_str(), job.parent_span_id.as_str()),
        (BUILD_JOB_SPAN_ID, ROOT_SPAN_ID)
    );
    assert_eq!(command.parent_span_id, BUILD_JOB_SPAN_ID);
    assert_eq!(lint.parent_span_id, BUILD_JOB_SPAN_ID);
    assert!(
        step.stdout
            .contains(&format!("parent=00-{TRACE_ID}-{}-01", command.span_id)),
        "the command learns its span: {}",
        step.stdout
    );

    // The fields buildevents sets.
    let field =
        |span: &ReceivedSpan, key: &str| span.attributes.get(key).cloned().unwrap_or_default();
    for (key, value) in [
        ("ci_provider", "circleci"),
        ("branch", "main"),
        ("build_num", "4242"),
        ("build_url", "https://circleci.com/gh/azcord/azcord/4242"),
        ("job_name", "build"),
        ("repo", "git@github.com:azcord/azcord.git"),
        ("status", "success"),
        ("artifact_size_bytes", "10485760"),
        ("version", "0.0.0"),
        ("cmd", &format!("sh -c {script}")),
    ] {
        assert_eq!(field(command, key), value, "{key}");
    }
    // Numbers go out as OTLP numbers, so that Honeycomb can graph them.
    let kind = |span: &ReceivedSpan, key: &str| {
        span.typed_attributes
            .get(key)
            .map(any_value_kind)
            .unwrap_or("missing")
    };
    for (span, key, expected) in [
        (command, "duration_ms", "double"),
        (command, "build_num", "int"),
        (command, "artifact_size_bytes", "int"),
        (command, "version", "string"),
        (job, "duration_ms", "double"),
        (root, "duration_ms", "double"),
        (root, "status", "string"),
    ] {
        assert_eq!(kind(span, key), expected, "{} {key}", span.name);
    }
    assert_eq!(field(lint, "status"), "failure");
    assert!(
        field(lint, "failure_reason").contains("exit status: 3"),
        "{lint:?}"
    );
    assert!(matches!(lint.status, ReceivedStatus::Error(_)));
    assert_eq!(
        field(job, "status"),
        "failure",
        "a job with a failed step failed"
    );
    assert!(field(job, "failure_reason").contains("lint"));
    assert_eq!(field(root, "status"), "failure");
    assert_eq!(field(root, "failure_reason"), "failed jobs: build");
    assert_eq!(field(root, "workflow_id"), WORKFLOW_ID);
    assert_eq!(
        field(root, "job_name"),
        "",
        "the root span is the workflow's, not the watcher's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_collector_steps_print_a_table() {
    let state = tempfile::tempdir().unwrap();
    let vars = vec![("BUILDEVENTS_DIR", state.path().display().to_string())];
    let first = run(xtask(&["ci", "step", "--name", "fmt", "--", "true"], &vars)).await;
    let second = run(xtask(
        &["ci", "step", "--name", "clippy", "--", "false"],
        &vars,
    ))
    .await;
    assert!(first.success, "{}", first.all());
    assert_eq!(second.code, Some(1));
    let table: Vec<&str> = second.stderr.lines().collect();
    assert!(table[0].starts_with("STEP"), "{}", second.stderr);
    assert!(
        table[1].starts_with("fmt") && table[1].ends_with("ok"),
        "{}",
        second.stderr
    );
    assert!(
        table[2].starts_with("clippy") && table[2].ends_with("failed"),
        "{}",
        second.stderr
    );
    // A laptop's steps share one trace, drawn once.
    let trace_id = std::fs::read_to_string(state.path().join("trace_id")).unwrap();
    assert_eq!(trace_id.trim().len(), 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_needs_a_token_and_a_workflow() {
    let state = tempfile::tempdir().unwrap();
    let dir = ("BUILDEVENTS_DIR", state.path().display().to_string());
    let cases: [(Vec<(&str, String)>, &str); 2] = [
        (vec![dir.clone()], "CIRCLE_WORKFLOW_ID is not set"),
        (
            vec![dir.clone(), ("CIRCLE_WORKFLOW_ID", WORKFLOW_ID.to_owned())],
            "set CIRCLE_TOKEN",
        ),
    ];
    for (vars, expected) in cases {
        let run = run(xtask(&["ci", "watch"], &vars)).await;
        assert!(!run.success);
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
}
