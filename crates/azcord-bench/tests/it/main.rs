//! Smoke tests of the benchmark driver's modes that need no release build: each runs
//! with a tiny load and is checked for what it reports, never for how fast.

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use azcord_sim::{DiscordSim, DiscordSimConfig, InteractionEvent, Invocation, Signing, SimUser};

const BENCH: &str = env!("CARGO_BIN_EXE_azcord-bench");

#[test]
fn store_mode_reports_both_actions_for_both_stores() {
    let output = Command::new(BENCH)
        .args(["store", "--actions", "4"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "| `/vm start name:dev-sandbox/build-agent` |",
        "| `/vm deallocate name:dev-sandbox/build-agent`, confirmed |",
    ] {
        assert!(report.contains(row), "{report}");
    }
}

#[tokio::test]
async fn the_http_floor_answers_signed_pings_and_refuses_the_rest() {
    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut floor = Command::new(BENCH)
        .args(["floor-http", "--api-url", &sim.api_url()])
        .args(["--token", &sim.config().token])
        .args(["--public-key", &sim.public_key()])
        .args(["--listen", &listen.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = floor.stdout.take().unwrap();
    let serving = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("serving the interactions endpoint"))
    });
    let serving = tokio::time::timeout(Duration::from_secs(60), serving).await;
    if !matches!(serving, Ok(Ok(true))) {
        let _ = floor.kill();
        panic!("the HTTP floor did not serve: {serving:?}");
    }
    sim.set_interactions_endpoint(Some(format!("http://{listen}/interactions")));
    let ping = sim
        .command_data(None, "ping", Vec::new())
        .expect("the floor registers /ping");
    let invocation = || Invocation {
        user: SimUser::new(7, "bench"),
        guild_id: Some(sim.config().guild_id),
        channel_id: 3,
        data: ping.clone(),
    };
    let mut answers = Vec::new();
    for signing in [
        Signing::Valid,
        Signing::WrongKey,
        Signing::Stale,
        Signing::ChangedBody,
    ] {
        let event = sim.invoke_signed(invocation(), signing).next_event().await;
        answers.push(match event {
            InteractionEvent::Acknowledged {
                message: Some(message),
                ..
            } => message.content,
            InteractionEvent::Rejected(reason) => reason,
            other => format!("{other:?}"),
        });
    }
    let _ = floor.kill();
    let _ = floor.wait();
    assert_eq!(answers[0], "🏓 pong");
    for refused in &answers[1..] {
        assert!(
            refused.starts_with("the interactions endpoint answered 401"),
            "{answers:#?}"
        );
    }
}
