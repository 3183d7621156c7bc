//! What every action says, whatever the resource type: pure functions of the action's
//! spec, the resource and the time taken.

use std::fmt::Display;

use crate::{ActionSpec, Resource, Verbs};

/// The question put before a destructive action.
pub fn confirmation<A, N: Display>(
    spec: &ActionSpec<A>,
    target: &Resource<N>,
    ttl_secs: u64,
) -> String {
    format!(
        "⚠️ {} **{}** in `{}`? {}\nOnly you can answer; this expires in {ttl_secs} s.",
        spec.verbs.button, target.name, target.resource_group, spec.consequence
    )
}

/// The answer to the Cancel button.
pub fn cancelled<N: Display>(target: &Resource<N>) -> String {
    format!(
        "Cancelled: **{}** in `{}` was left as it was.",
        target.name, target.resource_group
    )
}

/// An action under way, with the time so far once it is being polled.
pub fn progress<N: Display>(
    verbs: &Verbs,
    target: &Resource<N>,
    elapsed_secs: Option<u64>,
) -> String {
    format!(
        "🔄 {} **{}** in `{}`…{}",
        verbs.doing,
        target.name,
        target.resource_group,
        elapsed_secs
            .map(|secs| format!(" {secs} s"))
            .unwrap_or_default()
    )
}

/// An action that succeeded.
pub fn done<N: Display>(verbs: &Verbs, target: &Resource<N>, elapsed_secs: u64) -> String {
    format!(
        "✅ **{}** in `{}` {} · took {elapsed_secs} s",
        target.name, target.resource_group, verbs.done
    )
}

/// An action that failed, with Azure's reason.
pub fn failed<N: Display>(
    verbs: &Verbs,
    target: &Resource<N>,
    reason: &str,
    elapsed_secs: u64,
) -> String {
    format!(
        "Could not {} **{}** in `{}` · {reason} · after {elapsed_secs} s",
        verbs.command, target.name, target.resource_group
    )
}
