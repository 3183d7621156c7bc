//! `azcord shell -c`, run as a user would run it.

use std::process::Command;

use expect_test::expect;

fn shell(args: &[&str]) -> (String, String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .arg("shell")
        .args(args)
        .env_remove("HONEYCOMB_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .output()
        .unwrap();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
        output.status.success(),
    )
}

#[test]
fn shell_runs_commands_non_interactively() {
    let (stdout, stderr, success) = shell(&["-c", "/ping", "-c", "/help command:ping"]);
    assert!(success, "{stderr}");
    expect![[r#"
        > /ping
        🏓 pong
        > /help command:ping
        (only you can see this)
        ╭───────────────────────────────────────╮
        │ /ping                                 │
        ├───────────────────────────────────────┤
        │ Check that azcord is up and answering │
        │                                       │
        │ Kind: read (only reads)               │
        │                                       │
        │ Examples: `/ping` azcord answers pong │
        ╰───────────────────────────────────────╯
    "#]]
    .assert_eq(&stdout);
}

#[test]
fn shell_reports_lines_it_cannot_run() {
    let (stdout, stderr, success) = shell(&["-c", "/pnig"]);
    assert!(!success);
    assert_eq!(stdout, "> /pnig\n");
    assert!(
        stderr.contains("unknown command /pnig; did you mean /ping?"),
        "{stderr}"
    );
}
