use std::fmt::Write as _;

use serde::Deserialize;
use twilight_model::id::{
    Id,
    marker::{ChannelMarker, GuildMarker, RoleMarker, UserMarker},
};

use crate::{Caller, CommandKind, Signature};

/// Who may run which command, where: the `[policy]` table of the config.
///
/// Read commands are open to every member of an allowed guild. Write and destructive
/// commands are denied unless a rule grants them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The guilds the bot serves; empty means any guild it is in.
    #[serde(default)]
    pub guilds: Vec<Id<GuildMarker>>,
    /// The grants, in the order they are checked.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One grant: these commands, to these roles or users, optionally only in these
/// channels and on these resource groups.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// A name shown in denials and audit events.
    pub name: String,
    /// The commands granted, by name or pattern: `vm start`, `vm *`, `*`.
    pub commands: Vec<CommandPattern>,
    /// Role ids that get the grant.
    #[serde(default)]
    pub roles: Vec<Id<RoleMarker>>,
    /// User ids that get the grant.
    #[serde(default)]
    pub users: Vec<Id<UserMarker>>,
    /// If not empty, the grant holds only in these channels.
    #[serde(default)]
    pub channels: Vec<Id<ChannelMarker>>,
    /// If not empty, the grant holds only for resource groups matching one of these globs.
    #[serde(default)]
    pub resource_groups: Vec<String>,
}

/// A command name or a pattern of them, such as `vm *`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct CommandPattern(String);

impl CommandPattern {
    /// Wraps a pattern; `*` stands for any run of characters.
    pub fn new(pattern: impl Into<String>) -> Self {
        Self(pattern.into())
    }

    /// Whether the command named `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        glob_matches(&self.0, name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to "may this caller run this command here?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, by the named rule or, for read commands, by default.
    Allow {
        /// The rule that granted it, if any.
        rule: Option<String>,
    },
    /// Denied; the message says why and which rule would allow it.
    Deny {
        /// A sentence for the caller.
        message: String,
    },
}

impl Decision {
    /// Whether the command may run.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow { .. })
    }
}

impl Policy {
    /// Decides whether `caller` may run the command `signature` describes, before
    /// its resource group is known.
    ///
    /// A rule limited to resource groups still allows the command here; the command
    /// checks the group with [`Policy::decide_resource_group`] once it knows it.
    pub fn decide(&self, signature: &Signature, caller: &Caller) -> Decision {
        if let Some(denial) = self.check_place(signature, caller) {
            return denial;
        }
        if let Some(rule) = self.granting_rules(&signature.name, caller).next() {
            return Decision::Allow {
                rule: Some(rule.name.clone()),
            };
        }
        if signature.kind == CommandKind::Read {
            return Decision::Allow { rule: None };
        }
        Decision::Deny {
            message: self.denial(
                &signature.name,
                &format!("`/{}` changes Azure resources", signature.name),
            ),
        }
    }

    /// Decides whether `caller` may run `command` on resources in `resource_group`.
    pub fn decide_resource_group(
        &self,
        signature: &Signature,
        caller: &Caller,
        resource_group: &str,
    ) -> Decision {
        if let Some(denial) = self.check_place(signature, caller) {
            return denial;
        }
        let mut granting = self.granting_rules(&signature.name, caller);
        if let Some(rule) = granting.find(|rule| rule.covers_resource_group(resource_group)) {
            return Decision::Allow {
                rule: Some(rule.name.clone()),
            };
        }
        // Reads stay open everywhere, even to members whose grants are limited.
        if signature.kind == CommandKind::Read {
            return Decision::Allow { rule: None };
        }
        Decision::Deny {
            message: self.denial(
                &signature.name,
                &format!(
                    "you may not run `/{}` on resource group `{resource_group}`",
                    signature.name
                ),
            ),
        }
    }

    fn check_place(&self, signature: &Signature, caller: &Caller) -> Option<Decision> {
        match caller.guild_id {
            None if signature.guild_only => Some(Decision::Deny {
                message: format!(
                    "`/{}` only works in a server, not in direct messages",
                    signature.name
                ),
            }),
            Some(guild) if !self.guilds.is_empty() && !self.guilds.contains(&guild) => {
                Some(Decision::Deny {
                    message: "azcord is not enabled in this server".to_owned(),
                })
            }
            _ => None,
        }
    }

    fn granting_rules<'a>(
        &'a self,
        command: &'a str,
        caller: &'a Caller,
    ) -> impl Iterator<Item = &'a Rule> {
        self.rules
            .iter()
            .filter(move |rule| rule.grants(command, caller))
    }

    fn denial(&self, command: &str, reason: &str) -> String {
        let mut message = format!("{reason}, and no rule grants it to you here");
        let candidates: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| rule.covers_command(command))
            .collect();
        if candidates.is_empty() {
            message.push_str("; no rule in the config grants it to anyone");
        } else {
            message.push_str("; it is granted by:");
            for rule in candidates {
                let _ = write!(
                    message,
                    "\n- rule `{}`: {}",
                    rule.name,
                    rule.describe_audience()
                );
            }
        }
        message
    }
}

impl Rule {
    fn covers_command(&self, command: &str) -> bool {
        self.commands.iter().any(|pattern| pattern.matches(command))
    }

    fn grants(&self, command: &str, caller: &Caller) -> bool {
        let audience = self.users.contains(&caller.user_id)
            || self.roles.iter().any(|role| caller.role_ids.contains(role));
        let channel = self.channels.is_empty()
            || caller
                .channel_id
                .is_some_and(|channel| self.channels.contains(&channel));
        audience && channel && self.covers_command(command)
    }

    fn covers_resource_group(&self, resource_group: &str) -> bool {
        self.resource_groups.is_empty()
            || self
                .resource_groups
                .iter()
                .any(|glob| glob_matches(&glob.to_lowercase(), &resource_group.to_lowercase()))
    }

    fn describe_audience(&self) -> String {
        let mut who: Vec<String> = self
            .roles
            .iter()
            .map(|role| format!("<@&{role}>"))
            .collect();
        who.extend(self.users.iter().map(|user| format!("<@{user}>")));
        let mut text = format!(
            "for {}",
            if who.is_empty() {
                "nobody".to_owned()
            } else {
                who.join(", ")
            }
        );
        if !self.channels.is_empty() {
            let channels: Vec<String> = self.channels.iter().map(|c| format!("<#{c}>")).collect();
            let _ = write!(text, " in {}", channels.join(", "));
        }
        if !self.resource_groups.is_empty() {
            let _ = write!(
                text,
                " on resource groups {}",
                self.resource_groups.join(", ")
            );
        }
        text
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(index) => rest = &rest[index + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let table = [
            ("vm *", "vm start", true),
            ("vm *", "vm", false),
            ("vm *", "aci start", false),
            ("*", "anything at all", true),
            ("vm start", "vm start", true),
            ("vm start", "vm stop", false),
            ("prod-*", "prod-web", true),
            ("*-web", "prod-web", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(
                glob_matches(pattern, text),
                expected,
                "{pattern:?} ~ {text:?}"
            );
        }
    }

    fn caller(user: u64, roles: &[u64], guild: Option<u64>, channel: u64) -> Caller {
        Caller {
            user_id: Id::new(user),
            role_ids: roles.iter().copied().map(Id::new).collect(),
            guild_id: guild.map(Id::new),
            channel_id: Some(Id::new(channel)),
        }
    }

    fn policy() -> Policy {
        toml::from_str(
            r#"
            guilds = [1]
            [[rules]]
            name = "ops"
            commands = ["vm *"]
            roles = [10]
            channels = [100]
            [[rules]]
            name = "alice-staging"
            commands = ["vm start"]
            users = [7]
            resource_groups = ["staging-*"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn decisions() {
        let policy = policy();
        let read = Signature::new("vm list", "list").guild_only();
        let start = Signature::new("vm start", "start")
            .kind(CommandKind::Write)
            .guild_only();
        let ping = Signature::new("ping", "ping");
        let table = [
            ("read in guild", &read, caller(5, &[], Some(1), 200), true),
            (
                "read in other guild",
                &read,
                caller(5, &[], Some(2), 200),
                false,
            ),
            ("guild-only in dm", &read, caller(5, &[], None, 200), false),
            ("ping in dm", &ping, caller(5, &[], None, 200), true),
            (
                "write by role in channel",
                &start,
                caller(5, &[10], Some(1), 100),
                true,
            ),
            (
                "write by role elsewhere",
                &start,
                caller(5, &[10], Some(1), 200),
                false,
            ),
            (
                "write without grant",
                &start,
                caller(5, &[11], Some(1), 100),
                false,
            ),
            ("write by user", &start, caller(7, &[], Some(1), 200), true),
        ];
        for (case, signature, caller, allowed) in table {
            assert_eq!(
                policy.decide(signature, &caller).is_allowed(),
                allowed,
                "{case}"
            );
        }
    }

    #[test]
    fn resource_group_limits() {
        let policy = policy();
        let start = Signature::new("vm start", "start").kind(CommandKind::Write);
        let alice = caller(7, &[], Some(1), 200);
        assert!(
            policy
                .decide_resource_group(&start, &alice, "Staging-EU")
                .is_allowed()
        );
        assert!(
            !policy
                .decide_resource_group(&start, &alice, "prod")
                .is_allowed()
        );
        let status = Signature::new("vm status", "status");
        assert!(
            policy
                .decide_resource_group(&status, &alice, "prod")
                .is_allowed(),
            "reads stay open"
        );
        let ops = caller(5, &[10], Some(1), 100);
        assert!(
            policy
                .decide_resource_group(&start, &ops, "prod")
                .is_allowed()
        );
    }

    #[test]
    fn denial_names_the_rules_that_would_allow() {
        let policy = policy();
        let start = Signature::new("vm start", "start").kind(CommandKind::Write);
        let Decision::Deny { message } = policy.decide(&start, &caller(5, &[], Some(1), 100))
        else {
            panic!("expected a denial");
        };
        expect_test::expect![[r#"
            `/vm start` changes Azure resources, and no rule grants it to you here; it is granted by:
            - rule `ops`: for <@&10> in <#100>
            - rule `alice-staging`: for <@7> on resource groups staging-*"#]]
        .assert_eq(&message);
    }
}
