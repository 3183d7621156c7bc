//! `/vm`: list, inspect, start, stop, deallocate and restart Azure virtual machines.

mod commands;
mod render;
mod resolve;

use std::{sync::Arc, time::Duration};

use azcord_azure::{Azure, VmAction, VmSummary, WaitOptions};
use azcord_command::{Confirmations, Plugin, TtlCache};

/// How the `/vm` commands behave.
#[derive(Debug, Clone, Copy)]
pub struct VmSettings {
    /// How long the VM list behind names and autocomplete is reused.
    pub cache_ttl: Duration,
    /// How long a Confirm button stays valid.
    pub confirm_ttl: Duration,
    /// How long to wait for an operation, and how to pace the polls.
    pub wait: WaitOptions,
}

impl Default for VmSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            confirm_ttl: Duration::from_secs(60),
            wait: WaitOptions::default(),
        }
    }
}

/// The `/vm` plugin over `azure`.
pub fn plugin(azure: &Azure, settings: VmSettings) -> Plugin {
    let shared = Arc::new(Shared {
        azure: azure.clone(),
        cache: TtlCache::new(settings.cache_ttl),
        confirmations: Confirmations::new(settings.confirm_ttl),
        settings,
    });
    Plugin::new("vm")
        .group("vm", "Operate Azure virtual machines")
        .command(commands::List(Arc::clone(&shared)))
        .command(commands::Status(Arc::clone(&shared)))
        .command(commands::Act::new(VmAction::Start, Arc::clone(&shared)))
        .command(commands::Act::new(VmAction::PowerOff, Arc::clone(&shared)))
        .command(commands::Act::new(
            VmAction::Deallocate,
            Arc::clone(&shared),
        ))
        .command(commands::Act::new(VmAction::Restart, shared))
}

/// What the commands share: Azure, the VM list cache and the open confirmations.
struct Shared {
    azure: Azure,
    cache: TtlCache<Vec<VmSummary>>,
    confirmations: Confirmations<resolve::VmTarget>,
    settings: VmSettings,
}

#[cfg(test)]
mod tests;
