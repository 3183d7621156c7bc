//! Stamps the git commit and build number into the binary, with fallbacks for local
//! builds and builds outside a checkout.

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
