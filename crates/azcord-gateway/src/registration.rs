use serde_json::Value;
use twilight_http::Client;
use twilight_model::{
    application::command::Command,
    id::{
        Id,
        marker::{ApplicationMarker, GuildMarker},
    },
};

/// What registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registration {
    /// Discord already had exactly these definitions.
    Unchanged,
    /// The definitions were replaced.
    Updated,
}

/// Registers `desired` globally, or in `guild`, unless Discord already has them.
pub(crate) async fn sync_commands(
    client: &Client,
    application_id: Id<ApplicationMarker>,
    guild: Option<Id<GuildMarker>>,
    desired: &[Command],
) -> Result<Registration, RegistrationError> {
    let interaction = client.interaction(application_id);
    let response = match guild {
        Some(guild) => interaction.guild_commands(guild).await?,
        None => interaction.global_commands().await?,
    };
    let existing = response.models().await.map_err(RegistrationError::Body)?;
    if same_definitions(&existing, desired) {
        return Ok(Registration::Unchanged);
    }
    match guild {
        Some(guild) => interaction.set_guild_commands(guild, desired).await?,
        None => interaction.set_global_commands(desired).await?,
    };
    Ok(Registration::Updated)
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistrationError {
    #[error(transparent)]
    Request(#[from] twilight_http::Error),
    #[error("could not read the registered commands: {0}")]
    Body(#[source] twilight_http::response::DeserializeBodyError),
}

/// Whether two sets of definitions mean the same to Discord, ignoring the fields
/// Discord fills in (ids, versions) and the defaults it leaves out.
fn same_definitions(existing: &[Command], desired: &[Command]) -> bool {
    let normalize = |commands: &[Command]| -> Vec<Value> {
        let mut values: Vec<Value> = commands
            .iter()
            .map(|command| {
                let mut value = serde_json::to_value(command).unwrap_or(Value::Null);
                if let Value::Object(fields) = &mut value {
                    for key in [
                        "id",
                        "application_id",
                        "guild_id",
                        "version",
                        "dm_permission",
                    ] {
                        fields.remove(key);
                    }
                }
                strip_defaults(&mut value);
                value
            })
            .collect();
        values.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        values
    };
    normalize(existing) == normalize(desired)
}

/// Drops nulls, `false`s and empty lists, which Discord treats as absent.
fn strip_defaults(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|_, field| {
                !matches!(field, Value::Null | Value::Bool(false))
                    && !matches!(field, Value::Array(items) if items.is_empty())
            });
            fields.values_mut().for_each(strip_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_defaults),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn command(value: Value) -> Command {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn registration_ignores_what_discord_fills_in() {
        let desired = command(json!({
            "name": "vm", "description": "machines", "type": 1, "version": "1",
            "options": [{"type": 1, "name": "start", "description": "start one",
                          "options": [{"type": 3, "name": "name", "description": "vm", "required": true}]}]
        }));
        let stored = command(json!({
            "id": "99", "application_id": "7", "version": "123", "name": "vm", "description": "machines",
            "type": 1, "nsfw": false, "dm_permission": true,
            "options": [{"type": 1, "name": "start", "description": "start one",
                          "options": [{"type": 3, "name": "name", "description": "vm", "required": true}]}]
        }));
        let changed = command(
            json!({"name": "vm", "description": "virtual machines", "type": 1, "version": "1"}),
        );
        let table = [
            (vec![stored.clone()], vec![desired.clone()], true),
            (vec![], vec![desired.clone()], false),
            (vec![stored.clone()], vec![changed], false),
            (vec![stored.clone(), stored], vec![desired], false),
        ];
        for (index, (existing, desired, same)) in table.into_iter().enumerate() {
            assert_eq!(same_definitions(&existing, &desired), same, "case {index}");
        }
    }
}
