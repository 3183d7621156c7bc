//! `cargo xtask bench`: builds the release bot and the benchmark driver, then runs it.
//! See docs/performance.md for what it measures.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent /ping interactions per round.
    #[arg(long, default_value_t = 1000)]
    interactions: usize,
    /// Rounds per contender; the report gives medians.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    crate::cargo(&[
        "build",
        "--release",
        "--locked",
        "-p",
        "azcord",
        "-p",
        "azcord-bench",
    ])?;
    let root = crate::project_root();
    let bench = root.join("target/release/azcord-bench");
    let azcord = root.join("target/release/azcord");
    let status = std::process::Command::new(bench)
        .arg("--azcord")
        .arg(azcord)
        .args([
            "--interactions",
            &args.interactions.to_string(),
            "--rounds",
            &args.rounds.to_string(),
        ])
        .current_dir(&root)
        .status()?;
    anyhow::ensure!(status.success(), "the benchmark failed with {status}");
    let status = std::process::Command::new(root.join("target/release/azcord-bench"))
        .arg("azure")
        .current_dir(&root)
        .status()?;
    anyhow::ensure!(status.success(), "the Azure benchmark failed with {status}");
    Ok(())
}
