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

/// What Tab offers, through the real bot and its autocomplete, for a member whose
/// role may act on staging and the sandbox only.
#[tokio::test]
async fn tab_completes_names_and_values_through_the_bot() {
    use azcord::local::{LocalBot, LocalOptions};
    use azcord_command::{CommandPattern, Policy, Rule, twilight_model::id::Id};
    use azcord_sim::SimUser;

    const ROLE: u64 = 500;
    let policy = Policy {
        guilds: Vec::new(),
        rules: vec![Rule {
            name: "ops".to_owned(),
            commands: vec![CommandPattern::new("vm *"), CommandPattern::new("aci *")],
            roles: vec![Id::new(ROLE)],
            users: Vec::new(),
            channels: Vec::new(),
            resource_groups: vec!["staging".to_owned(), "dev-*".to_owned()],
        }],
    };
    let bot = LocalBot::start(LocalOptions {
        policy,
        ..LocalOptions::default()
    })
    .await
    .unwrap();
    let user = SimUser {
        role_ids: vec![ROLE],
        ..SimUser::new(100_000_000_000_000_001, "you")
    };
    let table = [
        ("/v", expect![[r#"0: "/vm"="/vm ""#]]),
        (
            "/vm st",
            expect![[r#"4: "status"="status " "start"="start " "stop"="stop ""#]],
        ),
        (
            "/vm list r",
            expect![[r#"9: "resource_group:"="resource_group:""#]],
        ),
        // Starting is a write: only the groups the role may act on are offered.
        (
            "/vm start name:web",
            expect![[r#"15: "web-1 · staging · stopped"="staging/web-1 ""#]],
        ),
        (
            "/vm status name:web-",
            expect![[
                r#"16: "web-1 · prod-web · running"="prod-web/web-1 " "web-2 · prod-web · running"="prod-web/web-2 " "web-3 · prod-web · running"="prod-web/web-3 " "web-1 · staging · stopped"="staging/web-1 ""#
            ]],
        ),
        (
            "/aci logs name:dev-sandbox/jobs container:",
            expect![[r#"42: "jobs · python:3.12-slim · unknown"="jobs ""#]],
        ),
        ("/aci logs name:jobs tail:", expect!["25: "]),
        (
            "/help command:\"vm s",
            expect![[
                r#"14: "/vm status"="\"vm status\" " "/vm start"="\"vm start\" " "/vm stop"="\"vm stop\" ""#
            ]],
        ),
    ];
    for (line, expected) in table {
        let (start, candidates) = bot
            .complete(
                &user,
                Some(bot.guild_id()),
                100_000_000_000_000_003,
                line,
                line.len(),
            )
            .await
            .unwrap();
        let listed: Vec<String> = candidates
            .iter()
            .map(|candidate| format!("{:?}={:?}", candidate.display, candidate.replacement))
            .collect();
        expected.assert_eq(&format!("{start}: {}", listed.join(" ")));
    }
    bot.shutdown().await.unwrap();
}

/// An AZURE_SUBSCRIPTION_ID exported for other work does not make the shell live, and
/// --roles takes the simulated server's role names.
#[test]
fn the_simulator_is_the_default_whatever_the_environment_says() {
    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .args(["shell", "--roles", "ops-prod", "-c", "/vm list"])
        .args(["-c", "/vm stop name:prod-web/web-2", "-c", "2"])
        .env_remove("HONEYCOMB_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env(
            "AZURE_SUBSCRIPTION_ID",
            "00000000-0000-0000-0000-000000000bad",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("12 VMs in the subscription"), "{stdout}");
    // ops-prod may act on production: the bot asks, rather than denying.
    assert!(stdout.contains("Stop web-2 in `prod-web`?"), "{stdout}");

    let output = Command::new(env!("CARGO_BIN_EXE_azcord"))
        .args(["shell", "--roles", "admins", "-c", "/ping"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("unknown role \"admins\"; the simulated server has ops-nonprod, ops-prod"),
        "{stderr}"
    );
}

/// Mentions read as Discord shows them: the roles by their names on the simulated server.
#[test]
fn mentions_in_replies_read_as_names() {
    let (stdout, stderr, success) = shell(&["-c", "/vm stop name:prod-web/web-2"]);
    assert!(success, "{stderr}");
    expect![[r#"
        > /vm stop name:prod-web/web-2
        (only you can see this)
        ⛔ you may not run `/vm stop` on resource group `prod-web`, and no rule grants it to you here; it is
        granted by:
        - rule `ops-nonprod`: for @ops-nonprod on resource groups staging, dev-*
        - rule `ops-prod`: for @ops-prod on resource groups prod-*
    "#]]
    .assert_eq(&stdout);
}
