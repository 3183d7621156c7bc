//! `cargo xtask test`: what CI runs.

use clap::Args;

/// How to install the dependency checker this task runs.
const CARGO_DENY_INSTALL: &str = "cargo install --locked cargo-deny";

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Skip the format and clippy checks.
    #[arg(long)]
    no_lint: bool,
    /// Also check dependencies against the RustSec advisory database, which cargo-deny
    /// fetches from GitHub (CI passes this; local runs may have no such access).
    #[arg(long)]
    deny_advisories: bool,
}

/// Which of cargo-deny's checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DenyChecks {
    /// Licenses, bans and sources: everything that needs no network.
    Offline,
    /// Those and the advisory database.
    All,
}

pub(crate) fn run(args: &TestArgs) -> anyhow::Result<()> {
    if !args.no_lint {
        crate::cargo(&["fmt", "--all", "--", "--check"])?;
    }
    let checks = if args.deny_advisories {
        DenyChecks::All
    } else {
        DenyChecks::Offline
    };
    deny(checks, std::env::var_os("CI").is_some())?;
    if !args.no_lint {
        crate::cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ])?;
    }
    crate::cargo(&["test", "--workspace", "--locked"])
}

/// What `cargo xtask test` does about cargo-deny.
#[derive(Debug, PartialEq, Eq)]
enum DenyPlan {
    /// Run `cargo` with these arguments.
    Run(Vec<&'static str>),
    /// Skip the check, saying why.
    Skip(String),
}

/// Runs `cargo deny` with `deny.toml`.
fn deny(checks: DenyChecks, ci: bool) -> anyhow::Result<()> {
    if checks == DenyChecks::Offline {
        eprintln!(
            "cargo deny: skipping `advisories`: its database is fetched from GitHub, which \
             this run may not reach; `cargo xtask test --deny-advisories` checks it (CI does)"
        );
    }
    match deny_plan(checks, cargo_deny_installed(), ci)? {
        DenyPlan::Run(args) => crate::cargo(&args),
        DenyPlan::Skip(message) => {
            eprintln!("SKIPPED: {message}");
            Ok(())
        }
    }
}

/// Decides how to run `checks`: a missing cargo-deny fails under CI and is skipped
/// loudly elsewhere.
fn deny_plan(checks: DenyChecks, installed: bool, ci: bool) -> anyhow::Result<DenyPlan> {
    if !installed {
        let message = format!(
            "cargo deny check: `cargo-deny` is not installed; install it with \
             `{CARGO_DENY_INSTALL}`"
        );
        anyhow::ensure!(!ci, "{message} (CI must check dependencies)");
        return Ok(DenyPlan::Skip(message));
    }
    let mut args = vec!["deny", "--locked", "check"];
    if checks == DenyChecks::Offline {
        args.extend(["licenses", "bans", "sources"]);
    }
    Ok(DenyPlan::Run(args))
}

/// Whether `cargo deny` runs: cargo finds it on `PATH` or in `$CARGO_HOME/bin`.
fn cargo_deny_installed() -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    std::process::Command::new(cargo)
        .args(["deny", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_checks_advisories_only_when_asked_and_never_skips_under_ci() {
        use DenyChecks::{All, Offline};
        // (checks, installed, ci) → the cargo arguments, "skip", or "error".
        let cases = [
            (
                Offline,
                true,
                false,
                "deny --locked check licenses bans sources",
            ),
            (
                Offline,
                true,
                true,
                "deny --locked check licenses bans sources",
            ),
            (All, true, true, "deny --locked check"),
            (Offline, false, false, "skip"),
            (All, false, false, "skip"),
            (Offline, false, true, "error"),
            (All, false, true, "error"),
        ];
        for (checks, installed, ci, expected) in cases {
            let plan = match deny_plan(checks, installed, ci) {
                Ok(DenyPlan::Run(args)) => args.join(" "),
                Ok(DenyPlan::Skip(message)) => {
                    assert!(message.contains(CARGO_DENY_INSTALL), "{message}");
                    "skip".to_owned()
                }
                Err(error) => {
                    assert!(error.to_string().contains(CARGO_DENY_INSTALL), "{error}");
                    "error".to_owned()
                }
            };
            assert_eq!(plan, expected, "{checks:?} installed={installed} ci={ci}");
        }
    }
}
