//! What users see: replies, deferrals, progress, errors.

use std::time::Duration;

use azcord_command::Outcome;
use azcord_sim::InteractionEvent;
use expect_test::expect;

use crate::support::{self, CHANNEL, user};

/// How long any wait may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn ping_and_help_answer_at_once() {
    let test = support::start().await;
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
    expect![[r#"
        (only you can see this)
        ╭─────────────────────────────────────────────────────────────────────────────╮
        │ Commands you can run here                                                   │
        ├─────────────────────────────────────────────────────────────────────────────┤
        │ `/help command:<name>` explains one in detail.                              │
        │                                                                             │
        │ core: `/ping` Check that azcord is up and answering                         │
        │   `/help` List the commands you can run here, or explain one                │
        │   `/about` Show which version of azcord is running                          │
        │ vm: `/vm list` List VMs with their power state, size and location           │
        │   `/vm status` Show one VM's details and power state                        │
        │ aci: `/aci list` List container groups with their state, containers, IP and │
        │ location                                                                    │
        │   `/aci status` Show one container group's state and its containers         │
        │   `/aci logs` Show the end of a container's log                             │
        │ webapp: `/webapp list` List web apps with their state, host name and plan   │
        │   `/webapp status` Show one web app's state, host name and plan             │
        │ test: `/test steps` progress on demand                                      │
        │   `/test held` waits for the test                                           │
        │   `/test fail` fails inside                                                 │
        │   `/test panic` panics                                                      │
        ╰─────────────────────────────────────────────────────────────────────────────╯"#]]
    .assert_eq(&test.render("/help").await);
    let about = test.render("/about").await;
    assert!(about.contains(env!("CARGO_PKG_VERSION")), "{about}");

    let mut ping = test.invoke("/ping");
    let InteractionEvent::Acknowledged { deferred, .. } = ping.next_event().await else {
        panic!()
    };
    assert!(!deferred, "/ping is answered in the first response");
}

#[tokio::test]
async fn a_long_running_command_is_deferred_and_edited_with_progress() {
    let test = support::start().await;
    let mut handle = test.invoke("/test steps");
    let InteractionEvent::Acknowledged { deferred: true, .. } = handle.next_event().await else {
        panic!("long-running commands are deferred first")
    };
    for step in ["Starting web-1… 2 s", "Starting web-1… 12 s"] {
        test.gate.step(step);
        let InteractionEvent::OriginalEdited(message) = handle.next_event().await else {
            panic!()
        };
        assert_eq!(message.content, step);
    }
    test.gate.step("done");
    let InteractionEvent::OriginalEdited(message) = handle.next_event().await else {
        panic!()
    };
    assert_eq!(message.content, "all steps done");
}

#[tokio::test]
async fn a_command_that_outlives_the_budget_is_deferred_then_edited() {
    let test = support::start().await;
    let mut handle = test.invoke("/test held");
    // The command waits for the gate, which opens only after the deferral is seen.
    let InteractionEvent::Acknowledged { deferred: true, .. } = handle.next_event().await else {
        panic!()
    };
    test.gate.step("now");
    let InteractionEvent::OriginalEdited(message) = handle.next_event().await else {
        panic!()
    };
    assert_eq!(message.content, "released: now");
}

#[tokio::test]
async fn failures_show_a_reference_and_the_bot_keeps_serving() {
    let test = support::start().await;
    for line in ["/test fail", "/test panic"] {
        let exchange = test
            .bot
            .run_line(&user(), Some(test.bot.guild_id()), CHANNEL, line)
            .await
            .unwrap();
        let message = exchange.handle.message().unwrap();
        assert!(message.is_ephemeral(), "{line}");
        assert_eq!(
            message.content,
            format!(
                "something went wrong on our side; the team can trace it with reference `{}`",
                exchange.handle.id
            )
        );
        assert!(
            !message.content.contains("fire") && !message.content.contains("index out of bounds")
        );
    }
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
}

#[tokio::test]
async fn a_stale_command_gets_an_answer_not_silence() {
    let test = support::start().await;
    let mut invocation = test
        .bot
        .invocation(&user(), Some(test.bot.guild_id()), CHANNEL, "/ping")
        .unwrap();
    invocation.data.name = "deleted-command".to_owned();
    let mut finished = test.bot.finished();
    let handle = test.bot.sim.invoke(invocation);
    let report = azcord::local::wait_finished(&mut finished, handle.id)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::UnknownCommand);
    let message = handle.message().unwrap();
    assert!(message.is_ephemeral());
    assert!(
        message.content.contains("does not know `/deleted-command`"),
        "{}",
        message.content
    );
}

#[tokio::test]
async fn a_rate_limited_response_is_retried_and_delivered() {
    let test = support::start().await;
    test.bot
        .sim
        .rate_limit_next_rest(1, std::time::Duration::from_millis(20));
    expect![[r#"🏓 pong"#]].assert_eq(&test.render("/ping").await);
    let callbacks: Vec<u16> = test
        .bot
        .sim
        .rest_calls()
        .iter()
        .filter(|call| call.path.ends_with("/callback"))
        .map(|call| call.status)
        .collect();
    assert_eq!(callbacks, [429, 204]);
}

#[tokio::test]
async fn interactions_at_once_are_acknowledged_at_once() {
    // twilight's rate limiter would let one callback of the whole bot be in flight at a
    // time: here the second would never reach the simulator while the first is held.
    let test = support::start().await;
    test.bot.sim.hold_callbacks();
    let mut handles: Vec<_> = (0..3).map(|_| test.invoke("/ping")).collect();
    tokio::time::timeout(PATIENCE, test.bot.sim.wait_for_held_callbacks(3))
        .await
        .expect("three callbacks in flight at once");
    test.bot.sim.release_callbacks();
    for handle in &mut handles {
        let acknowledged = handle.next_event().await;
        assert!(
            matches!(acknowledged, InteractionEvent::Acknowledged { .. }),
            "{acknowledged:?}"
        );
        assert_eq!(handle.message().unwrap().content, "🏓 pong");
    }
}

#[tokio::test]
async fn a_callback_throttled_past_discords_window_fails_instead_of_retrying_forever() {
    let test = support::start().await;
    // More 429s than can be answered within the window: twilight retries each at once.
    test.bot
        .sim
        .rate_limit_next_rest(1_000_000, Duration::from_millis(20));
    let mut finished = test.bot.finished();
    let handle = test.invoke("/ping");
    let report = tokio::time::timeout(
        PATIENCE,
        azcord::local::wait_finished(&mut finished, handle.id),
    )
    .await
    .expect("the bot gives up within its patience")
    .unwrap();
    assert_eq!(report.outcome, Outcome::ResponseFailed);
    assert!(
        report.duration >= azcord_gateway::CALLBACK_WINDOW.saturating_sub(Duration::from_secs(1)),
        "gave up after {:?}",
        report.duration
    );
    let callbacks = test
        .bot
        .sim
        .rest_calls()
        .iter()
        .filter(|call| call.path.ends_with("/callback"))
        .count();
    assert!(callbacks > 1, "retried: {callbacks} attempts");
    assert!(handle.message().is_none());
}
