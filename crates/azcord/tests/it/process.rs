//! `azcord run` as a child process of a test, against the Discord simulator and, when
//! given, the ARM simulator: the one way the tests start it.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use azcord_sim::{ArmSim, DiscordSim, ShardState};

/// A key for the Redis store, which needs one shared by every process.
pub(crate) const STATE_KEY: &str =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Where an `azcord run` process keeps its state.
pub(crate) enum State<'a> {
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
                config: "",
                arm: None,
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
            .env_remove("HONEYCOMB_API_KEY")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap());
        if let Some(arm) = setup.arm {
            command.envs(arm.client_environment());
        }
        match setup.state {
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

    /// Sends SIGTERM and waits (bounded by `patience`) for the process to exit; its
    /// exit status and log.
    pub(crate) async fn terminate(mut self, patience: Duration) -> (ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let terminated = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(terminated.success());
        let waited =
            tokio::time::timeout(patience, tokio::task::spawn_blocking(move || child.wait())).await;
        let status = waited
            .unwrap_or_else(|_| {
                panic!(
                    "{} did not exit within {patience:?} of SIGTERM: {}",
                    self.name,
                    self.output()
                )
            })
            .unwrap()
            .unwrap();
        (status, std::fs::read_to_string(&self.log).unwrap())
    }

    /// Sends SIGTERM and waits for a clean exit; returns its log.
    pub(crate) async fn stop(self) -> String {
        let output = self.output();
        let (status, log) = self.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "exit {status:?}: {output}\n{log}");
        log
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
