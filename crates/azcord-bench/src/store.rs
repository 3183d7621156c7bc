//! `azcord-bench store`: what the embedded store adds to an action. Two local bots
//! against their own simulators, one with the redb store in a file and one with the
//! state in memory (the same records, no file), take turns at the same actions on a
//! VM whose operations finish at once: `/vm start`, then `/vm deallocate` with its
//! Confirm pressed as soon as it is shown. Each action is timed from the interaction
//! to the message saying it is done, as the Discord simulator receives it.

use std::time::{Duration, Instant};

use azcord::local::{LocalBot, LocalOptions, wait_finished};
use azcord_sim::{InteractionEvent, SimUser};

use super::{
    azure::{confirm_button, ops_user, vm_bot},
    percentile,
};

/// The actions, in turn: the line, and the button to press if it asks first.
const ACTIONS: [(&str, Option<&str>); 2] = [
    ("/vm start name:dev-sandbox/build-agent", None),
    (
        "/vm deallocate name:dev-sandbox/build-agent",
        Some("Deallocate"),
    ),
];

const CHANNEL: u64 = 1;

pub(crate) async fn run(actions: usize) -> anyhow::Result<()> {
    // Operations end at the first poll, which comes a millisecond after the POST.
    let options = || vm_bot(Duration::ZERO, Duration::from_millis(1));
    let bots = [
        ("redb", LocalBot::start(options()).await?),
        (
            "memory",
            LocalBot::start(LocalOptions {
                memory_store: true,
                ..options()
            })
            .await?,
        ),
    ];
    let user = ops_user();
    // Per bot, per action: the time of each.
    let mut times = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for index in 0..actions {
        let (line, confirm) = ACTIONS[index % 2];
        // Alternate which bot goes first.
        for turn in 0..2 {
            let bot = (index / 2 + turn) % 2;
            let time = act(&bots[bot].1, &user, line, confirm).await?;
            times[bot][index % 2].push(time);
        }
    }
    println!(
        "An action through the bot, from the interaction to the message saying it is done, {actions} actions per store in turn\n"
    );
    println!(
        "| action | redb p50 (ms) | memory p50 (ms) | added p50 (ms) | redb p99 (ms) | memory p99 (ms) | added p99 (ms) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (action, (line, confirm)) in ACTIONS.iter().enumerate() {
        let [redb, memory] = [0, 1].map(|bot| {
            let mut sorted = times[bot][action].clone();
            sorted.sort();
            [50, 99].map(|percent| ms(percentile(&sorted, percent)))
        });
        let name = match confirm {
            Some(_) => format!("`{line}`, confirmed"),
            None => format!("`{line}`"),
        };
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            redb[0],
            memory[0],
            redb[0] - memory[0],
            redb[1],
            memory[1],
            redb[1] - memory[1]
        );
    }
    for (_, bot) in bots {
        bot.shutdown().await?;
    }
    Ok(())
}

/// Runs `line`, presses `confirm` on its prompt if given, and returns the time until
/// the message says it is done; then waits until the bot has finished with it.
async fn act(
    bot: &LocalBot,
    user: &SimUser,
    line: &str,
    confirm: Option<&str>,
) -> anyhow::Result<Duration> {
    let mut finished = bot.finished();
    let started = Instant::now();
    let mut handle = bot
        .sim
        .invoke(bot.invocation(user, Some(bot.guild_id()), CHANNEL, line)?);
    if let Some(label) = confirm {
        let prompt = loop {
            if let InteractionEvent::Acknowledged {
                message: Some(message),
                ..
            } = handle.next_event().await
            {
                break message;
            }
        };
        let custom_id = confirm_button(&prompt, label)
            .ok_or_else(|| anyhow::anyhow!("no {label} button on {prompt:?}"))?;
        handle = bot.sim.click(&prompt, &custom_id, user)?;
    }
    let done = handle
        .wait_for(|event| match event {
            InteractionEvent::Acknowledged {
                message: Some(message),
                ..
            }
            | InteractionEvent::OriginalEdited(message) => message.content.starts_with('✅'),
            _ => false,
        })
        .await;
    let elapsed = started.elapsed();
    drop(done);
    wait_finished(&mut finished, handle.id).await?;
    Ok(elapsed)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
