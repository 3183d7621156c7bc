//! What every action says, whatever the resource type: pure functions of the action's
//! spec, the resource and the time taken.

use std::fmt::{Display, Write as _};

use azcord_command::{Reply, code_block_table};
use twilight_util::builder::embed::EmbedBuilder;

use crate::{ActionSpec, Resource, Verbs};

/// The colour of every Azure embed.
pub const AZURE_BLUE: u32 = 0x0078D4;
/// What fits in an embed description (4096 characters), leaving room for the closing
/// lines.
pub const DESCRIPTION_BUDGET: usize = 3800;

/// A list of resources as a table in one embed, titled by `title` from the scope (the
/// subscription or one resource group), or a sentence when there are none.
///
/// The first two columns are the name and the resource group; rows are sorted by
/// group, then name, and cut to fit with a line saying how many more there are.
pub fn list_table(
    plural: &str,
    resource_group: Option<&str>,
    headers: &[&str],
    mut rows: Vec<Vec<String>>,
    title: impl FnOnce(&str) -> String,
) -> Reply {
    let scope = resource_group.map_or_else(
        || "the subscription".to_owned(),
        |group| format!("`{group}`"),
    );
    if rows.is_empty() {
        return Reply::text(format!("There are no {plural} in {scope}."));
    }
    rows.sort_by(|a, b| (&a[1], &a[0]).cmp(&(&b[1], &b[0])));
    let (mut table, shown) = code_block_table(headers, &rows, DESCRIPTION_BUDGET);
    if shown < rows.len() {
        let _ = write!(
            table,
            "\n… and {} more: narrow it with `resource_group:`",
            rows.len() - shown
        );
    }
    Reply::embed(
        EmbedBuilder::new()
            .title(title(&scope))
            .description(table)
            .color(AZURE_BLUE)
            .build(),
    )
}

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

/// An action under way that the next process will follow, as azcord restarts.
pub fn handed_over<N: Display>(verbs: &Verbs, target: &Resource<N>) -> String {
    format!(
        "{} azcord is restarting and will report the outcome",
        progress(verbs, target, None)
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
