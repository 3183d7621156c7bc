//! What the `/vm` commands show: pure functions from Azure's data to replies.

use azcord_azure::{PowerState, VmDetails, VmSummary};
use azcord_command::Reply;
use azcord_resource::render::{AZURE_BLUE, list_table};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};

/// The list of VMs as a table in one embed.
pub(crate) fn list(vms: &[VmSummary], resource_group: Option<&str>) -> Reply {
    let rows = vms
        .iter()
        .map(|vm| {
            vec![
                vm.name.clone(),
                vm.resource_group.clone(),
                vm.power_state.as_ref().map_or_else(
                    || "? unknown".to_owned(),
                    |state| format!("{} {state}", icon(state)),
                ),
                vm.size.clone().unwrap_or_default(),
                vm.location.clone(),
            ]
        })
        .collect();
    let running = vms
        .iter()
        .filter(|vm| vm.power_state == Some(PowerState::Running))
        .count();
    list_table(
        "VMs",
        resource_group,
        &["NAME", "RESOURCE GROUP", "STATE", "SIZE", "LOCATION"],
        rows,
        |scope| format!("{} VMs in {scope} · {running} running", vms.len()),
    )
}

/// One VM's details.
pub(crate) fn status(details: &VmDetails) -> Reply {
    let vm = &details.summary;
    let state = vm.power_state.as_ref().map_or_else(
        || "? unknown".to_owned(),
        |state| format!("{} {state}", icon(state)),
    );
    let mut embed = EmbedBuilder::new()
        .title(&vm.name)
        .color(AZURE_BLUE)
        .field(EmbedFieldBuilder::new("Power state", state).inline())
        .field(EmbedFieldBuilder::new("Size", vm.size.as_deref().unwrap_or("?")).inline())
        .field(EmbedFieldBuilder::new("Location", &vm.location).inline())
        .field(EmbedFieldBuilder::new("Resource group", &vm.resource_group).inline())
        .field(EmbedFieldBuilder::new("OS", details.os_type.as_deref().unwrap_or("?")).inline())
        .field(
            EmbedFieldBuilder::new(
                "Provisioning",
                details.provisioning_state.as_deref().unwrap_or("?"),
            )
            .inline(),
        );
    if !details.tags.is_empty() {
        let tags: Vec<String> = details
            .tags
            .iter()
            .map(|(key, value)| format!("`{key}={value}`"))
            .collect();
        embed = embed.field(EmbedFieldBuilder::new("Tags", tags.join(" ")));
    }
    if let Some(note) = vm.power_state.as_ref().and_then(billing_note) {
        embed = embed.description(note);
    }
    Reply::embed(embed.build())
}

/// What a power state means for the bill, when it is not obvious.
fn billing_note(state: &PowerState) -> Option<&'static str> {
    match state {
        PowerState::Stopped => Some(
            "Stopped but still allocated: compute is still billed. `/vm deallocate` stops that.",
        ),
        PowerState::Deallocated => Some("Deallocated: compute is not billed; disks still are."),
        _ => None,
    }
}

fn icon(state: &PowerState) -> &'static str {
    match state {
        PowerState::Running => "🟢",
        PowerState::Stopped => "🟡",
        PowerState::Deallocated => "⚪",
        PowerState::Starting | PowerState::Stopping | PowerState::Deallocating => "🔄",
        PowerState::Unknown(_) => "❔",
    }
}
