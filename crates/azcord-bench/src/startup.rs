//! `azcord-bench startup`: which functions `azcord run` runs from start to idle, and
//! then for its first `/ping`, as valgrind's callgrind records them.
//! `cargo xtask startup-order` lays those functions out together in the release binary,
//! so that start-up maps few pages of code (docs/performance.md).

use std::{
    path::Path,
    process::{Command, Stdio},
};

use anyhow::Context as _;
use azcord_sim::{InteractionEvent, Invocation, SimUser};

use crate::{Contender, start};

/// Starts `azcord run` under callgrind against the simulator and waits until it is
/// idle (connected, commands registered), then until it has answered one `/ping`.
/// Callgrind writes what ran up to each point to `PROFILE.1` and then `PROFILE.2`.
pub(crate) async fn run(azcord: &Path, profile: &Path) -> anyhow::Result<()> {
    let running = start(Contender::Callgrind {
        contender: &Contender::Azcord(azcord),
        profile,
        from_start: true,
    })
    .await?;
    let pid = running.child.0.id();
    dump(pid)?;
    let mut ping = running.sim.invoke(Invocation {
        user: SimUser::new(100_000_000_000_000_000, "startup"),
        guild_id: Some(running.sim.config().guild_id),
        channel_id: 100_000_000_000_000_003,
        data: running.ping.clone(),
    });
    match ping.next_event().await {
        InteractionEvent::Acknowledged { .. } => {}
        other => anyhow::bail!("unexpected first answer to /ping: {other:?}"),
    }
    dump(pid)?;
    for part in [1, 2] {
        let path = format!("{}.{part}", profile.display());
        anyhow::ensure!(Path::new(&path).exists(), "callgrind wrote no {path}");
        println!("{path}");
    }
    Ok(())
}

/// `valgrind --tool=callgrind` running what `command` runs, with its arguments and
/// environment, with the options whose output `cargo xtask startup-order` reads:
/// symbol names as the linker sees them, written out in full on every line. If
/// `from_start`, it counts from the start; otherwise only once [`instrument`] turns
/// it on. Nothing is written until a dump is asked for.
pub(crate) fn under_callgrind(command: &Command, profile: &Path, from_start: bool) -> Command {
    let mut valgrind = Command::new("valgrind");
    valgrind
        .args([
            "--tool=callgrind",
            "--quiet",
            "--demangle=no",
            "--compress-strings=no",
            "--compress-pos=no",
        ])
        .arg(format!("--callgrind-out-file={}", profile.display()));
    if !from_start {
        valgrind.arg("--instr-atstart=no");
    }
    valgrind.arg(command.get_program()).args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => valgrind.env(name, value),
            None => valgrind.env_remove(name),
        };
    }
    valgrind
}

/// Turns on callgrind's counting in process `pid`, started with `from_start` off.
pub(crate) fn instrument(pid: u32) -> anyhow::Result<()> {
    callgrind_control(pid, &["--instr=on"])
}

/// Asks callgrind in process `pid` to write what ran since the last dump, and waits
/// until it has.
pub(crate) fn dump(pid: u32) -> anyhow::Result<()> {
    callgrind_control(pid, &["--dump"])
}

fn callgrind_control(pid: u32, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot run callgrind_control (apt-get install -y valgrind)")?;
    anyhow::ensure!(
        output.status.success(),
        "callgrind_control {} {pid} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
