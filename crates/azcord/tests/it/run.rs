//! `azcord run` as a process: configuration, admin endpoints, metrics and SIGTERM.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use azcord_sim::{DiscordSim, DiscordSimConfig, GatewayRecord, Invocation, ShardState, SimUser};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{
    process::{RunProcess, RunSetup},
    support::CHANNEL,
};

/// Waits (bounded) until every shard is ready; on failure shows what the process said.
async fn wait_until_ready(sim: &DiscordSim, process: &RunProcess) {
    if tokio::time::timeout(Duration::from_secs(60), sim.wait_until_ready())
        .await
        .is_err()
    {
        panic!("azcord run did not connect: {}", process.output());
    }
}

/// GET `path` from the admin port; returns the status line and the body.
async fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn run_serves_reports_health_and_stops_cleanly_on_sigterm() {
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 2,
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    let admin = free_port();
    let dir = tempfile::tempdir().unwrap();
    let admin_addr = format!("127.0.0.1:{admin}");
    let process = RunProcess::spawn_with(
        &sim,
        dir.path(),
        "run",
        RunSetup {
            args: &["--admin-addr", &admin_addr],
            ..RunSetup::default()
        },
    );

    // Both shards serve: guilds are spread over them by id. (The 5 s between the two
    // identifies is Discord's rule for max_concurrency 1, which the simulator keeps.)
    wait_until_ready(&sim, &process).await;
    assert!(
        !sim.identify_limit_broken(),
        "the shards keep to max_concurrency: {:#?}",
        sim.identifies()
    );
    let ping = sim
        .command_data(None, "ping", Vec::new())
        .expect("registered globally without --guild");
    let mut tokens = Vec::new();
    for guild in [sim.config().guild_id, sim.config().guild_id + (1 << 22)] {
        let mut handle = sim.invoke(Invocation {
            user: SimUser::new(7, "ops"),
            guild_id: Some(guild),
            channel_id: CHANNEL,
            data: ping.clone(),
        });
        tokens.push(handle.token.clone());
        assert_eq!(process.answer(&mut handle).await.content, "🏓 pong");
    }

    // Answering proves the shards saw READY, so the process is ready.
    assert_eq!(get(admin, "/healthz").await.0, "HTTP/1.1 200 OK");
    assert_eq!(get(admin, "/readyz").await.0, "HTTP/1.1 200 OK");
    let (status, metrics) = get(admin, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        metrics.contains(r#"interactions_total{command="ping",outcome="success"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"shard_state{shard="1",state="connected"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("interaction_ack_latency_seconds_count 2"),
        "{metrics}"
    );

    let output = process.terminate(Duration::from_secs(30)).await;
    let stdout = &output.stdout;
    assert!(
        output.status.success(),
        "exit {:?}: {stdout}",
        output.status
    );
    assert!(
        stdout.contains("received SIGTERM") && stdout.contains("gateway closed"),
        "{stdout}"
    );
    let closes = sim
        .gateway_log()
        .iter()
        .filter(|record| {
            matches!(
                record,
                GatewayRecord::ClientClosed {
                    code: Some(4000),
                    ..
                }
            )
        })
        .count();
    assert_eq!(closes, 2, "both shards closed resumably");

    for secret in tokens.iter().chain([&sim.config().token]) {
        assert!(
            !stdout.contains(secret.as_str()),
            "a token reached the logs"
        );
        assert!(!output.stderr.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn run_exits_non_zero_when_discord_closes_a_shard_for_good() {
    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let process = RunProcess::spawn_with(&sim, dir.path(), "run", RunSetup::default());
    wait_until_ready(&sim, &process).await;

    // 4004: authentication failed. Restarting the shard cannot help; the process must
    // exit so that its orchestrator sees it.
    sim.close_connection(0, 4004).await.unwrap();
    let output = process
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|output| panic!("azcord run did not exit by itself: {output}"));
    let (stdout, stderr) = (&output.stdout, &output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let reason = "the Discord gateway stopped: shard 0 was closed by Discord with code 4004 and cannot reconnect (bad token, intents or shard)";
    assert!(
        stdout.contains(r#""message":"azcord stopped""#) && stdout.contains(reason),
        "{stdout}"
    );
    assert!(stderr.contains(reason), "{stderr}");
    assert!(
        stdout.contains("gateway closed"),
        "shut down in order: {stdout}"
    );
    assert!(!stdout.contains(sim.config().token.as_str()));
    assert!(!stderr.contains(sim.config().token.as_str()));
}

#[test]
fn run_without_a_token_says_what_to_do() {
    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .arg("run")
        .env_remove("DISCORD_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DISCORD_TOKEN is not set"), "{stderr}");
}

#[test]
fn version_and_commands_describe_this_build() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    let version = run(&["--version"]);
    assert!(
        version.starts_with(&format!("azcord {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    assert!(version.contains(", build "), "{version}");

    let commands: Vec<azcord_command::twilight_model::application::command::Command> =
        serde_json::from_str(&run(&["commands"])).unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|command| command.name.as_str())
        .collect();
    assert_eq!(names, ["ping", "help", "about", "vm", "aci", "webapp"]);
}

#[test]
fn check_config_prints_the_effective_policy_or_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("azcord-check-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        "[[policy.rules]]\nname = \"ops\"\ncommands = [\"vm start\", \"vm stop\"]\nroles = [7]\nresource_groups = [\"staging\"]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .args(["check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("/vm "))
        .map(str::trim_end)
        .collect();
    expect_test::expect![[r#"
        [
            "  /vm list              read        [vm] every member, servers only",
            "  /vm status            read        [vm] every member, servers only",
            "  /vm start             write       [vm] rules ops, servers only",
            "  /vm stop              destructive [vm] rules ops, servers only",
            "  /vm deallocate        destructive [vm] nobody (no rule grants it), servers only",
            "  /vm restart           destructive [vm] nobody (no rule grants it), servers only",
        ]
    "#]]
    .assert_debug_eq(&lines);

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[[policy.rules]]\nname = \"ops\"\ncommand = [\"vm *\"]\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .args(["check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("invalid config file") && stderr.contains("unknown field `command`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Discord has no channel 0: both ways of assembling the bot refuse it before they
/// reach Discord, rather than one failing and the other dropping every audit event.
#[tokio::test]
async fn an_audit_channel_of_zero_is_refused_by_run_and_by_the_local_bot() {
    let refusal =
        "audit.channel must not be 0: set it to the id of the channel to post audit events in";

    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let process = RunProcess::spawn_with(
        &sim,
        dir.path(),
        "run",
        RunSetup {
            config: "[audit]\nchannel = 0\n",
            ..RunSetup::default()
        },
    );
    let output = process
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|output| {
            panic!("azcord run accepted audit channel 0 and kept running: {output}")
        });
    let stderr = &output.stderr;
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(refusal), "{stderr}");
    assert_eq!(sim.rest_calls().len(), 0, "refused before reaching Discord");

    let error = azcord::local::LocalBot::start(azcord::local::LocalOptions {
        audit_channel: Some(0),
        ..azcord::local::LocalOptions::default()
    })
    .await
    .err()
    .expect("the local bot refuses audit channel 0");
    assert!(format!("{error:#}").contains(refusal), "{error:#}");
}

#[tokio::test]
async fn run_with_shards_per_pod_runs_the_shards_of_its_pod_ordinal() {
    let sim = DiscordSim::start(DiscordSimConfig {
        shard_count: 4,
        ..DiscordSimConfig::default()
    })
    .await
    .unwrap();
    // The second pod of a StatefulSet, two shards per pod: shards 2 and 3 of 4.
    let dir = tempfile::tempdir().unwrap();
    let process = RunProcess::spawn_with(
        &sim,
        dir.path(),
        "run",
        RunSetup {
            args: &["--shards-per-pod", "2", "--shard-total", "4"],
            envs: &[("HOSTNAME", "azcord-gateway-1")],
            ..RunSetup::default()
        },
    );
    let pod_shards_active = |states: &[ShardState]| {
        states[2..]
            .iter()
            .all(|state| matches!(state, ShardState::Active { .. }))
    };
    let connected = tokio::time::timeout(
        Duration::from_secs(60),
        sim.wait_for_shards(pod_shards_active),
    )
    .await
    .is_ok();
    let output = process.terminate(Duration::from_secs(30)).await;
    let stdout = &output.stdout;
    assert!(connected, "shards 2 and 3 did not connect: {stdout}");
    assert!(
        output.status.success(),
        "exit {:?}: {stdout}",
        output.status
    );
    // The shards of a process identify in whatever order their tasks reach the queue.
    let mut identified: Vec<u32> = sim
        .gateway_log()
        .iter()
        .filter_map(|record| match record {
            GatewayRecord::Identified { shard, .. } => Some(*shard),
            _ => None,
        })
        .collect();
    identified.sort_unstable();
    assert_eq!(identified, [2, 3], "only the pod's shards identify");
    assert!(
        stdout.contains("shards from the pod ordinal") && stdout.contains("azcord-gateway-1"),
        "{stdout}"
    );
}

#[test]
fn run_with_shards_per_pod_refuses_a_hostname_it_cannot_place() {
    let cases = [
        (
            "laptop",
            "the hostname `laptop` does not end in a pod ordinal",
        ),
        (
            "azcord-gateway-2",
            "pod ordinal 2 with 2 shards per pod needs shards beyond shard_total 4: run at most 2 pods",
        ),
    ];
    for (hostname, expected) in cases {
        // Nothing listens at this address: the process must stop before connecting.
        let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
            .args(["run", "--shards-per-pod", "2", "--shard-total", "4"])
            .args(["--log-format", "json"])
            .env("HOSTNAME", hostname)
            .env("DISCORD_TOKEN", "not-a-real-token")
            .env("DISCORD_API_URL", "http://127.0.0.1:9")
            .env("DISCORD_GATEWAY_URL", "ws://127.0.0.1:9")
            .env_remove("AZCORD_SHARDS")
            .env_remove("HONEYCOMB_API_KEY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.status.success(), "{hostname}: {all}");
        assert!(all.contains(expected), "{hostname}: {all}");
        assert!(
            !all.contains("not-a-real-token"),
            "the token reached the output"
        );
    }
}
