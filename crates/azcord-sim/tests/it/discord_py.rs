//! The Discord simulator checked with discord.py, a client nobody here wrote:
//! `tests/python/discord_py_check.py` connects to the loopback gateway and REST API,
//! answers an injected interaction, posts a message and a reply with the bot token, and
//! resumes after an op 7 RECONNECT. This test plays the users and reads the script's
//! progress lines.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use azcord_sim::{DiscordSimConfig, GatewayRecord, InteractionEvent, InteractionHandle};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{ChildStdout, Command},
};

use azcord_sim::tools::{require_python_modules, require_tool};

use crate::support::{CHANNEL, invocation, start};

/// The pinned package, as `.ci/install-tools` installs it.
const PIP_INSTALL: &str = "pip install discord.py==2.7.1";
/// How long one step of the script, imports included, may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The script's progress lines, with everything it printed so far for failure messages.
struct Progress {
    lines: Lines<BufReader<ChildStdout>>,
    transcript: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Progress {
    /// The next line; panics with the script's output if none comes in time.
    async fn next(&mut self, waiting_for: &str) -> String {
        let line = match tokio::time::timeout(STEP_TIMEOUT, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("the script ended before {waiting_for}: {}", self.report()),
            Ok(Err(error)) => panic!("reading the script's output: {error}: {}", self.report()),
            Err(_) => panic!("no {waiting_for} in time: {}", self.report()),
        };
        self.transcript.push(line.clone());
        line
    }

    /// The next line, which must start with `word`; returns the words after it.
    async fn expect(&mut self, word: &str) -> Vec<String> {
        let line = self.next(word).await;
        let mut words = line.split_whitespace().map(str::to_owned);
        if words.next().as_deref() != Some(word) {
            panic!("expected {word}: {}", self.report());
        }
        words.collect()
    }

    /// Everything the script printed so far.
    fn report(&self) -> String {
        let stderr = self.stderr.lock().unwrap_or_else(PoisonError::into_inner);
        format!("stdout: {:#?}\nstderr:\n{stderr}", self.transcript)
    }
}

/// The content of the message the interaction was answered with.
async fn answer(handle: &mut InteractionHandle, progress: &Progress) -> String {
    match handle.next_event_within(STEP_TIMEOUT).await {
        Some(InteractionEvent::Acknowledged {
            message: Some(message),
            deferred: false,
            ..
        }) => message.content,
        other => panic!("{other:?}: {}", progress.report()),
    }
}

#[tokio::test]
async fn discord_py_answers_posts_replies_and_resumes_against_the_simulator() {
    let Some(python) = require_tool("python3", "apt-get install -y python3 python3-pip") else {
        return;
    };
    if !require_python_modules(&python, &["discord"], PIP_INSTALL) {
        return;
    }
    let sim = start(DiscordSimConfig::default()).await;
    let token = sim.config().token.clone();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/discord_py_check.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .args([sim.api_url(), sim.gateway_url(), CHANNEL.to_string()])
        .env("DISCORD_SIM_TOKEN", &token)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let collected = Arc::clone(&stderr);
    let mut stderr_lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let stderr_done = tokio::spawn(async move {
        while let Ok(Some(line)) = stderr_lines.next_line().await {
            let mut text = collected.lock().unwrap_or_else(PoisonError::into_inner);
            text.push_str(&line);
            text.push('\n');
        }
    });
    let mut progress = Progress {
        lines: BufReader::new(child.stdout.take().expect("stdout is piped")).lines(),
        transcript: Vec::new(),
        stderr,
    };

    progress.expect("READY").await;
    sim.wait_until_ready().await;
    let mut first = sim.invoke(invocation(&sim, "web-1"));
    assert_eq!(answer(&mut first, &progress).await, "pong 1");
    assert_eq!(
        progress.expect("ANSWERED").await,
        [first.id.to_string(), "1".to_owned()]
    );

    let posted = progress.expect("POSTED").await;
    let replied = progress.expect("REPLIED").await;
    assert_eq!(replied[1], posted[0], "discord.py sees the reference");
    let messages = sim.channel_messages(CHANNEL);
    let reply = messages
        .iter()
        .find(|message| message.id.to_string() == replied[0])
        .unwrap_or_else(|| panic!("the reply is in the channel: {messages:#?}"));
    assert_eq!(reply.content, "web-1 is running");
    assert_eq!(
        reply.referenced_message_id.map(|id| id.to_string()),
        Some(posted[0].clone())
    );

    sim.send_reconnect(0).await.expect("op 7 is sent");
    // Sent while the client reconnects: replayed on RESUME.
    let mut second = sim.invoke(invocation(&sim, "web-2"));
    assert_eq!(answer(&mut second, &progress).await, "pong 2");
    let mut rest = Vec::new();
    while rest.last().map(String::as_str) != Some("DONE") {
        rest.push(progress.next("DONE").await);
    }
    assert!(rest.contains(&"RESUMED".to_owned()), "{rest:#?}");
    assert!(
        rest.contains(&format!("ANSWERED {} 2", second.id)),
        "{rest:#?}"
    );

    let status = tokio::time::timeout(STEP_TIMEOUT, child.wait())
        .await
        .expect("the script exits in time")
        .expect("the script's status is read");
    let _ = stderr_done.await;
    let report = progress.report();
    assert!(status.success(), "{status}: {report}");
    assert!(!report.contains(&token), "the token never shows");

    let log = sim.gateway_log();
    let identified: Vec<_> = log
        .iter()
        .filter_map(|record| match record {
            GatewayRecord::Identified { session_id, .. } => Some(session_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(identified.len(), 1, "{log:#?}");
    assert!(
        log.iter().any(|record| matches!(
            record,
            GatewayRecord::Resumed { session_id, replayed, .. }
                if *session_id == identified[0] && *replayed >= 1
        )),
        "{log:#?}"
    );
}

#[test]
fn ci_installs_the_discord_py_the_skip_message_names() {
    let install_tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/install-tools");
    let install_tools = std::fs::read_to_string(&install_tools).expect(".ci/install-tools exists");
    let pinned = PIP_INSTALL
        .strip_prefix("pip install ")
        .expect("a pip command");
    assert!(
        install_tools
            .split(|character: char| character.is_whitespace() || "()\"'".contains(character))
            .any(|word| word == pinned),
        ".ci/install-tools does not install {pinned}"
    );
}
