//! The command line: `azcord run`, `azcord serve`, `azcord shell`, `azcord commands`,
//! `azcord check-config`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The version line: crate version, git commit and build number.
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("AZCORD_GIT_SHA"),
    ", build ",
    env!("AZCORD_BUILD_NUMBER"),
    ")"
);

/// Run your Azure resources from Discord slash commands.
#[derive(Debug, Parser)]
#[command(name = "azcord", version = VERSION, propagate_version = true)]
pub(crate) struct Cli {
    /// A TOML config file.
    #[arg(long, global = true, env = "AZCORD_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Log format: human on a terminal and JSON otherwise by default.
    #[arg(long, global = true, env = "AZCORD_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Auto)]
    pub(crate) log_format: LogFormatArg,

    #[command(subcommand)]
    pub(crate) command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CliCommand {
    /// Connect to Discord and serve.
    Run(RunArgs),
    /// Serve Discord's interactions as HTTP requests (the interactions endpoint URL).
    Serve(ServeArgs),
    /// Try the bot in the terminal against the built-in Discord simulator.
    Shell(ShellArgs),
    /// Print the slash-command definitions as JSON, exactly as they are registered.
    Commands,
    /// Check the config and print the effective policy.
    CheckConfig,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The bot token (prefer the environment variable).
    #[arg(
        long = "token",
        env = "DISCORD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,

    /// Another Discord-compatible REST API, such as http://127.0.0.1:8080.
    #[arg(long, env = "DISCORD_API_URL", value_name = "URL")]
    pub(crate) api_url: Option<String>,

    /// Another Discord-compatible gateway, such as ws://127.0.0.1:8081.
    #[arg(long, env = "DISCORD_GATEWAY_URL", value_name = "URL")]
    pub(crate) gateway_url: Option<String>,

    /// The shards this process runs, as START..END (END exclusive); needs --shard-total.
    #[arg(
        long,
        env = "AZCORD_SHARDS",
        value_name = "START..END",
        group = "shard_selection",
        requires = "shard_total"
    )]
    pub(crate) shards: Option<String>,

    /// Run K shards, chosen by the ordinal that ends the hostname (a StatefulSet pod's
    /// name, NAME-ORDINAL): shards ORDINAL*K..ORDINAL*K+K; needs --shard-total.
    #[arg(
        long,
        env = "AZCORD_SHARDS_PER_POD",
        value_name = "K",
        value_parser = clap::value_parser!(u32).range(1..),
        group = "shard_selection",
        requires = "shard_total"
    )]
    pub(crate) shards_per_pod: Option<u32>,

    /// How many shards the bot has in all.
    #[arg(
        long,
        env = "AZCORD_SHARD_TOTAL",
        value_name = "N",
        requires = "shard_selection"
    )]
    pub(crate) shard_total: Option<u32>,

    /// Register the commands in this guild only, where changes show at once.
    #[arg(long, env = "AZCORD_GUILD", value_name = "GUILD_ID")]
    pub(crate) guild: Option<u64>,

    /// Serve /healthz, /readyz and /metrics on this address.
    #[arg(long, env = "AZCORD_ADMIN_ADDR", value_name = "ADDR")]
    pub(crate) admin_addr: Option<SocketAddr>,

    /// The state file: open confirmations, operations in flight, gateway sessions.
    #[arg(long = "state", env = "AZCORD_STATE", value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Where to serve POST /interactions, such as 0.0.0.0:8080.
    #[arg(long, env = "AZCORD_LISTEN", value_name = "ADDR")]
    pub(crate) listen: SocketAddr,

    /// The application's public key from the developer portal, 64 hex digits.
    #[arg(long, env = "DISCORD_PUBLIC_KEY", value_name = "HEX")]
    pub(crate) public_key: Option<String>,

    /// The bot token (prefer the environment variable); replies after the first go
    /// over REST with it.
    #[arg(
        long = "token",
        env = "DISCORD_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub(crate) token: Option<String>,

    /// Another Discord-compatible REST API, such as http://127.0.0.1:8080.
    #[arg(long, env = "DISCORD_API_URL", value_name = "URL")]
    pub(crate) api_url: Option<String>,

    /// Register the commands in this guild only, where changes show at once.
    #[arg(long, env = "AZCORD_GUILD", value_name = "GUILD_ID")]
    pub(crate) guild: Option<u64>,

    /// Serve /healthz, /readyz and /metrics on this address.
    #[arg(long, env = "AZCORD_ADMIN_ADDR", value_name = "ADDR")]
    pub(crate) admin_addr: Option<SocketAddr>,
    /// The state file: open confirmations, operations in flight. Replicas behind one
    /// load balancer share a Redis store instead (`AZCORD_STORE_URL`).
    #[arg(long = "state", env = "AZCORD_STATE", value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ShellArgs {
    /// Run this command line and exit once it is answered; repeatable.
    #[arg(short = 'c', long = "command", value_name = "LINE")]
    pub(crate) commands: Vec<String>,

    /// The Discord user id to play.
    #[arg(
        long,
        default_value_t = 100_000_000_000_000_001,
        value_name = "USER_ID"
    )]
    pub(crate) as_user: u64,

    /// The roles the user has, comma-separated: the simulated server's role names
    /// (ops-nonprod, ops-prod) or role ids. Without a config file the shell applies a
    /// demo policy, and the user has ops-nonprod unless this says otherwise.
    #[arg(long, value_delimiter = ',', value_name = "ROLE,...", num_args = 0..)]
    pub(crate) roles: Option<Vec<String>>,

    /// The channel id to type in.
    #[arg(
        long,
        default_value_t = 100_000_000_000_000_003,
        value_name = "CHANNEL_ID"
    )]
    pub(crate) channel: u64,

    /// Type in a direct message instead of a server channel.
    #[arg(long)]
    pub(crate) dm: bool,

    /// Which Azure to use: the built-in simulator (always the default, whatever the
    /// environment says), or `live`, the subscription in AZURE_SUBSCRIPTION_ID.
    #[arg(long, value_enum, default_value_t = AzureArg::Sim)]
    pub(crate) azure: AzureArg,

    /// The state file; a temporary one, gone on exit, by default.
    #[arg(long = "state", env = "AZCORD_STATE", value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AzureArg {
    /// The built-in Azure simulator with its sample subscription.
    Sim,
    /// The subscription in AZURE_SUBSCRIPTION_ID, with the usual credentials.
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormatArg {
    Auto,
    Human,
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shard_flags_go_together() {
        // --shards, --shards-per-pod and --shard-total as parsed, or the error.
        type Parsed<'a> = (Option<&'a str>, Option<u32>, Option<u32>);
        let cases: &[(&[&str], Result<Parsed<'_>, &str>)] = &[
            (&[], Ok((None, None, None))),
            (
                &["--shards", "0..2", "--shard-total", "4"],
                Ok((Some("0..2"), None, Some(4))),
            ),
            (
                &["--shards-per-pod", "2", "--shard-total", "8"],
                Ok((None, Some(2), Some(8))),
            ),
            (
                &[
                    "--shards-per-pod",
                    "2",
                    "--shards",
                    "0..2",
                    "--shard-total",
                    "8",
                ],
                Err("cannot be used with"),
            ),
            (&["--shards-per-pod", "2"], Err("--shard-total <N>")),
            (&["--shards", "0..2"], Err("--shard-total <N>")),
            (
                &["--shard-total", "4"],
                Err("the following required arguments were not provided"),
            ),
            (
                &["--shards-per-pod", "0", "--shard-total", "4"],
                Err("0 is not in 1.."),
            ),
        ];
        for (flags, expected) in cases {
            let argv = ["azcord", "run"].iter().chain(flags.iter());
            let parsed = Cli::try_parse_from(argv).map(|cli| match cli.command {
                CliCommand::Run(run) => (run.shards, run.shards_per_pod, run.shard_total),
                other => panic!("{flags:?} parsed as {other:?}"),
            });
            match (parsed, expected) {
                (Ok((shards, per_pod, total)), Ok(expected)) => {
                    assert_eq!((shards.as_deref(), per_pod, total), *expected, "{flags:?}");
                }
                (Err(error), Err(expected)) => {
                    let error = error.to_string();
                    assert!(error.contains(expected), "{flags:?}: {error}");
                }
                (got, expected) => panic!("{flags:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
