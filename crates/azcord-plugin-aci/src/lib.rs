//! `/aci`: list, inspect, start, stop and restart Azure container instances, and read
//! their containers' logs.

mod commands;
mod render;
mod resolve;

use std::{sync::Arc, time::Duration};

use azcord_azure::{Azure, ContainerGroupAction, ContainerGroupSummary, WaitOptions};
use azcord_command::{Confirmations, Plugin, TtlCache};

/// How the `/aci` commands behave.
#[derive(Debug, Clone, Copy)]
pub struct AciSettings {
    /// How long the container group list behind names and autocomplete is reused.
    pub cache_ttl: Duration,
    /// How long a Confirm button stays valid.
    pub confirm_ttl: Duration,
    /// How long to wait for an operation, and how to pace the polls.
    pub wait: WaitOptions,
}

impl Default for AciSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            confirm_ttl: Duration::from_secs(60),
            wait: WaitOptions::default(),
        }
    }
}

/// The `/aci` plugin over `azure`.
pub fn plugin(azure: &Azure, settings: AciSettings) -> Plugin {
    let shared = Arc::new(Shared {
        azure: azure.clone(),
        cache: TtlCache::new(settings.cache_ttl),
        confirmations: Confirmations::new(settings.confirm_ttl),
        settings,
    });
    Plugin::new("aci")
        .group("aci", "Operate Azure container instances")
        .command(commands::List(Arc::clone(&shared)))
        .command(commands::Status(Arc::clone(&shared)))
        .command(commands::Act::new(
            ContainerGroupAction::Start,
            Arc::clone(&shared),
        ))
        .command(commands::Act::new(
            ContainerGroupAction::Stop,
            Arc::clone(&shared),
        ))
        .command(commands::Act::new(
            ContainerGroupAction::Restart,
            Arc::clone(&shared),
        ))
        .command(commands::Logs(shared))
}

/// What the commands share: Azure, the container group list cache and the open
/// confirmations.
struct Shared {
    azure: Azure,
    cache: TtlCache<Vec<ContainerGroupSummary>>,
    confirmations: Confirmations<resolve::GroupTarget>,
    settings: AciSettings,
}

#[cfg(test)]
mod tests;
