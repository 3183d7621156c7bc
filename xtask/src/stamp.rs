//! What a build is stamped with: version, commit, build number, source and time.
//!
//! The same rules as `crates/azcord/build.rs`, so that the image's labels and tags
//! agree with what `azcord --version` prints.

use std::{path::PathBuf, process::Command};

/// The identity of the build being packaged or published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The azcord crate's version.
    pub(crate) version: String,
    /// The full commit id, or `unknown` outside a checkout.
    pub(crate) revision: String,
    /// The CI build number, or 0 for a local build.
    pub(crate) build_number: String,
    /// Where the source lives, when it can be told.
    pub(crate) source_url: Option<String>,
    /// Seconds since the epoch: `SOURCE_DATE_EPOCH`, else the commit time.
    pub(crate) created_epoch: i64,
}

impl Stamp {
    /// The stamp of the current checkout and environment.
    pub(crate) fn current() -> anyhow::Result<Self> {
        let revision = env_var("AZCORD_GIT_SHA")
            .or_else(|| env_var("CIRCLE_SHA1"))
            .or_else(|| git(&["rev-parse", "HEAD"]))
            .unwrap_or_else(|| "unknown".to_owned());
        let created_epoch = match env_var("SOURCE_DATE_EPOCH") {
            Some(epoch) => epoch
                .parse()
                .map_err(|_| anyhow::anyhow!("SOURCE_DATE_EPOCH `{epoch}` is not a number"))?,
            None => git(&["log", "-1", "--format=%ct"])
                .and_then(|seconds| seconds.parse().ok())
                .unwrap_or(0),
        };
        Ok(Self {
            version: azcord_version()?,
            revision,
            build_number: build_number(),
            source_url: env_var("CIRCLE_REPOSITORY_URL")
                .or_else(|| git(&["remote", "get-url", "origin"]))
                .and_then(|url| source_url(&url)),
            created_epoch,
        })
    }

    /// The commit as `azcord --version` shows it: 12 hex digits.
    pub(crate) fn short_revision(&self) -> String {
        self.revision.chars().take(12).collect()
    }

    /// `created_epoch` as RFC 3339, in UTC.
    pub(crate) fn created(&self) -> String {
        chrono::DateTime::from_timestamp(self.created_epoch, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// The build number `crates/azcord/build.rs` stamps: the CI's, or 0 locally.
pub(crate) fn build_number() -> String {
    env_var("AZCORD_BUILD_NUMBER")
        .or_else(|| env_var("CIRCLE_BUILD_NUM"))
        .unwrap_or_else(|| "0".to_owned())
}

/// Whether this is a build of the main branch: CircleCI's branch, else git's.
pub(crate) fn on_main_branch() -> bool {
    env_var("CIRCLE_BRANCH")
        .or_else(|| git(&["branch", "--show-current"]))
        .is_some_and(|branch| branch == "main")
}

/// The directory cargo builds into: `CARGO_TARGET_DIR`, else `target/` at the root.
pub(crate) fn target_dir() -> PathBuf {
    let root = crate::project_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// A browsable https URL for a git remote, in either of its usual forms.
fn source_url(remote: &str) -> Option<String> {
    let remote = remote.trim().trim_end_matches(".git");
    if let Some(rest) = remote.strip_prefix("git@") {
        let (host, path) = rest.split_once(':')?;
        return Some(format!("https://{host}/{path}"));
    }
    let url = remote
        .strip_prefix("ssh://git@")
        .map_or_else(|| remote.to_owned(), |rest| format!("https://{rest}"));
    (url.starts_with("https://") || url.starts_with("http://")).then_some(url)
}

fn azcord_version() -> anyhow::Result<String> {
    let root = crate::project_root();
    let package = read_toml(&root.join("crates/azcord/Cargo.toml"))?;
    let version = package
        .get("package")
        .and_then(|package| package.get("version"));
    let version = match version {
        Some(toml::Value::String(version)) => Some(version.clone()),
        _ => read_toml(&root.join("Cargo.toml"))?
            .get("workspace")
            .and_then(|workspace| workspace.get("package"))
            .and_then(|package| package.get("version"))
            .and_then(toml::Value::as_str)
            .map(str::to_owned),
    };
    version.ok_or_else(|| anyhow::anyhow!("cannot tell azcord's version from its Cargo.toml"))
}

fn read_toml(path: &std::path::Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    Ok(toml::from_str(&text)?)
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(crate::project_root())
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_urls_from_git_remotes() {
        let cases = [
            (
                "git@github.com:example/azcord.git",
                Some("https://github.com/example/azcord"),
            ),
            (
                "https://github.com/example/azcord.git",
                Some("https://github.com/example/azcord"),
            ),
            (
                "ssh://git@github.com/example/azcord",
                Some("https://github.com/example/azcord"),
            ),
            ("/srv/git/azcord", None),
        ];
        for (remote, expected) in cases {
            assert_eq!(source_url(remote).as_deref(), expected, "{remote}");
        }
    }

    #[test]
    fn created_is_rfc3339_utc() {
        let stamp = Stamp {
            version: "1.2.3".into(),
            revision: "0123456789abcdef0123".into(),
            build_number: "7".into(),
            source_url: None,
            created_epoch: 1_700_000_000,
        };
        assert_eq!(stamp.created(), "2023-11-14T22:13:20Z");
        assert_eq!(stamp.short_revision(), "0123456789ab");
    }
}
