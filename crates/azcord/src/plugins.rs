//! Every plugin azcord runs, registered in one place.

use azcord_command::Registry;
use azcord_plugin_core::BuildInfo;

/// This build, as `/about` and `--version` show it.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_sha: env!("AZCORD_GIT_SHA").to_owned(),
        build: env!("AZCORD_BUILD_NUMBER").to_owned(),
    }
}

/// All commands, grouped by plugin.
pub fn registry() -> anyhow::Result<Registry> {
    Ok(Registry::new([azcord_plugin_core::plugin(build_info())])?)
}
