//! Parsing a typed slash-command line into the `CommandData` Discord would send.
//!
//! The syntax mirrors what Discord's own client shows once a command is filled in:
//! `/name [group] [subcommand] opt:value opt2:"with spaces" opt3:'single quoted'`.

use std::fmt;

use twilight_model::{
    application::{
        command::{
            Command, CommandOption, CommandOptionChoice, CommandOptionChoiceValue,
            CommandOptionType, CommandOptionValue as OptionLimit, CommandType,
        },
        interaction::application_command::{CommandData, CommandDataOption, CommandOptionValue},
    },
    id::Id,
};

/// Why a typed line could not be turned into a command invocation.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The line was blank.
    #[error("empty line; commands start with /, for example /help")]
    Empty,
    /// The line does not start with `/`.
    #[error("{line:?} is not a command; commands start with /, for example /help")]
    NotACommand {
        /// The line as typed, trimmed.
        line: String,
    },
    /// The line is just `/`.
    #[error("missing command name after /; known commands: {}", list_commands(.known))]
    MissingCommandName {
        /// Names of the commands that can be typed.
        known: Vec<String>,
    },
    /// No command has that name.
    #[error(
        "unknown command /{name}{}known commands: {}",
        did_you_mean(.suggestion.as_deref(), "/", ""),
        list_commands(.known)
    )]
    UnknownCommand {
        /// The name as typed.
        name: String,
        /// Names of the commands that can be typed.
        known: Vec<String>,
        /// The closest known name, if one is close enough.
        suggestion: Option<String>,
    },
    /// The command (or group) has subcommands and none was given.
    #[error("{command} needs a subcommand: {}", .available.join(", "))]
    MissingSubcommand {
        /// The command path typed so far, like `/vm`.
        command: String,
        /// Names of the subcommands (or groups) available there.
        available: Vec<String>,
    },
    /// The word after the command is not one of its subcommands.
    #[error(
        "unknown subcommand {name} for {command}{}subcommands: {}",
        did_you_mean(.suggestion.as_deref(), "", ""),
        .available.join(", ")
    )]
    UnknownSubcommand {
        /// The command path typed so far, like `/vm`.
        command: String,
        /// The word as typed.
        name: String,
        /// Names of the subcommands (or groups) available there.
        available: Vec<String>,
        /// The closest subcommand name, if one is close enough.
        suggestion: Option<String>,
    },
    /// A bare word appeared where an option (`name:value`) was expected.
    #[error("unexpected {argument:?} after {command}; write options as name:value, usage: {usage}")]
    UnexpectedArgument {
        /// The full command path, like `/vm start`.
        command: String,
        /// The word as typed.
        argument: String,
        /// How the command is typed, like `/vm start name:<text>`.
        usage: String,
    },
    /// The option name is not defined for this command.
    #[error(
        "unknown option {name}: for {command}{}{}",
        did_you_mean(.suggestion.as_deref(), "", ":"),
        list_options(.command, .valid)
    )]
    UnknownOption {
        /// The full command path, like `/vm start`.
        command: String,
        /// The option name as typed.
        name: String,
        /// Names of the options the command takes.
        valid: Vec<String>,
        /// The closest option name, if one is close enough.
        suggestion: Option<String>,
    },
    /// The same option was given twice.
    #[error("option {name}: is given more than once")]
    DuplicateOption {
        /// The option name.
        name: String,
    },
    /// Required options were left out.
    #[error(
        "missing required option{} {} for {command}; usage: {usage}",
        plural(.names.len()),
        list_option_names(.names)
    )]
    MissingOption {
        /// The full command path, like `/vm start`.
        command: String,
        /// Names of every missing required option.
        names: Vec<String>,
        /// How the command is typed, like `/vm start name:<text>`.
        usage: String,
    },
    /// An option was written as `name:` with nothing after it.
    #[error("option {option}: needs a value")]
    EmptyValue {
        /// The option name.
        option: String,
    },
    /// The value does not parse as the option's type.
    #[error("invalid value {value:?} for {option}:; expected {expected}")]
    InvalidValue {
        /// The option name.
        option: String,
        /// The value as typed.
        value: String,
        /// What the option accepts, like `a whole number`.
        expected: String,
    },
    /// The option has fixed choices and the value is none of them.
    #[error("invalid value {value:?} for {option}:; choose one of: {}", .choices.join(", "))]
    InvalidChoice {
        /// The option name.
        option: String,
        /// The value as typed.
        value: String,
        /// The accepted choices, as `value` or `value (name)`.
        choices: Vec<String>,
    },
    /// The value is outside the option's min/max value or length.
    #[error("value {value:?} for {option}: {requirement}")]
    OutOfRange {
        /// The option name.
        option: String,
        /// The value as typed.
        value: String,
        /// The broken limit, like `must be at least 1`.
        requirement: String,
    },
    /// The option has a type the shell cannot provide, such as an attachment.
    #[error("option {option}: takes {kind}, which the shell does not support")]
    UnsupportedOption {
        /// The option name.
        option: String,
        /// What the option takes, like `an attachment`.
        kind: String,
    },
    /// A quote was opened and never closed.
    #[error("unterminated {quote} quote starting at column {column}")]
    UnterminatedQuote {
        /// The quote character, `"` or `'`.
        quote: char,
        /// The 1-based column (in characters) of the opening quote.
        column: usize,
    },
    /// The matching command definition has no id, so it was never registered.
    #[error("command /{name} has no id; was it registered with discord?")]
    UnregisteredCommand {
        /// The command name.
        name: String,
    },
}

/// Parses a typed line such as `/vm start name:web-1` against the registered commands.
pub fn parse_command_line(line: &str, commands: &[Command]) -> Result<CommandData, InputError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(InputError::Empty);
    }
    let Some(rest) = line.strip_prefix('/') else {
        return Err(InputError::NotACommand {
            line: line.to_owned(),
        });
    };
    let chat_commands: Vec<&Command> = commands
        .iter()
        .filter(|command| command.kind == CommandType::ChatInput)
        .collect();
    let known: Vec<String> = chat_commands.iter().map(|c| c.name.clone()).collect();
    // Discord puts nothing between the slash and the name.
    if rest.starts_with(char::is_whitespace) {
        return Err(InputError::MissingCommandName { known });
    }
    let mut tokens = tokenize(rest)?.into_iter().peekable();

    let name = match tokens.next() {
        Some(Token::Word(word)) if !word.is_empty() => word,
        Some(Token::Word(_)) | None => return Err(InputError::MissingCommandName { known }),
        Some(token @ Token::Option { .. }) => {
            return Err(InputError::UnknownCommand {
                name: token.as_typed(),
                suggestion: None,
                known,
            });
        }
    };
    let Some(command) = chat_commands.iter().find(|c| c.name == name) else {
        return Err(InputError::UnknownCommand {
            suggestion: closest(&name, &known),
            name,
            known,
        });
    };
    let Some(id) = command.id else {
        return Err(InputError::UnregisteredCommand { name });
    };

    let mut path = format!("/{name}");
    let options = parse_level(&mut path, &command.options, &mut tokens)?;
    Ok(CommandData {
        guild_id: None,
        id,
        kind: CommandType::ChatInput,
        name,
        options,
        resolved: None,
        target_id: None,
    })
}

/// One whitespace-separated piece of the line after quotes are resolved.
#[derive(Debug, PartialEq)]
enum Token {
    /// A bare (or fully quoted) word: a command, group or subcommand name.
    Word(String),
    /// `name:value`; `value` is `None` when nothing followed the colon.
    Option { name: String, value: Option<String> },
}

impl Token {
    fn as_typed(&self) -> String {
        match self {
            Token::Word(word) => word.clone(),
            Token::Option { name, value } => format!("{name}:{}", value.as_deref().unwrap_or("")),
        }
    }
}

/// Resolves one level of the option tree: a subcommand group, a subcommand, or leaf options.
fn parse_level(
    path: &mut String,
    definitions: &[CommandOption],
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
) -> Result<Vec<CommandDataOption>, InputError> {
    let has_subcommands = definitions.iter().any(|option| {
        matches!(
            option.kind,
            CommandOptionType::SubCommand | CommandOptionType::SubCommandGroup
        )
    });
    if !has_subcommands {
        return parse_leaf_options(path, definitions, tokens);
    }

    let available: Vec<String> = definitions.iter().map(|o| o.name.clone()).collect();
    let word = match tokens.peek() {
        Some(Token::Word(word)) => word.clone(),
        Some(Token::Option { .. }) | None => {
            return Err(InputError::MissingSubcommand {
                command: path.clone(),
                available,
            });
        }
    };
    tokens.next();
    let Some(definition) = definitions.iter().find(|o| o.name == word) else {
        return Err(InputError::UnknownSubcommand {
            command: path.clone(),
            suggestion: closest(&word, &available),
            name: word,
            available,
        });
    };
    path.push(' ');
    path.push_str(&word);
    let children = definition.options.as_deref().unwrap_or_default();
    let nested = parse_level(path, children, tokens)?;
    let value = if definition.kind == CommandOptionType::SubCommandGroup {
        CommandOptionValue::SubCommandGroup(nested)
    } else {
        CommandOptionValue::SubCommand(nested)
    };
    Ok(vec![CommandDataOption { name: word, value }])
}

fn parse_leaf_options(
    path: &str,
    definitions: &[CommandOption],
    tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
) -> Result<Vec<CommandDataOption>, InputError> {
    let mut parsed: Vec<CommandDataOption> = Vec::new();
    while let Some(token) = tokens.next() {
        let (name, value) = match token {
            Token::Word(argument) => {
                return Err(InputError::UnexpectedArgument {
                    command: path.to_owned(),
                    argument,
                    usage: usage(path, definitions),
                });
            }
            Token::Option { name, value } => (name, value),
        };
        let Some(definition) = definitions.iter().find(|o| o.name == name) else {
            let valid: Vec<String> = definitions.iter().map(|o| o.name.clone()).collect();
            return Err(InputError::UnknownOption {
                command: path.to_owned(),
                suggestion: closest(&name, &valid),
                name,
                valid,
            });
        };
        if parsed.iter().any(|option| option.name == name) {
            return Err(InputError::DuplicateOption { name });
        }
        // `name: value` (a space after the colon) is how Discord displays a filled option,
        // so people type it; take the next bare word as the value.
        let value = match value {
            Some(value) => value,
            None => match tokens.next_if(|token| matches!(token, Token::Word(_))) {
                Some(Token::Word(word)) => word,
                _ => String::new(),
            },
        };
        let value = parse_value(definition, &value)?;
        parsed.push(CommandDataOption { name, value });
    }

    let missing: Vec<String> = definitions
        .iter()
        .filter(|definition| definition.required == Some(true))
        .filter(|definition| !parsed.iter().any(|option| option.name == definition.name))
        .map(|definition| definition.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(InputError::MissingOption {
            command: path.to_owned(),
            names: missing,
            usage: usage(path, definitions),
        });
    }
    Ok(parsed)
}

pub(super) fn parse_value(
    definition: &CommandOption,
    raw: &str,
) -> Result<CommandOptionValue, InputError> {
    let option = definition.name.as_str();
    if raw.is_empty() {
        return Err(InputError::EmptyValue {
            option: option.to_owned(),
        });
    }
    let invalid = |expected: &str| InputError::InvalidValue {
        option: option.to_owned(),
        value: raw.to_owned(),
        expected: expected.to_owned(),
    };
    let out_of_range = |requirement: String| InputError::OutOfRange {
        option: option.to_owned(),
        value: raw.to_owned(),
        requirement,
    };

    match definition.kind {
        CommandOptionType::String => {
            let value = match choose(definition, raw)? {
                Some(CommandOptionChoiceValue::String(value)) => value,
                Some(_) => return Err(invalid("text")),
                None => raw.to_owned(),
            };
            let length = value.chars().count();
            if let Some(min) = definition.min_length
                && length < usize::from(min)
            {
                return Err(out_of_range(format!(
                    "must be at least {min} character{} long",
                    plural(usize::from(min))
                )));
            }
            if let Some(max) = definition.max_length
                && length > usize::from(max)
            {
                return Err(out_of_range(format!(
                    "must be at most {max} character{} long",
                    plural(usize::from(max))
                )));
            }
            Ok(CommandOptionValue::String(value))
        }
        CommandOptionType::Integer => {
            let value = match choose(definition, raw)? {
                Some(CommandOptionChoiceValue::Integer(value)) => value,
                Some(_) => return Err(invalid("a whole number")),
                None => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|value| OptionLimit::INTEGER_RANGE.contains(value))
                    .ok_or_else(|| invalid("a whole number"))?,
            };
            // Exact: integers are within 2^53 (checked above or by Discord's choice limits).
            check_limits(definition, value as f64, out_of_range)?;
            Ok(CommandOptionValue::Integer(value))
        }
        CommandOptionType::Number => {
            let value = match choose(definition, raw)? {
                Some(CommandOptionChoiceValue::Number(value)) => value,
                Some(CommandOptionChoiceValue::Integer(value)) => value as f64,
                Some(CommandOptionChoiceValue::String(_)) => return Err(invalid("a number")),
                None => raw
                    .parse::<f64>()
                    .ok()
                    .filter(|value| OptionLimit::NUMBER_RANGE.contains(value))
                    .ok_or_else(|| invalid("a number"))?,
            };
            check_limits(definition, value, out_of_range)?;
            Ok(CommandOptionValue::Number(value))
        }
        CommandOptionType::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(CommandOptionValue::Boolean(true)),
            "false" | "no" => Ok(CommandOptionValue::Boolean(false)),
            _ => Err(invalid("true, false, yes or no")),
        },
        CommandOptionType::User => parse_snowflake(raw, &["@!", "@"])
            .map(CommandOptionValue::User)
            .ok_or_else(|| invalid("a user id or a mention like <@123>")),
        CommandOptionType::Channel => parse_snowflake(raw, &["#"])
            .map(CommandOptionValue::Channel)
            .ok_or_else(|| invalid("a channel id or a mention like <#123>")),
        CommandOptionType::Role => parse_snowflake(raw, &["@&"])
            .map(CommandOptionValue::Role)
            .ok_or_else(|| invalid("a role id or a mention like <@&123>")),
        CommandOptionType::Mentionable => parse_snowflake(raw, &["@&", "@!", "@"])
            .map(CommandOptionValue::Mentionable)
            .ok_or_else(|| invalid("an id or a mention like <@123> or <@&123>")),
        CommandOptionType::Attachment => Err(InputError::UnsupportedOption {
            option: option.to_owned(),
            kind: "an attachment".to_owned(),
        }),
        CommandOptionType::SubCommand | CommandOptionType::SubCommandGroup => {
            Err(invalid("a subcommand name, written before any option"))
        }
        _ => Err(InputError::UnsupportedOption {
            option: option.to_owned(),
            kind: format!("a {} option", definition.kind.kind()),
        }),
    }
}

/// Maps a typed value onto the option's choices; `None` when the option has no choices.
fn choose(
    definition: &CommandOption,
    raw: &str,
) -> Result<Option<CommandOptionChoiceValue>, InputError> {
    let Some(choices) = definition.choices.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let matches = |choice: &&CommandOptionChoice, exact: bool| {
        let value = ChoiceValue(&choice.value).to_string();
        if exact {
            choice.name == raw || value == raw || numeric_equal(&choice.value, raw)
        } else {
            choice.name.eq_ignore_ascii_case(raw) || value.eq_ignore_ascii_case(raw)
        }
    };
    let found = choices
        .iter()
        .find(|choice| matches(choice, true))
        .or_else(|| choices.iter().find(|choice| matches(choice, false)));
    match found {
        Some(choice) => Ok(Some(choice.value.clone())),
        None => Err(InputError::InvalidChoice {
            option: definition.name.clone(),
            value: raw.to_owned(),
            choices: choices.iter().map(describe_choice).collect(),
        }),
    }
}

fn numeric_equal(value: &CommandOptionChoiceValue, raw: &str) -> bool {
    match value {
        CommandOptionChoiceValue::Integer(value) => raw.parse::<i64>().is_ok_and(|n| n == *value),
        CommandOptionChoiceValue::Number(value) => raw.parse::<f64>().is_ok_and(|n| n == *value),
        CommandOptionChoiceValue::String(_) => false,
    }
}

fn describe_choice(choice: &CommandOptionChoice) -> String {
    let value = ChoiceValue(&choice.value).to_string();
    if value == choice.name {
        value
    } else {
        format!("{value} ({})", choice.name)
    }
}

/// Displays a choice value the way a user would type it.
pub(super) struct ChoiceValue<'a>(pub(super) &'a CommandOptionChoiceValue);

impl fmt::Display for ChoiceValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            CommandOptionChoiceValue::Integer(value) => write!(f, "{value}"),
            CommandOptionChoiceValue::Number(value) => write!(f, "{value}"),
            CommandOptionChoiceValue::String(value) => f.write_str(value),
        }
    }
}

fn check_limits(
    definition: &CommandOption,
    value: f64,
    out_of_range: impl Fn(String) -> InputError,
) -> Result<(), InputError> {
    if let Some(min) = definition.min_value
        && value < limit_as_f64(min)
    {
        return Err(out_of_range(format!(
            "must be at least {}",
            LimitDisplay(min)
        )));
    }
    if let Some(max) = definition.max_value
        && value > limit_as_f64(max)
    {
        return Err(out_of_range(format!(
            "must be at most {}",
            LimitDisplay(max)
        )));
    }
    Ok(())
}

fn limit_as_f64(limit: OptionLimit) -> f64 {
    match limit {
        OptionLimit::Integer(value) => value as f64,
        OptionLimit::Number(value) => value,
    }
}

pub(super) struct LimitDisplay(pub(super) OptionLimit);

impl fmt::Display for LimitDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            OptionLimit::Integer(value) => write!(f, "{value}"),
            OptionLimit::Number(value) => write!(f, "{value}"),
        }
    }
}

/// Parses a raw snowflake or a mention `<PREFIX123>` for one of the given prefixes.
fn parse_snowflake<T>(raw: &str, prefixes: &[&str]) -> Option<Id<T>> {
    let digits = match raw.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        Some(inner) => prefixes
            .iter()
            .find_map(|prefix| inner.strip_prefix(prefix))?,
        None => raw,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok().and_then(Id::new_checked)
}

/// How a command is typed, like `/vm start name:<text> [size:<small|large>]`.
fn usage(path: &str, definitions: &[CommandOption]) -> String {
    let mut usage = path.to_owned();
    for definition in definitions {
        let placeholder = match definition.choices.as_deref() {
            Some(choices) if !choices.is_empty() => choices
                .iter()
                .map(|choice| ChoiceValue(&choice.value).to_string())
                .collect::<Vec<_>>()
                .join("|"),
            _ => placeholder(definition.kind).to_owned(),
        };
        let option = format!("{}:<{placeholder}>", definition.name);
        usage.push(' ');
        if definition.required == Some(true) {
            usage.push_str(&option);
        } else {
            usage.push('[');
            usage.push_str(&option);
            usage.push(']');
        }
    }
    usage
}

fn placeholder(kind: CommandOptionType) -> &'static str {
    match kind {
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
}

/// Splits the line (after the `/`) into words and `name:value` options.
fn tokenize(line: &str) -> Result<Vec<Token>, InputError> {
    let mut tokens = Vec::new();
    // 1-based columns; the stripped `/` is column 1.
    let mut chars = line.chars().zip(2..).peekable();
    loop {
        while chars.next_if(|(c, _)| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(tokens);
        }
        let mut text = String::new();
        let mut option_name: Option<String> = None;
        let mut quoted = false;
        while let Some((c, column)) = chars.next_if(|(c, _)| !c.is_whitespace()) {
            match c {
                '"' | '\'' => {
                    quoted = true;
                    read_quoted(c, column, &mut chars, &mut text)?;
                }
                ':' if option_name.is_none() && !quoted => {
                    option_name = Some(std::mem::take(&mut text));
                }
                _ => text.push(c),
            }
        }
        tokens.push(match option_name {
            Some(name) => Token::Option {
                name,
                value: (!text.is_empty() || quoted).then_some(text),
            },
            None => Token::Word(text),
        });
    }
}

fn read_quoted(
    quote: char,
    column: usize,
    chars: &mut impl Iterator<Item = (char, usize)>,
    text: &mut String,
) -> Result<(), InputError> {
    while let Some((c, _)) = chars.next() {
        match c {
            c if c == quote => return Ok(()),
            '\\' => match chars.next() {
                Some(('n', _)) => text.push('\n'),
                Some(('t', _)) => text.push('\t'),
                Some((escaped @ ('\\' | '"' | '\''), _)) => text.push(escaped),
                // Unknown escapes stay literal so paths like C:\temp survive.
                Some((other, _)) => {
                    text.push('\\');
                    text.push(other);
                }
                None => break,
            },
            _ => text.push(c),
        }
    }
    Err(InputError::UnterminatedQuote { quote, column })
}

/// The candidate closest to `typed`, if it is plausibly a typo of it.
fn closest(typed: &str, candidates: &[String]) -> Option<String> {
    let typed_lower = typed.to_lowercase();
    let best = candidates
        .iter()
        .map(|candidate| {
            (
                edit_distance(&typed_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, candidate)| {
            let longest = typed.chars().count().max(candidate.chars().count());
            *distance * 3 <= longest + 3
        })
        .map(|(_, candidate)| candidate.clone());
    if best.is_some() || typed.is_empty() {
        return best;
    }
    // A unique prefix (`/vm sta` for `start`) is a good guess even when far by edit distance.
    let mut prefixed = candidates
        .iter()
        .filter(|candidate| candidate.to_lowercase().starts_with(&typed_lower));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

fn did_you_mean(suggestion: Option<&str>, prefix: &str, suffix: &str) -> String {
    match suggestion {
        Some(suggestion) => format!("; did you mean {prefix}{suggestion}{suffix}? "),
        None => "; ".to_owned(),
    }
}

fn list_commands(known: &[String]) -> String {
    if known.is_empty() {
        return "none are registered".to_owned();
    }
    known
        .iter()
        .map(|name| format!("/{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_options(command: &str, valid: &[String]) -> String {
    if valid.is_empty() {
        return format!("{command} takes no options");
    }
    format!("options: {}", list_option_names(valid))
}

fn list_option_names(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("{name}:"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use twilight_model::{
        application::{
            command::{
                Command, CommandOption, CommandOptionChoice, CommandOptionChoiceValue,
                CommandOptionType, CommandOptionValue as OptionLimit, CommandType,
            },
            interaction::application_command::{
                CommandData, CommandDataOption, CommandOptionValue,
            },
        },
        id::Id,
    };

    use super::{InputError, closest, parse_command_line};

    #[allow(deprecated, reason = "dm_permission must still be filled in")]
    fn command(id: Option<u64>, name: &str, options: Vec<CommandOption>) -> Command {
        Command {
            application_id: None,
            contexts: None,
            default_member_permissions: None,
            description: format!("the {name} command"),
            description_localizations: None,
            dm_permission: None,
            guild_id: None,
            id: id.and_then(Id::new_checked),
            integration_types: None,
            kind: CommandType::ChatInput,
            name: name.to_owned(),
            name_localizations: None,
            nsfw: None,
            options,
            version: Id::new(1),
        }
    }

    fn option(kind: CommandOptionType, name: &str, required: bool) -> CommandOption {
        CommandOption {
            autocomplete: None,
            channel_types: None,
            choices: None,
            description: format!("the {name} option"),
            description_localizations: None,
            kind,
            max_length: None,
            max_value: None,
            min_length: None,
            min_value: None,
            name: name.to_owned(),
            name_localizations: None,
            options: None,
            file_types: None,
            required: Some(required),
        }
    }

    fn subcommand(
        kind: CommandOptionType,
        name: &str,
        options: Vec<CommandOption>,
    ) -> CommandOption {
        CommandOption {
            options: Some(options),
            required: None,
            ..option(kind, name, false)
        }
    }

    fn choice(name: &str, value: CommandOptionChoiceValue) -> CommandOptionChoice {
        CommandOptionChoice {
            name: name.to_owned(),
            name_localizations: None,
            value,
        }
    }

    /// A small registry shaped like the bot's: groups, subcommands and every option type.
    fn registry() -> Vec<Command> {
        use CommandOptionType as Kind;
        let vm_name = CommandOption {
            min_length: Some(3),
            max_length: Some(15),
            ..option(Kind::String, "name", true)
        };
        let size = CommandOption {
            choices: Some(vec![
                choice(
                    "Small (B1s)",
                    CommandOptionChoiceValue::String("small".into()),
                ),
                choice("medium", CommandOptionChoiceValue::String("medium".into())),
                choice(
                    "Large (D4s)",
                    CommandOptionChoiceValue::String("large".into()),
                ),
            ]),
            ..option(Kind::String, "size", false)
        };
        let count = CommandOption {
            min_value: Some(OptionLimit::Integer(1)),
            max_value: Some(OptionLimit::Integer(10)),
            ..option(Kind::Integer, "count", true)
        };
        let priority = CommandOption {
            choices: Some(vec![
                choice("low", CommandOptionChoiceValue::Integer(1)),
                choice("high", CommandOptionChoiceValue::Integer(5)),
            ]),
            ..option(Kind::Integer, "priority", false)
        };
        let disk_size = CommandOption {
            min_value: Some(OptionLimit::Number(1.5)),
            max_value: Some(OptionLimit::Integer(1024)),
            ..option(Kind::Number, "size-gb", true)
        };
        let mut inspect = command(Some(9), "Inspect", Vec::new());
        inspect.kind = CommandType::User;
        vec![
            command(
                Some(10),
                "help",
                vec![option(Kind::String, "command", false)],
            ),
            command(
                Some(20),
                "vm",
                vec![
                    subcommand(
                        Kind::SubCommand,
                        "list",
                        vec![option(Kind::String, "resource-group", false)],
                    ),
                    subcommand(Kind::SubCommand, "start", vec![vm_name.clone(), priority]),
                    subcommand(Kind::SubCommand, "resize", vec![vm_name.clone(), size]),
                    subcommand(Kind::SubCommand, "scale", vec![vm_name.clone(), count]),
                    subcommand(
                        Kind::SubCommandGroup,
                        "disk",
                        vec![
                            subcommand(Kind::SubCommand, "attach", vec![vm_name, disk_size]),
                            subcommand(Kind::SubCommand, "list", Vec::new()),
                        ],
                    ),
                ],
            ),
            command(
                Some(30),
                "grant",
                vec![
                    option(Kind::User, "user", false),
                    option(Kind::Role, "role", false),
                    option(Kind::Channel, "channel", false),
                    option(Kind::Mentionable, "who", false),
                    option(Kind::Boolean, "confirm", false),
                    option(Kind::Attachment, "file", false),
                ],
            ),
            command(None, "ping", Vec::new()),
            inspect,
        ]
    }

    /// One line per parse: the command and its options, or the error message.
    fn show(line: &str) -> String {
        match parse_command_line(line, &registry()) {
            Ok(data) => {
                assert_eq!(data.kind, CommandType::ChatInput);
                assert_eq!(
                    (data.guild_id, &data.resolved, data.target_id),
                    (None, &None, None)
                );
                format!("#{} /{}{}", data.id, data.name, show_options(&data.options))
            }
            Err(error) => format!("error: {error}"),
        }
    }

    fn show_options(options: &[CommandDataOption]) -> String {
        options
            .iter()
            .map(|option| match &option.value {
                CommandOptionValue::SubCommandGroup(nested) => {
                    format!(" {}(group){}", option.name, show_options(nested))
                }
                CommandOptionValue::SubCommand(nested) => {
                    format!(" {}(sub){}", option.name, show_options(nested))
                }
                value => format!(" {}={value:?}", option.name),
            })
            .collect()
    }

    fn check(cases: &[(&str, Expect)]) {
        for (line, expected) in cases {
            expected.assert_eq(&show(line));
        }
    }

    #[test]
    fn parses_valid_lines() {
        check(&[
            ("/help", expect!["#10 /help"]),
            (
                "  /help command:vm  ",
                expect![[r#"#10 /help command=String("vm")"#]],
            ),
            ("/vm list", expect!["#20 /vm list(sub)"]),
            (
                "/vm start name:web-1",
                expect![[r#"#20 /vm start(sub) name=String("web-1")"#]],
            ),
            (
                "/vm start name: web-1",
                expect![[r#"#20 /vm start(sub) name=String("web-1")"#]],
            ),
            (
                r#"/vm list resource-group:"my group""#,
                expect![[r#"#20 /vm list(sub) resource-group=String("my group")"#]],
            ),
            (
                "/vm list resource-group:'single quoted'",
                expect![[r#"#20 /vm list(sub) resource-group=String("single quoted")"#]],
            ),
            (
                r#"/vm list resource-group:"say \"hi\" \\ it's\tC:\temp\n""#,
                expect![[
                    r#"#20 /vm list(sub) resource-group=String("say \"hi\" \\ it's\tC:\temp\n")"#
                ]],
            ),
            (
                r#"/vm list resource-group:pre"fix and"post"#,
                expect![[r#"#20 /vm list(sub) resource-group=String("prefix andpost")"#]],
            ),
            (
                "/vm list resource-group:a:b",
                expect![[r#"#20 /vm list(sub) resource-group=String("a:b")"#]],
            ),
            (
                "/vm resize size:small name:web-1",
                expect![[r#"#20 /vm resize(sub) size=String("small") name=String("web-1")"#]],
            ),
            (
                r#"/vm resize name:web-1 size:"Large (D4s)""#,
                expect![[r#"#20 /vm resize(sub) name=String("web-1") size=String("large")"#]],
            ),
            (
                "/vm resize name:web-1 size:MEDIUM",
                expect![[r#"#20 /vm resize(sub) name=String("web-1") size=String("medium")"#]],
            ),
            (
                "/vm scale name:web-1 count:10",
                expect![[r#"#20 /vm scale(sub) name=String("web-1") count=Integer(10)"#]],
            ),
            (
                "/vm start name:web-1 priority:high",
                expect![[r#"#20 /vm start(sub) name=String("web-1") priority=Integer(5)"#]],
            ),
            (
                "/vm start name:web-1 priority:1",
                expect![[r#"#20 /vm start(sub) name=String("web-1") priority=Integer(1)"#]],
            ),
            (
                "/vm disk attach name:web-1 size-gb:1.5",
                expect![[
                    r#"#20 /vm disk(group) attach(sub) name=String("web-1") size-gb=Number(1.5)"#
                ]],
            ),
            (
                "/vm disk attach name:web-1 size-gb:1024",
                expect![[
                    r#"#20 /vm disk(group) attach(sub) name=String("web-1") size-gb=Number(1024.0)"#
                ]],
            ),
            ("/vm disk list", expect!["#20 /vm disk(group) list(sub)"]),
            (
                "/grant user:<@123> role:<@&456> channel:<#789> who:<@&5> confirm:yes",
                expect![
                    "#30 /grant user=User(Id<UserMarker>(123)) role=Role(Id<RoleMarker>(456)) channel=Channel(Id<ChannelMarker>(789)) who=Mentionable(Id<GenericMarker>(5)) confirm=Boolean(true)"
                ],
            ),
            (
                "/grant user:<@!123> role:456 channel:789 who:<@7> confirm:False",
                expect![
                    "#30 /grant user=User(Id<UserMarker>(123)) role=Role(Id<RoleMarker>(456)) channel=Channel(Id<ChannelMarker>(789)) who=Mentionable(Id<GenericMarker>(7)) confirm=Boolean(false)"
                ],
            ),
            (
                "/grant confirm:TRUE",
                expect!["#30 /grant confirm=Boolean(true)"],
            ),
            (
                "/grant confirm:no",
                expect!["#30 /grant confirm=Boolean(false)"],
            ),
        ]);
    }

    #[test]
    fn explains_bad_lines() {
        check(&[
            (
                "",
                expect!["error: empty line; commands start with /, for example /help"],
            ),
            (
                "vm list",
                expect![[
                    r#"error: "vm list" is not a command; commands start with /, for example /help"#
                ]],
            ),
            (
                "/",
                expect![
                    "error: missing command name after /; known commands: /help, /vm, /grant, /ping"
                ],
            ),
            (
                "/ vm list",
                expect![
                    "error: missing command name after /; known commands: /help, /vm, /grant, /ping"
                ],
            ),
            (
                "/vmm list",
                expect![
                    "error: unknown command /vmm; did you mean /vm? known commands: /help, /vm, /grant, /ping"
                ],
            ),
            (
                "/Inspect",
                expect![
                    "error: unknown command /Inspect; known commands: /help, /vm, /grant, /ping"
                ],
            ),
            (
                "/deploy",
                expect![
                    "error: unknown command /deploy; known commands: /help, /vm, /grant, /ping"
                ],
            ),
            (
                "/ping",
                expect!["error: command /ping has no id; was it registered with discord?"],
            ),
            (
                "/vm",
                expect!["error: /vm needs a subcommand: list, start, resize, scale, disk"],
            ),
            (
                "/vm name:web-1",
                expect!["error: /vm needs a subcommand: list, start, resize, scale, disk"],
            ),
            (
                "/vm disk",
                expect!["error: /vm disk needs a subcommand: attach, list"],
            ),
            (
                "/vm strat name:web-1",
                expect![
                    "error: unknown subcommand strat for /vm; did you mean start? subcommands: list, start, resize, scale, disk"
                ],
            ),
            (
                "/vm res",
                expect![
                    "error: unknown subcommand res for /vm; did you mean resize? subcommands: list, start, resize, scale, disk"
                ],
            ),
            (
                "/vm start web-1",
                expect![[
                    r#"error: unexpected "web-1" after /vm start; write options as name:value, usage: /vm start name:<text> [priority:<1|5>]"#
                ]],
            ),
            (
                "/vm start Name:web-1",
                expect![
                    "error: unknown option Name: for /vm start; did you mean name:? options: name:, priority:"
                ],
            ),
            (
                "/vm list foo:bar",
                expect!["error: unknown option foo: for /vm list; options: resource-group:"],
            ),
            (
                "/vm disk list size:1",
                expect![
                    "error: unknown option size: for /vm disk list; /vm disk list takes no options"
                ],
            ),
            (
                "/vm start name:web-1 name:web-2",
                expect!["error: option name: is given more than once"],
            ),
            (
                "/vm start",
                expect![
                    "error: missing required option name: for /vm start; usage: /vm start name:<text> [priority:<1|5>]"
                ],
            ),
            (
                "/vm disk attach",
                expect![
                    "error: missing required options name:, size-gb: for /vm disk attach; usage: /vm disk attach name:<text> size-gb:<number>"
                ],
            ),
            (
                "/vm start name:",
                expect!["error: option name: needs a value"],
            ),
            (
                r#"/vm start name:"""#,
                expect!["error: option name: needs a value"],
            ),
            (
                "/vm start name:ab",
                expect![[r#"error: value "ab" for name: must be at least 3 characters long"#]],
            ),
            (
                "/vm start name:a-very-long-vm-name",
                expect![[
                    r#"error: value "a-very-long-vm-name" for name: must be at most 15 characters long"#
                ]],
            ),
            (
                "/vm resize name:web-1 size:huge",
                expect![[
                    r#"error: invalid value "huge" for size:; choose one of: small (Small (B1s)), medium, large (Large (D4s))"#
                ]],
            ),
            (
                "/vm start name:web-1 priority:3",
                expect![[
                    r#"error: invalid value "3" for priority:; choose one of: 1 (low), 5 (high)"#
                ]],
            ),
            (
                "/vm scale name:web-1 count:many",
                expect![[r#"error: invalid value "many" for count:; expected a whole number"#]],
            ),
            (
                "/vm scale name:web-1 count:1.5",
                expect![[r#"error: invalid value "1.5" for count:; expected a whole number"#]],
            ),
            (
                "/vm scale name:web-1 count:0",
                expect![[r#"error: value "0" for count: must be at least 1"#]],
            ),
            (
                "/vm scale name:web-1 count:11",
                expect![[r#"error: value "11" for count: must be at most 10"#]],
            ),
            (
                "/vm scale name:web-1 count:99999999999999999999",
                expect![[
                    r#"error: invalid value "99999999999999999999" for count:; expected a whole number"#
                ]],
            ),
            (
                "/vm disk attach name:web-1 size-gb:1",
                expect![[r#"error: value "1" for size-gb: must be at least 1.5"#]],
            ),
            (
                "/vm disk attach name:web-1 size-gb:2048",
                expect![[r#"error: value "2048" for size-gb: must be at most 1024"#]],
            ),
            (
                "/vm disk attach name:web-1 size-gb:NaN",
                expect![[r#"error: invalid value "NaN" for size-gb:; expected a number"#]],
            ),
            (
                "/grant confirm:maybe",
                expect![[
                    r#"error: invalid value "maybe" for confirm:; expected true, false, yes or no"#
                ]],
            ),
            (
                "/grant user:<#123>",
                expect![[
                    r#"error: invalid value "<#123>" for user:; expected a user id or a mention like <@123>"#
                ]],
            ),
            (
                "/grant user:0",
                expect![[
                    r#"error: invalid value "0" for user:; expected a user id or a mention like <@123>"#
                ]],
            ),
            (
                "/grant role:<@123>",
                expect![[
                    r#"error: invalid value "<@123>" for role:; expected a role id or a mention like <@&123>"#
                ]],
            ),
            (
                "/grant channel:general",
                expect![[
                    r#"error: invalid value "general" for channel:; expected a channel id or a mention like <#123>"#
                ]],
            ),
            (
                "/grant who:<#1>",
                expect![[
                    r#"error: invalid value "<#1>" for who:; expected an id or a mention like <@123> or <@&123>"#
                ]],
            ),
            (
                "/grant file:report.pdf",
                expect![
                    "error: option file: takes an attachment, which the shell does not support"
                ],
            ),
            (
                r#"/vm start name:"web-1"#,
                expect![[r#"error: unterminated " quote starting at column 16"#]],
            ),
            (
                r"/vm start name:'web-1\'",
                expect!["error: unterminated ' quote starting at column 16"],
            ),
        ]);
    }

    #[test]
    fn nests_options_as_discord_sends_them() {
        let data = parse_command_line("/vm disk attach name:web-1 size-gb:8", &registry());
        let expected = CommandData {
            guild_id: None,
            id: Id::new(20),
            kind: CommandType::ChatInput,
            name: "vm".to_owned(),
            options: vec![CommandDataOption {
                name: "disk".to_owned(),
                value: CommandOptionValue::SubCommandGroup(vec![CommandDataOption {
                    name: "attach".to_owned(),
                    value: CommandOptionValue::SubCommand(vec![
                        CommandDataOption {
                            name: "name".to_owned(),
                            value: CommandOptionValue::String("web-1".to_owned()),
                        },
                        CommandDataOption {
                            name: "size-gb".to_owned(),
                            value: CommandOptionValue::Number(8.0),
                        },
                    ]),
                }]),
            }],
            resolved: None,
            target_id: None,
        };
        assert_eq!(data, Ok(expected));
    }

    #[test]
    fn errors_are_typed() {
        let error = parse_command_line("/vm strat", &registry());
        assert_eq!(
            error,
            Err(InputError::UnknownSubcommand {
                command: "/vm".to_owned(),
                name: "strat".to_owned(),
                available: ["list", "start", "resize", "scale", "disk"]
                    .map(String::from)
                    .to_vec(),
                suggestion: Some("start".to_owned()),
            })
        );
    }

    #[test]
    fn suggests_only_plausible_typos() {
        let candidates = ["start", "stop", "list", "resource-group"].map(String::from);
        let cases = [
            ("strat", Some("start")),
            ("stp", Some("stop")),
            ("START", Some("start")),
            ("lst", Some("list")),
            ("resource", Some("resource-group")),
            ("xyz", None),
            ("deploy", None),
            ("", None),
        ];
        for (typed, expected) in cases {
            assert_eq!(
                closest(typed, &candidates).as_deref(),
                expected,
                "{typed:?}"
            );
        }
    }
}
