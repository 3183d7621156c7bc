//! Project automation: `cargo xtask <task>`.

mod bench;
mod build;
mod ci;
mod deploy;
mod image;
mod output;
mod publish;
mod stamp;
mod startup_order;
mod test;
mod trace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Deploy an image to Azure Container Instances with docker/aci.json, make sure it
    /// runs, and set a Honeycomb deploy marker.
    Deploy(deploy::DeployArgs),
    /// What the CircleCI jobs call: one trace per workflow (docs/ci.md).
    Ci(ci::CiArgs),
    /// Build the azcord binary that ships, stamped with version, commit and build number.
    Build(build::BuildArgs),
    /// Build an OCI image layout of the release binary, reproducibly, without a daemon.
    Image(image::ImageArgs),
    /// Push the image layout to a registry, tagged with the commit and the version.
    Publish(publish::PublishArgs),
    /// Record which functions start-up runs, for the release link to lay them out
    /// together (`--check`: whether the list still matches the release build).
    StartupOrder(startup_order::StartupOrderArgs),
}

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().task {
        Task::Test(args) => test::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Bench(args) => bench::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Deploy(args) => deploy::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Ci(args) => ci::run(&args),
        Task::Build(args) => build::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Image(args) => image::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Publish(args) => publish::run(&args).map(|()| ExitCode::SUCCESS),
        Task::StartupOrder(args) => startup_order::run(&args).map(|()| ExitCode::SUCCESS),
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

/// The commit's short sha (12 digits, as `azcord --version` shows it): `CIRCLE_SHA1` or
/// `AZCORD_GIT_SHA` when set, else git's, else `unknown`.
pub(crate) fn git_short_sha() -> String {
    let from_env = ["AZCORD_GIT_SHA", "CIRCLE_SHA1"]
        .into_iter()
        .find_map(|name| {
            std::env::var(name)
                .ok()
                .filter(|sha| !sha.trim().is_empty())
        });
    let sha = from_env.or_else(|| {
        let output = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(project_root())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    });
    sha.map(|sha| sha.trim().chars().take(12).collect())
        .filter(|sha: &String| !sha.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The version the workspace stamps on azcord (`[workspace.package] version`).
pub(crate) fn workspace_version() -> String {
    let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap_or_default();
    manifest
        .parse::<toml::Table>()
        .ok()
        .and_then(|table| {
            table
                .get("workspace")?
                .get("package")?
                .get("version")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
}
