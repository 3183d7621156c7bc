use twilight_model::{
    channel::message::{
        Component, Embed, MessageFlags,
        component::{ActionRow, Button as DiscordButton, ButtonStyle as DiscordButtonStyle},
    },
    http::interaction::InteractionResponseData,
};

/// What a command answers: text, embeds and buttons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Plain message text (Discord markdown).
    pub content: Option<String>,
    /// Rich embeds, at most 10.
    pub embeds: Vec<Embed>,
    /// Buttons under the message, laid out five to a row.
    pub buttons: Vec<Button>,
    /// Whether only the caller sees the reply.
    pub ephemeral: bool,
}

impl Reply {
    /// A reply with just text.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: Some(content.into()),
            ..Self::default()
        }
    }

    /// A reply with one embed.
    pub fn embed(embed: Embed) -> Self {
        Self {
            embeds: vec![embed],
            ..Self::default()
        }
    }

    /// Makes the reply visible only to the caller.
    pub fn ephemeral(mut self) -> Self {
        self.ephemeral = true;
        self
    }

    /// Adds a button.
    pub fn button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }

    /// The reply as Discord's interaction response data.
    pub fn to_response_data(&self) -> InteractionResponseData {
        InteractionResponseData {
            content: Some(self.content.clone().unwrap_or_default()),
            embeds: Some(self.embeds.clone()),
            components: Some(self.components()),
            flags: self.ephemeral.then_some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        }
    }

    /// The buttons as Discord action rows.
    pub fn components(&self) -> Vec<Component> {
        self.buttons
            .chunks(5)
            .map(|row| {
                Component::ActionRow(ActionRow {
                    id: None,
                    components: row.iter().map(Button::to_component).collect(),
                })
            })
            .collect()
    }
}

impl From<String> for Reply {
    fn from(content: String) -> Self {
        Self::text(content)
    }
}

impl From<&str> for Reply {
    fn from(content: &str) -> Self {
        Self::text(content)
    }
}

/// A button under a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Routes the click back: `<command name>|<payload>`.
    pub custom_id: String,
    /// The text on the button.
    pub label: String,
    /// Its colour.
    pub style: ButtonStyle,
    /// Whether it can be clicked.
    pub disabled: bool,
}

impl Button {
    /// A button whose clicks reach `component` of the command named `command` with `payload`.
    pub fn for_command(
        command: &str,
        payload: &str,
        label: impl Into<String>,
        style: ButtonStyle,
    ) -> Self {
        Self {
            custom_id: format!("{command}{CUSTOM_ID_SEPARATOR}{payload}"),
            label: label.into(),
            style,
            disabled: false,
        }
    }

    /// Splits a custom id made by [`Button::for_command`] into command name and payload.
    pub fn parse_custom_id(custom_id: &str) -> Option<(&str, &str)> {
        custom_id.split_once(CUSTOM_ID_SEPARATOR)
    }

    fn to_component(&self) -> Component {
        Component::Button(DiscordButton {
            custom_id: Some(self.custom_id.clone()),
            disabled: self.disabled,
            emoji: None,
            id: None,
            label: Some(self.label.clone()),
            sku_id: None,
            style: match self.style {
                ButtonStyle::Primary => DiscordButtonStyle::Primary,
                ButtonStyle::Secondary => DiscordButtonStyle::Secondary,
                ButtonStyle::Success => DiscordButtonStyle::Success,
                ButtonStyle::Danger => DiscordButtonStyle::Danger,
            },
            url: None,
        })
    }
}

const CUSTOM_ID_SEPARATOR: char = '|';

/// The colour of a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    /// Blurple, for the expected choice.
    Primary,
    /// Grey, for cancel and other neutral choices.
    Secondary,
    /// Green.
    Success,
    /// Red, for choices that cost something.
    Danger,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_route_back_to_their_command() {
        let button = Button::for_command("vm stop", "confirm:42", "Stop", ButtonStyle::Danger);
        assert_eq!(
            Button::parse_custom_id(&button.custom_id),
            Some(("vm stop", "confirm:42"))
        );
        assert_eq!(Button::parse_custom_id("no separator"), None);
    }

    #[test]
    fn buttons_are_laid_out_five_to_a_row() {
        let reply = (0..7).fold(Reply::text("pick"), |reply, n| {
            reply.button(Button::for_command(
                "x",
                &n.to_string(),
                "b",
                ButtonStyle::Primary,
            ))
        });
        let rows: Vec<usize> = reply
            .components()
            .iter()
            .map(|row| match row {
                Component::ActionRow(row) => row.components.len(),
                other => panic!("not a row: {other:?}"),
            })
            .collect();
        assert_eq!(rows, [5, 2]);
    }

    #[test]
    fn ephemeral_sets_the_flag() {
        assert_eq!(Reply::text("a").to_response_data().flags, None);
        assert_eq!(
            Reply::text("a").ephemeral().to_response_data().flags,
            Some(MessageFlags::EPHEMERAL)
        );
    }
}
