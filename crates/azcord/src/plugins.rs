//! Every plugin azcord runs, registered in one place.

use azcord_azure::Azure;
use azcord_command::{Plugin, Registry};
use azcord_plugin_core::BuildInfo;
/// How the Azure plugins behave: the `[azure]` table of the config, one for every
/// resource type.
pub use azcord_resource::AzureSettings;
use azcord_store::Store;

/// This build, as `/about` and `--version` show it.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_sha: env!("AZCORD_GIT_SHA").to_owned(),
        build: env!("AZCORD_BUILD_NUMBER").to_owned(),
    }
}

/// Every plugin, with the Azure ones over `azure`, recording in `store`.
pub fn plugins(azure: &Azure, settings: AzureSettings, store: &Store) -> Vec<Plugin> {
    vec![
        azcord_plugin_core::plugin(build_info()),
        azcord_plugin_vm::plugin(azure, settings, store.clone()),
        azcord_plugin_aci::plugin(azure, settings, store.clone()),
        azcord_plugin_webapp::plugin(azure, settings, store.clone()),
    ]
}

/// All commands, grouped by plugin, for what only describes them: over a store in
/// memory, as nothing runs.
pub fn registry(azure: &Azure, settings: AzureSettings) -> anyhow::Result<Registry> {
    Ok(Registry::new(plugins(
        azure,
        settings,
        &Store::in_memory(),
    ))?)
}
