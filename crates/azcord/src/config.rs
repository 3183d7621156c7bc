//! The config file, merged with flags and environment: flags and environment win.

use std::{path::Path, time::Duration};

use anyhow::Context as _;
use azcord_command::{DispatchConfig, Policy};
use serde::Deserialize;

/// The TOML config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    #[serde(default)]
    pub(crate) discord: DiscordSection,
    #[serde(default)]
    pub(crate) admin: AdminSection,
    #[serde(default)]
    pub(crate) dispatch: DispatchSection,
    #[serde(default)]
    pub(crate) audit: AuditSection,
    #[serde(default)]
    pub(crate) azure: AzureSection,
    #[serde(default)]
    pub(crate) policy: Policy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AzureSection {
    /// Seconds the resource lists behind names and autocomplete are reused.
    pub(crate) cache_ttl_secs: u64,
    /// Seconds a Confirm button stays valid.
    pub(crate) confirm_ttl_secs: u64,
    /// Seconds an operation may take before azcord stops waiting for it.
    pub(crate) operation_timeout_secs: u64,
    /// The client id of the user-assigned managed identity to sign in as, when the
    /// environment names no credential (`AZURE_CLIENT_ID` does the same, and wins).
    pub(crate) managed_identity_client_id: Option<String>,
}

impl Default for AzureSection {
    fn default() -> Self {
        let defaults = crate::plugins::AzureSettings::default();
        Self {
            cache_ttl_secs: defaults.cache_ttl.as_secs(),
            confirm_ttl_secs: defaults.confirm_ttl.as_secs(),
            operation_timeout_secs: defaults.wait.deadline.as_secs(),
            managed_identity_client_id: None,
        }
    }
}

impl AzureSection {
    /// The credential to use, given the one the environment chose: the environment
    /// wins, and `managed_identity_client_id` only replaces its default (the
    /// system-assigned identity, else the Azure CLI).
    pub(crate) fn credential(
        &self,
        from_env: azcord_azure::CredentialSource,
    ) -> azcord_azure::CredentialSource {
        use azcord_azure::CredentialSource;
        match (from_env, &self.managed_identity_client_id) {
            (CredentialSource::ManagedIdentityOrAzureCli, Some(client_id))
                if !client_id.trim().is_empty() =>
            {
                CredentialSource::UserAssignedManagedIdentity {
                    client_id: client_id.trim().to_owned(),
                }
            }
            (from_env, _) => from_env,
        }
    }

    pub(crate) fn settings(&self) -> crate::plugins::AzureSettings {
        let defaults = crate::plugins::AzureSettings::default();
        crate::plugins::AzureSettings {
            cache_ttl: Duration::from_secs(self.cache_ttl_secs),
            confirm_ttl: Duration::from_secs(self.confirm_ttl_secs),
            wait: azcord_azure::WaitOptions {
                deadline: Duration::from_secs(self.operation_timeout_secs),
                ..defaults.wait
            },
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditSection {
    /// Post every audit event in this channel.
    pub(crate) channel: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscordSection {
    pub(crate) api_url: Option<String>,
    pub(crate) gateway_url: Option<String>,
    pub(crate) guild: Option<u64>,
    pub(crate) shards: Option<String>,
    pub(crate) shard_total: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdminSection {
    pub(crate) addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DispatchSection {
    /// Milliseconds a command may take before it is deferred.
    pub(crate) ack_budget_ms: u64,
    /// Least milliseconds between two progress edits.
    pub(crate) min_edit_interval_ms: u64,
    /// Seconds shutdown waits for interactions in flight.
    pub(crate) drain_timeout_secs: u64,
}

impl Default for DispatchSection {
    fn default() -> Self {
        let defaults = DispatchConfig::default();
        Self {
            ack_budget_ms: defaults.ack_budget.as_millis() as u64,
            min_edit_interval_ms: defaults.min_edit_interval.as_millis() as u64,
            drain_timeout_secs: 10,
        }
    }
}

impl DispatchSection {
    pub(crate) fn dispatch_config(&self) -> DispatchConfig {
        DispatchConfig {
            ack_budget: Duration::from_millis(self.ack_budget_ms),
            min_edit_interval: Duration::from_millis(self.min_edit_interval_ms),
            ..DispatchConfig::default()
        }
    }

    pub(crate) fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
}

impl FileConfig {
    /// Reads the config file, or the defaults when there is none.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        let config: Self = toml::from_str(text)?;
        if config.dispatch.ack_budget_ms > 2500 {
            anyhow::bail!(
                "dispatch.ack_budget_ms must be at most 2500: Discord allows 3 s to acknowledge"
            );
        }
        Ok(config)
    }
}

/// Parses `START..END` into the range of shard ids.
pub(crate) fn parse_shard_range(text: &str) -> anyhow::Result<(u32, u32)> {
    let (start, end) = text.split_once("..").with_context(|| {
        format!("invalid shard range `{text}`: expected START..END, such as 0..4")
    })?;
    let start: u32 = start
        .trim()
        .parse()
        .with_context(|| format!("invalid shard range start in `{text}`"))?;
    let end: u32 = end
        .trim()
        .parse()
        .with_context(|| format!("invalid shard range end in `{text}`"))?;
    Ok((start, end))
}

/// The effective policy in words: who may run each command, for `azcord check-config`.
pub(crate) fn describe_policy(policy: &Policy, registry: &azcord_command::Registry) -> String {
    use std::fmt::Write as _;

    let mut text = String::from("config is valid\n\n");
    let guilds = if policy.guilds.is_empty() {
        "any server the bot is in".to_owned()
    } else {
        policy
            .guilds
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(text, "servers: {guilds}");
    let _ = writeln!(text, "rules: {}", policy.rules.len());
    for rule in &policy.rules {
        let commands: Vec<&str> = rule
            .commands
            .iter()
            .map(|pattern| pattern.as_str())
            .collect();
        let _ = writeln!(
            text,
            "  {}: commands [{}] roles {:?} users {:?} channels {:?} resource groups {:?}",
            rule.name,
            commands.join(", "),
            rule.roles.iter().map(|id| id.get()).collect::<Vec<_>>(),
            rule.users.iter().map(|id| id.get()).collect::<Vec<_>>(),
            rule.channels.iter().map(|id| id.get()).collect::<Vec<_>>(),
            rule.resource_groups,
        );
    }
    let _ = writeln!(text, "\ncommands:");
    for (plugin, signature) in registry.signatures() {
        let granted: Vec<&str> = policy
            .rules
            .iter()
            .filter(|rule| {
                rule.commands
                    .iter()
                    .any(|pattern| pattern.matches(&signature.name))
            })
            .map(|rule| rule.name.as_str())
            .collect();
        let who = match (signature.kind, granted.is_empty()) {
            (azcord_command::CommandKind::Read, true) => "every member".to_owned(),
            (azcord_command::CommandKind::Read, false) => {
                format!("every member; rules {}", granted.join(", "))
            }
            (_, true) => "nobody (no rule grants it)".to_owned(),
            (_, false) => format!("rules {}", granted.join(", ")),
        };
        let place = if signature.guild_only {
            ", servers only"
        } else {
            ""
        };
        let _ = writeln!(
            text,
            "  /{:<20} {:<11} [{plugin}] {who}{place}",
            signature.name,
            signature.kind.as_str()
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges() {
        assert_eq!(parse_shard_range("0..4").unwrap(), (0, 4));
        assert_eq!(parse_shard_range(" 2 .. 3 ").unwrap(), (2, 3));
        for bad in ["4", "a..b", "1..", "..2"] {
            assert!(parse_shard_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_names_a_user_assigned_identity_only_when_the_environment_does_not() {
        use azcord_azure::CredentialSource;
        let user_assigned = |id: &str| CredentialSource::UserAssignedManagedIdentity {
            client_id: id.to_owned(),
        };
        let table = [
            (
                None,
                CredentialSource::ManagedIdentityOrAzureCli,
                CredentialSource::ManagedIdentityOrAzureCli,
            ),
            (
                Some("file-id"),
                CredentialSource::ManagedIdentityOrAzureCli,
                user_assigned("file-id"),
            ),
            (
                Some(" "),
                CredentialSource::ManagedIdentityOrAzureCli,
                CredentialSource::ManagedIdentityOrAzureCli,
            ),
            (
                Some("file-id"),
                user_assigned("env-id"),
                user_assigned("env-id"),
            ),
            (
                Some("file-id"),
                CredentialSource::AzureCli,
                CredentialSource::AzureCli,
            ),
        ];
        for (key, from_env, expected) in table {
            let section = AzureSection {
                managed_identity_client_id: key.map(str::to_owned),
                ..AzureSection::default()
            };
            assert_eq!(
                section.credential(from_env.clone()),
                expected,
                "{key:?} {from_env:?}"
            );
        }
        let parsed = FileConfig::parse("[azure]\nmanaged_identity_client_id = \"0b1c\"\n").unwrap();
        assert_eq!(
            parsed.azure.managed_identity_client_id.as_deref(),
            Some("0b1c")
        );
    }

    #[test]
    fn config_files() {
        let config = FileConfig::parse(
            r#"
            [discord]
            guild = 42
            [admin]
            addr = "127.0.0.1:9090"
            [dispatch]
            ack_budget_ms = 800
            [[policy.rules]]
            name = "ops"
            commands = ["vm *"]
            roles = [7]
            "#,
        )
        .unwrap();
        assert_eq!(config.discord.guild, Some(42));
        assert_eq!(
            config.dispatch.dispatch_config().ack_budget,
            Duration::from_millis(800)
        );
        assert_eq!(config.policy.rules[0].name, "ops");

        let errors = [
            ("[discord]\ntoken = \"x\"", "unknown field `token`"),
            ("[dispatch]\nack_budget_ms = 5000", "at most 2500"),
            ("[[policy.rules]]\nname = 1", "invalid type"),
        ];
        for (text, expected) in errors {
            let error = format!("{:#}", FileConfig::parse(text).unwrap_err());
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
