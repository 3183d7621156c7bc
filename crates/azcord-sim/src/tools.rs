//! External tools some tests need, for the tests of every crate. A developer may lack them: such a test skips with a
//! loud `SKIPPED:` line naming the tool and how to install it; under CI (`CI` set) a
//! missing tool fails the test instead, so CI never skips silently.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The path of `program` on `PATH`, or `None` after printing why the caller skips.
///
/// Panics when `CI` is set and the program is missing.
pub fn require_tool(program: &str, install: &str) -> Option<PathBuf> {
    if let Some(path) = find_on_path(program) {
        return Some(path);
    }
    skip_or_fail(&format!(
        "`{program}` is not installed; install it with `{install}`"
    ));
    None
}

/// Whether `python` imports every module; if not, prints why the caller skips.
///
/// Panics when `CI` is set and a module is missing.
pub fn require_python_modules(python: &Path, modules: &[&str], install: &str) -> bool {
    let imports = format!("import {}", modules.join(", "));
    let imported = Command::new(python)
        .args(["-c", &imports])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !imported {
        skip_or_fail(&format!(
            "the Python modules {} are not installed; install them with `{install}`",
            modules.join(", ")
        ));
    }
    imported
}

fn skip_or_fail(message: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI must run this test)");
    }
    eprintln!("SKIPPED: {message}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_program_on_path_and_not_a_missing_one() {
        let shell = find_on_path("sh").expect("sh is on PATH");
        assert!(shell.ends_with("sh"), "{}", shell.display());
        assert_eq!(find_on_path("azcord-no-such-program"), None);
    }
}
