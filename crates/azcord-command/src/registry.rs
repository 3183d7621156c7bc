use std::{collections::BTreeMap, fmt, sync::Arc};

use twilight_model::{
    application::{
        command::{Command as DiscordCommand, CommandOption, CommandOptionType, CommandType},
        interaction::{
            InteractionContextType,
            application_command::{CommandData, CommandDataOption, CommandOptionValue},
        },
    },
    oauth::ApplicationIntegrationType,
};

use crate::{Caller, Command, Follower, Policy, Signature};

/// The commands one plugin crate provides, with the descriptions of their groups.
pub struct Plugin {
    /// The plugin's name, such as `core` or `vm`.
    pub name: String,
    /// Descriptions of the command groups the plugin introduces (`vm` for `vm start`).
    pub groups: Vec<Group>,
    /// The commands.
    pub commands: Vec<Arc<dyn Command>>,
    /// What follows again the operations its commands began, after a restart.
    pub followers: Vec<Arc<dyn Follower>>,
}

impl Plugin {
    /// An empty plugin.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            groups: Vec::new(),
            commands: Vec::new(),
            followers: Vec::new(),
        }
    }

    /// Adds what follows again the operations the commands began.
    pub fn follower(mut self, follower: Arc<dyn Follower>) -> Self {
        self.followers.push(follower);
        self
    }

    /// Declares a command group, such as `vm`.
    pub fn group(mut self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.groups.push(Group {
            name: name.into(),
            description: description.into(),
        });
        self
    }

    /// Adds a command.
    pub fn command(mut self, command: impl Command) -> Self {
        self.commands.push(Arc::new(command));
        self
    }
}

/// A level of command names that holds subcommands, such as `vm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name, possibly with spaces for a nested group.
    pub name: String,
    /// One line shown in Discord's command picker.
    pub description: String,
}

/// Every command the bot has: the one answer to "which commands exist".
#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    groups: BTreeMap<String, String>,
    followers: Vec<Arc<dyn Follower>>,
}

#[derive(Clone)]
struct Entry {
    plugin: String,
    signature: Arc<Signature>,
    command: Arc<dyn Command>,
}

/// A command found for an interaction, with the options meant for it.
pub struct Resolved<'a> {
    /// The command's declaration.
    pub signature: &'a Arc<Signature>,
    /// The command.
    pub command: &'a Arc<dyn Command>,
    /// The options of the leaf command, with subcommand layers stripped.
    pub options: Vec<CommandDataOption>,
}

/// Why a set of plugins cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two commands have the same name.
    Duplicate(String),
    /// A name breaks Discord's rules for command names.
    InvalidName(String),
    /// A description is empty or longer than 100 characters.
    InvalidDescription(String),
    /// A subcommand's group has no description.
    MissingGroup(String),
    /// A name is used both as a command and as a group.
    CommandAndGroup(String),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate(name) => write!(f, "command `{name}` is registered twice"),
            Self::InvalidName(name) => write!(
                f,
                "command name `{name}` must be one to three words of 1-32 lowercase letters, digits, `-` or `_`"
            ),
            Self::InvalidDescription(name) => {
                write!(
                    f,
                    "command `{name}` needs a description of 1-100 characters"
                )
            }
            Self::MissingGroup(name) => write!(f, "command group `{name}` has no description"),
            Self::CommandAndGroup(name) => {
                write!(
                    f,
                    "`{name}` is used both as a command and as a command group"
                )
            }
        }
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    /// Builds the registry from plugins, checking every name against Discord's rules.
    pub fn new(plugins: impl IntoIterator<Item = Plugin>) -> Result<Self, RegistryError> {
        let mut registry = Self::default();
        for plugin in plugins {
            registry.followers.extend(plugin.followers);
            for group in plugin.groups {
                check_description(&group.name, &group.description)?;
                registry.groups.insert(group.name, group.description);
            }
            for command in plugin.commands {
                let signature = command.signature();
                registry.check(&signature)?;
                registry.entries.push(Entry {
                    plugin: plugin.name.clone(),
                    signature: Arc::new(signature),
                    command,
                });
            }
        }
        for entry in &registry.entries {
            if registry.groups.contains_key(&entry.signature.name) {
                return Err(RegistryError::CommandAndGroup(entry.signature.name.clone()));
            }
            let words: Vec<&str> = entry.signature.path().collect();
            for depth in 1..words.len() {
                let group = words[..depth].join(" ");
                if !registry.groups.contains_key(&group) {
                    return Err(RegistryError::MissingGroup(group));
                }
            }
        }
        Ok(registry)
    }

    /// What follows again the operations the plugins' commands began.
    pub fn followers(&self) -> &[Arc<dyn Follower>] {
        &self.followers
    }

    /// Every command's declaration, in registration order, with its plugin's name.
    pub fn signatures(&self) -> impl Iterator<Item = (&str, &Signature)> {
        self.entries
            .iter()
            .map(|entry| (entry.plugin.as_str(), entry.signature.as_ref()))
    }

    /// The command with this full name, such as `vm start`.
    pub fn get(&self, name: &str) -> Option<(&Arc<Signature>, &Arc<dyn Command>)> {
        self.entries
            .iter()
            .find(|entry| entry.signature.name == name)
            .map(|entry| (&entry.signature, &entry.command))
    }

    /// Finds the command an interaction is for, following subcommands.
    pub fn resolve(&self, data: &CommandData) -> Option<Resolved<'_>> {
        let (name, options) = command_path(data);
        let options = options.to_vec();
        let (signature, command) = self.get(&name)?;
        Some(Resolved {
            signature,
            command,
            options,
        })
    }

    /// The slash-command definitions to register with Discord: exactly what
    /// `azcord commands` prints.
    pub fn definitions(&self) -> Vec<DiscordCommand> {
        let mut top: Vec<(String, Option<String>, Vec<CommandOption>)> = Vec::new();
        for entry in &self.entries {
            let signature = &entry.signature;
            let words: Vec<&str> = signature.path().collect();
            let index = match top.iter().position(|(name, ..)| name == words[0]) {
                Some(index) => index,
                None => {
                    let description = self.groups.get(words[0]).cloned();
                    top.push((words[0].to_owned(), description, Vec::new()));
                    top.len() - 1
                }
            };
            let (_, description, options) = &mut top[index];
            match words.as_slice() {
                [_] => {
                    *description = Some(signature.description.clone());
                    options.clone_from(&signature.options);
                }
                [_, sub] => options.push(subcommand(sub, signature)),
                [_, group, sub, ..] => {
                    let group_index = match options.iter().position(|option| option.name == *group)
                    {
                        Some(index) => index,
                        None => {
                            let key = format!("{} {group}", words[0]);
                            options.push(option(
                                group,
                                self.groups.get(&key).map_or("", String::as_str),
                                CommandOptionType::SubCommandGroup,
                                Vec::new(),
                            ));
                            options.len() - 1
                        }
                    };
                    let group_options = options[group_index].options.get_or_insert_with(Vec::new);
                    group_options.push(subcommand(sub, signature));
                }
                [] => {}
            }
        }
        top.into_iter()
            .map(|(name, description, options)| {
                definition(name, description.unwrap_or_default(), options)
            })
            .collect()
    }

    fn check(&self, signature: &Signature) -> Result<(), RegistryError> {
        let words: Vec<&str> = signature.path().collect();
        if words.len() > 3 || !words.iter().all(|word| valid_name(word)) {
            return Err(RegistryError::InvalidName(signature.name.clone()));
        }
        check_description(&signature.name, &signature.description)?;
        if self.get(&signature.name).is_some() {
            return Err(RegistryError::Duplicate(signature.name.clone()));
        }
        Ok(())
    }
}

/// The full name an interaction's command data names (`vm start`), following
/// subcommand groups and subcommands, and the options of that leaf.
pub(crate) fn command_path(data: &CommandData) -> (String, &[CommandDataOption]) {
    let mut name = data.name.clone();
    let mut options = data.options.as_slice();
    while let [
        CommandDataOption {
            name: sub,
            value: CommandOptionValue::SubCommand(inner),
        },
    ]
    | [
        CommandDataOption {
            name: sub,
            value: CommandOptionValue::SubCommandGroup(inner),
        },
    ] = options
    {
        name.push(' ');
        name.push_str(sub);
        options = inner;
    }
    (name, options)
}

fn check_description(name: &str, description: &str) -> Result<(), RegistryError> {
    let length = description.chars().count();
    if (1..=100).contains(&length) {
        Ok(())
    } else {
        Err(RegistryError::InvalidDescription(name.to_owned()))
    }
}

fn valid_name(word: &str) -> bool {
    (1..=32).contains(&word.chars().count())
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn subcommand(name: &str, signature: &Signature) -> CommandOption {
    option(
        name,
        &signature.description,
        CommandOptionType::SubCommand,
        signature.options.clone(),
    )
}

fn option(
    name: &str,
    description: &str,
    kind: CommandOptionType,
    options: Vec<CommandOption>,
) -> CommandOption {
    CommandOption {
        autocomplete: None,
        channel_types: None,
        choices: None,
        description: description.to_owned(),
        description_localizations: None,
        file_types: None,
        kind,
        max_length: None,
        max_value: None,
        min_length: None,
        min_value: None,
        name: name.to_owned(),
        name_localizations: None,
        options: Some(options),
        required: None,
    }
}

#[allow(deprecated, reason = "dm_permission must still be set to None")]
fn definition(name: String, description: String, options: Vec<CommandOption>) -> DiscordCommand {
    DiscordCommand {
        application_id: None,
        contexts: Some(vec![
            InteractionContextType::Guild,
            InteractionContextType::BotDm,
        ]),
        default_member_permissions: None,
        dm_permission: None,
        description,
        description_localizations: None,
        guild_id: None,
        id: None,
        integration_types: Some(vec![ApplicationIntegrationType::GuildInstall]),
        kind: CommandType::ChatInput,
        name,
        name_localizations: None,
        nsfw: None,
        options,
        version: twilight_model::id::Id::new(1),
    }
}

/// The registry together with the policy: which commands exist and who may run them.
///
/// Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<(Registry, Policy)>,
}

impl Catalog {
    /// Pairs a registry with the policy that guards it.
    pub fn new(registry: Registry, policy: Policy) -> Self {
        Self {
            inner: Arc::new((registry, policy)),
        }
    }

    /// Every command.
    pub fn registry(&self) -> &Registry {
        &self.inner.0
    }

    /// Who may run what.
    pub fn policy(&self) -> &Policy {
        &self.inner.1
    }

    /// The commands `caller` may run where they are, with their plugins' names.
    pub fn visible_to<'a>(
        &'a self,
        caller: &'a Caller,
    ) -> impl Iterator<Item = (&'a str, &'a Signature)> {
        self.registry()
            .signatures()
            .filter(move |(_, signature)| self.policy().decide(signature, caller).is_allowed())
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("commands", &self.registry().entries.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BoxFuture, CommandError, Context, Reply};

    struct Named(&'static str);

    impl Command for Named {
        fn signature(&self) -> Signature {
            Signature::new(self.0, format!("the {} command", self.0))
        }

        fn run(&self, _: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
            Box::pin(async { Ok(Reply::text(self.0)) })
        }
    }

    fn plugin(names: &[&'static str]) -> Plugin {
        names.iter().fold(
            Plugin::new("test").group("vm", "virtual machines"),
            |plugin, name| plugin.command(Named(name)),
        )
    }

    #[test]
    fn rejects_bad_registrations() {
        let table: [(&[&'static str], Option<RegistryError>); 6] = [
            (&["ping", "vm start"], None),
            (
                &["ping", "ping"],
                Some(RegistryError::Duplicate("ping".into())),
            ),
            (&["Ping"], Some(RegistryError::InvalidName("Ping".into()))),
            (
                &["a b c d"],
                Some(RegistryError::InvalidName("a b c d".into())),
            ),
            (
                &["aci start"],
                Some(RegistryError::MissingGroup("aci".into())),
            ),
            (&["vm"], Some(RegistryError::CommandAndGroup("vm".into()))),
        ];
        for (names, expected) in table {
            assert_eq!(Registry::new([plugin(names)]).err(), expected, "{names:?}");
        }
    }

    #[test]
    fn subcommands_share_one_definition_and_resolve_back() {
        let registry = Registry::new([plugin(&["ping", "vm start", "vm stop"])]).unwrap();
        let definitions = registry.definitions();
        let shape: Vec<(String, Vec<String>)> = definitions
            .iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.options.iter().map(|o| o.name.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("ping".into(), vec![]),
                ("vm".into(), vec!["start".into(), "stop".into()])
            ]
        );
        assert_eq!(definitions[1].description, "virtual machines");

        let data = CommandData {
            guild_id: None,
            id: twilight_model::id::Id::new(1),
            kind: CommandType::ChatInput,
            name: "vm".into(),
            options: vec![CommandDataOption {
                name: "stop".into(),
                value: CommandOptionValue::SubCommand(vec![CommandDataOption {
                    name: "name".into(),
                    value: CommandOptionValue::String("web-1".into()),
                }]),
            }],
            resolved: None,
            target_id: None,
        };
        let resolved = registry.resolve(&data).unwrap();
        assert_eq!(resolved.signature.name, "vm stop");
        assert_eq!(resolved.options[0].name, "name");
    }
}
