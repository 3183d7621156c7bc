//! `azcord serve` as a process: interactions signed and POSTed by the Discord simulator
//! to the interactions endpoint, answered in the HTTP response or deferred there and
//! followed up over REST, and every request that is not Discord's refused unread.

use std::{process::Stdio, time::Duration};

use azcord_command::twilight_model::http::interaction::InteractionResponseType;
use azcord_sim::{
    ArmSim, DiscordSim, DiscordSimConfig, InteractionEvent, Invocation, Signing, SimUser,
    terminal::parse_command_line,
};

use tokio::{
    io::{AsyncBufReadExt as _, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

use crate::support::{CHANNEL, held_arm};

pub(crate) const OPS: u64 = 500;

/// The config file the tests' processes share: fast acknowledgements, `vm *` for `OPS`.
pub(crate) const CONFIG: &str = "[dispatch]\nack_budget_ms = 500\nmin_edit_interval_ms = 0\n\n[[policy.rules]]\nname = \"ops\"\ncommands = [\"vm *\"]\nroles = [500]\n";

/// An `azcord serve` process against the simulators, killed when dropped.
struct Served {
    sim: DiscordSim,
    arm: ArmSim,
    process: ServeProcess,
}

/// Where an `azcord serve` process keeps its state.
pub(crate) enum ServeState<'a> {
    File(&'a std::path::Path),
    Redis { url: &'a str, key: &'a str },
}

/// One `azcord serve` process, killed when dropped.
pub(crate) struct ServeProcess {
    child: Child,
    /// Where it listens, `127.0.0.1:PORT`.
    pub(crate) listen: std::net::SocketAddr,
    /// What the process logs, line by line.
    lines: Lines<BufReader<ChildStdout>>,
    /// Every line read so far.
    logged: Vec<String>,
}

impl Served {
    async fn start() -> Self {
        let sim = DiscordSim::start(DiscordSimConfig::default())
            .await
            .unwrap();
        let arm = held_arm(Duration::from_millis(5)).await;
        let dir = tempfile_dir("azcord-serve");
        let config = dir.join("azcord.toml");
        std::fs::write(&config, CONFIG).unwrap();
        // redb lets one process hold a state file: each test its own.
        let state = dir.join("state.redb");
        let process = ServeProcess::spawn(&sim, &arm, &config, ServeState::File(&state)).await;
        sim.set_interactions_endpoint(Some(process.endpoint()));
        Self { sim, arm, process }
    }

    fn invocation(&self, line: &str) -> Invocation {
        invocation(&self.sim, line)
    }

    /// The ARM action POSTs (token requests aside).
    fn arm_posts(&self) -> usize {
        arm_posts(&self.arm)
    }
}

impl ServeProcess {
    /// Starts `azcord serve` with the config file `config` on a free loopback port, and
    /// waits until it serves.
    pub(crate) async fn spawn(
        sim: &DiscordSim,
        arm: &ArmSim,
        config: &std::path::Path,
        state: ServeState<'_>,
    ) -> Self {
        let listen = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcord"));
        command
            .arg("--config")
            .arg(config)
            .args([
                "serve",
                "--listen",
                &listen.to_string(),
                "--log-format",
                "json",
            ])
            .env("DISCORD_TOKEN", &sim.config().token)
            .env("DISCORD_API_URL", sim.api_url())
            .env("DISCORD_PUBLIC_KEY", sim.public_key())
            .env("RUST_LOG", "debug")
            .envs(arm.client_environment())
            .env_remove("AZCORD_STATE")
            .env_remove("AZCORD_STORE_URL")
            .env_remove("AZCORD_STATE_KEY")
            .env_remove("HONEYCOMB_API_KEY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        match state {
            ServeState::File(path) => command.env("AZCORD_STATE", path),
            ServeState::Redis { url, key } => command
                .env("AZCORD_STORE_URL", url)
                .env("AZCORD_STATE_KEY", key),
        };
        let mut child = command.spawn().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut process = Self {
            child,
            listen,
            lines,
            logged: Vec::new(),
        };
        process
            .wait_logged(&["serving the interactions endpoint"])
            .await;
        process
    }

    /// The URL for [`DiscordSim::set_interactions_endpoint`].
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}/interactions", self.listen)
    }

    /// Waits until the process logs a line containing every one of `texts`.
    pub(crate) async fn wait_logged(&mut self, texts: &[&str]) {
        loop {
            match tokio::time::timeout(Duration::from_secs(60), self.lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    let found = texts.iter().all(|text| line.contains(text));
                    self.logged.push(line);
                    if found {
                        return;
                    }
                }
                _ => panic!(
                    "azcord serve did not log {texts:?} within 60 s: {:#?}",
                    self.logged
                ),
            }
        }
    }

    /// What the process logged so far, for a failure's message: the lines it has
    /// written until it pauses for a second.
    pub(crate) async fn logs_so_far(&mut self) -> String {
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(1), self.lines.next_line()).await
        {
            self.logged.push(line);
        }
        self.logged.join("\n")
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills the process with SIGKILL, as the OOM killer or a lost node would.
    pub(crate) async fn sigkill(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Stops the process with SIGTERM and returns everything it logged.
    pub(crate) async fn stop(mut self) -> String {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let rest = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.logged.push(line);
            }
            self.child.wait().await.unwrap()
        };
        let status = tokio::time::timeout(Duration::from_secs(30), rest)
            .await
            .expect("azcord serve stops within 30 s of SIGTERM");
        assert!(status.success(), "exit {status:?}: {:#?}", self.logged);
        self.logged.join("\n")
    }
}

/// `line` typed by a user with the `OPS` role, in `CHANNEL`.
pub(crate) fn invocation(sim: &DiscordSim, line: &str) -> Invocation {
    let commands = sim.registered_commands(None);
    Invocation {
        user: ops(),
        guild_id: Some(sim.config().guild_id),
        channel_id: CHANNEL,
        data: parse_command_line(line, &commands).unwrap(),
    }
}

/// A user with the `OPS` role.
pub(crate) fn ops() -> SimUser {
    SimUser {
        role_ids: vec![OPS],
        ..SimUser::new(42, "ops")
    }
}

/// The ARM action POSTs (start, stop, ...), token requests aside.
pub(crate) fn arm_posts(arm: &ArmSim) -> usize {
    arm.requests()
        .iter()
        .filter(|request| !request.token_request && request.method == http::Method::POST)
        .count()
}

pub(crate) fn tempfile_dir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn serve_answers_pings_and_commands_over_http() {
    let mut served = Served::start().await;

    // The developer portal's check when the URL is saved.
    let pong = served.sim.ping_endpoint().await.unwrap();
    assert_eq!(pong.status, 200, "{pong:?}");
    assert_eq!(pong.json(), Some(serde_json::json!({ "type": 1 })));

    // Answered within the budget: the reply is the HTTP response itself.
    let mut ping = served.sim.invoke(served.invocation("/ping"));
    let InteractionEvent::Acknowledged {
        kind: InteractionResponseType::ChannelMessageWithSource,
        message: Some(message),
        ..
    } = ping.next_event().await
    else {
        panic!("expected /ping answered at once")
    };
    assert_eq!(message.content, "🏓 pong");

    // Long-running: deferred in the HTTP response, then followed up over REST.
    let mut start = served
        .sim
        .invoke(served.invocation("/vm start name:staging/web-1"));
    let event = start.next_event().await;
    assert!(
        matches!(
            event,
            InteractionEvent::Acknowledged {
                kind: InteractionResponseType::DeferredChannelMessageWithSource,
                deferred: true,
                ..
            }
        ),
        "{event:?}"
    );
    let Some(InteractionEvent::OriginalEdited(progress)) =
        start.next_event_within(Duration::from_secs(30)).await
    else {
        panic!("no progress edit: {}", served.process.logs_so_far().await)
    };
    assert!(
        progress.content.starts_with("🔄 Starting **web-1**"),
        "{}",
        progress.content
    );
    served
        .arm
        .wait_for_vm_state("staging", "web-1", azcord_sim::arm::PowerState::Starting)
        .await;
    served.arm.finish_transitions();
    let InteractionEvent::OriginalEdited(done) = start
        .wait_for(|event| matches!(event, InteractionEvent::OriginalEdited(message) if !message.content.starts_with("🔄")))
        .await
    else {
        unreachable!()
    };
    assert!(
        done.content
            .starts_with("✅ **web-1** in `staging` is running"),
        "{}",
        done.content
    );
    assert_eq!(served.arm_posts(), 1);

    // Every first response went into an HTTP response: no callback over REST; the edits
    // went over REST.
    let calls = served.sim.rest_calls();
    assert!(
        !calls.iter().any(|call| call.path.ends_with("/callback")),
        "{calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|call| call.method == http::Method::PATCH && call.status == 200),
        "{calls:#?}"
    );
    let deliveries = served.sim.webhook_deliveries();
    assert_eq!(
        deliveries
            .iter()
            .map(|delivery| delivery.status)
            .collect::<Vec<_>>(),
        [Some(200), Some(200)]
    );

    served
        .process
        .wait_logged(&[
            r#""target":"azcord::audit""#,
            r#""command":"vm start""#,
            r#""outcome":"succeeded""#,
        ])
        .await;
    let tokens = [ping.token.clone(), start.token.clone()];
    let bot_token = served.sim.config().token.clone();
    let logs = served.process.stop().await;
    assert!(logs.contains("interactions endpoint closed"), "{logs}");
    for secret in tokens.iter().chain([&bot_token]) {
        assert!(!logs.contains(secret.as_str()), "a token reached the logs");
    }
}

#[tokio::test]
async fn serve_refuses_what_discord_did_not_sign_and_runs_nothing() {
    let served = Served::start().await;

    let refused = [
        (Signing::Missing, 401),
        (Signing::WrongKey, 401),
        (Signing::Garbage, 401),
        (Signing::Stale, 401),
        (Signing::ChangedBody, 401),
    ];
    for (signing, status) in refused {
        let mut handle = served
            .sim
            .invoke_signed(served.invocation("/vm start name:staging/web-1"), signing);
        let event = handle.next_event().await;
        let InteractionEvent::Rejected(reason) = &event else {
            panic!("{signing:?}: expected a refusal, got {event:?}")
        };
        assert!(
            reason.starts_with(&format!("the interactions endpoint answered {status}")),
            "{signing:?}: {reason}"
        );
    }
    let statuses: Vec<_> = served
        .sim
        .webhook_deliveries()
        .iter()
        .map(|delivery| (delivery.signing, delivery.status))
        .collect();
    assert_eq!(
        statuses,
        refused
            .iter()
            .map(|(signing, status)| (*signing, Some(*status)))
            .collect::<Vec<_>>()
    );

    // Over the size limit, even when signed: refused before it is read to the end.
    let large = served
        .sim
        .post_to_endpoint(vec![b' '; 300 * 1024], Signing::Valid)
        .await
        .unwrap();
    assert_eq!(large.status, 413);
    // Signed, but not an interaction.
    let malformed = served
        .sim
        .post_to_endpoint(b"{\"type\":\"nope\"}".to_vec(), Signing::Valid)
        .await
        .unwrap();
    assert_eq!(malformed.status, 400);
    // Unsigned, the PING is refused like anything else.
    let ping = served
        .sim
        .post_to_endpoint(br#"{"type":1}"#.to_vec(), Signing::Missing)
        .await
        .unwrap();
    assert_eq!(ping.status, 401);

    // Nothing ran: Azure saw no action, Discord no reply.
    assert_eq!(served.arm_posts(), 0);
    let calls = served.sim.rest_calls();
    assert!(
        !calls.iter().any(|call| call.path.contains("/webhooks/")),
        "{calls:#?}"
    );
    let logs = served.process.stop().await;
    assert!(!logs.contains("\"target\":\"azcord::audit\""), "{logs}");
}
