//! What the `/webapp` commands show: pure functions from Azure's data to replies.

use azcord_azure::WebAppSummary;
use azcord_command::Reply;
use azcord_resource::render::{AZURE_BLUE, list_table};
use twilight_util::builder::embed::{EmbedBuilder, EmbedFieldBuilder};

/// The list of web apps as a table in one embed.
pub(crate) fn list(apps: &[WebAppSummary], resource_group: Option<&str>) -> Reply {
    let rows = apps
        .iter()
        .map(|app| {
            vec![
                app.name.clone(),
                app.resource_group.clone(),
                state(app),
                app.default_host_name.clone().unwrap_or_default(),
                app.plan.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let running = apps.iter().filter(|app| is(app, "Running")).count();
    list_table(
        "web apps",
        resource_group,
        &["NAME", "RESOURCE GROUP", "STATE", "HOST NAME", "PLAN"],
        rows,
        |scope| {
            let noun = if apps.len() == 1 {
                "web app"
            } else {
                "web apps"
            };
            format!("{} {noun} in {scope} · {running} running", apps.len())
        },
    )
}

/// One web app's details.
pub(crate) fn status(app: &WebAppSummary) -> Reply {
    let mut embed = EmbedBuilder::new()
        .title(&app.name)
        .color(AZURE_BLUE)
        .field(EmbedFieldBuilder::new("State", state(app)).inline())
        .field(
            EmbedFieldBuilder::new(
                "Host name",
                app.default_host_name
                    .as_deref()
                    .map_or_else(|| "?".to_owned(), |host| format!("https://{host}")),
            )
            .inline(),
        )
        .field(EmbedFieldBuilder::new("Plan", app.plan.as_deref().unwrap_or("?")).inline())
        .field(EmbedFieldBuilder::new("Location", &app.location).inline())
        .field(EmbedFieldBuilder::new("Resource group", &app.resource_group).inline());
    if is(app, "Stopped") {
        embed = embed.description(
            "Stopped: it serves nothing, but its App Service plan is still billed. `/webapp start` starts it again.",
        );
    }
    Reply::embed(embed.build())
}

/// The state with its icon, lowercase as the other lists show states.
fn state(app: &WebAppSummary) -> String {
    match app.state.as_deref() {
        None => "? unknown".to_owned(),
        Some(state) => {
            let icon = match state.to_ascii_lowercase().as_str() {
                "running" => "🟢",
                "stopped" => "🟡",
                _ => "❔",
            };
            format!("{icon} {}", state.to_lowercase())
        }
    }
}

fn is(app: &WebAppSummary, state: &str) -> bool {
    app.state
        .as_deref()
        .is_some_and(|found| found.eq_ignore_ascii_case(state))
}
