//! `azcord-bench restart`: the time from SIGKILL to every operation in flight being
//! followed again. N `/vm start`s run against the ARM simulator, whose operations last
//! until the bench ends them; once each has been polled (its progress edit shows the
//! time so far), the process following them is killed with SIGKILL. "Followed again"
//! is the moment the ARM simulator has seen a poll of every one of the N operations
//! after the kill. Two stores:
//!
//! - embedded: `azcord run` on a state file, then a new `azcord run` on the same file,
//!   started right after the kill (its start-up is in the figure);
//! - Redis: two `azcord serve` replicas on one `redis-server`, interactions sent to
//!   the first; the second, already running, takes the operations over.
//!
//! Every operation must then end in its user's message, or the round fails.

use std::{
    collections::HashSet,
    net::SocketAddr,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use azcord_sim::{
    ArmSim, ArmSimConfig, DiscordSim, DiscordSimConfig, InteractionEvent, InteractionHandle,
    Invocation, PowerState, SimUser, SimVm, redis::RedisServer, terminal::parse_command_line,
};

use super::{Guard, SERVING, azcord_command, ensure_built, median, process};

/// The Retry-After of the simulated operations, so the pace of polls.
const POLL: Duration = Duration::from_millis(250);

/// A key for the Redis store, which every replica must share.
const STATE_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// The user the policy lets run `/vm`.
const OPS: u64 = 7;

const CHANNEL: u64 = 100_000_000_000_000_003;

/// Where the processes keep their state.
#[derive(Clone, Copy)]
enum Store<'a> {
    /// A state file in this directory, `azcord run`.
    Embedded,
    /// This Redis URL, `azcord serve` replicas.
    Redis(&'a str),
}

pub(crate) async fn run(
    azcord: &Path,
    operations: usize,
    rounds: usize,
    lease: Option<Duration>,
) -> anyhow::Result<()> {
    ensure_built(azcord)?;
    let lease = lease.unwrap_or(azcord::plugins::AzureSettings::default().lease);
    let redis = RedisServer::start();
    let mut embedded = Vec::new();
    let mut shared = Vec::new();
    for round in 0..rounds {
        let time = one_restart(azcord, operations, lease, Store::Embedded).await?;
        eprintln!("round {round} embedded: followed again {time:.2?} after SIGKILL");
        embedded.push(time.as_secs_f64());
        if let Some(redis) = &redis {
            let time = one_restart(azcord, operations, lease, Store::Redis(&redis.url())).await?;
            eprintln!("round {round} redis: followed again {time:.2?} after SIGKILL");
            shared.push(time.as_secs_f64());
        }
    }
    println!(
        "\nSIGKILL to all {operations} operations in flight polled again, operation lease {} s, polls every {} ms, {rounds} rounds\n",
        lease.as_secs(),
        POLL.as_millis()
    );
    println!("| store | who takes over | median (s) | min (s) | max (s) |");
    println!("| --- | --- | ---: | ---: | ---: |");
    let rows = [
        (
            "embedded (redb)",
            "a new `azcord run` on the same file",
            embedded,
        ),
        ("Redis", "the other `azcord serve` replica", shared),
    ];
    for (store, who, mut times) in rows {
        if times.is_empty() {
            println!("| {store} | {who} | not measured (no redis-server) | | |");
            continue;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "| {store} | {who} | {:.2} | {:.2} | {:.2} |",
            median(times.clone()),
            times[0],
            times[times.len() - 1]
        );
    }
    Ok(())
}

/// One restart: the operations begun, the follower killed, and the time until every
/// operation is polled again.
async fn one_restart(
    azcord: &Path,
    operations: usize,
    lease: Duration,
    store: Store<'_>,
) -> anyhow::Result<Duration> {
    let discord = DiscordSim::start(DiscordSimConfig {
        wait_timeout: lease * 2 + Duration::from_secs(60),
        ..DiscordSimConfig::default()
    })
    .await?;
    let arm = ArmSim::start(ArmSimConfig {
        transition: Duration::from_secs(24 * 3600),
        retry_after: POLL,
        ..ArmSimConfig::default()
    })
    .await?;
    for index in 0..operations {
        arm.add_vm(SimVm::new(
            "bench",
            &vm_name(index),
            PowerState::Deallocated,
        ));
    }
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("azcord.toml"),
        format!(
            "[dispatch]\nmin_edit_interval_ms = 0\n\n[azure]\noperation_lease_secs = {}\n\n[[policy.rules]]\nname = \"ops\"\ncommands = [\"vm *\"]\nroles = []\nusers = [{OPS}]\n",
            lease.as_secs()
        ),
    )?;
    let spawn =
        |listen: Option<SocketAddr>| spawn(azcord, &discord, &arm, dir.path(), store, listen);

    // The process that begins the operations, and for Redis the replica that survives.
    let (mut first, _survivor) = match store {
        Store::Embedded => {
            let first = spawn(None)?;
            tokio::time::timeout(Duration::from_secs(60), discord.wait_until_ready())
                .await
                .context("azcord run did not connect within 60 s")?;
            (first, None)
        }
        Store::Redis(_) => {
            let (first_at, second_at) = (process::free_port()?, process::free_port()?);
            let mut first = spawn(Some(first_at))?;
            let mut second = spawn(Some(second_at))?;
            process::wait_for_line(&mut first.0, SERVING).await?;
            process::wait_for_line(&mut second.0, SERVING).await?;
            discord.set_interactions_endpoint(Some(format!("http://{first_at}/interactions")));
            (first, Some(second))
        }
    };
    let commands = discord.registered_commands(None);
    let mut handles = (0..operations)
        .map(|index| {
            let line = format!("/vm start name:bench/{}", vm_name(index));
            let data = parse_command_line(&line, &commands)
                .map_err(|error| anyhow::anyhow!("{line}: {error:?}"))?;
            Ok(discord.invoke(Invocation {
                user: SimUser::new(OPS, "ops"),
                guild_id: Some(discord.config().guild_id),
                channel_id: CHANNEL,
                data,
            }))
        })
        .collect::<anyhow::Result<Vec<InteractionHandle>>>()?;
    // A progress edit with the time so far comes from a poll: the operation is
    // recorded with its poll URL.
    for handle in &mut handles {
        handle
            .wait_for(|event| {
                matches!(event, InteractionEvent::OriginalEdited(message)
                    if message.content.starts_with("🔄") && message.content.ends_with(" s"))
            })
            .await;
    }
    let polls: HashSet<String> = operation_polls(&arm.requests()).collect();
    anyhow::ensure!(
        polls.len() == operations,
        "{} operations polled, {operations} begun",
        polls.len()
    );

    let killed = Instant::now();
    first.0.kill()?;
    first.0.wait()?;
    let seen_before = arm.requests().len();
    let _second = match store {
        Store::Embedded => Some(spawn(None)?),
        Store::Redis(_) => None,
    };
    let patience = lease * 2 + Duration::from_secs(60);
    let followed_again = loop {
        let requests = arm.requests();
        let polled: HashSet<String> = operation_polls(&requests[seen_before..]).collect();
        if polls.iter().all(|poll| polled.contains(poll)) {
            break killed.elapsed();
        }
        anyhow::ensure!(
            killed.elapsed() < patience,
            "{} of {operations} operations polled again {patience:?} after SIGKILL",
            polled.len()
        );
        // Sampling the simulator's log, not waiting for the bot: a finer step only
        // costs CPU that the processes measured need.
        tokio::time::sleep(Duration::from_millis(5)).await;
    };

    // Each one ends in its user's message.
    arm.finish_transitions();
    for handle in &mut handles {
        handle
            .wait_for(|event| {
                matches!(event, InteractionEvent::OriginalEdited(message)
                    if message.content.contains("is running"))
            })
            .await;
    }
    Ok(followed_again)
}

fn vm_name(index: usize) -> String {
    format!("vm-{index:03}")
}

/// The distinct operation status URLs polled in `requests`.
fn operation_polls(requests: &[azcord_sim::ArmRequest]) -> impl Iterator<Item = String> + '_ {
    requests
        .iter()
        .filter(|request| {
            request.method == "GET" && request.path.to_ascii_lowercase().contains("/operations/")
        })
        .map(|request| request.path.clone())
}

/// `azcord run` (no `listen`) or `azcord serve` on `listen`, against both simulators,
/// with the config file of `dir` and its state where `store` says.
fn spawn(
    azcord: &Path,
    discord: &DiscordSim,
    arm: &ArmSim,
    dir: &Path,
    store: Store<'_>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<Guard> {
    let mut command: Command = azcord_command(azcord, discord, dir);
    command
        .env("AZCORD_CONFIG", dir.join("azcord.toml"))
        .envs(arm.client_environment())
        .env("RUST_LOG", "warn,azcord_gateway::endpoint=info")
        .stdin(Stdio::null());
    match listen {
        Some(listen) => command
            .args(["serve", "--log-format", "json", "--listen"])
            .arg(listen.to_string())
            .env("DISCORD_PUBLIC_KEY", discord.public_key())
            .stdout(Stdio::piped()),
        None => command
            .arg("run")
            .env("DISCORD_GATEWAY_URL", discord.gateway_url())
            .stdout(Stdio::null()),
    };
    if let Store::Redis(url) = store {
        command
            .env_remove("AZCORD_STATE")
            .env("AZCORD_STORE_URL", url)
            .env("AZCORD_STATE_KEY", STATE_KEY);
    }
    Ok(Guard(command.spawn().context("could not start azcord")?))
}
