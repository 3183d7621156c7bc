//! Project automation: `cargo xtask <task>`.

mod bench;
mod build;
mod image;
mod output;
mod publish;
mod stamp;
mod test;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

/// azcord's build, test and delivery tasks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Check formatting, run clippy with warnings denied, then run every test.
    Test(test::TestArgs),
    /// Measure throughput, acknowledgement latency and memory of the release build
    /// against a bare twilight floor, through the Discord simulator.
    Bench(bench::BenchArgs),
    /// Build the azcord binary that ships, stamped with version, commit and build number.
    Build(build::BuildArgs),
    /// Build an OCI image layout of the release binary, reproducibly, without a daemon.
    Image(image::ImageArgs),
    /// Push the image layout to a registry, tagged with the commit and the version.
    Publish(publish::PublishArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Test(args) => test::run(&args),
        Task::Bench(args) => bench::run(&args),
        Task::Build(args) => build::run(&args),
        Task::Image(args) => image::run(&args),
        Task::Publish(args) => publish::run(&args),
    }
}

/// The workspace root, whatever the current directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs `cargo` with `args` in the project root, failing if it fails.
pub(crate) fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = std::process::Command::new(cargo)
        .args(args)
        .current_dir(project_root())
        .status()?;
    anyhow::ensure!(
        status.success(),
        "`cargo {}` failed with {status}",
        args.join(" ")
    );
    Ok(())
}
