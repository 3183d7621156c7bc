//! `cargo xtask deploy` against the ARM simulator, a marker receiver and an OTLP receiver.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{Json, Router, http::HeaderMap, http::StatusCode, routing::post};
use azcord_sim::arm::{ArmSim, ArmSimConfig};
use azcord_sim::otlp::OtlpReceiver;
use serde_json::Value;

use crate::support::{Run, run, xtask};

const DISCORD_TOKEN: &str = "discord-token-MTIzNDU2Nzg5.secret";
const ACR_PASSWORD: &str = "acr-password-h2Zx9";
const HONEYCOMB_KEY: &str = "honeycomb-key-8f3e1";
const STORE_URL: &str = "rediss://:redis-access-key-77Qz@azcord.redis.cache.windows.net:6380";
const STATE_KEY: &str = "5e1f0c9a7b3d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f";
const IMAGE: &str = "azcordacr.azurecr.io/azcord@sha256:0f4e3c1b2a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";

/// The arguments that deploy the image as `staging/worker`.
const WORKER: &[&str] = &[
    "--resource-group",
    "staging",
    "--name",
    "worker",
    "--image",
    IMAGE,
];

async fn arm() -> ArmSim {
    ArmSim::start(ArmSimConfig {
        transition: Duration::from_millis(30),
        retry_after: Duration::from_millis(5),
        ..ArmSimConfig::default()
    })
    .await
    .unwrap()
}

fn azure_vars(arm: &ArmSim) -> Vec<(&'static str, String)> {
    let mut vars = arm.client_environment();
    vars.extend([
        ("AZCORD_GIT_SHA", "1a2b3c4d5e6f7a8b".to_owned()),
        ("DISCORD_TOKEN", DISCORD_TOKEN.to_owned()),
        ("ACR_USERNAME", "azcord-push".to_owned()),
        ("ACR_PASSWORD", ACR_PASSWORD.to_owned()),
    ]);
    vars
}

async fn deploy(arm: &ArmSim, group: &str, name: &str, extra: &[(&'static str, String)]) -> Run {
    let mut vars = azure_vars(arm);
    vars.extend_from_slice(extra);
    let args = [
        "deploy",
        "--resource-group",
        group,
        "--name",
        name,
        "--image",
        IMAGE,
        "--manage",
        "staging,dev-sandbox",
    ];
    run(xtask(&args, &vars)).await
}

fn assert_no_secret(run: &Run, arm: &ArmSim) {
    let all = run.all();
    for secret in [
        DISCORD_TOKEN,
        ACR_PASSWORD,
        HONEYCOMB_KEY,
        STORE_URL,
        "redis-access-key-77Qz",
        STATE_KEY,
        arm.config().client_secret.as_str(),
    ] {
        assert!(!all.contains(secret), "a secret was printed:\n{all}");
    }
}

fn writes(arm: &ArmSim) -> Vec<String> {
    arm.requests()
        .into_iter()
        .filter(|request| !request.token_request && request.method != axum::http::Method::GET)
        .map(|request| format!("{} {}", request.method, request.path))
        .collect()
}

/// A Honeycomb markers endpoint on loopback that records what it is sent.
struct MarkerReceiver {
    url: String,
    received: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

async fn marker_receiver(status: StatusCode) -> MarkerReceiver {
    let received: Arc<Mutex<Vec<(HeaderMap, Value)>>> = Arc::default();
    let record = received.clone();
    let app = Router::new().route(
        "/1/markers/{dataset}",
        post(
            move |headers: HeaderMap, Json(body): Json<Value>| async move {
                record.lock().unwrap().push((headers, body));
                status
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    MarkerReceiver { url, received }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_group_is_deployed_started_and_marked() {
    let arm = arm().await;
    let markers = marker_receiver(StatusCode::OK).await;
    let otlp = OtlpReceiver::start().await.unwrap();
    let parent = "00-5a9c1e0e1b3f4a598e520d3f4c2b7a61-b9e369515fe20364-01";
    let run = deploy(
        &arm,
        "staging",
        "worker",
        &[
            ("HONEYCOMB_API_KEY", HONEYCOMB_KEY.to_owned()),
            ("HONEYCOMB_API_ENDPOINT", markers.url.clone()),
            ("HONEYCOMB_DATASET", "azcord-prod".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint()),
            (
                "CIRCLE_BUILD_URL",
                "https://circleci.com/gh/azcord/azcord/42".to_owned(),
            ),
            ("TRACEPARENT", parent.to_owned()),
        ],
    )
    .await;
    assert!(run.success, "{}", run.all());
    assert_no_secret(&run, &arm);

    // One deployment, with the secrets as secure parameter values.
    let deployments = arm.deployments();
    assert_eq!(deployments.len(), 1);
    let deployment = &deployments[0];
    assert_eq!(
        (deployment.resource_group.as_str(), deployment.name.as_str()),
        ("staging", "azcord-1a2b3c4d5e6f")
    );
    let parameters = &deployment.parameters;
    assert_eq!(parameters["image"]["value"], IMAGE);
    assert_eq!(
        parameters["registryServer"]["value"],
        "azcordacr.azurecr.io"
    );
    assert_eq!(parameters["discordToken"]["value"], DISCORD_TOKEN);
    assert_eq!(parameters["registryPassword"]["value"], ACR_PASSWORD);
    assert_eq!(parameters["honeycombApiKey"]["value"], HONEYCOMB_KEY);
    assert_eq!(
        parameters["managedResourceGroups"]["value"],
        serde_json::json!(["staging", "dev-sandbox"])
    );
    let template = &deployment.template;
    for secret in ["discordToken", "registryPassword", "honeycombApiKey"] {
        assert_eq!(
            template["parameters"][secret]["type"], "secureString",
            "{secret}"
        );
    }

    // Polled to the end, then started: the group had stayed stopped.
    assert_eq!(
        writes(&arm),
        [
            "PUT /subscriptions/8d3c6e2a-4f1b-4a7e-9c5d-2b7f0e9a1c34/resourcegroups/staging/providers/Microsoft.Resources/deployments/azcord-1a2b3c4d5e6f",
            "POST /subscriptions/8d3c6e2a-4f1b-4a7e-9c5d-2b7f0e9a1c34/resourceGroups/staging/providers/Microsoft.ContainerInstance/containerGroups/worker/start",
        ]
    );
    arm.finish_transitions();
    assert_eq!(
        arm.container_group("staging", "worker").unwrap().state,
        "Running"
    );

    // The marker, with the key as a header only.
    let received = markers.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    assert_eq!(headers["x-honeycomb-team"], HONEYCOMB_KEY);
    assert_eq!(body["type"], "deploy");
    assert_eq!(body["url"], "https://circleci.com/gh/azcord/azcord/42");
    assert!(
        body["message"].as_str().unwrap().contains("1a2b3c4d5e6f"),
        "{body}"
    );

    // Every step is a span under the CI step that ran deploy.
    let spans = otlp.wait_for_spans(|spans| spans.len() >= 6).await;
    let mut names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "check the container group",
            "connect to azure",
            "deploy the template",
            "set the deploy marker",
            "start the container group",
            "wait for the deployment",
            "wait for the start",
        ]
    );
    for span in &spans {
        assert_eq!(span.trace_id, "5a9c1e0e1b3f4a598e520d3f4c2b7a61");
        assert_eq!(span.parent_span_id, "b9e369515fe20364", "{}", span.name);
    }
    let printed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.starts_with('✓'))
        .collect();
    assert_eq!(printed.len(), 7, "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_group_is_not_started_and_a_failing_marker_only_warns() {
    let arm = arm().await;
    let markers = marker_receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let run = deploy(
        &arm,
        "prod-web",
        "frontend",
        &[
            ("HONEYCOMB_API_KEY", HONEYCOMB_KEY.to_owned()),
            ("HONEYCOMB_API_ENDPOINT", markers.url.clone()),
            // The key alone would also send the trace to Honeycomb itself.
            ("OTEL_SDK_DISABLED", "true".to_owned()),
        ],
    )
    .await;
    assert!(run.success, "{}", run.all());
    assert_no_secret(&run, &arm);
    assert!(
        run.stderr
            .contains("warning: the Honeycomb deploy marker was not set"),
        "{}",
        run.stderr
    );
    assert_eq!(markers.received.lock().unwrap().len(), 1);
    let writes = writes(&arm);
    assert_eq!(writes.len(), 1, "no start call: {writes:?}");
    assert!(writes[0].starts_with("PUT "), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_bot_is_created_from_the_template_with_its_roles() {
    let arm = arm().await;
    let run = deploy(&arm, "staging", "azcord", &[]).await;
    assert!(run.success, "{}", run.all());
    assert_no_secret(&run, &arm);

    let group = arm.container_group("staging", "azcord").expect("created");
    assert_eq!(group.state, "Running");
    let container = &group.containers[0];
    assert_eq!(container.image, IMAGE);
    let token = container
        .environment
        .iter()
        .find(|variable| variable.name == "DISCORD_TOKEN")
        .expect("the token reaches the container");
    assert_eq!(
        (token.value.as_deref(), token.secure_value.as_deref()),
        (None, Some(DISCORD_TOKEN)),
        "as a secure value only"
    );
    let principal = group
        .identity
        .and_then(|identity| identity.principal_id)
        .expect("a system-assigned identity");

    // Two roles on each managed group, for the group's own identity.
    let mut assignments: Vec<(String, String)> = arm
        .role_assignments()
        .into_iter()
        .map(|assignment| {
            assert_eq!(assignment.properties["principalId"], principal.as_str());
            let role = assignment.properties["roleDefinitionId"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            (assignment.resource_group.to_lowercase(), role)
        })
        .collect();
    assignments.sort();
    let vm_contributor = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";
    let aci_contributor = "5d977122-f97e-4b4d-a52f-6b43003ddb4d";
    let mut expected: Vec<(String, String)> = ["dev-sandbox", "staging"]
        .into_iter()
        .flat_map(|group| {
            [aci_contributor, vm_contributor].map(|role| (group.to_owned(), role.to_owned()))
        })
        .collect();
    expected.sort();
    assert_eq!(assignments, expected);

    // A group that the deployment created runs: no start call.
    assert_eq!(arm.container_group_starts("staging", "azcord"), 0);
    assert_eq!(writes(&arm).len(), 1, "{:?}", writes(&arm));
}

/// The secure value of the container's environment variable `name`, checking that
/// it has no plain value.
fn secure_variable(arm: &ArmSim, group: &str, name: &str) -> String {
    let group = arm.container_group(group, "azcord").expect("created");
    let variable = group.containers[0]
        .environment
        .iter()
        .find(|variable| variable.name == name)
        .unwrap_or_else(|| panic!("{name} reaches the container"))
        .clone();
    assert_eq!(variable.value, None, "{name} as a secure value only");
    variable.secure_value.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_store_and_its_key_reach_the_container_as_secure_values() {
    let arm = arm().await;
    let run = deploy(
        &arm,
        "staging",
        "azcord",
        &[
            ("AZCORD_STORE_URL", STORE_URL.to_owned()),
            ("AZCORD_STATE_KEY", STATE_KEY.to_owned()),
        ],
    )
    .await;
    assert!(run.success, "{}", run.all());
    assert_no_secret(&run, &arm);
    assert_eq!(
        secure_variable(&arm, "staging", "AZCORD_STORE_URL"),
        STORE_URL
    );
    assert_eq!(
        secure_variable(&arm, "staging", "AZCORD_STATE_KEY"),
        STATE_KEY
    );

    // Without them the container keeps its own file: Azure takes no empty value, so
    // they come as blanks, which the bot reads as unset.
    let run = deploy(&arm, "dev-sandbox", "azcord", &[]).await;
    assert!(run.success, "{}", run.all());
    for name in ["AZCORD_STORE_URL", "AZCORD_STATE_KEY"] {
        assert_eq!(secure_variable(&arm, "dev-sandbox", name), " ", "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deployment_is_reported_with_azure_s_error() {
    let arm = arm().await;
    arm.make_image_unpullable(IMAGE);
    let run = deploy(&arm, "staging", "worker", &[]).await;
    assert!(!run.success, "{}", run.all());
    assert_no_secret(&run, &arm);
    let all = run.all();
    for expected in [
        "deployment `azcord-1a2b3c4d5e6f` failed",
        "DeploymentFailed",
        // The failing resource, with its own code.
        "/resourceGroups/staging/providers/Microsoft.ContainerInstance/containerGroups/worker",
        "InaccessibleImage",
        "✗ wait for the deployment",
    ] {
        assert!(all.contains(expected), "{expected}:\n{all}");
    }
    // Nothing is started after a failed deployment.
    assert_eq!(arm.container_group_starts("staging", "worker"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_masks_secrets() {
    let arm = arm().await;
    let mut vars = azure_vars(&arm);
    vars.extend([
        ("HONEYCOMB_API_KEY", HONEYCOMB_KEY.to_owned()),
        ("AZCORD_STORE_URL", STORE_URL.to_owned()),
        ("AZCORD_STATE_KEY", STATE_KEY.to_owned()),
    ]);
    let args = [&["deploy"], WORKER, &["--dry-run"]].concat();
    let run = run(xtask(&args, &vars)).await;
    assert!(run.success, "{}", run.all());
    assert_no_secret(&run, &arm);
    assert!(
        arm.requests().is_empty(),
        "a dry run called Azure: {:?}",
        arm.requests()
    );
    for line in [
        "would create deployment `azcord-1a2b3c4d5e6f`",
        "discordToken             ******** (secure)",
        "registryPassword         ******** (secure)",
        "storeUrl                 ******** (secure)",
        "stateKey                 ******** (secure)",
        "dry run: nothing was changed",
    ] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_call() {
    let arm = arm().await;
    // The arguments, the variables changed, and what the error says.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 7] = [
        (
            &[
                "--resource-group",
                "staging",
                "--name",
                "Worker_1",
                "--image",
                IMAGE,
            ],
            &[],
            "not a valid container group name",
        ),
        (
            &[
                "--resource-group",
                "staging",
                "--name",
                "worker",
                "--image",
                "azcord:latest",
            ],
            &[],
            "is not an image reference",
        ),
        (WORKER, &[("DISCORD_TOKEN", "")], "DISCORD_TOKEN is not set"),
        (
            WORKER,
            &[("ACR_PASSWORD", "")],
            "set ACR_USERNAME and ACR_PASSWORD",
        ),
        (
            WORKER,
            &[("AZCORD_STORE_URL", STORE_URL)],
            "AZCORD_STORE_URL is set but AZCORD_STATE_KEY is not",
        ),
        (
            WORKER,
            &[
                ("AZCORD_STORE_URL", STORE_URL),
                ("AZCORD_STATE_KEY", "not-a-key-redis-access-key-77Qz"),
            ],
            "AZCORD_STATE_KEY must be 64 hexadecimal digits",
        ),
        (
            WORKER,
            &[
                ("AZCORD_STORE_URL", "https://redis-access-key-77Qz@azcord"),
                ("AZCORD_STATE_KEY", STATE_KEY),
            ],
            "AZCORD_STORE_URL must be a redis:// or rediss:// URL",
        ),
    ];
    for (args, overrides, expected) in cases {
        let mut vars = azure_vars(&arm);
        for (name, value) in overrides {
            vars.retain(|(existing, _)| existing != name);
            vars.push((name, (*value).to_owned()));
        }
        let mut all_args = vec!["deploy"];
        all_args.extend_from_slice(args);
        let run = run(xtask(&all_args, &vars)).await;
        assert!(!run.success, "{args:?}");
        assert!(run.stderr.contains(expected), "{expected}:\n{}", run.stderr);
        assert_no_secret(&run, &arm);
    }
    assert!(arm.requests().is_empty());
}
