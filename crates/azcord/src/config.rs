//! The config file, merged with flags and environment: flags and environment win.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use azcord_command::{DispatchConfig, Policy, Secret};
use azcord_gateway::ShardSelection;
use serde::Deserialize;

use crate::wiring::StoreSource;

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
    pub(crate) store: StoreSection,
    #[serde(default)]
    pub(crate) policy: Policy,
}

/// Where the state lives: `[store]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoreSection {
    /// The embedded store's file.
    pub(crate) path: Option<PathBuf>,
    /// A Redis server, `redis://…` or `rediss://…`, shared by several processes; a
    /// secret, as it may hold a password.
    pub(crate) url: Option<Secret>,
}

impl StoreSection {
    /// The store to open: `--state FILE` or `AZCORD_STATE` (`state`), else
    /// `AZCORD_STORE_URL` (`url`), else this section, else the file `default` names.
    pub(crate) fn source(
        &self,
        state: Option<PathBuf>,
        url: Option<Secret>,
        default: impl FnOnce() -> PathBuf,
    ) -> anyhow::Result<StoreSource> {
        let url = url.filter(|url| !url.is_empty());
        match (state, url) {
            (Some(_), Some(_)) => anyhow::bail!(
                "both a state file (--state or AZCORD_STATE) and AZCORD_STORE_URL are set: choose one store"
            ),
            (Some(path), None) => Ok(StoreSource::File(path)),
            (None, Some(url)) => Ok(StoreSource::Redis(url)),
            (None, None) => match (&self.path, &self.url) {
                (Some(_), Some(_)) => {
                    anyhow::bail!("[store] has both path and url: choose one store")
                }
                (Some(path), None) => Ok(StoreSource::File(path.clone())),
                (None, Some(url)) => Ok(StoreSource::Redis(url.clone())),
                (None, None) => Ok(StoreSource::File(default())),
            },
        }
    }
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
    /// Seconds the process following an operation holds it without renewing, before
    /// another may take it over.
    pub(crate) operation_lease_secs: u64,
}

impl Default for AzureSection {
    fn default() -> Self {
        let defaults = crate::plugins::AzureSettings::default();
        Self {
            cache_ttl_secs: defaults.cache_ttl.as_secs(),
            confirm_ttl_secs: defaults.confirm_ttl.as_secs(),
            operation_timeout_secs: defaults.wait.deadline.as_secs(),
            managed_identity_client_id: None,
            operation_lease_secs: defaults.lease.as_secs(),
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
            lease: Duration::from_secs(self.operation_lease_secs),
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
    pub(crate) shards_per_pod: Option<u32>,
    pub(crate) shard_total: Option<u32>,
    /// Milliseconds each identify bucket waits between sessions: Discord's 5000 unless
    /// a Discord-compatible gateway documents another.
    pub(crate) identify_window_ms: Option<u64>,
}

impl DiscordSection {
    /// How often each identify bucket may start a session.
    pub(crate) fn identify_window(&self) -> Duration {
        self.identify_window_ms
            .map_or(azcord_gateway::IDENTIFY_WINDOW, Duration::from_millis)
    }
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

/// How the shards this process runs are chosen, as flags, environment or config say.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ShardSettings<'a> {
    /// `--shards START..END`.
    pub(crate) shards: Option<&'a str>,
    /// `--shards-per-pod K`: the range follows from the pod's ordinal.
    pub(crate) shards_per_pod: Option<u32>,
    /// `--shard-total N`.
    pub(crate) shard_total: Option<u32>,
}

/// The shards to run. `hostname` is the pod's name, needed only with `shards_per_pod`.
pub(crate) fn shard_selection(
    settings: ShardSettings<'_>,
    hostname: Option<&str>,
) -> anyhow::Result<ShardSelection> {
    match (
        settings.shards,
        settings.shards_per_pod,
        settings.shard_total,
    ) {
        (None, None, None) => Ok(ShardSelection::Recommended),
        (Some(_), Some(_), _) => anyhow::bail!(
            "shards and shards_per_pod conflict: give a fixed range or a range per pod, not both"
        ),
        (Some(range), None, Some(total)) => {
            let (start, end) = parse_shard_range(range)?;
            Ok(ShardSelection::Range { start, end, total })
        }
        (None, Some(per_pod), Some(total)) => {
            let hostname = hostname.context(
                "shards_per_pod needs the pod's name, from HOSTNAME or the system hostname",
            )?;
            let (start, end) = pod_shard_range(hostname, per_pod, total)?;
            Ok(ShardSelection::Range { start, end, total })
        }
        (Some(_), None, None) | (None, Some(_), None) => {
            anyhow::bail!("a shard range needs shard_total, the number of shards in all")
        }
        (None, None, Some(_)) => anyhow::bail!(
            "shard_total needs shards (START..END) or shards_per_pod to say which shards to run"
        ),
    }
}

/// The shards of a StatefulSet pod: `ordinal*K .. ordinal*K+K`, within `shard_total`.
///
/// A StatefulSet names its pods `NAME-ORDINAL`, and that is their hostname.
pub(crate) fn pod_shard_range(
    hostname: &str,
    shards_per_pod: u32,
    shard_total: u32,
) -> anyhow::Result<(u32, u32)> {
    if shards_per_pod == 0 {
        anyhow::bail!("shards_per_pod must be at least 1");
    }
    let ordinal = pod_ordinal(hostname).with_context(|| {
        format!(
            "the hostname `{hostname}` does not end in a pod ordinal: shards_per_pod needs a \
             StatefulSet pod's name, NAME-ORDINAL such as azcord-gateway-0"
        )
    })?;
    let range = ordinal
        .checked_mul(shards_per_pod)
        .and_then(|start| Some((start, start.checked_add(shards_per_pod)?)));
    match range {
        Some((start, end)) if end <= shard_total => Ok((start, end)),
        _ => anyhow::bail!(
            "pod ordinal {ordinal} with {shards_per_pod} shards per pod needs shards beyond \
             shard_total {shard_total}: run at most {} pods, or raise shard_total",
            shard_total / shards_per_pod
        ),
    }
}

/// The ordinal at the end of a StatefulSet pod's name (`azcord-gateway-3` is 3).
fn pod_ordinal(hostname: &str) -> Option<u32> {
    // A fully qualified hostname starts with the pod's name.
    let name = hostname.split('.').next().unwrap_or(hostname);
    let (set, ordinal) = name.rsplit_once('-')?;
    if set.is_empty() || ordinal.is_empty() || !ordinal.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    ordinal.parse().ok()
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
    fn shard_selections() {
        // shards, shards_per_pod, shard_total, the hostname, and what they select.
        type Case<'a> = (
            Option<&'a str>,
            Option<u32>,
            Option<u32>,
            Option<&'a str>,
            Expected<'a>,
        );
        type Expected<'a> = Result<ShardSelection, &'a str>;
        let range = |start, end, total| Ok(ShardSelection::Range { start, end, total });
        let cases: &[Case<'_>] = &[
            (None, None, None, None, Ok(ShardSelection::Recommended)),
            (Some("0..2"), None, Some(4), None, range(0, 2, 4)),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-gateway-0"),
                range(0, 2, 8),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-gateway-3"),
                range(6, 8, 8),
            ),
            (None, Some(1), Some(1), Some("azcord-0"), range(0, 1, 1)),
            (
                None,
                Some(3),
                Some(10),
                Some("gw-2.azcord-gateway.ops.svc.cluster.local"),
                range(6, 9, 10),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-gateway-4"),
                Err(
                    "pod ordinal 4 with 2 shards per pod needs shards beyond shard_total 8: run at most 4 pods, or raise shard_total",
                ),
            ),
            (
                None,
                Some(3),
                Some(10),
                Some("azcord-3"),
                Err("run at most 3 pods"),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-gateway"),
                Err(
                    "the hostname `azcord-gateway` does not end in a pod ordinal: shards_per_pod needs a StatefulSet pod's name, NAME-ORDINAL such as azcord-gateway-0",
                ),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("laptop"),
                Err("does not end in a pod ordinal"),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("-1"),
                Err("does not end in a pod ordinal"),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-"),
                Err("does not end in a pod ordinal"),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-+1"),
                Err("does not end in a pod ordinal"),
            ),
            (
                None,
                Some(2),
                Some(8),
                Some("azcord-99999999999"),
                Err("does not end in a pod ordinal"),
            ),
            (
                None,
                Some(2),
                Some(u32::MAX),
                Some("azcord-4294967295"),
                Err("needs shards beyond shard_total"),
            ),
            (
                None,
                Some(0),
                Some(8),
                Some("azcord-0"),
                Err("shards_per_pod must be at least 1"),
            ),
            (
                None,
                Some(2),
                Some(8),
                None,
                Err("shards_per_pod needs the pod's name"),
            ),
            (
                Some("0..2"),
                Some(2),
                Some(8),
                Some("azcord-0"),
                Err("shards and shards_per_pod conflict"),
            ),
            (
                Some("0..2"),
                None,
                None,
                None,
                Err("a shard range needs shard_total"),
            ),
            (
                None,
                Some(2),
                None,
                Some("azcord-0"),
                Err("a shard range needs shard_total"),
            ),
            (
                None,
                None,
                Some(4),
                None,
                Err("shard_total needs shards (START..END) or shards_per_pod"),
            ),
            (
                Some("2"),
                None,
                Some(4),
                None,
                Err("invalid shard range `2`"),
            ),
        ];
        for (shards, shards_per_pod, shard_total, hostname, expected) in cases {
            let settings = ShardSettings {
                shards: *shards,
                shards_per_pod: *shards_per_pod,
                shard_total: *shard_total,
            };
            let case = format!("{settings:?} on {hostname:?}");
            match (shard_selection(settings, *hostname), expected) {
                (Ok(selection), Ok(expected)) => assert_eq!(selection, *expected, "{case}"),
                (Err(error), Err(expected)) => {
                    let error = format!("{error:#}");
                    assert!(error.contains(expected), "{case}: {error}");
                }
                (got, expected) => panic!("{case}: got {got:?}, expected {expected:?}"),
            }
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
            ("[store]\nfile = \"x\"", "unknown field `file`"),
            ("[dispatch]\nack_budget_ms = 5000", "at most 2500"),
            ("[[policy.rules]]\nname = 1", "invalid type"),
        ];
        for (text, expected) in errors {
            let error = format!("{:#}", FileConfig::parse(text).unwrap_err());
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn the_store_comes_from_flag_environment_file_or_default() {
        let file = |text: &str| FileConfig::parse(text).unwrap().store;
        let path = |text: &str| Some(PathBuf::from(text));
        let url = |text: &str| Some(Secret::new(text));
        let cases = [
            ("", None, None, "File(\"default.redb\")"),
            ("", path("flag.redb"), None, "File(\"flag.redb\")"),
            (
                "[store]\npath = \"file.redb\"",
                None,
                None,
                "File(\"file.redb\")",
            ),
            (
                "[store]\npath = \"file.redb\"",
                path("flag.redb"),
                None,
                "File(\"flag.redb\")",
            ),
            (
                "[store]\nurl = \"redis://:pw@127.0.0.1\"",
                None,
                None,
                "Redis(<redacted>)",
            ),
            (
                "[store]\npath = \"file.redb\"",
                None,
                url("redis://127.0.0.1"),
                "Redis(<redacted>)",
            ),
            ("", None, url(""), "File(\"default.redb\")"),
            (
                "",
                path("flag.redb"),
                url("redis://127.0.0.1"),
                "choose one store",
            ),
            (
                "[store]\npath = \"a\"\nurl = \"redis://127.0.0.1\"",
                None,
                None,
                "choose one store",
            ),
        ];
        for (text, state, url, expected) in cases {
            let actual = match file(text).source(state, url, || PathBuf::from("default.redb")) {
                Ok(source) => format!("{source:?}"),
                Err(error) => error.to_string(),
            };
            assert!(actual.contains(expected), "{text:?}: {actual}");
        }
    }
}
