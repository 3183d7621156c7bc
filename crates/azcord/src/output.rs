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

/// Erases the terminal rows below the cursor's and puts the cursor back: the line
/// editor lists candidates over its hint line without clearing it.
pub(crate) fn erase_rows_below() {
    let mut stdout = std::io::stdout();
    // Save the cursor, go one row down, erase from there to the end, restore.
    let _ = stdout.write_all(b"\x1b7\x1b[B\r\x1b[J\x1b8");
    let _ = stdout.flush();
}

/// Erases the terminal row above the cursor's and puts the cursor at its start: when
/// Ctrl-C drops a line, the line editor leaves its hint line there.
pub(crate) fn erase_row_above() {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(b"\x1b[A\r\x1b[2K");
    let _ = stdout.flush();
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
