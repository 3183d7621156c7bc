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
    let running = start(Contender::Callgrind(azcord, profile)).await?;
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

/// `valgrind --tool=callgrind` running `azcord`, with the options whose output
/// `cargo xtask startup-order` reads: symbol names as the linker sees them, written
/// out in full on every line. Collection runs from the start; nothing is written
/// until a dump is asked for.
pub(crate) fn callgrind_command(azcord: &Path, profile: &Path) -> Command {
    let mut command = Command::new("valgrind");
    command
        .args([
            "--tool=callgrind",
            "--quiet",
            "--demangle=no",
            "--compress-strings=no",
            "--compress-pos=no",
        ])
        .arg(format!("--callgrind-out-file={}", profile.display()))
        .arg(azcord);
    command
}

/// Asks callgrind in process `pid` to write what ran since the last dump, and waits
/// until it has.
fn dump(pid: u32) -> anyhow::Result<()> {
    let output = Command::new("callgrind_control")
        .arg("--dump")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot run callgrind_control (apt-get install -y valgrind)")?;
    anyhow::ensure!(
        output.status.success(),
        "callgrind_control --dump {pid} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
