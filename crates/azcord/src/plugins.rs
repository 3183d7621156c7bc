//! Every plugin azcord runs, registered in one place.

use std::time::Duration;

use azcord_azure::{Azure, WaitOptions};
use azcord_command::{Plugin, Registry};
use azcord_plugin_aci::AciSettings;
use azcord_plugin_core::BuildInfo;
use azcord_plugin_vm::VmSettings;

/// This build, as `/about` and `--version` show it.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_sha: env!("AZCORD_GIT_SHA").to_owned(),
        build: env!("AZCORD_BUILD_NUMBER").to_owned(),
    }
}

/// How the Azure plugins behave: the `[azure]` table of the config.
#[derive(Debug, Clone, Copy)]
pub struct AzureSettings {
    /// How long the resource lists behind names and autocomplete are reused.
    pub cache_ttl: Duration,
    /// How long Confirm buttons stay valid.
    pub confirm_ttl: Duration,
    /// How long to wait for operations, and how to pace the polls.
    pub wait: WaitOptions,
}

impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            confirm_ttl: Duration::from_secs(60),
            wait: WaitOptions::default(),
        }
    }
}

/// Every plugin, with the Azure ones over `azure`.
pub fn plugins(azure: &Azure, settings: AzureSettings) -> Vec<Plugin> {
    vec![
        azcord_plugin_core::plugin(build_info()),
        azcord_plugin_vm::plugin(
            azure,
            VmSettings {
                cache_ttl: settings.cache_ttl,
                confirm_ttl: settings.confirm_ttl,
                wait: settings.wait,
            },
        ),
        azcord_plugin_aci::plugin(
            azure,
            AciSettings {
                cache_ttl: settings.cache_ttl,
                confirm_ttl: settings.confirm_ttl,
                wait: settings.wait,
            },
        ),
    ]
}

/// All commands, grouped by plugin.
pub fn registry(azure: &Azure, settings: AzureSettings) -> anyhow::Result<Registry> {
    Ok(Registry::new(plugins(azure, settings))?)
}
