//! `azcord shell` in a pseudo-terminal, typed into the way a person types: Tab
//! completion, the bot's suggestions, and the history, within a run and across runs.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use expectrl::{Expect as _, Regex, Session, session::OsSession};

const UP: &str = "\x1b[A";
const TAB: &str = "\t";
const CTRL_D: &str = "\x04";

type Shell = OsSession;

/// A home of its own, so that the history starts empty and stays the test's.
fn fresh_home(name: &str) -> PathBuf {
    let home = std::env::temp_dir().join(format!("azcord-pty-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// `azcord shell` as a person starts it, with no live Azure in its environment.
fn shell_command(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_azcord"));
    command
        .arg("shell")
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env("TERM", "xterm")
        .env("COLUMNS", "100")
        .env_remove("HONEYCOMB_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("AZURE_SUBSCRIPTION_ID");
    command
}

fn spawn(command: Command) -> Shell {
    let mut shell = Session::spawn(command).unwrap();
    shell.get_process_mut().set_window_size(100, 40).unwrap();
    // Every wait is for expected output, bounded: a missing answer fails the test.
    shell.set_expect_timeout(Some(Duration::from_secs(30)));
    shell
}

fn spawn_shell(home: &Path) -> Shell {
    spawn(shell_command(home))
}

fn expect(shell: &mut Shell, what: &str) {
    if let Err(error) = shell.expect(what) {
        panic!("waiting for {what:?}: {error}");
    }
}

#[test]
fn the_shell_completes_with_tab_and_recalls_with_up() {
    let home = fresh_home("tab");
    let mut shell = spawn_shell(&home);
    expect(
        &mut shell,
        "you are @you (roles @ops-nonprod) in #ops on the simulated server",
    );
    expect(&mut shell, "azcord> ");

    // Subcommands, listed as candidates (the hint line separates them with dots).
    shell.send(format!("/vm st{TAB}")).unwrap();
    shell.expect(Regex("status +start +stop")).unwrap();

    // A VM name, through the bot's autocomplete: one match, completed in place.
    shell.send(format!("atus name:jump{TAB}")).unwrap();
    expect(&mut shell, "name:dev-sandbox/jump-box");
    shell.send("\r").unwrap();
    expect(&mut shell, "Standard_B1s");
    expect(&mut shell, "azcord> ");

    // Up recalls the last line.
    shell.send(UP).unwrap();
    expect(&mut shell, "/vm status name:dev-sandbox/jump-box");
    shell.send("\x15").unwrap(); // Ctrl-U: drop it again
    shell.send(CTRL_D).unwrap();
    shell.expect(expectrl::Eof).unwrap();

    // The history outlives the run, in the data directory.
    let history = home.join(".local/share/azcord/shell-history");
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(
        saved
            .lines()
            .any(|line| line == "/vm status name:dev-sandbox/jump-box"),
        "{saved:?}"
    );
    let mut again = spawn_shell(&home);
    expect(&mut again, "azcord> ");
    again.send(UP).unwrap();
    expect(&mut again, "/vm status name:dev-sandbox/jump-box");
    again.send("\x15").unwrap();
    again.send(CTRL_D).unwrap();
    again.expect(expectrl::Eof).unwrap();
    let _ = std::fs::remove_dir_all(&home);
}

/// `--azure live`, here against the ARM simulator posing as a subscription: the first
/// line says so, and a command that changes something asks before it is sent.
#[test]
fn live_azure_is_named_and_asks_before_changing_anything() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let arm = runtime
        .block_on(azcord_sim::ArmSim::start(azcord_sim::ArmSimConfig {
            transition: Duration::from_millis(200),
            ..azcord_sim::ArmSimConfig::default()
        }))
        .unwrap();
    let config = arm.config().clone();
    let home = fresh_home("live");
    let mut command = shell_command(&home);
    command
        .args(["--azure", "live"])
        .env("AZURE_SUBSCRIPTION_ID", &config.subscription_id)
        .env("AZURE_RESOURCE_MANAGER_ENDPOINT", arm.endpoint())
        .env("AZURE_AUTHORITY_HOST", arm.authority_host())
        .env("AZURE_TENANT_ID", &config.tenant_id)
        .env("AZURE_CLIENT_ID", &config.client_id)
        .env("AZURE_CLIENT_SECRET", &config.client_secret)
        .env("SSL_CERT_FILE", arm.ca_file());
    let mut shell = spawn(command);
    expect(
        &mut shell,
        &format!(
            "Azure is LIVE: your subscription {}",
            config.subscription_id
        ),
    );
    expect(&mut shell, "azcord> ");

    shell.send("/vm start name:staging/web-1\r").unwrap();
    expect(
        &mut shell,
        &format!(
            "Run `/vm start name:staging/web-1` on live subscription {}? [y/N] ",
            config.subscription_id
        ),
    );
    shell.send("n\r").unwrap();
    expect(&mut shell, "Not run.");
    expect(&mut shell, "azcord> ");
    let stopped = |arm: &azcord_sim::ArmSim| {
        arm.vm("staging", "web-1").unwrap().power_state == azcord_sim::PowerState::Stopped
    };
    assert!(stopped(&arm), "{:?}", arm.vm("staging", "web-1"));

    // Reads do not ask.
    shell.send("/vm status name:staging/web-1\r").unwrap();
    expect(&mut shell, "Standard_B2s");
    expect(&mut shell, "azcord> ");

    shell.send("/vm start name:staging/web-1\r").unwrap();
    expect(&mut shell, "[y/N] ");
    shell.send("y\r").unwrap();
    expect(&mut shell, "is running");
    expect(&mut shell, "azcord> ");
    shell.send(CTRL_D).unwrap();
    shell.expect(expectrl::Eof).unwrap();
    assert!(!stopped(&arm));
    let _ = std::fs::remove_dir_all(&home);
}
