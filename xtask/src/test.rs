//! `cargo xtask test`: what CI runs.

use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Skip the format and clippy checks.
    #[arg(long)]
    no_lint: bool,
}

pub(crate) fn run(args: &TestArgs) -> anyhow::Result<()> {
    if !args.no_lint {
        crate::cargo(&["fmt", "--all", "--", "--check"])?;
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
