//! `azcord run` as a child process of a test, against the Discord simulator and, when
//! given, the ARM simulator: the one way the tests start it.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use azcord_sim::{ArmSim, DiscordSim, InteractionEvent, InteractionHandle, ShardState, SimMessage};

/// A key for the Redis store, which needs one shared by every process.
pub(crate) const STATE_KEY: &str =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Where an `azcord run` process keeps its state.
pub(crate) enum State<'a> {
    /// `NAME.redb` in the process's directory: redb admits one process per file.
    OwnFile,
    File(&'a Path),
    Redis(&'a str),
}

/// What an `azcord run` process is started with, besides the Discord simulator.
pub(crate) struct RunSetup<'a> {
    /// Where it keeps its state.
    pub(crate) state: State<'a>,
    /// Command-line arguments after `run`.
    pub(crate) args: &'a [&'a str],
    /// TOML appended to the config file, after the identify window.
    pub(crate) config: &'a str,
    /// The Azure it acts on; none if not given.
    pub(crate) arm: Option<&'a ArmSim>,
    /// More environment variables.
    pub(crate) envs: &'a [(&'a str, &'a str)],
}

impl Default for RunSetup<'_> {
    /// A state file of its own in the process's directory, no arguments, no Azure.
    fn default() -> Self {
        Self {
            state: State::OwnFile,
            args: &[],
            config: "",
            arm: None,
            envs: &[],
        }
    }
}

/// How an `azcord run` process ended, and what it wrote.
pub(crate) struct Exited {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// An `azcord run` process, its output in files (a pipe nobody reads would stall it);
/// killed if the test ends without stopping it.
pub(crate) struct RunProcess {
    child: Option<Child>,
    name: String,
    log: PathBuf,
}

impl RunProcess {
    /// `azcord run ARGS` named `name`, with its config and logs in `dir`.
    pub(crate) fn spawn(
        sim: &DiscordSim,
        dir: &Path,
        name: &str,
        state: State<'_>,
        args: &[&str],
    ) -> Self {
        Self::spawn_with(
            sim,
            dir,
            name,
            RunSetup {
                state,
                args,
                ..RunSetup::default()
            },
        )
    }

    /// `azcord run` named `name` as `setup` says, with its config and logs in `dir`;
    /// it identifies at the simulator's pace.
    pub(crate) fn spawn_with(
        sim: &DiscordSim,
        dir: &Path,
        name: &str,
        setup: RunSetup<'_>,
    ) -> Self {
        let config = dir.join(format!("{name}.toml"));
        let window = sim.config().identify_window.as_millis();
        std::fs::write(
            &config,
            format!(
                "[discord]\nidentify_window_ms = {window}\n\n{}",
                setup.config
            ),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_azcord"));
        command
            .args(["run", "--log-format", "json", "--config"])
            .arg(&config)
            .args(setup.args)
            .env("DISCORD_TOKEN", &sim.config().token)
            .env("DISCORD_API_URL", sim.api_url())
            .env("DISCORD_GATEWAY_URL", sim.gateway_url())
            .env("RUST_LOG", "info,azcord_gateway=debug")
            .env_remove("AZCORD_STATE")
            .env_remove("AZCORD_STORE_URL")
            .env_remove("AZCORD_STATE_KEY")
            .env_remove("AZCORD_SHARDS")
            .env_remove("HONEYCOMB_API_KEY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .env_remove("SSL_CERT_FILE")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
        if let Some(arm) = setup.arm {
            command.envs(arm.client_environment());
        }
        command.envs(setup.envs.iter().copied());
        match setup.state {
            State::OwnFile => command.env("AZCORD_STATE", dir.join(format!("{name}.redb"))),
            State::File(path) => command.env("AZCORD_STATE", path),
            State::Redis(url) => command
                .env("AZCORD_STORE_URL", url)
                .env("AZCORD_STATE_KEY", STATE_KEY),
        };
        Self {
            child: Some(command.spawn().unwrap()),
            name: name.to_owned(),
            log,
        }
    }

    /// What the process logged so far, and its standard error.
    pub(crate) fn output(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!(
            "--- {} stdout\n{}\n--- stderr\n{}",
            self.name,
            read(&self.log),
            read(&self.log.with_extension("err"))
        )
    }

    /// Waits (bounded by `patience`) for the process to exit by itself: how it ended;
    /// or, if it did not, kills it and returns what it wrote.
    pub(crate) async fn wait_exit(mut self, patience: Duration) -> Result<Exited, String> {
        let Some(mut child) = self.child.take() else {
            unreachable!("a process is waited for once")
        };
        let pid = child.id().to_string();
        let waited = tokio::task::spawn_blocking(move || child.wait());
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        match tokio::time::timeout(patience, waited).await {
            Ok(status) => Ok(Exited {
                status: status.unwrap().unwrap(),
                stdout: read(&self.log),
                stderr: read(&self.log.with_extension("err")),
            }),
            Err(_) => {
                // The waiting thread owns the child: SIGKILL by pid ends its wait.
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                Err(self.output())
            }
        }
    }

    /// The message the process answers `handle`'s interaction with, waited for within
    /// 60 s, so that a process that never answers fails the test, not hangs it.
    pub(crate) async fn answer(&self, handle: &mut InteractionHandle) -> SimMessage {
        let event = tokio::time::timeout(Duration::from_secs(60), handle.next_event())
            .await
            .unwrap_or_else(|_| panic!("{} did not answer: {}", self.name, self.output()));
        let InteractionEvent::Acknowledged {
            message: Some(message),
            ..
        } = event
        else {
            panic!("expected an answer, got {event:?}")
        };
        message
    }

    /// Sends SIGTERM and waits (bounded by `patience`) for the process to exit.
    pub(crate) async fn terminate(self, patience: Duration) -> Exited {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let terminated = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(terminated.success());
        let name = self.name.clone();
        self.wait_exit(patience).await.unwrap_or_else(|output| {
            panic!("{name} did not exit within {patience:?} of SIGTERM: {output}")
        })
    }

    /// Sends SIGTERM and waits for a clean exit; returns its log.
    pub(crate) async fn stop(self) -> String {
        let exited = self.terminate(Duration::from_secs(30)).await;
        assert!(
            exited.status.success(),
            "exit {:?}: {}\n{}",
            exited.status,
            exited.stdout,
            exited.stderr
        );
        exited.stdout
    }

    /// Kills the process with SIGKILL, as the OOM killer or a lost node would, and
    /// waits until it is gone.
    pub(crate) fn sigkill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

/// Waits (bounded) until every shard is active; on failure shows what the processes said.
pub(crate) async fn wait_all_active(sim: &DiscordSim, processes: &[&RunProcess]) {
    let active = sim.wait_for_shards(|shards| {
        shards
            .iter()
            .all(|shard| matches!(shard, ShardState::Active { .. }))
    });
    if tokio::time::timeout(Duration::from_secs(90), active)
        .await
        .is_err()
    {
        let outputs: Vec<String> = processes.iter().map(|process| process.output()).collect();
        panic!(
            "not every shard became active: {:?}\n{}",
            sim.shard_states(),
            outputs.join("\n")
        );
    }
}

impl Drop for RunProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
