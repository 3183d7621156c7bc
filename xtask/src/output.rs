//! The one place xtask writes its results to standard output; progress goes to stderr.

/// Prints one line of a task's result on standard output.
#[allow(clippy::print_stdout)]
pub(crate) fn line(text: &str) {
    println!("{text}");
}
