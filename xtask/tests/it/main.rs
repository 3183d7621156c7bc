//! xtask's integration tests: the delivery tasks run as a user runs them.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod ci;
mod config;
mod deny;
mod deploy;
mod image;
mod publish;
mod registry;
mod startup_order;
mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

/// A fresh directory under cargo's scratch space for integration tests. What an
/// earlier run left there is removed on first use, so runs do not pile up images.
pub(crate) fn scratch_dir(purpose: &str) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let root = ROOT.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xtask-it");
        let _ = std::fs::remove_dir_all(&root);
        root
    });
    let dir = root.join(format!("{purpose}-{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `cargo xtask ARGS` as a user runs it, with `env` set and no proxy in the way.
pub(crate) fn xtask(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args);
    for proxy in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ] {
        command.env_remove(proxy);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run xtask: {err}"))
}

/// Its standard output, after checking it succeeded.
pub(crate) fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "xtask failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
