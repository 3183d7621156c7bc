//! /vm, /aci and /webapp end to end: Discord simulator → bot → real azure_mgmt clients → ARM
//! simulator, all over loopback.

use std::time::Duration;

use azcord::local::{LocalAzure, LocalBot, LocalOptions};
use azcord_azure::{RetrySettings, WaitOptions};
use azcord_command::{
    CommandPattern, DispatchConfig, Outcome, Policy, Rule, twilight_model::id::Id,
};
use azcord_sim::{ArmSim, InteractionEvent, SimMessage, SimUser};
use expect_test::expect;

use crate::support::{CHANNEL, button, held_arm_config, render, render_wide};

const OPS: u64 = 500;
const PROD: u64 = 501;
const OPS_CHANNEL: u64 = 600;
const AUDIT_CHANNEL: u64 = 700;
const ALICE: u64 = 42;

fn policy() -> Policy {
    let rule = |name: &str,
                commands: &[&str],
                roles: &[u64],
                users: &[u64],
                channels: &[u64],
                groups: &[&str]| Rule {
        name: name.to_owned(),
        commands: commands
            .iter()
            .map(|pattern| CommandPattern::new(*pattern))
            .collect(),
        roles: roles.iter().copied().map(Id::new).collect(),
        users: users.iter().copied().map(Id::new).collect(),
        channels: channels.iter().copied().map(Id::new).collect(),
        resource_groups: groups.iter().map(|group| (*group).to_owned()).collect(),
    };
    Policy {
        guilds: Vec::new(),
        rules: vec![
            rule(
                "ops-nonprod",
                &["vm *", "aci *", "webapp *"],
                &[OPS],
                &[],
                &[],
                &["staging", "dev-*"],
            ),
            rule(
                "ops-prod",
                &["vm *", "aci *", "webapp *"],
                &[PROD],
                &[],
                &[OPS_CHANNEL],
                &["prod-*"],
            ),
            rule("alice-starts", &["vm start"], &[], &[ALICE], &[], &[]),
        ],
    }
}

struct Azure {
    bot: LocalBot,
    arm: ArmSim,
}

async fn start_with(confirm_ttl: Duration) -> Azure {
    let arm_config = held_arm_config(Duration::from_millis(5));
    let bot = LocalBot::start(LocalOptions {
        policy: policy(),
        dispatch: DispatchConfig {
            ack_budget: Duration::from_millis(500),
            min_edit_interval: Duration::ZERO,
            ..DispatchConfig::default()
        },
        azure: LocalAzure::Simulated(arm_config),
        azure_settings: azcord::plugins::AzureSettings {
            cache_ttl: Duration::from_secs(300),
            confirm_ttl,
            wait: WaitOptions {
                default_interval: Duration::from_millis(5),
                ..WaitOptions::default()
            },
            ..azcord::plugins::AzureSettings::default()
        },
        azure_retry: RetrySettings {
            max_retries: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetrySettings::default()
        },
        audit_channel: Some(AUDIT_CHANNEL),
        ..LocalOptions::default()
    })
    .await
    .unwrap();
    let arm = bot.arm.clone().unwrap();
    Azure { bot, arm }
}

async fn start() -> Azure {
    start_with(Duration::from_secs(60)).await
}

/// An edit made after a poll found the operation still running: proof that Azure
/// has it, so finishing the simulator's transitions now finishes it.
fn polled(event: &InteractionEvent) -> bool {
    matches!(event, InteractionEvent::OriginalEdited(message)
        if message.content.starts_with("🔄") && message.content.ends_with(" s"))
}

fn member(id: u64, roles: &[u64]) -> SimUser {
    SimUser {
        role_ids: roles.to_vec(),
        ..SimUser::new(id, "member")
    }
}

fn ops() -> SimUser {
    member(1, &[OPS])
}

impl Azure {
    fn guild(&self) -> Option<u64> {
        Some(self.bot.guild_id())
    }

    /// Runs a line to the end and returns the message as it stands, rendered.
    async fn say(&self, user: &SimUser, line: &str) -> (String, Outcome) {
        self.say_in(user, self.guild(), CHANNEL, line).await
    }

    async fn say_in(
        &self,
        user: &SimUser,
        guild: Option<u64>,
        channel: u64,
        line: &str,
    ) -> (String, Outcome) {
        let exchange = self.bot.run_line(user, guild, channel, line).await.unwrap();
        let message = exchange.handle.message().expect("an answer");
        (render_wide(&message), exchange.finished.outcome)
    }

    fn arm_calls(&self) -> Vec<String> {
        self.arm
            .requests()
            .iter()
            .filter(|request| !request.token_request)
            .map(|request| {
                format!(
                    "{} {} {}",
                    request.method,
                    request.path.to_lowercase(),
                    request.status
                )
            })
            .collect()
    }

    /// Clicks the button labelled `label` on `message` as `user`.
    async fn click(
        &self,
        message: &SimMessage,
        label: &str,
        user: &SimUser,
    ) -> azcord::local::Exchange {
        self.bot
            .click(message, &button(message, label), user)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn vm_list_is_one_call_per_page_and_shows_every_vm() {
    let azure = start().await;
    let exchange = azure
        .bot
        .run_line(&ops(), azure.guild(), CHANNEL, "/vm list")
        .await
        .unwrap();
    let (list, outcome) = (
        render(&exchange.handle.message().unwrap()),
        exchange.finished.outcome,
    );
    assert_eq!(outcome, Outcome::Success);
    expect![[r#"
        ╭──────────────────────────────────────────────────────────────────────────────╮
        │ 12 VMs in the subscription · 7 running                                       │
        ├──────────────────────────────────────────────────────────────────────────────┤
        │     NAME         RESOURCE GROUP  STATE           SIZE             LOCATION   │
        │     build-agent  dev-sandbox     ⚪ deallocated  Standard_D4s_v5  eastus     │
        │     jump-box     dev-sandbox     🟢 running      Standard_B1s     eastus     │
        │     win-test     dev-sandbox     ⚪ deallocated  Standard_B2s     eastus     │
        │     db-1         prod-data       🟢 running      Standard_E4s_v5  westeurope │
        │     db-2         prod-data       ⚪ deallocated  Standard_E4s_v5  westeurope │
        │     etl-worker   prod-data       🟡 stopped      Standard_F4s_v2  northeurop │
        │     e                                                                        │
        │     cache-1      prod-web        🟢 running      Standard_E2s_v5  westeurope │
        │     web-1        prod-web        🟢 running      Standard_D2s_v5  westeurope │
        │     web-2        prod-web        🟢 running      Standard_D2s_v5  westeurope │
        │     web-3        prod-web        🟢 running      Standard_D2s_v5  westeurope │
        │     api-1        staging         🟢 running      Standard_B2ms    westeurope │
        │     web-1        staging         🟡 stopped      Standard_B2s     westeurope │
        ╰──────────────────────────────────────────────────────────────────────────────╯"#]]
    .assert_eq(&list);
    // 12 VMs in pages of 5: three list calls, no call per VM.
    let calls = azure.arm_calls();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(
        calls.iter().all(|call| call.starts_with("GET ")
            && call.ends_with("/microsoft.compute/virtualmachines 200"))
    );
}

#[tokio::test]
async fn vm_start_shows_progress_then_the_outcome() {
    let azure = start().await;
    let invocation = azure
        .bot
        .invocation(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm start name:staging/web-1",
        )
        .unwrap();
    let mut posts = azure.bot.sim.subscribe_channel_messages();
    let audited = async move {
        loop {
            let message = posts.recv().await.unwrap();
            if message.channel_id == AUDIT_CHANNEL && message.content.starts_with("`/vm start") {
                return message;
            }
        }
    };
    let mut finished = azure.bot.finished();
    let mut handle = azure.bot.sim.invoke(invocation);
    let InteractionEvent::Acknowledged { deferred: true, .. } = handle.next_event().await else {
        panic!("deferred first")
    };
    let InteractionEvent::OriginalEdited(progress) = handle.next_event().await else {
        panic!()
    };
    assert!(
        progress
            .content
            .starts_with("🔄 Starting **web-1** in `staging`…"),
        "{}",
        progress.content
    );
    // Azure still says InProgress: the bot keeps polling until the simulator finishes.
    handle.wait_for(polled).await;
    azure.arm.finish_transitions();
    let report = azcord::local::wait_finished(&mut finished, handle.id)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Success);
    let done = handle.message().unwrap().content;
    assert!(
        done.starts_with("✅ **web-1** in `staging` is running · took "),
        "{done}"
    );
    assert_eq!(
        azure.arm.vm("staging", "web-1").unwrap().power_state,
        azcord_sim::arm::PowerState::Running
    );

    // One POST, then polls of the operation, no PUT, nothing else.
    let calls = azure.arm_calls();
    assert_eq!(
        calls.iter().filter(|call| call.starts_with("POST")).count(),
        1,
        "{calls:#?}"
    );
    assert!(
        calls[0].ends_with("/virtualmachines/web-1/start 202"),
        "{calls:#?}"
    );
    assert!(
        calls[1..]
            .iter()
            .all(|call| call.starts_with("GET ") && call.contains("/operations/")),
        "{calls:#?}"
    );

    // The audit channel heard about it, with the Azure correlation id.
    let started = audited.await;
    assert!(
        started
            .content
            .contains("**succeeded** (rule `ops-nonprod`)")
            && started.content.contains("operation `"),
        "{}",
        started.content
    );
}

#[tokio::test]
async fn a_failed_operation_shows_azures_code_and_message() {
    let azure = start().await;
    azure
        .arm
        .fail_next_operation("VMAgentNotReady", "The VM agent did not respond in time.");
    let invocation = azure
        .bot
        .invocation(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm start name:dev-sandbox/build-agent",
        )
        .unwrap();
    let mut finished = azure.bot.finished();
    let mut handle = azure.bot.sim.invoke(invocation);
    handle.wait_for(polled).await;
    azure.arm.finish_transitions();
    let report = azcord::local::wait_finished(&mut finished, handle.id)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::UserError);
    let content = handle.message().unwrap().content;
    assert!(
        content.starts_with("⚠️ Could not start **build-agent** in `dev-sandbox` · Azure answered `VMAgentNotReady`: The VM agent did not respond in time. · after "),
        "{content}"
    );
}

#[tokio::test]
async fn throttling_is_waited_out_and_a_lasting_failure_is_reported() {
    let azure = start().await;
    azure.arm.throttle_next(1, Duration::from_millis(5));
    let (list, outcome) = azure.say(&ops(), "/vm list resource_group:staging").await;
    assert_eq!(outcome, Outcome::Success);
    assert!(list.contains("2 VMs in `staging`"), "{list}");
    assert!(
        azure.arm_calls()[0].ends_with(" 429"),
        "the first answer was a 429"
    );

    azure.arm.fail_next(
        10,
        500,
        "InternalServerError",
        "Something went wrong in Azure.",
    );
    let (reply, outcome) = azure.say(&ops(), "/vm status name:staging/api-1").await;
    assert_eq!(outcome, Outcome::UserError);
    expect![[r#"
        (only you can see this)
        ⚠️ Azure answered `InternalServerError`: Something went wrong in Azure."#]]
    .assert_eq(&reply);
    let failures = azure
        .arm_calls()
        .iter()
        .filter(|call| call.ends_with(" 500"))
        .count();
    assert_eq!(failures, 3, "the first try and two retries");
}

#[tokio::test]
async fn an_expired_token_is_renewed() {
    let azure = start().await;
    let tokens = azure.arm.token_requests();
    azure.arm.expire_tokens();
    let (_, outcome) = azure.say(&ops(), "/vm status name:db-1").await;
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(azure.arm.token_requests(), tokens + 1);
}

#[tokio::test]
async fn webapp_list_start_and_stop_act_at_once_without_polling() {
    let azure = start().await;
    let (list, outcome) = azure.say(&ops(), "/webapp list").await;
    assert_eq!(outcome, Outcome::Success, "{list}");
    expect![[r#"
        ╭────────────────────────────────────────────────────────────────────────────────────────────╮
        │ 3 web apps in the subscription · 2 running                                                 │
        ├────────────────────────────────────────────────────────────────────────────────────────────┤
        │     NAME          RESOURCE GROUP  STATE       HOST NAME                       PLAN         │
        │     docs          dev-sandbox     🟢 running  docs.azurewebsites.net          dev-plan     │
        │     shop          prod-web        🟢 running  shop.azurewebsites.net          prod-plan    │
        │     shop-staging  staging         🟡 stopped  shop-staging.azurewebsites.net  staging-plan │
        ╰────────────────────────────────────────────────────────────────────────────────────────────╯"#]].assert_eq(&list);
    assert_eq!(
        azure.arm_calls(),
        ["GET /subscriptions/SUB/providers/microsoft.web/sites 200"
            .replace("SUB", &azure.arm.config().subscription_id)]
    );

    // App Service starts the app before it answers: done at once, nothing polled.
    let (started, outcome) = azure.say(&ops(), "/webapp start name:shop-staging").await;
    assert_eq!(outcome, Outcome::Success);
    assert!(
        started.starts_with("✅ shop-staging in `staging` is running · took "),
        "{started}"
    );
    assert_eq!(
        azure.arm.web_app("staging", "shop-staging").unwrap().state,
        "Running"
    );

    // Stop confirms first, stating the cost, and acts on the click.
    let exchange = azure
        .bot
        .run_line(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/webapp stop name:staging/shop-staging",
        )
        .await
        .unwrap();
    let prompt = exchange.handle.message().unwrap();
    expect![[r#"
        ⚠️ Stop shop-staging in `staging`? A stopped app serves nothing, but its App Service plan is still billed.
        Only you can answer; this expires in 60 s.
        [1] Stop  [2] Cancel"#]].assert_eq(&render_wide(&prompt));
    assert_eq!(
        azure.arm.web_app("staging", "shop-staging").unwrap().state,
        "Running",
        "nothing happens before the click"
    );
    let stopped = azure.click(&prompt, "Stop", &ops()).await;
    assert_eq!(stopped.finished.outcome, Outcome::Success);
    let done = azure.bot.sim.message(prompt.id).unwrap();
    assert!(
        done.content.starts_with(
            "✅ **shop-staging** in `staging` is stopped (its plan is still billed) · took "
        ),
        "{}",
        done.content
    );
    assert_eq!(
        azure.arm.web_app("staging", "shop-staging").unwrap().state,
        "Stopped"
    );

    let calls = azure.arm_calls();
    let site = "/resourcegroups/staging/providers/microsoft.web/sites/shop-staging";
    let posts: Vec<&String> = calls
        .iter()
        .filter(|call| call.starts_with("POST"))
        .collect();
    assert_eq!(posts.len(), 2, "{calls:#?}");
    assert!(
        posts[0].ends_with(&format!("{site}/start 200")),
        "{calls:#?}"
    );
    assert!(
        posts[1].ends_with(&format!("{site}/stop 200")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().all(|call| !call.contains("/operations/")),
        "no poll: {calls:#?}"
    );
}

#[tokio::test]
async fn confirmations_belong_to_the_caller_and_say_what_they_cost() {
    let azure = start().await;
    let (prompt, _) = azure
        .say(&ops(), "/vm deallocate name:dev-sandbox/jump-box")
        .await;
    expect![[r#"
        ⚠️ Deallocate jump-box in `dev-sandbox`? Deallocating releases its hardware: compute billing stops (disks are still billed) and a dynamic public IP address is released.
        Only you can answer; this expires in 60 s.
        [1] Deallocate  [2] Cancel"#]]
    .assert_eq(&prompt);
    let exchange = azure
        .bot
        .run_line(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm stop name:staging/api-1",
        )
        .await
        .unwrap();
    let message = exchange.handle.message().unwrap();

    // Someone else presses Confirm: refused, to them alone, and nothing happens.
    let stranger = member(2, &[OPS]);
    let refused = azure.click(&message, "Stop", &stranger).await;
    assert_eq!(refused.finished.outcome, Outcome::UserError);
    let reply = refused.handle.message().unwrap();
    assert!(
        reply.is_ephemeral()
            && reply
                .content
                .contains("only <@1>, who ran the command, can answer this"),
        "{}",
        reply.content
    );
    assert_eq!(
        azure.arm.vm("staging", "api-1").unwrap().power_state,
        azcord_sim::arm::PowerState::Running
    );

    // The caller cancels: the prompt says so and loses its buttons.
    let cancelled = azure.click(&message, "Cancel", &ops()).await;
    assert_eq!(cancelled.finished.outcome, Outcome::Success);
    let now = azure.bot.sim.message(message.id).unwrap();
    assert_eq!(
        now.content,
        "Cancelled: **api-1** in `staging` was left as it was."
    );
    assert!(now.components.is_empty());
    assert!(
        azure
            .arm_calls()
            .iter()
            .all(|call| !call.starts_with("POST")),
        "nothing was sent to Azure"
    );

    // Confirmed by the caller: it runs, editing the prompt with progress.
    let exchange = azure
        .bot
        .run_line(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm restart name:staging/api-1",
        )
        .await
        .unwrap();
    let message = exchange.handle.message().unwrap();
    let mut finished = azure.bot.finished();
    let custom_id = button(&message, "Restart");
    let mut click = azure.bot.sim.click(&message, &custom_id, &ops()).unwrap();
    click.wait_for(polled).await;
    azure.arm.finish_transitions();
    azcord::local::wait_finished(&mut finished, click.id)
        .await
        .unwrap();
    let done = azure.bot.sim.message(message.id).unwrap();
    assert!(
        done.content
            .starts_with("✅ **api-1** in `staging` has restarted"),
        "{}",
        done.content
    );
}

#[tokio::test]
async fn an_expired_confirmation_is_refused() {
    let azure = start_with(Duration::ZERO).await;
    let exchange = azure
        .bot
        .run_line(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm stop name:staging/api-1",
        )
        .await
        .unwrap();
    let message = exchange.handle.message().unwrap();
    let refused = azure.click(&message, "Stop", &ops()).await;
    assert_eq!(refused.finished.outcome, Outcome::UserError);
    let content = refused.handle.message().unwrap().content;
    assert_eq!(
        content,
        "⚠️ this confirmation expired after 0 s; run the command again"
    );
    assert!(
        azure
            .arm_calls()
            .iter()
            .all(|call| !call.starts_with("POST"))
    );
}

/// A case of the permission matrix: name, who, guild, channel, line, outcome.
type Case<'a> = (&'a str, &'a SimUser, Option<u64>, u64, &'a str, Outcome);

#[tokio::test]
async fn the_permission_matrix() {
    let azure = start().await;
    let alice = member(ALICE, &[]);
    let prod = member(3, &[PROD]);
    let nobody = member(4, &[]);
    // Resolving names needs no ARM write: these all stop at the prompt or the denial.
    let table: [Case<'_>; 9] = [
        (
            "read is open to members",
            &nobody,
            azure.guild(),
            CHANNEL,
            "/vm status name:db-1",
            Outcome::Success,
        ),
        (
            "write needs a rule",
            &nobody,
            azure.guild(),
            CHANNEL,
            "/vm stop name:staging/api-1",
            Outcome::Denied,
        ),
        (
            "role, allowed group",
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm stop name:staging/api-1",
            Outcome::Success,
        ),
        (
            "role, other group",
            &ops(),
            azure.guild(),
            CHANNEL,
            "/vm stop name:prod-web/web-2",
            Outcome::Denied,
        ),
        (
            "role, its channel",
            &prod,
            azure.guild(),
            OPS_CHANNEL,
            "/vm stop name:prod-web/web-2",
            Outcome::Success,
        ),
        (
            "role, other channel",
            &prod,
            azure.guild(),
            CHANNEL,
            "/vm stop name:prod-web/web-2",
            Outcome::Denied,
        ),
        (
            "user rule",
            &alice,
            azure.guild(),
            CHANNEL,
            "/vm stop name:staging/api-1",
            Outcome::Denied,
        ),
        (
            "never in DMs",
            &ops(),
            None,
            CHANNEL,
            "/vm list",
            Outcome::Denied,
        ),
        (
            "user rule, its command",
            &alice,
            azure.guild(),
            CHANNEL,
            "/vm start name:prod-data/db-1",
            Outcome::Success,
        ),
    ];
    for (case, user, guild, channel, line, expected) in table {
        let (reply, outcome) = azure.say_in(user, guild, channel, line).await;
        assert_eq!(outcome, expected, "{case}: {reply}");
        if expected == Outcome::Denied {
            assert!(reply.contains("(only you can see this)"), "{case}: {reply}");
        }
    }
    let (denial, _) = azure
        .say(&ops(), "/vm deallocate name:prod-web/web-2")
        .await;
    expect![[r#"
        (only you can see this)
        ⛔ you may not run `/vm deallocate` on resource group `prod-web`, and no rule grants it to you here; it is granted by:
        - rule `ops-nonprod`: for <@&500> on resource groups staging, dev-*
        - rule `ops-prod`: for <@&501> in <#600> on resource groups prod-*"#]]
    .assert_eq(&denial);
}

#[tokio::test]
async fn bad_names_are_refused_before_any_azure_call() {
    let azure = start().await;
    let bad = [
        "../etc",
        "web?x=1",
        "web%2F1",
        "\"web 1\"",
        "a/b/c",
        &"x".repeat(65),
    ];
    for name in bad {
        let (reply, outcome) = azure.say(&ops(), &format!("/vm start name:{name}")).await;
        assert_eq!(outcome, Outcome::UserError, "{name}: {reply}");
        assert!(reply.contains("is not a valid"), "{name}: {reply}");
    }
    assert_eq!(azure.arm_calls(), Vec::<String>::new());
    let (reply, _) = azure.say(&ops(), "/vm stop name:web-1").await;
    assert!(
        reply.contains("`web-1` is in 2 resource groups: `prod-web/web-1`, `staging/web-1`"),
        "{reply}"
    );
}

#[tokio::test]
async fn autocomplete_is_served_from_the_cache() {
    let azure = start().await;
    let mut suggestions = Vec::new();
    for typed in ["w", "we", "web", "web-", "web-1"] {
        let mut invocation = azure
            .bot
            .invocation(&ops(), azure.guild(), CHANNEL, "/vm stop name:x")
            .unwrap();
        if let azcord_command::twilight_model::application::interaction::application_command::CommandOptionValue::SubCommand(options) =
            &mut invocation.data.options[0].value
        {
            options[0].value = azcord_command::twilight_model::application::interaction::application_command::CommandOptionValue::String(typed.to_owned());
        }
        let mut handle = azure.bot.sim.autocomplete(invocation, "name");
        let InteractionEvent::Autocomplete(choices) = handle.next_event().await else {
            panic!()
        };
        suggestions.push(
            choices
                .into_iter()
                .map(|choice| choice.name)
                .collect::<Vec<_>>(),
        );
    }
    // Only groups the ops role may act on are offered.
    assert_eq!(suggestions[4], ["web-1 · staging · stopped"]);
    let lists = azure
        .arm_calls()
        .iter()
        .filter(|call| call.contains("virtualmachines 200"))
        .count();
    assert_eq!(lists, 3, "one paged list for five keystrokes");
}

#[tokio::test]
async fn every_aci_command_answers() {
    let azure = start().await;
    let (status, outcome) = azure.say(&ops(), "/aci status name:dev-sandbox/jobs").await;
    assert_eq!(outcome, Outcome::Success, "{status}");
    assert!(status.contains("jobs"), "{status}");
    let (logs, outcome) = azure
        .say(&ops(), "/aci logs name:frontend container:nginx tail:2")
        .await;
    assert_eq!(outcome, Outcome::Success, "{logs}");
    assert!(logs.contains("last 2 lines"), "{logs}");
    let (list, outcome) = azure.say(&ops(), "/aci list").await;
    assert_eq!(outcome, Outcome::Success);
    assert!(list.contains("4 container groups"), "{list}");

    let invocation = azure
        .bot
        .invocation(
            &ops(),
            azure.guild(),
            CHANNEL,
            "/aci start name:staging/worker",
        )
        .unwrap();
    let mut finished = azure.bot.finished();
    let mut handle = azure.bot.sim.invoke(invocation);
    handle.wait_for(polled).await;
    azure.arm.finish_transitions();
    azcord::local::wait_finished(&mut finished, handle.id)
        .await
        .unwrap();
    assert!(
        handle
            .message()
            .unwrap()
            .content
            .starts_with("✅ **worker** in `staging`"),
        "{:?}",
        handle.message()
    );

    for (line, label, done) in [
        (
            "/aci restart name:dev-sandbox/jobs",
            "Restart",
            "✅ **jobs**",
        ),
        ("/aci stop name:dev-sandbox/jobs", "Stop", "✅ **jobs**"),
    ] {
        let exchange = azure
            .bot
            .run_line(&ops(), azure.guild(), CHANNEL, line)
            .await
            .unwrap();
        let message = exchange.handle.message().unwrap();
        let mut finished = azure.bot.finished();
        let custom_id = button(&message, label);
        let mut click = azure.bot.sim.click(&message, &custom_id, &ops()).unwrap();
        if label == "Restart" {
            click.wait_for(polled).await;
            azure.arm.finish_transitions();
        }
        let report = azcord::local::wait_finished(&mut finished, click.id)
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::Success, "{line}");
        let now = azure.bot.sim.message(message.id).unwrap();
        assert!(now.content.starts_with(done), "{line}: {}", now.content);
    }
}
