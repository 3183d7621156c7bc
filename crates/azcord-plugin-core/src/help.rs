use std::fmt::Write as _;

use azcord_command::{
    AutocompleteContext, BoxFuture, Command, CommandError, CommandKind, Context, Reply, Signature,
    twilight_interactions::command::{CommandModel, CreateCommand},
    twilight_model::{
        application::command::{CommandOptionChoice, CommandOptionChoiceValue},
        channel::message::{Embed, embed::EmbedField},
    },
};
use twilight_util::builder::embed::EmbedBuilder;

/// `/help`: the commands the caller may run, or the details of one.
pub(crate) struct Help;

#[derive(CommandModel, CreateCommand)]
#[command(
    name = "help",
    desc = "List the commands you can run here, or explain one"
)]
struct HelpOptions {
    /// A command to explain, such as `vm start`
    #[command(autocomplete = true)]
    command: Option<String>,
}

impl Command for Help {
    fn signature(&self) -> Signature {
        let definition = HelpOptions::create_command();
        Signature::new(definition.name, definition.description)
            .options(definition.options)
            .ephemeral()
            .example("/help", "lists the commands you can run here")
            .example("/help command:ping", "explains /ping")
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: HelpOptions = ctx.options()?;
            let visible: Vec<(&str, &Signature)> = ctx.catalog.visible_to(&ctx.caller).collect();
            let embed = match options.command {
                None => overview(&visible),
                Some(name) => {
                    let name = name.trim().trim_start_matches('/');
                    let Some((_, signature)) = visible.iter().find(|(_, s)| s.name == name) else {
                        return Err(CommandError::user(format!(
                            "there is no command `/{name}` that you can run here; `/help` lists them"
                        )));
                    };
                    details(signature)
                }
            };
            Ok(Reply::embed(embed))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move {
            let visible: Vec<&Signature> = ctx
                .catalog
                .visible_to(&ctx.caller)
                .map(|(_, signature)| signature)
                .collect();
            Ok(suggest(&visible, &ctx.partial))
        })
    }
}

fn overview(visible: &[(&str, &Signature)]) -> Embed {
    let mut fields: Vec<EmbedField> = Vec::new();
    for (plugin, signature) in visible {
        let line = format!("`/{}` {}", signature.name, signature.description);
        match fields.iter_mut().find(|field| field.name == *plugin) {
            Some(field) => {
                field.value.push('\n');
                field.value.push_str(&line);
            }
            None => fields.push(EmbedField {
                inline: false,
                name: (*plugin).to_owned(),
                value: line,
            }),
        }
    }
    embed(
        "Commands you can run here",
        "`/help command:<name>` explains one in detail.".to_owned(),
        fields,
    )
}

fn details(signature: &Signature) -> Embed {
    let mut description = signature.description.clone();
    let _ = write!(
        description,
        "\n\nKind: {}{}",
        signature.kind.as_str(),
        match signature.kind {
            CommandKind::Read => " (only reads)",
            CommandKind::Write => " (changes resources)",
            CommandKind::Destructive => " (costs money or availability; asks first)",
        }
    );
    let mut fields = Vec::new();
    if !signature.options.is_empty() {
        let options = signature
            .options
            .iter()
            .map(|option| {
                let required = if option.required == Some(true) {
                    ""
                } else {
                    " (optional)"
                };
                format!("`{}`{required}: {}", option.name, option.description)
            })
            .collect::<Vec<_>>()
            .join("\n");
        fields.push(EmbedField {
            inline: false,
            name: "Options".to_owned(),
            value: options,
        });
    }
    if !signature.examples.is_empty() {
        let examples = signature
            .examples
            .iter()
            .map(|example| format!("`{}` {}", example.line, example.description))
            .collect::<Vec<_>>()
            .join("\n");
        fields.push(EmbedField {
            inline: false,
            name: "Examples".to_owned(),
            value: examples,
        });
    }
    embed(&format!("/{}", signature.name), description, fields)
}

fn embed(title: &str, description: String, fields: Vec<EmbedField>) -> Embed {
    fields
        .into_iter()
        .fold(
            EmbedBuilder::new()
                .title(title)
                .description(description)
                .color(crate::BRAND_COLOR),
            EmbedBuilder::field,
        )
        .build()
}

/// Suggests the commands the caller may run whose names contain what was typed.
pub(crate) fn suggest(visible: &[&Signature], partial: &str) -> Vec<CommandOptionChoice> {
    let partial = partial.trim().trim_start_matches('/').to_lowercase();
    visible
        .iter()
        .filter(|signature| signature.name.contains(&partial))
        .take(25)
        .map(|signature| CommandOptionChoice {
            name: format!("/{}", signature.name),
            name_localizations: None,
            value: CommandOptionChoiceValue::String(signature.name.clone()),
        })
        .collect()
}
