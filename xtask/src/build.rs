//! `cargo xtask build`: the azcord binary that ships in the image.
//!
//! The image holds nothing but what the binary needs, and only the
//! `x86_64-unknown-linux-gnu` target exists here (no musl). Of the two ways to make a
//! glibc binary self-sufficient, this builds the ordinary dynamically linked binary and
//! `cargo xtask image` ships it with the dynamic loader and the shared libraries it
//! names (found with `ldd`, taken from the machine that linked it), as distroless's
//! `cc` image does:
//!
//! - It is glibc's supported configuration, and the very file the tests and
//!   `cargo xtask bench` run; a `+crt-static` build needs its own `--target` build.
//! - A static glibc binary does resolve names from `/etc/hosts` and DNS in an empty
//!   root (glibc 2.34 and later build the `files` and `dns` services into libc; a
//!   probe checked it in a chroot), but any other NSS service, `iconv` or `dlopen`
//!   loads shared libraries of the exact glibc that linked it at run time, which the
//!   linker warns about and an empty image would not have.
//! - The cost is small: the loader, `libc.so.6` and `libgcc_s.so.1` add about 1 MB
//!   compressed.
//!
//! The release profile is the workspace's (thin LTO, stripped), built without
//! incremental compilation, which is for development, not for a binary that ships.

use std::{
    fs::OpenOptions,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context;
use clap::Args;

use crate::stamp::{self, Stamp};

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Build with the release profile, as shipped.
    #[arg(long)]
    release: bool,
}

pub(crate) fn run(args: &BuildArgs) -> anyhow::Result<()> {
    let artifact = build(args.release)?;
    let size = std::fs::metadata(&artifact)?.len();
    let stamp = Stamp::current()?;
    crate::output::line(&format!(
        "{} ({}, version {}, commit {}, build {})",
        artifact.display(),
        human_size(size),
        stamp.version,
        stamp.short_revision(),
        stamp.build_number,
    ));
    if let Some(file) = std::env::var_os("BUILDEVENT_FILE") {
        append_build_event_fields(
            Path::new(&file),
            &[
                ("artifact_size_bytes", size.to_string()),
                ("version", stamp.version),
                ("build_num", stamp.build_number),
            ],
        )?;
    }
    Ok(())
}

/// Builds the azcord binary and returns its path.
pub(crate) fn build(release: bool) -> anyhow::Result<PathBuf> {
    let mut args = vec!["build", "--locked", "-p", "azcord"];
    if release {
        args.push("--release");
    }
    stamped_cargo(&args, release)?;
    let profile = if release { "release" } else { "debug" };
    Ok(stamp::target_dir().join(profile).join("azcord"))
}

/// Runs `cargo` with `args` in the project root as the shipped binary is built: with
/// the commit stamped, and for a `release` build without incremental compilation.
pub(crate) fn stamped_cargo(args: &[&str], release: bool) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let mut command = Command::new(cargo);
    command.args(args).current_dir(crate::project_root());
    // `cargo run` (behind `cargo xtask`) and `cargo test` describe xtask's own package
    // in the environment. Some build scripts (ring's) rebuild when such a variable
    // changes, so keeping them would rebuild the whole TLS stack each time a build
    // alternates between `cargo build` and `cargo xtask build`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if is_package_variable(&name) {
            command.env_remove(&*name);
        }
    }
    if release {
        command.env("CARGO_INCREMENTAL", "0");
    }
    // Stamp the commit explicitly: crates/azcord/build.rs reruns when these change, so a
    // binary built from another checkout sharing this target directory (cargo's hashes
    // do not depend on where a checkout lies) is never taken for this commit's.
    let stamp = Stamp::current()?;
    command
        .env("AZCORD_GIT_SHA", &stamp.revision)
        .env("AZCORD_BUILD_NUMBER", &stamp.build_number);
    let status = command.status().context("cannot run cargo")?;
    anyhow::ensure!(
        status.success(),
        "`cargo {}` failed with {status}",
        args.join(" ")
    );
    Ok(())
}

/// Variables cargo sets to describe the package it runs, not the build it is asked for.
fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
        )
}

/// A byte count for people: `12.3 MB`, `456 kB`, `789 B` (powers of 1000).
pub(crate) fn human_size(bytes: u64) -> String {
    let value = bytes as f64;
    if bytes >= 1_000_000 {
        format!("{:.1} MB", value / 1e6)
    } else if bytes >= 1_000 {
        format!("{:.0} kB", value / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Appends `key=value` lines to the buildevents file of the current CI step.
fn append_build_event_fields(file: &Path, fields: &[(&str, String)]) -> anyhow::Result<()> {
    let mut lines = String::new();
    for (key, value) in fields {
        lines.push_str(&format!("{key}={value}\n"));
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut file| file.write_all(lines.as_bytes()))
        .with_context(|| format!("cannot append to BUILDEVENT_FILE {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_running_package_is_left_out_of_the_build_environment() {
        let cases = [
            ("CARGO_MANIFEST_DIR", true),
            ("CARGO_PKG_VERSION", true),
            ("CARGO_PRIMARY_PACKAGE", true),
            ("CARGO", false),
            ("CARGO_TARGET_DIR", false),
            ("CARGO_HOME", false),
            ("CARGO_INCREMENTAL", false),
        ];
        for (name, left_out) in cases {
            assert_eq!(is_package_variable(name), left_out, "{name}");
        }
    }

    #[test]
    fn sizes_for_people() {
        let cases = [
            (0, "0 B"),
            (999, "999 B"),
            (1_000, "1 kB"),
            (456_789, "457 kB"),
            (12_345_678, "12.3 MB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(human_size(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn build_event_fields_are_appended() {
        let dir = std::env::temp_dir().join(format!("xtask-buildevent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fields");
        std::fs::write(&file, "earlier=1\n").unwrap();
        append_build_event_fields(
            &file,
            &[("version", "1.2.3".into()), ("build_num", "7".into())],
        )
        .unwrap();
        let written = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(written, "earlier=1\nversion=1.2.3\nbuild_num=7\n");
    }
}
