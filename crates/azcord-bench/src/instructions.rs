//! `azcord-bench instructions`: the instructions azcord and the floor each run per
//! `/ping`, counted by valgrind's callgrind from the first interaction to the last
//! acknowledgement. Time per interaction moves with whatever else the machine does;
//! this count does not, so it shows a change in the work per interaction that a timed
//! round could not tell from noise. It counts user space only: the system calls are
//! counted, not what the kernel does in them.

use std::path::Path;

use anyhow::Context as _;

use crate::{Contender, ping_all, start, startup};

/// Runs `interactions` `/ping`s through each contender under callgrind, and prints the
/// instructions per interaction of each and their ratio. The profiles stay in `out`.
pub(crate) async fn run(azcord: &Path, interactions: usize, out: &Path) -> anyhow::Result<()> {
    crate::ensure_built(azcord)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let me = std::env::current_exe()?;
    let mut counts = Vec::new();
    for (name, contender) in [
        ("azcord", Contender::Azcord(azcord)),
        ("floor", Contender::Floor(&me)),
    ] {
        let profile = out.join(format!("{name}.callgrind"));
        let total = count(contender, &profile, interactions).await?;
        eprintln!(
            "{name}: {total} instructions in all, {}.1",
            profile.display()
        );
        counts.push((name, total));
    }
    let per = |total: u64| total as f64 / interactions.max(1) as f64;
    println!(
        "{interactions} concurrent /ping interactions, instructions per interaction (callgrind)\n"
    );
    println!("| azcord | floor | azcord / floor |");
    println!("| ---: | ---: | ---: |");
    println!(
        "| {:.0} | {:.0} | {:.2}x |",
        per(counts[0].1),
        per(counts[1].1),
        counts[0].1 as f64 / counts[1].1.max(1) as f64
    );
    println!(
        "\nWhere they go: callgrind_annotate --inclusive=yes {}/azcord.callgrind.1",
        out.display()
    );
    Ok(())
}

/// Starts `contender` under callgrind, counting nothing until it is idle, then counts
/// `interactions` `/ping`s, and returns the instructions callgrind counted.
async fn count(
    contender: Contender<'_>,
    profile: &Path,
    interactions: usize,
) -> anyhow::Result<u64> {
    let dump = std::path::PathBuf::from(format!("{}.1", profile.display()));
    let _ = std::fs::remove_file(&dump);
    let running = start(Contender::Callgrind {
        contender: &contender,
        profile,
        from_start: false,
    })
    .await?;
    let pid = running.child.0.id();
    startup::instrument(pid)?;
    ping_all(&running.sim, &running.ping, interactions).await?;
    startup::dump(pid)?;
    let text = std::fs::read_to_string(&dump)
        .with_context(|| format!("callgrind wrote no {}", dump.display()))?;
    totals(&text).with_context(|| format!("no totals line in {}", dump.display()))
}

/// The `totals:` (or, in older callgrind, `summary:`) line of a callgrind profile: the
/// instructions it counted.
fn totals(profile: &str) -> Option<u64> {
    profile
        .lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_totals_line_gives_the_count() {
        let profile =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n3 7\ntotals: 123456\n";
        assert_eq!(totals(profile), Some(123_456));
        assert_eq!(totals("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(totals("events: Ir\nfn=main\n3 7\n"), None);
    }
}
