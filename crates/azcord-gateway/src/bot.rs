use std::{fmt, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use axum::http::uri::Authority;
use azcord_command::{Dispatcher, Responder, Secret};
use azcord_store::Store;
use azcord_tls::{TlsError, TlsTrust};
use futures_util::{FutureExt as _, StreamExt as _, stream::FuturesUnordered};
use tokio_util::sync::CancellationToken;
use twilight_gateway::{
    CloseFrame, Config, ConfigBuilder, Event, EventTypeFlags, Intents, Message, Shard, ShardState,
    StreamExt as _, error::ReceiveMessageErrorType, queue::InMemoryQueue,
};
use twilight_http::Client;
use twilight_model::id::{
    Id,
    marker::{ApplicationMarker, GuildMarker},
};

use crate::{
    RestResponder, RestartPolicy, ShardPhase, ShardSession, ShardSessions, ShardStatus,
    identify::{IdentifyQueue, SessionBudget, SharedIdentifyQueue},
    registration::{Registration, sync_commands},
    relay::TlsRelay,
    sessions::SessionMemory,
    supervise::{ShardRunner, new_shard, panic_message},
};

/// How to reach Discord and which shards to run.
#[derive(Clone)]
pub struct GatewayConfig {
    /// The bot token.
    pub token: Secret,
    /// Another Discord-compatible REST API, such as `http://127.0.0.1:8080`.
    pub api_url: Option<String>,
    /// Another Discord-compatible gateway, such as `ws://127.0.0.1:8081`.
    pub gateway_url: Option<String>,
    /// Which shards this process runs.
    pub shards: ShardSelection,
    /// Register commands in this guild only, where updates show at once.
    pub guild: Option<Id<GuildMarker>>,
    /// How long shutdown waits for interactions in flight.
    pub drain_timeout: Duration,
    /// Hears every change of a shard's phase, for metrics.
    pub on_shard_phase: Option<Arc<dyn Fn(u32, ShardPhase) + Send + Sync>>,
    /// How a shard whose task ends is restarted, and when the bot gives up.
    pub restart: RestartPolicy,
    /// What TLS trusts besides the compiled-in roots (`SSL_CERT_FILE`). The gateway's
    /// websocket reads that variable itself, so this must be read from the process
    /// environment ([`TlsTrust::from_process_env`]).
    pub tls: TlsTrust,
}

impl fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("token", &self.token)
            .field("api_url", &self.api_url)
            .field("gateway_url", &self.gateway_url)
            .field("shards", &self.shards)
            .field("guild", &self.guild)
            .field("drain_timeout", &self.drain_timeout)
            .field("restart", &self.restart)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// Which shards this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSelection {
    /// All the shards Discord recommends.
    Recommended,
    /// Shards `start..end` of `total`, so that several processes can split one bot.
    Range {
        /// The first shard id.
        start: u32,
        /// One past the last shard id.
        end: u32,
        /// How many shards the bot has in all.
        total: u32,
    },
}

/// Why the bot could not connect or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The API URL override is not a usable URL.
    #[error("invalid Discord API URL `{0}`: expected http://host:port or https://host")]
    ApiUrl(String),
    /// `SSL_CERT_FILE` cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The relay that gives Discord's REST API that trust could not start.
    #[error("could not start the TLS relay to Discord's REST API")]
    Relay(#[source] std::io::Error),
    /// Discord refused the token.
    #[error("Discord rejected the bot token (401 Unauthorized): check DISCORD_TOKEN")]
    Unauthorized,
    /// A REST call at start-up failed.
    #[error("could not {what}")]
    Http {
        /// What the bot was doing.
        what: &'static str,
        /// The failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The shard range does not fit the total.
    #[error("invalid shard range {start}..{end} of {total}: need start < end <= total")]
    ShardRange {
        /// The first shard id.
        start: u32,
        /// One past the last shard id.
        end: u32,
        /// The total.
        total: u32,
    },
    /// A shard was closed by Discord for good.
    #[error(
        "shard {shard} was closed by Discord{} and cannot reconnect (bad token, intents or shard)",
        code.map(|code| format!(" with code {code}")).unwrap_or_default()
    )]
    ShardClosed {
        /// The shard.
        shard: u32,
        /// The close code Discord sent, if it sent one.
        code: Option<u16>,
    },
    /// A shard ended more often than the restart policy allows.
    #[error(
        "shard {shard} ended again after {restarts} restarts within {window:?}, more than the restart policy allows: {reason}"
    )]
    ShardRestartsExhausted {
        /// The shard.
        shard: u32,
        /// How many restarts the window allowed.
        restarts: u32,
        /// The window.
        window: Duration,
        /// Why it ended the last time.
        reason: String,
    },
    /// The task watching over a shard ended while the bot was running.
    #[error("the supervisor of shard {shard} ended: {reason}")]
    ShardSupervisor {
        /// The shard.
        shard: u32,
        /// How it ended.
        reason: String,
    },
}

impl GatewayError {
    /// Whether restarting cannot help: Discord refused the shard for good.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(self, Self::ShardClosed { .. })
    }
}

/// Installs the TLS crypto provider that twilight needs, once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A connected bot, with its commands registered, ready to serve.
pub struct Bot {
    application_id: Id<ApplicationMarker>,
    rest: RestClient,
    /// The shards this process runs, each with its session memory.
    sessions: ShardSessions,
    shard_config: Config<IdentifyQueue>,
    /// Discord's `session_start_limit.max_concurrency`: how many identify buckets.
    max_concurrency: u32,
    /// Discord's daily session starts left, when this process connected.
    budget: SessionBudget,
    restart: RestartPolicy,
    status: ShardStatus,
    dispatcher: Dispatcher,
    drain_timeout: Duration,
}

/// The Discord REST client, built before anything that posts through it (such as the
/// audit channel) and then shared by the bot, so that all of them share one rate limiter.
///
/// Interaction callbacks, the one answer each interaction takes, go through a second
/// client without twilight's rate limiter. The limiter keys its queues by a path's
/// top-level resource (a channel, a guild, a webhook), which a callback's path has
/// none of, and lets one request per queue be in flight: every callback of the bot
/// would wait for the one before to come back. At 100 ms to Discord that is ten
/// acknowledgements a second for the whole bot, and the thirtieth of a burst would miss
/// Discord's three seconds. Discord counts callbacks against no bot-wide limit. Without
/// the limiter twilight retries a 429 at once, so [`RestResponder`] bounds each
/// callback by the time Discord still accepts it.
#[derive(Clone)]
pub struct RestClient {
    client: Arc<Client>,
    callbacks: Arc<Client>,
}

impl RestClient {
    /// A client for the token, API URL and TLS trust of `config`; it makes no request
    /// yet. When `SSL_CERT_FILE` adds roots, requests to an `https` API go through a
    /// [`TlsRelay`] that trusts them, started here on the current runtime.
    ///
    /// # Errors
    ///
    /// If the API URL is not usable, `SSL_CERT_FILE` cannot be read or holds no usable
    /// certificate (checked here, before twilight-gateway reads it too), or the relay
    /// cannot listen.
    pub async fn new(config: &GatewayConfig) -> Result<Self, GatewayError> {
        install_crypto_provider();
        let (host, plain_http) = match &config.api_url {
            Some(url) => split_api_url(url).ok_or_else(|| GatewayError::ApiUrl(url.clone()))?,
            None => (DISCORD_API_HOST.to_owned(), false),
        };
        let tls = match &config.tls.extra_roots {
            Some(_) => Some(config.tls.client_config()?),
            None => None,
        };
        let proxy = match tls {
            Some(tls) if !plain_http => {
                let upstream: Authority = host
                    .parse()
                    .map_err(|_| GatewayError::ApiUrl(host.clone()))?;
                let relay = TlsRelay::start(upstream, &tls)
                    .await
                    .map_err(GatewayError::Relay)?;
                Some((relay.proxy, true))
            }
            _ if config.api_url.is_some() => Some((host, plain_http)),
            _ => None,
        };
        let builder = || {
            let builder = Client::builder().token(config.token.expose().to_owned());
            match proxy.clone() {
                Some((proxy, plain_http)) => builder.proxy(proxy, plain_http),
                None => builder,
            }
        };
        Ok(Self {
            client: Arc::new(builder().build()),
            callbacks: Arc::new(builder().ratelimiter(None).build()),
        })
    }

    pub(crate) fn client(&self) -> Arc<Client> {
        Arc::clone(&self.client)
    }

    /// The client for interaction callbacks only; see [`RestClient`].
    pub(crate) fn callbacks(&self) -> Arc<Client> {
        Arc::clone(&self.callbacks)
    }
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient").finish_non_exhaustive()
    }
}

/// Connects to Discord with a REST client of its own; see [`connect_with`].
pub async fn connect(config: GatewayConfig, dispatcher: Dispatcher) -> Result<Bot, GatewayError> {
    let rest = RestClient::new(&config).await?;
    connect_with(config, rest, dispatcher).await
}

/// Connects to Discord through `rest`, which must have been built from `config`: finds
/// the application, registers the commands if they changed and prepares the shards.
pub async fn connect_with(
    config: GatewayConfig,
    rest: RestClient,
    dispatcher: Dispatcher,
) -> Result<Bot, GatewayError> {
    let application_id = prepare_application(&config, &rest, &dispatcher).await?;
    let client = rest.client();

    let gateway = request("fetch the gateway information", client.gateway().authed()).await?;
    let limit = gateway.session_start_limit;
    let (start, end, total) = match config.shards {
        ShardSelection::Recommended => (0, gateway.shards, gateway.shards),
        ShardSelection::Range { start, end, total } => {
            if start >= end || end > total {
                return Err(GatewayError::ShardRange { start, end, total });
            }
            (start, end, total)
        }
    };
    let max_concurrency = u32::from(limit.max_concurrency.max(1));
    let budget = SessionBudget::read_now(
        limit.remaining,
        Duration::from_millis(limit.reset_after),
        limit.total,
    );
    let queue = IdentifyQueue::InMemory(InMemoryQueue::new(
        limit.max_concurrency.max(1),
        limit.remaining.min(limit.total),
        Duration::from_millis(limit.reset_after),
        limit.total,
    ));
    let mut shard_config =
        ConfigBuilder::new(config.token.expose().to_owned(), Intents::empty()).queue(queue);
    if let Some(url) = &config.gateway_url {
        shard_config = shard_config.proxy_url(url.trim_end_matches('/').to_owned());
    }
    let shard_config = shard_config.build();
    let sessions = ShardSessions::new(
        (start..end)
            .map(|id| (id, Arc::new(SessionMemory::new(id, total))))
            .collect(),
    );
    let status = ShardStatus::new(start..end, config.on_shard_phase.clone());
    tracing::info!(shards = %format!("{start}..{end}"), total, "prepared shards");
    Ok(Bot {
        application_id,
        rest,
        sessions,
        shard_config,
        max_concurrency,
        budget,
        restart: config.restart,
        status,
        dispatcher,
        drain_timeout: config.drain_timeout,
    })
}

/// Finds the application behind the token of `config` and registers the commands of
/// `dispatcher` if they changed: what the gateway and the interactions endpoint both do
/// before they serve.
pub(crate) async fn prepare_application(
    config: &GatewayConfig,
    rest: &RestClient,
    dispatcher: &Dispatcher,
) -> Result<Id<ApplicationMarker>, GatewayError> {
    install_crypto_provider();
    let client = rest.client();
    let application = request("fetch the application", client.current_user_application()).await?;
    let application_id = application.id;
    tracing::info!(application.id = %application_id, application.name = %application.name, "found application");

    let definitions = dispatcher.registry().definitions();
    let registration = sync_commands(&client, application_id, config.guild, &definitions)
        .await
        .map_err(|source| match source {
            crate::registration::RegistrationError::Request(source) => {
                http_error("register the slash commands", source)
            }
            other => GatewayError::Http {
                what: "register the slash commands",
                source: Box::new(other),
            },
        })?;
    match (registration, config.guild) {
        (Registration::Unchanged, _) => {
            tracing::info!(commands = definitions.len(), "slash commands unchanged")
        }
        (Registration::Updated, Some(guild)) => {
            tracing::info!(commands = definitions.len(), %guild, "registered slash commands in guild");
        }
        (Registration::Updated, None) => {
            tracing::info!(
                commands = definitions.len(),
                "registered slash commands globally"
            );
        }
    }

    Ok(application_id)
}

impl Bot {
    /// The phase of every shard, for readiness checks.
    pub fn status(&self) -> ShardStatus {
        self.status.clone()
    }

    /// The bot's application id.
    pub fn application_id(&self) -> Id<ApplicationMarker> {
        self.application_id
    }

    /// Resumes these sessions, recorded by an earlier process, instead of identifying
    /// afresh, so that Discord replays what was sent while no process was connected. A
    /// session of a shard this bot does not run, or of another shard total, is ignored;
    /// one that Discord no longer knows gets an invalid session, and the shard identifies.
    pub fn with_sessions(self, recorded: &[ShardSession]) -> Self {
        let resumed = self.sessions.seed(recorded);
        tracing::info!(
            offered = recorded.len(),
            resumed,
            "resuming recorded gateway sessions"
        );
        self
    }

    /// Paces this bot's identifies together with every other process sharing `store`:
    /// a shard identifies once it holds its bucket's lease (`shard_id %
    /// max_concurrency`) for one `window`, instead of asking this process's own queue,
    /// and while the session starts recorded in the store leave some of Discord's
    /// daily limit. Discord's window is [`IDENTIFY_WINDOW`](crate::IDENTIFY_WINDOW).
    pub fn share_identifies(mut self, store: Store, window: Duration) -> Self {
        let queue = SharedIdentifyQueue::new(store, self.max_concurrency, window, self.budget);
        tracing::info!(
            max_concurrency = self.max_concurrency,
            window_ms = window.as_millis() as u64,
            "identifies paced through the store"
        );
        self.shard_config = ConfigBuilder::from(self.shard_config)
            .queue(IdentifyQueue::Shared(queue))
            .build();
        self
    }

    /// Each shard's latest session; read it after [`Bot::run`] returns to record the
    /// sessions for the next process.
    pub fn sessions(&self) -> ShardSessions {
        self.sessions.clone()
    }

    /// Serves interactions until `shutdown` completes, then shuts down in order: stop
    /// taking new interactions, finish those in flight (bounded by the drain timeout),
    /// and close the shards so that their sessions can be resumed.
    ///
    /// A shard whose task ends is restarted as the restart policy allows. When one
    /// cannot be (Discord closed it for good, or it ended too often), the bot shuts
    /// down in the same order and returns the error, so that the process exits
    /// non-zero and is restarted.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), GatewayError> {
        let responder: Arc<dyn Responder> = Arc::new(RestResponder::over(&self.rest));
        let cancel = CancellationToken::new();
        // The shards are read on the thread that awaits this future, not on tasks of
        // their own: each interaction's task then has the runtime's workers to itself.
        let mut supervisors = FuturesUnordered::new();
        for (id, memory) in self.sessions.shards() {
            let number = id.number();
            let shard = new_shard(id, &self.shard_config, memory.peek());
            let runner = ShardRunner {
                id,
                config: self.shard_config.clone(),
                dispatcher: self.dispatcher.clone(),
                responder: Arc::clone(&responder),
                status: self.status.clone(),
                cancel: cancel.clone(),
                policy: self.restart,
                memory,
            };
            supervisors.push(async move {
                let ended = AssertUnwindSafe(runner.supervise(shard))
                    .catch_unwind()
                    .await;
                (number, ended)
            });
        }
        tokio::pin!(shutdown);
        // The shards first: what they have already received is read before shutdown.
        let fatal = tokio::select! {
            biased;
            Some((shard, ended)) = supervisors.next() => Some(supervisor_error(shard, ended)),
            () = &mut shutdown => None,
        };
        match &fatal {
            None => tracing::info!(
                in_flight = self.dispatcher.in_flight(),
                "shutting down: finishing interactions in flight"
            ),
            Some(error) => tracing::error!(
                in_flight = self.dispatcher.in_flight(),
                error = %error,
                "a shard cannot go on; shutting down: finishing interactions in flight"
            ),
        }
        self.dispatcher.close();
        // The shards go on while the drain waits: what still arrives gets an answer.
        let drain = self.dispatcher.drain(self.drain_timeout);
        tokio::pin!(drain);
        let drained = loop {
            tokio::select! {
                biased;
                Some(_) = supervisors.next() => {}
                drained = &mut drain => break drained,
            }
        };
        if !drained {
            tracing::warn!(
                in_flight = self.dispatcher.in_flight(),
                "stopped waiting for interactions in flight"
            );
        }
        cancel.cancel();
        while supervisors.next().await.is_some() {}
        tracing::info!("gateway closed");
        fatal.map_or(Ok(()), Err)
    }
}

/// Why a shard's supervisor ended before shutdown: its error, or how it ended.
fn supervisor_error(
    shard: u32,
    ended: Result<Result<(), GatewayError>, Box<dyn std::any::Any + Send>>,
) -> GatewayError {
    match ended {
        Ok(Err(error)) => error,
        Ok(Ok(())) => GatewayError::ShardSupervisor {
            shard,
            reason: "it returned while the bot was running".to_owned(),
        },
        Err(panic) => GatewayError::ShardSupervisor {
            shard,
            reason: format!("it panicked: {}", panic_message(panic.as_ref())),
        },
    }
}

/// Feeds one shard's interactions to the dispatcher until cancelled, then closes it
/// with a resumable close code. Remembers its session in `memory` as it goes, so that
/// a restarted shard can resume it.
pub(crate) async fn run_shard(
    mut shard: Shard<IdentifyQueue>,
    dispatcher: Dispatcher,
    responder: Arc<dyn Responder>,
    status: ShardStatus,
    cancel: CancellationToken,
    memory: Arc<SessionMemory>,
) -> Result<(), GatewayError> {
    let id = shard.id().number();
    let wanted = EventTypeFlags::INTERACTION_CREATE
        | EventTypeFlags::READY
        | EventTypeFlags::RESUMED
        | EventTypeFlags::GATEWAY_RECONNECT
        | EventTypeFlags::GATEWAY_INVALIDATE_SESSION;
    let mut close_code = None;
    loop {
        let item = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            item = shard.next_event(wanted) => item,
        };
        memory.record(&shard);
        match item {
            None => {
                status.set(id, ShardPhase::Closed);
                return Err(GatewayError::ShardClosed {
                    shard: id,
                    code: close_code,
                });
            }
            Some(Ok(Event::InteractionCreate(interaction))) => {
                dispatcher.spawn(interaction, Arc::clone(&responder), id);
            }
            Some(Ok(Event::Ready(_) | Event::Resumed)) => status.set(id, ShardPhase::Connected),
            Some(Ok(Event::GatewayReconnect)) => status.set(id, ShardPhase::Resuming),
            Some(Ok(Event::GatewayInvalidateSession(resumable))) => {
                status.set(
                    id,
                    if resumable {
                        ShardPhase::Resuming
                    } else {
                        ShardPhase::Connecting
                    },
                );
            }
            Some(Ok(Event::GatewayClose(frame))) => {
                close_code = frame.map(|frame| frame.code);
                status.set(id, ShardPhase::Disconnected);
            }
            Some(Ok(_)) => {}
            Some(Err(error)) => log_receive_error(id, &error),
        }
        match shard.state() {
            ShardState::FatallyClosed => {
                status.set(id, ShardPhase::Closed);
                return Err(GatewayError::ShardClosed {
                    shard: id,
                    code: close_code,
                });
            }
            ShardState::Disconnected { .. } => status.set(id, ShardPhase::Disconnected),
            ShardState::Identifying | ShardState::Resuming => {}
            ShardState::Active => {}
        }
    }
    shard.close(CloseFrame::RESUME);
    let closing = async {
        while let Some(item) = shard.next().await {
            if matches!(item, Ok(Message::Close(_)) | Err(_)) {
                break;
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), closing)
        .await
        .is_err()
    {
        tracing::warn!(shard = id, "the gateway did not confirm the close in time");
    }
    status.set(id, ShardPhase::Closed);
    Ok(())
}

/// Logs a gateway receive error without the payload, which may hold an interaction token.
fn log_receive_error(shard: u32, error: &twilight_gateway::error::ReceiveMessageError) {
    match error.kind() {
        ReceiveMessageErrorType::Deserializing { event } => {
            let (op, event_type) = payload_kind(event);
            let reason = std::error::Error::source(error)
                .map(ToString::to_string)
                .unwrap_or_default();
            tracing::warn!(
                shard,
                op,
                event_type,
                bytes = event.len(),
                reason,
                "skipping a gateway payload that could not be parsed"
            );
        }
        _ => tracing::warn!(shard, error = %error, "gateway receive error"),
    }
}

/// The opcode and event type of a raw payload, for logging without its contents.
fn payload_kind(payload: &str) -> (Option<u64>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Head {
        op: Option<u64>,
        t: Option<String>,
    }
    serde_json::from_str::<Head>(payload).map_or((None, None), |head| (head.op, head.t))
}

/// Where twilight-http sends requests when no API URL is configured.
const DISCORD_API_HOST: &str = "discord.com";

fn split_api_url(url: &str) -> Option<(String, bool)> {
    let (rest, plain_http) = if let Some(rest) = url.strip_prefix("http://") {
        (rest, true)
    } else {
        (url.strip_prefix("https://")?, false)
    };
    let host = rest
        .trim_end_matches('/')
        .trim_end_matches("/api/v10")
        .trim_end_matches('/');
    (!host.is_empty() && !host.contains('/')).then(|| (host.to_owned(), plain_http))
}

async fn request<T: serde::de::DeserializeOwned + Unpin>(
    what: &'static str,
    request: impl IntoFuture<Output = Result<twilight_http::Response<T>, twilight_http::Error>>,
) -> Result<T, GatewayError> {
    let response = request.await.map_err(|source| http_error(what, source))?;
    response.model().await.map_err(|source| GatewayError::Http {
        what,
        source: Box::new(source),
    })
}

fn http_error(what: &'static str, source: twilight_http::Error) -> GatewayError {
    match source.kind() {
        twilight_http::error::ErrorType::Unauthorized => GatewayError::Unauthorized,
        twilight_http::error::ErrorType::Response { status, .. } if status.get() == 401 => {
            GatewayError::Unauthorized
        }
        _ => GatewayError::Http {
            what,
            source: Box::new(source),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls() {
        let table = [
            ("http://127.0.0.1:8080", Some(("127.0.0.1:8080", true))),
            (
                "http://127.0.0.1:8080/api/v10/",
                Some(("127.0.0.1:8080", true)),
            ),
            ("https://discord.example", Some(("discord.example", false))),
            ("ftp://x", None),
            ("http://", None),
            ("http://host/some/path", None),
        ];
        for (url, expected) in table {
            let got = split_api_url(url);
            assert_eq!(
                got.as_ref().map(|(h, p)| (h.as_str(), *p)),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn payload_kind_never_needs_the_body() {
        let payload = r#"{"op":0,"t":"INTERACTION_CREATE","s":3,"d":{"token":"secret"}}"#;
        assert_eq!(
            payload_kind(payload),
            (Some(0), Some("INTERACTION_CREATE".to_owned()))
        );
        assert_eq!(payload_kind("not json"), (None, None));
    }
}
