//! Stamps the git commit and build number into the binary, with fallbacks for local
//! builds and builds outside a checkout, and has the release link lay out together the
//! functions that start-up runs.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    println!("cargo:rerun-if-env-changed=AZCORD_GIT_SHA");
    println!("cargo:rerun-if-env-changed=AZCORD_BUILD_NUMBER");
    println!("cargo:rerun-if-env-changed=CIRCLE_SHA1");
    println!("cargo:rerun-if-env-changed=CIRCLE_BUILD_NUM");
    // In a worktree `.git` is a file: ask git where the directory is.
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git"));
    for file in ["HEAD", "logs/HEAD"] {
        let path = git_dir.join(file);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let sha = std::env::var("AZCORD_GIT_SHA")
        .or_else(|_| std::env::var("CIRCLE_SHA1"))
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .map(|sha| sha.chars().take(12).collect::<String>())
        .unwrap_or_else(|| "unknown".to_owned());
    let build = std::env::var("AZCORD_BUILD_NUMBER")
        .or_else(|_| std::env::var("CIRCLE_BUILD_NUM"))
        .unwrap_or_else(|_| "0".to_owned());
    println!("cargo:rustc-env=AZCORD_GIT_SHA={sha}");
    println!("cargo:rustc-env=AZCORD_BUILD_NUMBER={build}");
    order_startup_functions();
}

/// Hands `startup.order` (written by `cargo xtask startup-order`) to the linker of the
/// release `azcord` binary: the functions it names come first in the code, so that
/// start-up faults in a few 64 KiB windows of code rather than windows all over the
/// binary (docs/performance.md). Names the list has but the link lacks are skipped
/// quietly; the link map it writes is what `cargo xtask startup-order --check` reads.
/// Only rust-lld, the default linker of this target, is known to take these options.
fn order_startup_functions() {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("startup.order");
    println!("cargo:rerun-if-changed={}", order.display());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let Ok(out_dir) = std::env::var("OUT_DIR") else {
        return;
    };
    if target != "x86_64-unknown-linux-gnu" || profile != "release" || !order.exists() {
        return;
    }
    for arg in [
        format!("--symbol-ordering-file={}", order.display()),
        "--no-warn-symbol-ordering".to_owned(),
        format!("-Map={out_dir}/azcord.map"),
    ] {
        println!("cargo:rustc-link-arg-bin=azcord=-Wl,{arg}");
    }
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}
