//! Test helpers for plugin crates: run every example of every command through a real
//! dispatcher, with an in-memory responder (nushell's `test_examples`).

use std::sync::Mutex;

use serde_json::json;
use twilight_model::{
    application::{
        command::Command as DiscordCommand, interaction::application_command::CommandData,
    },
    http::interaction::{InteractionResponse, InteractionResponseData},
    id::Id,
};

use crate::{
    BoxFuture, DispatchConfig, Dispatcher, InteractionTarget, Outcome, Policy, Registry,
    RespondError, Responder,
};

/// One example as it ran.
#[derive(Debug)]
pub struct ExampleRun {
    /// The example line.
    pub line: String,
    /// How the dispatcher says it ended.
    pub outcome: Outcome,
    /// The last message content the command produced, if any.
    pub content: Option<String>,
}

/// Runs every example of every command in `registry` as a member with `role_ids`,
/// using `parse` to turn a typed line into command data (the shell's parser).
pub async fn run_examples(
    registry: Registry,
    policy: Policy,
    role_ids: &[u64],
    parse: impl Fn(&str, &[DiscordCommand]) -> Result<CommandData, String>,
) -> Vec<ExampleRun> {
    let mut definitions = registry.definitions();
    for (index, definition) in definitions.iter_mut().enumerate() {
        definition.id = Some(Id::new(index as u64 + 1));
    }
    let lines: Vec<String> = registry
        .signatures()
        .flat_map(|(_, signature)| {
            signature
                .examples
                .iter()
                .map(|example| example.line.clone())
        })
        .collect();
    let dispatcher = Dispatcher::new(registry, policy, DispatchConfig::default());
    let mut runs = Vec::new();
    for (index, line) in lines.into_iter().enumerate() {
        let data = match parse(&line, &definitions) {
            Ok(data) => data,
            Err(error) => panic!("example `{line}` does not parse: {error}"),
        };
        let interaction = serde_json::from_value(json!({
            "id": (index + 1).to_string(), "application_id": "1", "type": 2, "token": "example-token", "version": 1,
            "guild_id": "5", "channel": {"id": "6", "type": 0},
            "member": {"user": {"id": "7", "username": "example", "discriminator": "0", "avatar": null},
                       "roles": role_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                       "joined_at": null, "deaf": false, "mute": false, "flags": 0},
            "data": data, "entitlements": [], "authorizing_integration_owners": {}, "attachment_size_limit": 0,
        }))
        .unwrap_or_else(|error| panic!("example `{line}` makes no interaction: {error}"));
        let responder = LastContent::default();
        let finished = dispatcher.handle(interaction, &responder, 0).await;
        let content = responder
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        runs.push(ExampleRun {
            line,
            outcome: finished.outcome,
            content,
        });
    }
    runs
}

#[derive(Default)]
struct LastContent(Mutex<Option<String>>);

impl LastContent {
    fn keep(&self, data: Option<&InteractionResponseData>) {
        let text = data.map(|data| {
            let mut text = data.content.clone().unwrap_or_default();
            for embed in data.embeds.iter().flatten() {
                text.push_str(embed.title.as_deref().unwrap_or_default());
                text.push_str(embed.description.as_deref().unwrap_or_default());
            }
            text
        });
        if let Some(text) = text {
            *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(text);
        }
    }
}

impl Responder for LastContent {
    fn respond<'a>(
        &'a self,
        _: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.keep(response.data.as_ref());
        Box::pin(async { Ok(()) })
    }

    fn edit_original<'a>(
        &'a self,
        _: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.keep(Some(data));
        Box::pin(async { Ok(()) })
    }

    fn followup<'a>(
        &'a self,
        _: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.keep(Some(data));
        Box::pin(async { Ok(()) })
    }
}
