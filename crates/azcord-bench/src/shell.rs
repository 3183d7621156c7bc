//! `azcord-bench shell`: how long Tab takes to list a VM name in `azcord shell`, from
//! the key to the candidates, through the bot's autocomplete over the Discord simulator.

use std::time::{Duration, Instant};

use azcord::local::{LocalBot, LocalOptions};
use azcord_sim::SimUser;

/// What was typed before each Tab: a value the bot completes, shorter and longer.
const TYPED: [&str; 5] = [
    "/vm status name:w",
    "/vm status name:we",
    "/vm status name:web",
    "/vm status name:web-",
    "/vm status name:db",
];

pub(crate) async fn run(presses: usize) -> anyhow::Result<()> {
    let bot = LocalBot::start(LocalOptions::default()).await?;
    let user = SimUser::new(100_000_000_000_000_001, "bench");
    let guild = Some(bot.guild_id());
    let channel = 100_000_000_000_000_003;
    // The first press fills the VM list cache, as the first Tab of a session does.
    let first = Instant::now();
    let (_, candidates) = bot
        .complete(&user, guild, channel, TYPED[0], TYPED[0].len())
        .await?;
    let first = first.elapsed();
    anyhow::ensure!(!candidates.is_empty(), "the bot suggested nothing");

    let mut times = Vec::with_capacity(presses);
    for press in 0..presses {
        let line = TYPED[press % TYPED.len()];
        let started = Instant::now();
        let (_, candidates) = bot
            .complete(&user, guild, channel, line, line.len())
            .await?;
        times.push(started.elapsed());
        anyhow::ensure!(
            !candidates.is_empty(),
            "the bot suggested nothing for {line}"
        );
    }
    times.sort();
    let median = times[times.len() / 2];
    let max = times.last().copied().unwrap_or_default();
    println!("Tab to candidates, VM names through the bot's autocomplete ({presses} presses):");
    println!("| measure | ms |");
    println!("| --- | ---: |");
    println!(
        "| first press (fills the VM list cache) | {:.2} |",
        ms(first)
    );
    println!("| median | {:.2} |", ms(median));
    println!("| max | {:.2} |", ms(max));
    bot.shutdown().await?;
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
