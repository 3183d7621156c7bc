//! `azcord-bench replay`: interactions sent while `azcord run` restarts. The process
//! is stopped with SIGTERM (it records its gateway session in its state file), N
//! `/ping`s are sent while no process is connected, and a new process starts on the
//! same state file: it resumes the session, the simulator replays what was sent
//! meanwhile, and the bench counts the interactions answered.

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use azcord_sim::{DiscordSim, DiscordSimConfig, GatewayRecord, InteractionEvent};

use super::{Guard, azcord_command, ensure_built, send_pings};

pub(crate) async fn run(azcord: &Path, interactions: usize, rounds: usize) -> anyhow::Result<()> {
    ensure_built(azcord)?;
    let mut rows = Vec::new();
    for round in 0..rounds {
        let row = one_restart(azcord, interactions).await?;
        eprintln!(
            "round {round}: {} of {interactions} answered, resumed: {}, last answer {:.0?} after the new process started",
            row.answered, row.resumed, row.last_answer
        );
        rows.push(row);
    }
    println!(
        "\n/ping interactions sent while `azcord run` restarted (SIGTERM, then a new process on the same state file)\n"
    );
    println!(
        "| round | answered | sent while down | the new process resumed the session | new process started → last answer (ms) |"
    );
    println!("| ---: | ---: | ---: | --- | ---: |");
    for (round, row) in rows.iter().enumerate() {
        println!(
            "| {} | {} | {interactions} | {} | {:.0} |",
            round + 1,
            row.answered,
            if row.resumed { "yes" } else { "no" },
            row.last_answer.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// What one restart gave.
struct Replayed {
    answered: usize,
    /// The simulator saw the new process resume, rather than identify.
    resumed: bool,
    /// From starting the new process to the last answer.
    last_answer: Duration,
}

async fn one_restart(azcord: &Path, interactions: usize) -> anyhow::Result<Replayed> {
    let sim = DiscordSim::start(DiscordSimConfig {
        wait_timeout: Duration::from_secs(60),
        ..DiscordSimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let spawn = || -> anyhow::Result<Guard> {
        let mut command: Command = azcord_command(azcord, &sim, dir.path());
        let child = command
            .arg("run")
            .env("DISCORD_GATEWAY_URL", sim.gateway_url())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("could not start azcord run")?;
        Ok(Guard(child))
    };
    let first = spawn()?;
    tokio::time::timeout(Duration::from_secs(60), sim.wait_until_ready())
        .await
        .context("azcord run did not connect within 60 s")?;
    let ping = sim
        .command_data(Some(sim.config().guild_id), "ping", Vec::new())
        .context("azcord registered no /ping")?;
    terminate(first).await?;

    let mut handles = send_pings(&sim, &ping, interactions);
    let started = Instant::now();
    let _second = spawn()?;
    let mut answered = 0;
    for handle in &mut handles {
        if let Some(InteractionEvent::Acknowledged {
            message: Some(message),
            ..
        }) = handle.next_event_within(Duration::from_secs(60)).await
            && message.content == "🏓 pong"
        {
            answered += 1;
        }
    }
    let last_answer = started.elapsed();
    let resumed = sim
        .gateway_log()
        .iter()
        .any(|record| matches!(record, GatewayRecord::Resumed { .. }));
    Ok(Replayed {
        answered,
        resumed,
        last_answer,
    })
}

/// Stops the process with SIGTERM, as a deploy does, and waits (30 s at most) for it
/// to exit cleanly.
async fn terminate(mut process: Guard) -> anyhow::Result<()> {
    let pid = process.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status()?;
    anyhow::ensure!(sent.success(), "could not send SIGTERM to {pid}");
    let status = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || process.0.wait()),
    )
    .await
    .context("azcord run did not stop within 30 s of SIGTERM")???;
    anyhow::ensure!(status.success(), "azcord run exited with {status}");
    Ok(())
}
