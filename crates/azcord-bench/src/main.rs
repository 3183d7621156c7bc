//! `cargo xtask bench`: sends N concurrent `/ping` interactions through the Discord
//! simulator into the release build of azcord, and into a bare twilight loop that
//! answers at once (the floor), and reports throughput, acknowledgement latency as
//! the simulator measures it, and the bot's memory. Its other modes measure the HTTP
//! interactions endpoint (`http`), the store (`store`), restarts (`restart`) and the
//! replay of a resumed session (`replay`); docs/performance.md has their figures.
//! `instructions` counts the instructions each runs per `/ping` under callgrind.
//! `startup` records which functions azcord runs from start to its first answer, for
//! `cargo xtask startup-order`.

#![allow(clippy::print_stdout, reason = "the report is the program's output")]

mod azure;
mod floor;
mod floor_http;
mod http;
mod instructions;
mod pool;
mod process;
mod replay;
mod restart;
mod shell;
mod startup;
mod store;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use azcord_sim::{
    DiscordSim, DiscordSimConfig, InteractionEvent, InteractionHandle, Invocation, SimUser,
};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Concurrent /ping interactions per round.
    #[arg(long, default_value_t = 1000)]
    interactions: usize,
    /// Rounds per contender; medians are reported. One round's p99 moves several-fold
    /// with the machine, so it takes about thirty for the median to settle.
    #[arg(long, default_value_t = 31)]
    rounds: usize,
    /// The azcord binary to measure.
    #[arg(long, default_value = "target/release/azcord")]
    azcord: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Count ARM calls per command and time how soon Discord hears that an
    /// operation finished, against the Discord and ARM simulators.
    Azure {
        /// Actions to time.
        #[arg(long, default_value_t = 6)]
        rounds: usize,
        /// How long the simulated operations take, in milliseconds; not a multiple of
        /// the poll interval, so that operations end between two polls.
        #[arg(long, default_value_t = 2500)]
        transition_ms: u64,
        /// The Retry-After the simulated Azure sends, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        retry_after_ms: u64,
    },
    /// Time Tab in `azcord shell`: from the key to the candidates, for a VM name
    /// completed through the bot's autocomplete.
    Shell {
        /// How many presses to time.
        #[arg(long, default_value_t = 100)]
        presses: usize,
    },
    /// The HTTP interactions endpoint (`azcord serve`) against the gateway
    /// (`azcord run`), each with its floor, at each number of concurrent `/ping`s.
    Http {
        /// Numbers of concurrent /ping interactions, each measured in turn.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        sizes: Vec<usize>,
        /// Rounds per contender and size; medians are reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// What the embedded store adds to an action: `/vm start`, and `/vm deallocate`
    /// confirmed, through the bot with the redb store and with the state in memory.
    Store {
        /// Actions per store, start and deallocate in turn.
        #[arg(long, default_value_t = 200)]
        actions: usize,
    },
    /// From SIGKILL to every operation in flight being followed again: a new
    /// `azcord run` on the same state file, and a second `azcord serve` on one Redis.
    Restart {
        /// Operations in flight when the process is killed.
        #[arg(long, default_value_t = 20)]
        operations: usize,
        /// Rounds per store; medians are reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// `[azure] operation_lease_secs`; the product's default if not given.
        #[arg(long)]
        lease_secs: Option<u64>,
    },
    /// Interactions sent while `azcord run` restarts (SIGTERM, then a new process
    /// resumes the session): how many are answered.
    Replay {
        /// `/ping`s sent while no process is connected.
        #[arg(long, default_value_t = 100)]
        interactions: usize,
        /// Restarts to measure.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
    /// Take the rounds of earlier runs together: the pooled median p99 and CPU of each
    /// contender, and a 95% bootstrap interval of the p99 ratio.
    Pool {
        /// What earlier runs printed on standard error (`azcord-bench … 2>FILE`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Start a contender against the simulator and keep it idle until standard input
    /// closes, for profiling it by hand (`perf record -p PID`, /proc/PID/smaps).
    Hold {
        /// Hold the floor instead of azcord.
        #[arg(long)]
        floor: bool,
    },
    /// Run `azcord run` under valgrind's callgrind until it is idle, then until it has
    /// answered one `/ping`, dumping the functions it ran at each point (used by
    /// `cargo xtask startup-order`).
    Startup {
        /// Where callgrind writes: `PROFILE.1` from start to idle, `PROFILE.2` the
        /// first `/ping`.
        #[arg(long)]
        profile: PathBuf,
    },
    /// Count the instructions azcord and the floor each run per `/ping`, under
    /// valgrind's callgrind: unlike time, the same from run to run whatever else the
    /// machine is doing.
    Instructions {
        /// Concurrent /ping interactions.
        #[arg(long, default_value_t = 1000)]
        interactions: usize,
        /// Where to keep the two profiles, for `callgrind_annotate`.
        #[arg(long, default_value = "target/bench-instructions")]
        out: PathBuf,
    },
    /// Run the bare twilight floor against a Discord-compatible server (used by the bench itself).
    Floor {
        #[arg(long)]
        api_url: String,
        #[arg(long)]
        gateway_url: String,
        #[arg(long)]
        token: String,
    },
    /// Run the HTTP floor: a bare interactions endpoint that checks the signature and
    /// answers `/ping` (used by the bench itself).
    FloorHttp {
        #[arg(long)]
        api_url: String,
        #[arg(long)]
        token: String,
        /// The application's public key, 64 hex digits.
        #[arg(long)]
        public_key: String,
        /// Where to listen, `127.0.0.1:PORT`.
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.mode {
        Some(Mode::Floor {
            api_url,
            gateway_url,
            token,
        }) => runtime.block_on(floor::run(&api_url, &gateway_url, token)),
        Some(Mode::FloorHttp {
            api_url,
            token,
            public_key,
            listen,
        }) => runtime.block_on(floor_http::run(&api_url, token, &public_key, listen)),
        Some(Mode::Http { ref sizes, rounds }) => runtime.block_on(http::run(&cli, sizes, rounds)),
        Some(Mode::Store { actions }) => runtime.block_on(store::run(actions)),
        Some(Mode::Restart {
            operations,
            rounds,
            lease_secs,
        }) => runtime.block_on(restart::run(
            &cli.azcord,
            operations,
            rounds,
            lease_secs.map(Duration::from_secs),
        )),
        Some(Mode::Replay {
            interactions,
            rounds,
        }) => runtime.block_on(replay::run(&cli.azcord, interactions, rounds)),
        Some(Mode::Azure {
            rounds,
            transition_ms,
            retry_after_ms,
        }) => runtime.block_on(azure::run(
            rounds,
            Duration::from_millis(transition_ms),
            Duration::from_millis(retry_after_ms),
        )),
        Some(Mode::Shell { presses }) => runtime.block_on(shell::run(presses)),
        Some(Mode::Pool { ref files }) => pool::run(files),
        Some(Mode::Hold { floor }) => runtime.block_on(hold(&cli, floor)),
        Some(Mode::Instructions {
            interactions,
            ref out,
        }) => runtime.block_on(instructions::run(&cli.azcord, interactions, out)),
        Some(Mode::Startup { ref profile }) => runtime.block_on(startup::run(&cli.azcord, profile)),
        None => runtime.block_on(bench(&cli)),
    }
}

/// What one round measured.
struct Round {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    idle: Rss,
    peak_rss_kib: u64,
    /// The contender's CPU time (user and system, all threads) from the first
    /// interaction to the last acknowledgement, divided by the interactions: unlike
    /// latency, hardly moved by other work on the machine.
    cpu_per_interaction: Duration,
}

/// Resident memory at one moment, split by what backs it.
#[derive(Debug, Clone, Copy)]
struct Rss {
    /// All of it (VmRSS).
    total_kib: u64,
    /// Heap, stacks and other anonymous memory (RssAnon).
    anonymous_kib: u64,
    /// Pages of the binary and the libraries (RssFile).
    file_kib: u64,
}

impl Rss {
    fn of(pid: u32) -> anyhow::Result<Self> {
        Ok(Self {
            total_kib: rss_kib(pid, "VmRSS")?,
            anonymous_kib: rss_kib(pid, "RssAnon")?,
            file_kib: rss_kib(pid, "RssFile")?,
        })
    }
}

async fn bench(cli: &Cli) -> anyhow::Result<()> {
    ensure_built(&cli.azcord)?;
    let me = std::env::current_exe()?;
    let contenders = [Contender::Azcord(&cli.azcord), Contender::Floor(&me)];
    let results = compare(&contenders, cli.interactions, cli.rounds).await?;
    println!(
        "{} concurrent /ping interactions, {} rounds each, medians\n",
        cli.interactions, cli.rounds
    );
    report(
        &[
            ("azcord", &results[0]),
            ("floor (bare twilight)", &results[1]),
        ],
        &[("azcord / floor", 0, 1)],
    );
    Ok(())
}

fn ensure_built(azcord: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        azcord.exists(),
        "{} does not exist: build it with cargo build --release -p azcord",
        azcord.display()
    );
    Ok(())
}

/// Runs `rounds` rounds of `interactions` concurrent `/ping`s against every contender,
/// rotating which goes first so that none always runs on a warmer machine; the
/// rounds of each contender, in the order given.
async fn compare(
    contenders: &[Contender<'_>],
    interactions: usize,
    rounds: usize,
) -> anyhow::Result<Vec<Vec<Round>>> {
    let mut results: Vec<Vec<Round>> = contenders.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for offset in 0..contenders.len() {
            let index = (round + offset) % contenders.len();
            let contender = contenders[index];
            let result = one_round(interactions, contender).await?;
            eprintln!(
                "round {round} {:>10}: {:>7.0}/s p50 {:>4} ms p99 {:>4} ms max {:>4} ms cpu {:>4} µs idle {:>6} KiB peak {:>6} KiB",
                contender.name(),
                result.throughput,
                result.p50.as_millis(),
                result.p99.as_millis(),
                result.max.as_millis(),
                result.cpu_per_interaction.as_micros(),
                result.idle.total_kib,
                result.peak_rss_kib
            );
            results[index].push(result);
        }
    }
    Ok(results)
}

/// A process to measure.
#[derive(Clone, Copy)]
enum Contender<'a> {
    /// The release `azcord run`, at this path.
    Azcord(&'a Path),
    /// The bare twilight loop: this program's `floor` mode, at this path.
    Floor(&'a Path),
    /// The release `azcord serve`, at this path: interactions arrive as signed POSTs.
    Serve(&'a Path),
    /// The bare interactions endpoint: this program's `floor-http` mode, at this path.
    FloorHttp(&'a Path),
    /// Another contender under valgrind's callgrind, which writes its profile dumps
    /// to `profile` ([`startup::under_callgrind`]).
    Callgrind {
        contender: &'a Contender<'a>,
        profile: &'a Path,
        /// Count from the start, or only once [`startup::instrument`] is called.
        from_start: bool,
    },
}

/// What `azcord serve` and the HTTP floor write once they accept requests.
const SERVING: &str = "serving the interactions endpoint";

impl Contender<'_> {
    fn name(self) -> &'static str {
        match self {
            Self::Azcord(_) => "azcord",
            Self::Floor(_) => "floor",
            Self::Serve(_) => "serve",
            Self::FloorHttp(_) => "http floor",
            Self::Callgrind { contender, .. } => contender.name(),
        }
    }

    /// Whether interactions reach it as POSTs to an interactions endpoint.
    fn is_http(self) -> bool {
        match self {
            Self::Serve(_) | Self::FloorHttp(_) => true,
            Self::Callgrind { contender, .. } => contender.is_http(),
            Self::Azcord(_) | Self::Floor(_) => false,
        }
    }

    /// Starts the contender against `sim`, keeping any state in `dir`; an HTTP
    /// contender listens on `listen`.
    fn spawn(self, sim: &DiscordSim, dir: &Path, listen: SocketAddr) -> std::io::Result<Child> {
        let stdout = if self.is_http() {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        self.command(sim, dir, listen)
            .stdin(Stdio::null())
            .stdout(stdout)
            .spawn()
    }

    /// The command that starts the contender; see [`Contender::spawn`].
    fn command(self, sim: &DiscordSim, dir: &Path, listen: SocketAddr) -> Command {
        match self {
            Self::Azcord(path) => {
                let mut command = azcord_command(path, sim, dir);
                command
                    .arg("run")
                    .env("DISCORD_GATEWAY_URL", sim.gateway_url())
                    .env("RUST_LOG", "warn");
                command
            }
            Self::Callgrind {
                contender,
                profile,
                from_start,
            } => {
                startup::under_callgrind(&contender.command(sim, dir, listen), profile, from_start)
            }
            Self::Serve(path) => {
                let mut command = azcord_command(path, sim, dir);
                command
                    .args(["serve", "--log-format", "json", "--listen"])
                    .arg(listen.to_string())
                    .env("DISCORD_PUBLIC_KEY", sim.public_key())
                    // Warnings, and the line that says it serves.
                    .env("RUST_LOG", "warn,azcord_gateway::endpoint=info");
                command
            }
            Self::Floor(path) => {
                let mut command = Command::new(path);
                command
                    .args(["floor", "--api-url", &sim.api_url()])
                    .args(["--gateway-url", &sim.gateway_url()])
                    .args(["--token", &sim.config().token]);
                command
            }
            Self::FloorHttp(path) => {
                let mut command = Command::new(path);
                command
                    .args(["floor-http", "--api-url", &sim.api_url()])
                    .args(["--token", &sim.config().token])
                    .args(["--public-key", &sim.public_key()])
                    .arg("--listen")
                    .arg(listen.to_string());
                command
            }
        }
    }
}

/// `azcord` against `sim`'s REST API, with its state in a file of `dir` and nothing
/// exported; the subcommand and the rest are the caller's.
fn azcord_command(path: &Path, sim: &DiscordSim, dir: &Path) -> Command {
    let mut command = Command::new(path);
    command
        .env("DISCORD_TOKEN", &sim.config().token)
        .env("DISCORD_API_URL", sim.api_url())
        .env("AZCORD_STATE", dir.join("state.redb"))
        .env_remove("AZCORD_STORE_URL")
        .env_remove("AZCORD_STATE_KEY")
        .env_remove("AZCORD_CONFIG")
        .env_remove("HONEYCOMB_API_KEY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    command
}

/// A contender connected to its own simulator, idle, with the `/ping` it registered.
struct Running {
    sim: DiscordSim,
    child: Guard,
    ping: twilight_model::application::interaction::application_command::CommandData,
    /// Where it keeps its state; removed after it is killed.
    _dir: tempfile::TempDir,
}

/// Starts the simulator and `contender` against it, and waits until every shard is
/// connected (or the endpoint serves) and `/ping` is registered.
async fn start(contender: Contender<'_>) -> anyhow::Result<Running> {
    let sim = DiscordSim::start(DiscordSimConfig {
        wait_timeout: Duration::from_secs(60),
        ..DiscordSimConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let listen = process::free_port()?;
    let mut child = Guard(
        contender
            .spawn(&sim, dir.path(), listen)
            .context("could not start the contender")?,
    );
    if contender.is_http() {
        process::wait_for_line(&mut child.0, SERVING)
            .await
            .with_context(|| format!("{} did not serve", contender.name()))?;
        sim.set_interactions_endpoint(Some(format!("http://{listen}/interactions")));
    } else {
        tokio::time::timeout(Duration::from_secs(60), sim.wait_until_ready())
            .await
            .context("the contender did not connect within 60 s")?;
    }
    let commands = sim.registered_commands(Some(sim.config().guild_id));
    let global = sim.registered_commands(None);
    let ping = commands
        .iter()
        .chain(&global)
        .find(|command| command.name == "ping");
    let ping = match ping {
        Some(_) => sim.command_data(Some(sim.config().guild_id), "ping", Vec::new()),
        None => None,
    }
    .context("the contender registered no /ping")?;
    Ok(Running {
        sim,
        child,
        ping,
        _dir: dir,
    })
}

async fn one_round(interactions: usize, contender: Contender<'_>) -> anyhow::Result<Round> {
    let Running {
        sim,
        mut child,
        ping: data,
        _dir,
    } = start(contender).await?;
    let idle = Rss::of(child.0.id())?;

    let cpu_before = cpu_ticks(child.0.id())?;
    let started = Instant::now();
    ping_all(&sim, &data, interactions).await?;
    let elapsed = started.elapsed();
    let peak_rss_kib = rss_kib(child.0.id(), "VmHWM")?;
    let cpu = cpu_ticks(child.0.id())?.saturating_sub(cpu_before);
    let mut latencies = sim.ack_latencies();
    anyhow::ensure!(
        latencies.len() == interactions,
        "{} of {interactions} interactions were answered",
        latencies.len()
    );
    latencies.sort();
    child.0.kill().ok();
    Ok(Round {
        throughput: interactions as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
        max: latencies.last().copied().unwrap_or_default(),
        idle,
        peak_rss_kib,
        cpu_per_interaction: Duration::from_millis(cpu * 1000 / TICKS_PER_SECOND)
            / u32::try_from(interactions.max(1)).unwrap_or(u32::MAX),
    })
}

/// Sends `interactions` `/ping`s (`data`) through `sim` at once, from as many users,
/// and waits until every one is acknowledged.
async fn ping_all(
    sim: &DiscordSim,
    data: &twilight_model::application::interaction::application_command::CommandData,
    interactions: usize,
) -> anyhow::Result<()> {
    for mut handle in send_pings(sim, data, interactions) {
        match handle.next_event().await {
            InteractionEvent::Acknowledged { .. } => {}
            other => anyhow::bail!("unexpected first answer: {other:?}"),
        }
    }
    Ok(())
}

/// Sends `interactions` `/ping`s (`data`) through `sim` at once, from as many users;
/// each handle follows one.
fn send_pings(
    sim: &DiscordSim,
    data: &twilight_model::application::interaction::application_command::CommandData,
    interactions: usize,
) -> Vec<InteractionHandle> {
    (0..interactions)
        .map(|index| {
            sim.invoke(Invocation {
                user: SimUser::new(100_000_000_000_000_000 + index as u64, "bench"),
                guild_id: Some(sim.config().guild_id),
                channel_id: 100_000_000_000_000_003,
                data: data.clone(),
            })
        })
        .collect()
}

/// `azcord-bench hold`: starts a contender against the simulator and keeps it idle
/// until standard input closes, so that it can be looked at with `perf` or through
/// /proc.
async fn hold(cli: &Cli, floor: bool) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let contender = if floor {
        Contender::Floor(&me)
    } else {
        Contender::Azcord(&cli.azcord)
    };
    let running = start(contender).await?;
    let pid = running.child.0.id();
    let idle = Rss::of(pid)?;
    println!(
        "pid {pid} idle: RSS {} KiB, of which anonymous {} KiB and file-backed {} KiB",
        idle.total_kib, idle.anonymous_kib, idle.file_kib
    );
    println!("close standard input (Ctrl-D) to stop it");
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut rest).await?;
    Ok(())
}

/// Reads one figure off a round.
type Measure = fn(&Round) -> f64;

/// Prints the medians of each contender's rounds as a Markdown table, a column per
/// contender (its heading and its rounds), then a column per ratio (its heading, and
/// the indexes of the two contenders it divides).
fn report(columns: &[(&str, &[Round])], ratios: &[(&str, usize, usize)]) {
    let rows: [(&str, Measure); 9] = [
        ("throughput (interactions/s)", |r| r.throughput),
        ("ack latency p50 (ms)", |r| r.p50.as_secs_f64() * 1000.0),
        ("ack latency p99 (ms)", |r| r.p99.as_secs_f64() * 1000.0),
        ("ack latency max (ms)", |r| r.max.as_secs_f64() * 1000.0),
        ("CPU per interaction (µs)", |r| {
            r.cpu_per_interaction.as_secs_f64() * 1e6
        }),
        ("idle RSS (MiB)", |r| r.idle.total_kib as f64 / 1024.0),
        ("of which anonymous (MiB)", |r| {
            r.idle.anonymous_kib as f64 / 1024.0
        }),
        ("of which file-backed (MiB)", |r| {
            r.idle.file_kib as f64 / 1024.0
        }),
        ("peak RSS (MiB)", |r| r.peak_rss_kib as f64 / 1024.0),
    ];
    let headings: Vec<&str> = columns
        .iter()
        .map(|(heading, _)| *heading)
        .chain(ratios.iter().map(|(heading, _, _)| *heading))
        .collect();
    println!("| measure | {} |", headings.join(" | "));
    println!("| --- |{}", " ---: |".repeat(headings.len()));
    for (name, measure) in rows {
        let medians: Vec<f64> = columns
            .iter()
            .map(|(_, rounds)| median(rounds.iter().map(measure).collect()))
            .collect();
        let cells = medians
            .iter()
            .map(|value| format!("{value:.1}"))
            .chain(
                ratios
                    .iter()
                    .map(|(_, a, b)| format!("{:.2}x", medians[*a] / medians[*b])),
            )
            .collect::<Vec<_>>();
        println!("| {name} | {} |", cells.join(" | "));
    }
}

/// The median of `values` (the upper one of an even count); NaN if there are none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

/// The clock ticks per second of /proc/PID/stat (USER_HZ), 100 on Linux.
const TICKS_PER_SECOND: u64 = 100;

/// The CPU time a process has used, user and system, in clock ticks.
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count fields after it.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15; the state (field 3) is the first after ')'.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index - 3)
            .with_context(|| format!("/proc/{pid}/stat has no field {index}"))?
            .parse()
            .with_context(|| format!("field {index} of /proc/{pid}/stat is not a number"))
    };
    Ok(ticks(14)? + ticks(15)?)
}

/// A field of /proc/PID/status in KiB, such as VmRSS or VmHWM (the peak).
fn rss_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Kills the contender however the round ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
