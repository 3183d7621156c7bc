//! The one place that writes to the terminal directly; everything else logs.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "this module is the CLI's output"
)]

use std::io::Write as _;

/// Prints `text` and a newline to stdout.
pub(crate) fn text(text: &str) {
    println!("{text}");
}

/// Prints `text` to stdout without a newline and flushes, for prompts.
pub(crate) fn prompt(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

/// Prints `value` as pretty JSON to stdout.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints an error to stderr.
pub(crate) fn error(message: &str) {
    eprintln!("error: {message}");
}
