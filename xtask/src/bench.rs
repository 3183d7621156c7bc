//! `cargo xtask bench`: builds the release bot and the benchmark driver, then runs it.
//! See docs/performance.md for what it measures.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent /ping interactions per round.
    #[arg(long, default_value_t = 1000)]
    interactions: usize,
    /// Rounds per contender; the report gives medians. 31 unless given: one round's
    /// p99 moves several-fold with the machine (docs/performance.md). With
    /// `--deploy`, deploys to time, 5 unless given.
    #[arg(long)]
    rounds: Option<usize>,
    /// The cargo profile to build and measure: `profiling` is release with its
    /// symbols kept, for `perf` on the same code.
    #[arg(long, default_value = "release")]
    profile: String,
    /// Measure `cargo xtask deploy` against the ARM simulator instead.
    #[arg(long)]
    deploy: bool,
    /// Another figure instead, as `azcord-bench` names it, with its own options:
    /// `http`, `store`, `restart`, `replay` or `instructions` (`cargo xtask bench http
    /// --rounds 3`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    figure: Vec<String>,
}

/// Rounds of `/ping`s per contender when `--rounds` is not given.
const PING_ROUNDS: usize = 31;

/// Deploys to time with `--deploy` when `--rounds` is not given.
const DEPLOY_ROUNDS: usize = 5;

pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.deploy {
        return deploy_figures(args.rounds.unwrap_or(DEPLOY_ROUNDS));
    }
    // azcord on its own, as `cargo xtask build` builds what ships: built in one
    // invocation with the driver, its dependencies would get the driver's features too
    // (cargo unifies them), and with them other symbol names than
    // crates/azcord/startup.order lists, so another layout than the one that ships.
    for package in ["azcord", "azcord-bench"] {
        crate::build::stamped_cargo(
            &[
                "build",
                "--profile",
                &args.profile,
                "--locked",
                "-p",
                package,
            ],
            true,
        )?;
    }
    if args.profile == "release" {
        // A stale list lets start-up code spread over the binary again: idle RSS shows it.
        match crate::startup_order::coverage() {
            Ok(coverage) if coverage.is_current() => eprintln!("{coverage}"),
            Ok(coverage) => {
                eprintln!("WARNING: {coverage}: record it again with `cargo xtask startup-order`")
            }
            Err(err) => eprintln!("WARNING: start-up order not checked: {err:#}"),
        }
    }
    let root = crate::project_root();
    let release = crate::stamp::target_dir().join(&args.profile);
    let bench = release.join("azcord-bench");
    let azcord = release.join("azcord");
    if !args.figure.is_empty() {
        let status = std::process::Command::new(&bench)
            .arg("--azcord")
            .arg(azcord)
            .args(&args.figure)
            .current_dir(&root)
            .status()?;
        anyhow::ensure!(status.success(), "the benchmark failed with {status}");
        return Ok(());
    }
    let status = std::process::Command::new(&bench)
        .arg("--azcord")
        .arg(azcord)
        .args([
            "--interactions",
            &args.interactions.to_string(),
            "--rounds",
            &args.rounds.unwrap_or(PING_ROUNDS).to_string(),
        ])
        .current_dir(&root)
        .status()?;
    anyhow::ensure!(status.success(), "the benchmark failed with {status}");
    let status = std::process::Command::new(&bench)
        .arg("azure")
        .current_dir(&root)
        .status()?;
    anyhow::ensure!(status.success(), "the Azure benchmark failed with {status}");
    Ok(())
}

/// `cargo xtask bench --deploy`: deploys to a fresh ARM simulator `rounds` times, with
/// operations that take 1 s and a `Retry-After` of 1 s, into a container group that
/// the deployment leaves stopped (so the start is measured too). Reports the ARM calls
/// of one deploy and the median wall time, with and without Azure's own waiting.
fn deploy_figures(rounds: usize) -> anyhow::Result<()> {
    use azcord_sim::arm::{ArmSim, ArmSimConfig};
    use std::collections::BTreeMap;

    let runtime = tokio::runtime::Runtime::new()?;
    let image = "azcordacr.azurecr.io/azcord@sha256:0f4e3c1b2a5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
    let mut totals = Vec::new();
    let mut overheads = Vec::new();
    let mut calls = BTreeMap::new();
    for _ in 0..rounds.max(1) {
        let arm = runtime.block_on(ArmSim::start(ArmSimConfig {
            transition: std::time::Duration::from_secs(1),
            retry_after: std::time::Duration::from_secs(1),
            ..ArmSimConfig::default()
        }))?;
        let mut vars = arm.client_environment();
        vars.push(("DISCORD_TOKEN", "bench-token".to_owned()));
        vars.push(("ACR_USERNAME", "bench".to_owned()));
        vars.push(("ACR_PASSWORD", "bench-password".to_owned()));
        let lookup = |name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.clone())
        };
        let args = crate::deploy::args_for("staging", "worker", image);
        let times = crate::deploy::execute(&args, &lookup)?
            .ok_or_else(|| anyhow::anyhow!("the deploy was a dry run"))?;
        totals.push(times.total.as_secs_f64());
        overheads.push((times.total - times.azure_wait).as_secs_f64());
        calls.clear();
        for request in arm.requests() {
            let kind = if request.token_request {
                "token".to_owned()
            } else {
                format!("{} {}", request.method, call_kind(&request.path))
            };
            *calls.entry(kind).or_insert(0_usize) += 1;
        }
    }
    eprintln!("\nARM calls of one deploy:");
    for (kind, count) in &calls {
        eprintln!("  {count:>3}  {kind}");
    }
    eprintln!(
        "median of {} deploys: {:.2} s in all, {:.3} s apart from waiting for Azure",
        totals.len(),
        median(&mut totals),
        median(&mut overheads)
    );
    Ok(())
}

/// What an ARM path addresses, without names.
fn call_kind(path: &str) -> &'static str {
    let path = path.to_ascii_lowercase();
    if path.contains("/operationstatuses/") || path.contains("/operations/") {
        "operation status"
    } else if path.contains("/deployments/") {
        "deployment"
    } else if path.ends_with("/start") {
        "container group start"
    } else if path.contains("/containergroups/") {
        "container group"
    } else {
        "other"
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::BenchArgs;

    #[derive(clap::Parser)]
    struct Bench {
        #[command(flatten)]
        args: BenchArgs,
    }

    #[test]
    fn a_figure_takes_every_argument_after_it() {
        let table: [(&[&str], Option<usize>, &[&str]); 3] = [
            (&[], None, &[]),
            (&["--rounds", "3"], Some(3), &[]),
            (
                &["--rounds", "3", "http", "--rounds", "2", "--sizes", "10"],
                Some(3),
                &["http", "--rounds", "2", "--sizes", "10"],
            ),
        ];
        for (line, rounds, figure) in table {
            let parsed =
                Bench::try_parse_from(std::iter::once("bench").chain(line.iter().copied()))
                    .unwrap()
                    .args;
            assert_eq!(parsed.rounds, rounds, "{line:?}");
            assert_eq!(parsed.figure, figure, "{line:?}");
        }
    }
}
