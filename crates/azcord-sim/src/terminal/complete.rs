//! Tab completion and the hint line of a command line being typed, from the commands
//! the bot registered, the way Discord's client offers them.
//!
//! Command names, subcommands, option names and fixed choices come from the
//! definitions alone. The value of an option the bot autocompletes cannot: for those
//! [`complete`] returns the autocomplete interaction's data instead, which the caller
//! sends through the simulator and turns into candidates with
//! [`autocomplete_candidates`].

use twilight_model::application::{
    command::{
        Command, CommandOption, CommandOptionChoice, CommandOptionType,
        CommandOptionValue as OptionLimit, CommandType,
    },
    interaction::application_command::{CommandData, CommandDataOption, CommandOptionValue},
};

use super::input::{ChoiceValue, LimitDisplay, parse_value};

/// One thing Tab can put in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The text that replaces the word being typed, with the space that follows it.
    pub replacement: String,
    /// How the candidate is listed, such as `web-1 · staging · stopped`.
    pub display: String,
}

/// What Tab offers at a point of the line.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// Candidates known from the definitions, to replace the line from `start` (a byte
    /// offset) to the cursor.
    Candidates {
        /// Where the word being completed starts.
        start: usize,
        /// The candidates, in the order the definitions give them.
        candidates: Vec<Candidate>,
    },
    /// The value of an option the bot autocompletes: ask it with this interaction.
    Autocomplete(Box<AutocompleteRequest>),
}

/// An autocomplete interaction to send for the option being typed.
#[derive(Clone, Debug, PartialEq)]
pub struct AutocompleteRequest {
    /// Where the value being typed starts in the line (a byte offset).
    pub start: usize,
    /// The command and the options typed so far, the focused one holding the partial text.
    pub data: CommandData,
    /// The name of the option being typed.
    pub focused: String,
}

impl Completion {
    fn none(start: usize) -> Self {
        Self::Candidates {
            start,
            candidates: Vec::new(),
        }
    }
}

/// What Tab offers for `line` with the cursor at byte `cursor`.
pub fn complete(line: &str, cursor: usize, commands: &[Command]) -> Completion {
    let before = line.get(..cursor).unwrap_or(line);
    let mut words = split_words(before);
    let current = match words.last() {
        Some(word) if word.end == before.len() => words.pop(),
        _ => None,
    }
    .unwrap_or(Word {
        start: before.len(),
        end: before.len(),
        text: String::new(),
    });

    let Some(first) = words.first() else {
        return complete_command_name(&current, commands);
    };
    let Some(command) = chat_command(first, commands) else {
        return Completion::none(current.start);
    };
    let mut level = command.options.as_slice();
    let mut path = Vec::new();
    let mut rest = &words[1..];
    while has_subcommands(level) {
        let Some((word, tail)) = rest.split_first() else {
            let candidates = level
                .iter()
                .filter(|option| option.name.starts_with(current.text.as_str()))
                .map(|option| word_candidate(&option.name))
                .collect();
            return Completion::Candidates {
                start: current.start,
                candidates,
            };
        };
        let Some(option) = level.iter().find(|option| option.name == word.text) else {
            return Completion::none(current.start);
        };
        path.push(option);
        level = option.options.as_deref().unwrap_or_default();
        rest = tail;
    }

    let typed = typed_options(rest);
    // `name:` then a space: the next word is that option's value, as `name: value`.
    let pending = match rest.last().map(|word| split_option(&word.text)) {
        Some(Some((name, ""))) if !current.text.contains(':') => Some(name.to_owned()),
        _ => None,
    };
    let (focused, partial, start) = match (split_option(&current.text), pending) {
        (Some((name, value)), _) => (name.to_owned(), value, current.start + name.len() + 1),
        (None, Some(name)) => (name, current.text.as_str(), current.start),
        (None, None) => {
            let candidates = level
                .iter()
                .filter(|option| !typed.iter().any(|(name, _)| *name == option.name))
                .filter(|option| option.name.starts_with(current.text.as_str()))
                .map(|option| Candidate {
                    replacement: format!("{}:", option.name),
                    display: format!("{}:", option.name),
                })
                .collect();
            return Completion::Candidates {
                start: current.start,
                candidates,
            };
        }
    };
    let Some(definition) = level.iter().find(|option| option.name == focused) else {
        return Completion::none(start);
    };
    let partial = unquote(partial);
    if let Some(choices) = definition.choices.as_deref().filter(|c| !c.is_empty()) {
        return Completion::Candidates {
            start,
            candidates: fixed_choices(choices, &partial),
        };
    }
    if definition.kind == CommandOptionType::Boolean {
        let candidates = ["true", "false"]
            .into_iter()
            .filter(|value| value.starts_with(&partial.to_ascii_lowercase()))
            .map(word_candidate)
            .collect();
        return Completion::Candidates { start, candidates };
    }
    if definition.autocomplete != Some(true) {
        return Completion::none(start);
    }
    let Some(id) = command.id else {
        return Completion::none(start);
    };
    let mut options: Vec<CommandDataOption> = typed
        .iter()
        .filter(|(name, _)| *name != focused)
        .filter_map(|(name, value)| {
            let definition = level.iter().find(|option| option.name == *name)?;
            let value = parse_value(definition, &unquote(value)).ok()?;
            Some(CommandDataOption {
                name: (*name).to_owned(),
                value,
            })
        })
        .collect();
    options.push(CommandDataOption {
        name: focused.clone(),
        value: CommandOptionValue::Focused(partial, definition.kind),
    });
    for option in path.iter().rev() {
        let value = if option.kind == CommandOptionType::SubCommandGroup {
            CommandOptionValue::SubCommandGroup(options)
        } else {
            CommandOptionValue::SubCommand(options)
        };
        options = vec![CommandDataOption {
            name: option.name.clone(),
            value,
        }];
    }
    Completion::Autocomplete(Box::new(AutocompleteRequest {
        start,
        data: CommandData {
            guild_id: None,
            id,
            kind: CommandType::ChatInput,
            name: command.name.clone(),
            options,
            resolved: None,
            target_id: None,
        },
        focused,
    }))
}

/// The bot's autocomplete answer as candidates: its label listed, its value inserted.
pub fn autocomplete_candidates(choices: &[CommandOptionChoice]) -> Vec<Candidate> {
    choices
        .iter()
        .map(|choice| Candidate {
            replacement: format!("{} ", quote(&ChoiceValue(&choice.value).to_string())),
            display: choice.name.clone(),
        })
        .collect()
}

/// The line under the prompt while `line` is typed: the subcommands to pick from, the
/// description of the option being typed, or the options still missing, as Discord
/// shows them; `None` when there is nothing to say.
pub fn hint(line: &str, commands: &[Command]) -> Option<String> {
    let words = split_words(line);
    let typing = words.last().filter(|word| word.end == line.len());
    let first = words.first()?;
    let command = chat_command(first, commands)?;
    let mut level = command.options.as_slice();
    let mut rest = &words[1..];
    let mut path = format!("/{}", command.name);
    while has_subcommands(level) {
        let found = rest
            .first()
            .and_then(|word| level.iter().find(|option| option.name == word.text));
        match found {
            Some(option) => {
                path.push(' ');
                path.push_str(&option.name);
                level = option.options.as_deref().unwrap_or_default();
                rest = &rest[1..];
            }
            None if rest.len() > 1 => return None,
            None => {
                let names: Vec<&str> = level.iter().map(|option| option.name.as_str()).collect();
                return Some(format!("{path}: {}", names.join(" · ")));
            }
        }
    }
    if let Some(word) = typing
        && let Some((name, _)) = split_option(&word.text)
        && let Some(option) = level.iter().find(|option| option.name == name)
    {
        return Some(format!(
            "{}:<{}>  {}",
            option.name,
            placeholder(option),
            option.description
        ));
    }
    let typed = typed_options(rest);
    let missing: Vec<&CommandOption> = level
        .iter()
        .filter(|option| !typed.iter().any(|(name, _)| *name == option.name))
        .collect();
    let required: Vec<String> = missing
        .iter()
        .filter(|option| option.required == Some(true))
        .map(|option| format!("{}:<{}>", option.name, placeholder(option)))
        .collect();
    let optional: Vec<String> = missing
        .iter()
        .filter(|option| option.required != Some(true))
        .map(|option| format!("{}:<{}>", option.name, placeholder(option)))
        .collect();
    let mut parts = Vec::new();
    if !required.is_empty() {
        parts.push(format!("needs {}", required.join(" ")));
    }
    if !optional.is_empty() {
        parts.push(format!("optional {}", optional.join(" ")));
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("{path}: {}", parts.join(" · ")))
}

/// A word of the line and where it sits, quotes kept as typed.
#[derive(Debug)]
struct Word {
    start: usize,
    end: usize,
    text: String,
}

/// Splits on whitespace outside quotes; an unterminated quote runs to the end.
fn split_words(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut quote = None;
    for (index, c) in line.char_indices() {
        if quote.is_none() && c.is_whitespace() {
            if let Some((start, text)) = current.take() {
                words.push(Word {
                    start,
                    end: index,
                    text,
                });
            }
            continue;
        }
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if open == c => quote = None,
            _ => {}
        }
        current
            .get_or_insert_with(|| (index, String::new()))
            .1
            .push(c);
    }
    if let Some((start, text)) = current {
        words.push(Word {
            start,
            end: line.len(),
            text,
        });
    }
    words
}

fn complete_command_name(current: &Word, commands: &[Command]) -> Completion {
    let typed = match current.text.strip_prefix('/') {
        Some(typed) => typed,
        None if current.text.is_empty() => "",
        None => return Completion::none(current.start),
    };
    let candidates = commands
        .iter()
        .filter(|command| command.kind == CommandType::ChatInput)
        .filter(|command| command.name.starts_with(typed))
        .map(|command| word_candidate(&format!("/{}", command.name)))
        .collect();
    Completion::Candidates {
        start: current.start,
        candidates,
    }
}

fn chat_command<'a>(word: &Word, commands: &'a [Command]) -> Option<&'a Command> {
    let name = word.text.strip_prefix('/')?;
    commands
        .iter()
        .find(|command| command.kind == CommandType::ChatInput && command.name == name)
}

fn has_subcommands(options: &[CommandOption]) -> bool {
    options.iter().any(|option| {
        matches!(
            option.kind,
            CommandOptionType::SubCommand | CommandOptionType::SubCommandGroup
        )
    })
}

/// `name:value` split at the first colon outside quotes.
fn split_option(word: &str) -> Option<(&str, &str)> {
    let colon = word.find(':')?;
    let name = &word[..colon];
    (!name.contains(['"', '\''])).then(|| (name, &word[colon + 1..]))
}

/// The options given in `words`, with `name: value` (a space after the colon) joined.
fn typed_options(words: &[Word]) -> Vec<(&str, &str)> {
    let mut typed = Vec::new();
    let mut words = words.iter().peekable();
    while let Some(word) = words.next() {
        let Some((name, value)) = split_option(&word.text) else {
            continue;
        };
        let value = match value {
            "" => words
                .next_if(|next| split_option(&next.text).is_none())
                .map_or("", |next| next.text.as_str()),
            value => value,
        };
        typed.push((name, value));
    }
    typed
}

/// The text of a value as typed, without its quotes (closed or not).
fn unquote(value: &str) -> String {
    let mut text = String::new();
    let mut quote = None;
    for c in value.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if open == c => quote = None,
            _ => text.push(c),
        }
    }
    text
}

/// A value as it must be typed: quoted when it holds spaces or quotes.
fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        return value.to_owned();
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

fn word_candidate(word: &str) -> Candidate {
    Candidate {
        replacement: format!("{word} "),
        display: word.to_owned(),
    }
}

fn fixed_choices(choices: &[CommandOptionChoice], partial: &str) -> Vec<Candidate> {
    let partial = partial.to_lowercase();
    choices
        .iter()
        .filter(|choice| {
            ChoiceValue(&choice.value)
                .to_string()
                .to_lowercase()
                .starts_with(&partial)
                || choice.name.to_lowercase().starts_with(&partial)
        })
        .map(|choice| {
            let value = ChoiceValue(&choice.value).to_string();
            let display = if value == choice.name {
                value.clone()
            } else {
                format!("{value} ({})", choice.name)
            };
            Candidate {
                replacement: format!("{} ", quote(&value)),
                display,
            }
        })
        .collect()
}

/// What an option takes, as the hint line shows it: `text`, `1-1000`, `a|b`.
fn placeholder(option: &CommandOption) -> String {
    if let Some(choices) = option.choices.as_deref().filter(|c| !c.is_empty()) {
        return choices
            .iter()
            .map(|choice| ChoiceValue(&choice.value).to_string())
            .collect::<Vec<_>>()
            .join("|");
    }
    let limit = |limit: Option<OptionLimit>| limit.map(|limit| LimitDisplay(limit).to_string());
    match (limit(option.min_value), limit(option.max_value)) {
        (Some(min), Some(max)) => return format!("{min}-{max}"),
        (Some(min), None) => return format!("{min} or more"),
        (None, Some(max)) => return format!("up to {max}"),
        (None, None) => {}
    }
    match option.kind {
        CommandOptionType::String => "text",
        CommandOptionType::Integer => "integer",
        CommandOptionType::Number => "number",
        CommandOptionType::Boolean => "true|false",
        CommandOptionType::User => "@user",
        CommandOptionType::Channel => "#channel",
        CommandOptionType::Role => "@&role",
        CommandOptionType::Mentionable => "@mention",
        CommandOptionType::Attachment => "file",
        _ => "value",
    }
    .to_owned()
}

#[cfg(test)]
mod tests;
