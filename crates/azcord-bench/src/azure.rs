//! `azcord-bench azure`: what the Azure commands cost in ARM calls, and how soon the
//! Discord message follows the end of an operation, against the simulators.

use std::time::{Duration, Instant};

use azcord::local::{LocalAzure, LocalBot, LocalOptions};
use azcord_azure::WaitOptions;
use azcord_command::{CommandPattern, DispatchConfig, Policy, Rule, twilight_model::id::Id};
use azcord_sim::{ArmSimConfig, InteractionEvent, SimUser, arm::PowerState};

const OPS: u64 = 500;

pub(crate) async fn run(
    rounds: usize,
    transition: Duration,
    retry_after: Duration,
) -> anyhow::Result<()> {
    let bot = LocalBot::start(vm_bot(transition, retry_after)).await?;
    let arm = bot
        .arm
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no simulated Azure"))?;
    let user = ops_user();
    let guild = Some(bot.guild_id());
    let arm_calls = || {
        arm.requests()
            .iter()
            .filter(|request| !request.token_request)
            .count()
    };

    let before = arm_calls();
    bot.run_line(&user, guild, 1, "/vm list").await?;
    let list_calls = arm_calls() - before;
    let vms = arm.vms().len();
    let page_size = arm.config().page_size;

    let mut lags = Vec::new();
    let mut action_calls = Vec::new();
    for round in 0..rounds {
        // Alternate start and deallocate on one VM, so that every round changes its state.
        let (line, target) = if round % 2 == 0 {
            (
                "/vm start name:dev-sandbox/build-agent",
                PowerState::Running,
            )
        } else {
            (
                "/vm deallocate name:dev-sandbox/build-agent",
                PowerState::Deallocated,
            )
        };
        let before = arm_calls();
        let invocation = bot.invocation(&user, guild, 1, line)?;
        let mut handle = bot.sim.invoke(invocation);
        if target == PowerState::Deallocated {
            // Deallocation asks first: press Confirm.
            let prompt = loop {
                if let InteractionEvent::Acknowledged {
                    message: Some(message),
                    ..
                } = handle.next_event().await
                {
                    break message;
                }
            };
            let custom_id = confirm_button(&prompt, "Deallocate")
                .ok_or_else(|| anyhow::anyhow!("no Confirm button"))?;
            handle = bot.sim.click(&prompt, &custom_id, &user)?;
        }
        arm.wait_for_vm_state("dev-sandbox", "build-agent", target)
            .await;
        let finished_in_azure = Instant::now();
        handle.wait_for(|event| matches!(event, InteractionEvent::OriginalEdited(message) if message.content.starts_with('✅'))).await;
        lags.push(finished_in_azure.elapsed());
        action_calls.push(arm_calls() - before);
    }
    lags.sort();
    action_calls.sort_unstable();
    let median = lags[lags.len() / 2];
    let max = lags.last().copied().unwrap_or_default();
    println!(
        "ARM calls and operation-to-message lag, {rounds} actions, transition {transition:?}, Retry-After {retry_after:?}\n"
    );
    println!("| measure | value |");
    println!("| --- | ---: |");
    println!("| `/vm list` ARM calls ({vms} VMs, {page_size} per page) | {list_calls} |");
    println!(
        "| action ARM calls: 1 POST + polls (median, min–max) | {} ({}–{}) |",
        action_calls[action_calls.len() / 2],
        action_calls[0],
        action_calls[action_calls.len() - 1]
    );
    println!(
        "| operation done in Azure → Discord says so, median (ms) | {:.0} |",
        median.as_secs_f64() * 1000.0
    );
    println!(
        "| operation done in Azure → Discord says so, max (ms) | {:.0} |",
        max.as_secs_f64() * 1000.0
    );
    println!(
        "| poll interval (Retry-After) (ms) | {:.0} |",
        retry_after.as_secs_f64() * 1000.0
    );
    println!(
        "| max lag / poll interval | {:.2} |",
        max.as_secs_f64() / retry_after.as_secs_f64()
    );
    bot.shutdown().await
}

/// A local bot against both simulators, where [`ops_user`] may run every `/vm`
/// command, with no pause between progress edits and polls paced by `retry_after`.
pub(crate) fn vm_bot(transition: Duration, retry_after: Duration) -> LocalOptions {
    LocalOptions {
        policy: Policy {
            guilds: Vec::new(),
            rules: vec![Rule {
                name: "ops".into(),
                commands: vec![CommandPattern::new("vm *")],
                roles: vec![Id::new(OPS)],
                users: Vec::new(),
                channels: Vec::new(),
                resource_groups: Vec::new(),
            }],
        },
        dispatch: DispatchConfig {
            min_edit_interval: Duration::ZERO,
            ..DispatchConfig::default()
        },
        azure: LocalAzure::Simulated(ArmSimConfig {
            transition,
            retry_after,
            ..ArmSimConfig::default()
        }),
        azure_settings: azcord::plugins::AzureSettings {
            wait: WaitOptions {
                default_interval: retry_after,
                ..WaitOptions::default()
            },
            ..azcord::plugins::AzureSettings::default()
        },
        ..LocalOptions::default()
    }
}

/// A user with the role that [`vm_bot`] lets run `/vm`.
pub(crate) fn ops_user() -> SimUser {
    SimUser {
        role_ids: vec![OPS],
        ..SimUser::new(1, "bench")
    }
}

/// The custom id of the button labelled `label` on `message`.
pub(crate) fn confirm_button(message: &azcord_sim::SimMessage, label: &str) -> Option<String> {
    use azcord_command::twilight_model::channel::message::Component;
    message.components.iter().find_map(|row| match row {
        Component::ActionRow(row) => row.components.iter().find_map(|component| match component {
            Component::Button(button) if button.label.as_deref() == Some(label) => {
                button.custom_id.clone()
            }
            _ => None,
        }),
        _ => None,
    })
}
