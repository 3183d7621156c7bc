//! External tools that some tests need (a registry server, umoci, linters).
//!
//! A developer without root may not have them: such a test skips with a loud line that
//! names the tool and how to install it. Under CI (`CI` set) a missing tool fails the
//! test instead, so CI can never skip silently.

use std::path::{Path, PathBuf};

/// The path of `program` on `PATH`, or `None` after printing why the caller skips.
///
/// Panics when `CI` is set and the program is missing.
pub(crate) fn require_tool(program: &str, install: &str) -> Option<PathBuf> {
    if let Some(path) = find_on_path(program) {
        return Some(path);
    }
    let message = format!("`{program}` is not installed; install it with `{install}`");
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI must run this test)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[test]
fn finds_a_program_on_path_and_not_a_missing_one() {
    let shell = find_on_path("sh").expect("sh is on PATH");
    assert!(shell.ends_with("sh"), "{}", shell.display());
    assert_eq!(find_on_path("azcord-no-such-program"), None);
}
