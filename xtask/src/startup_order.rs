//! `cargo xtask startup-order`: records which functions `azcord run` runs from start to
//! idle, and then for its first `/ping`, in `crates/azcord/startup.order`, which
//! crates/azcord/build.rs hands to the linker so that the release binary lays them out
//! together at the start of its code. On a page fault in code the kernel maps the
//! 64 KiB around the page, so start-up code spread over the whole binary keeps most
//! of it resident; laid out together, a few windows hold it (docs/performance.md).
//!
//! The list names functions by their symbols, whose hashes change with the toolchain,
//! the dependencies and the profile: a stale list silently stops helping. The release
//! link writes a map of what it linked; `--check` counts how many listed functions it
//! found and fails below [`LEAST_FOUND_PERCENT`] (xtask's tests run it), and
//! `cargo xtask bench` prints the count.

use std::{
    collections::{BTreeSet, HashSet},
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;
use clap::Args;

use crate::stamp;

#[derive(Debug, Args)]
pub(crate) struct StartupOrderArgs {
    /// Record nothing: count how many listed functions the last release link found,
    /// and fail if too few.
    #[arg(long)]
    check: bool,
}

/// Below this share of its functions found in the release link, the list is stale.
/// A fresh list finds nearly all; a build from another cargo home misses some
/// (`.llvm.` suffixes hash the module, which holds source paths).
pub(crate) const LEAST_FOUND_PERCENT: usize = 75;

pub(crate) fn run(args: &StartupOrderArgs) -> anyhow::Result<()> {
    if args.check {
        let coverage = coverage()?;
        crate::output::line(&coverage.to_string());
        anyhow::ensure!(
            coverage.is_current(),
            "crates/azcord/startup.order is stale: regenerate it with `cargo xtask startup-order`"
        );
        return Ok(());
    }
    record()
}

/// How many of the listed functions the last release link found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coverage {
    pub(crate) found: usize,
    pub(crate) listed: usize,
}

impl Coverage {
    /// Whether enough of the list was found for it to still lay start-up out together.
    pub(crate) fn is_current(self) -> bool {
        self.found * 100 >= self.listed * LEAST_FOUND_PERCENT && self.listed > 0
    }
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "start-up order: {} of {} listed functions are in the last release link",
            self.found, self.listed
        )
    }
}

/// Counts the listed functions that the newest release link's map names.
pub(crate) fn coverage() -> anyhow::Result<Coverage> {
    let list = std::fs::read_to_string(order_file())
        .with_context(|| format!("cannot read {}", order_file().display()))?;
    let map_path = newest_link_map()?;
    let map = std::fs::read_to_string(&map_path)
        .with_context(|| format!("cannot read {}", map_path.display()))?;
    let linked = functions_in_map(&map);
    let listed = listed_functions(&list);
    Ok(Coverage {
        found: listed
            .iter()
            .filter(|name| linked.contains(name.as_str()))
            .count(),
        listed: listed.len(),
    })
}

/// The list, beside the build script that passes it to the linker.
fn order_file() -> PathBuf {
    crate::project_root().join("crates/azcord/startup.order")
}

/// Builds the release binary with its symbols, runs it under callgrind through
/// `azcord-bench startup`, and writes the functions it ran to the list.
fn record() -> anyhow::Result<()> {
    let valgrind = Command::new("valgrind").arg("--version").output();
    anyhow::ensure!(
        valgrind.is_ok_and(|output| output.status.success()),
        "valgrind is needed to record what start-up runs: apt-get install -y valgrind"
    );
    crate::build::stamped_cargo(
        &["build", "--release", "--locked", "-p", "azcord-bench"],
        true,
    )?;
    // The release code with its symbol table, which callgrind names functions by:
    // stripping happens at the link, after the code is laid out.
    crate::build::stamped_cargo(
        &[
            "rustc",
            "--release",
            "--locked",
            "-p",
            "azcord",
            "--bin",
            "azcord",
            "--",
            "-C",
            "strip=none",
        ],
        true,
    )?;
    let release = stamp::target_dir().join("release");
    let scratch = stamp::target_dir().join("startup-order");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    // A copy, so that callgrind names exactly this file and no build replaces it.
    let binary = scratch.join("azcord");
    std::fs::copy(release.join("azcord"), &binary)?;
    let profile = scratch.join("callgrind.out");
    let status = Command::new(release.join("azcord-bench"))
        .arg("--azcord")
        .arg(&binary)
        .arg("startup")
        .arg("--profile")
        .arg(&profile)
        .current_dir(crate::project_root())
        .status()
        .context("cannot run azcord-bench")?;
    anyhow::ensure!(
        status.success(),
        "azcord-bench startup failed with {status}"
    );
    let read = |part: u32| {
        let path = PathBuf::from(format!("{}.{part}", profile.display()));
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let idle = functions_run(&read(1)?, "azcord");
    let ping: BTreeSet<String> = functions_run(&read(2)?, "azcord")
        .difference(&idle)
        .cloned()
        .collect();
    anyhow::ensure!(
        !idle.is_empty(),
        "callgrind recorded no function of azcord: was it built with its symbols?"
    );
    std::fs::write(order_file(), order_text(&idle, &ping, &rustc_version()?))?;
    crate::output::line(&format!(
        "{}: {} functions from start to idle, {} more for the first /ping; \
         the next release build links with it",
        order_file().display(),
        idle.len(),
        ping.len()
    ));
    Ok(())
}

/// The list as the linker reads it (`#` starts a comment): what start-up runs first,
/// then what the first `/ping` adds, each sorted so that a new recording reads as a
/// small diff.
fn order_text(idle: &BTreeSet<String>, ping: &BTreeSet<String>, rustc: &str) -> String {
    let mut text = format!(
        "# The functions `azcord run` runs from start to idle, then those its first /ping\n\
         # adds, laid out first in the release binary's code (crates/azcord/build.rs).\n\
         # Recorded by `cargo xtask startup-order` with {rustc}.\n\
         # Record it again after a toolchain or dependency update; --check tells.\n"
    );
    for name in idle.iter().chain(ping) {
        text.push_str(name);
        text.push('\n');
    }
    text
}

/// The functions of the binary named `binary` that a callgrind profile written with
/// `--compress-strings=no` records as run: each `fn=` under an `ob=` naming it.
/// Recursion levels (`name'2`) are one function, and code without a symbol (named by
/// its address) is left out.
fn functions_run(profile: &str, binary: &str) -> BTreeSet<String> {
    let mut in_binary = false;
    let mut names = BTreeSet::new();
    for line in profile.lines() {
        if let Some(object) = line.strip_prefix("ob=") {
            in_binary = Path::new(object.trim()).file_name() == Some(binary.as_ref());
        } else if let Some(name) = line.strip_prefix("fn=")
            && in_binary
        {
            let name = name.split('\'').next().unwrap_or_default().trim();
            if is_symbol(name) {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// Whether `name` is a symbol a linker can order: a C or mangled Rust name, with the
/// `.llvm.` and `$` a mangled name may hold.
fn is_symbol(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'))
}

/// The listed names, without comments and blank lines, as lld reads them.
fn listed_functions(list: &str) -> Vec<String> {
    list.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The functions a link map of lld names: with a section per function, each input
/// section `file:(.text.NAME)` holds function NAME.
fn functions_in_map(map: &str) -> HashSet<&str> {
    map.lines()
        .filter_map(|line| line.split_once(":(.text.")?.1.strip_suffix(')'))
        .map(|name| {
            ["unlikely.", "hot.", "startup.", "exit.", "split."]
                .iter()
                .find_map(|prefix| name.strip_prefix(prefix))
                .unwrap_or(name)
        })
        .collect()
}

/// The map of the newest release link of azcord, which crates/azcord/build.rs has
/// the linker write into the build script's output directory.
fn newest_link_map() -> anyhow::Result<PathBuf> {
    let build = stamp::target_dir().join("release/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(&build).with_context(|| {
        format!(
            "cannot read {}: build with --release first",
            build.display()
        )
    })? {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with("azcord-") {
            continue;
        }
        let map = entry.path().join("out/azcord.map");
        if let Ok(modified) = std::fs::metadata(&map).and_then(|meta| meta.modified())
            && newest.as_ref().is_none_or(|(time, _)| modified > *time)
        {
            newest = Some((modified, map));
        }
    }
    newest.map(|(_, map)| map).with_context(|| {
        format!(
            "no link map of azcord under {}: build it with `cargo xtask build --release`",
            build.display()
        )
    })
}

/// `rustc --version`, for the list's header.
fn rustc_version() -> anyhow::Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .context("cannot run rustc")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_functions_of_the_binary_from_a_profile() {
        let profile = "\
ob=/usr/lib/x86_64-linux-gnu/libc.so.6
fn=malloc
1 5
ob=/work/target/startup-order/azcord
fn=main
1 2
cfn=_ZN6azcord4main17hfe5e91b993259fd7E
calls=1 0
1 10
fn=_ZN6azcord4main17hfe5e91b993259fd7E
1 10
fn=_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal'2
1 1
fn=_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hb1757ffa649abab6E.llvm.1010
1 1
fn=0x00000000005e33a0
1 1
fn=(below main)
1 1
ob=???
fn=free
1 1
";
        let names: Vec<String> = functions_run(profile, "azcord").into_iter().collect();
        expect_test::expect![[r#"
            [
                "_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal",
                "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17hb1757ffa649abab6E.llvm.1010",
                "_ZN6azcord4main17hfe5e91b993259fd7E",
                "main",
            ]
        "#]]
        .assert_debug_eq(&names);
    }

    #[test]
    fn the_list_is_start_up_then_the_first_ping_and_reads_back() {
        let idle: BTreeSet<String> = ["main", "_ZN1a1b17h0000000000000000E"]
            .map(str::to_owned)
            .into();
        let ping: BTreeSet<String> = ["_ZN1c1d17h1111111111111111E".to_owned()].into();
        let text = order_text(&idle, &ping, "rustc 1.95.0");
        expect_test::expect![[r#"
            # The functions `azcord run` runs from start to idle, then those its first /ping
            # adds, laid out first in the release binary's code (crates/azcord/build.rs).
            # Recorded by `cargo xtask startup-order` with rustc 1.95.0.
            # Record it again after a toolchain or dependency update; --check tells.
            _ZN1a1b17h0000000000000000E
            main
            _ZN1c1d17h1111111111111111E
        "#]]
        .assert_eq(&text);
        assert_eq!(
            listed_functions(&text),
            [
                "_ZN1a1b17h0000000000000000E",
                "main",
                "_ZN1c1d17h1111111111111111E"
            ]
        );
    }

    #[test]
    fn reads_the_functions_a_link_map_names() {
        let map = "\
             VMA              LMA     Size Align Out     In      Symbol
          5e32c0           5e32c0       2d    16 .text
          5e32c0           5e32c0       2d    16         /t/deps/azcord-1.azcord.2-cgu.0.rcgu.o:(.text.main)
          5e32c0           5e32c0       2d     1                 main
          5e39c0           5e39c0        6    16         /t/deps/azcord-1.azcord.2-cgu.2.rcgu.o:(.text._ZN6azcord4main17hfe5e91b993259fd7E)
          5e39c0           5e39c0        6     1                 azcord::main::hfe5e91b993259fd7
          5e3a00           5e3a00        6    16         /t/deps/x.o:(.text.unlikely._ZN4cold17h0E)
          6e0000           6e0000       10     8         /t/deps/x.o:(.rodata._ZN4data17h1E)
";
        let mut names: Vec<&str> = functions_in_map(map).into_iter().collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "_ZN4cold17h0E",
                "_ZN6azcord4main17hfe5e91b993259fd7E",
                "main"
            ]
        );
    }

    #[test]
    fn a_list_is_current_while_most_of_it_is_found() {
        let cases = [
            (1646, 1646, true),
            (1235, 1646, true),
            (1234, 1646, false),
            (0, 1646, false),
            (0, 0, false),
        ];
        for (found, listed, current) in cases {
            assert_eq!(
                Coverage { found, listed }.is_current(),
                current,
                "{found} of {listed}"
            );
        }
    }
}
