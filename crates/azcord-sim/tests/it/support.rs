//! Shared helpers: a driven twilight shard, a twilight HTTP client, and raw HTTP requests.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use azcord_sim::{DiscordSim, DiscordSimConfig, Invocation, SimUser};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::mpsc,
    task::JoinHandle,
};
use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, MessageSender, Session, Shard, ShardId,
    StreamExt, queue::InMemoryQueue,
};
use twilight_model::{
    application::{
        command::CommandType,
        interaction::{
            Interaction,
            application_command::{CommandData, CommandDataOption, CommandOptionValue},
        },
    },
    id::Id,
};

/// How long a test waits for anything before failing.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The channel tests invoke commands in.
pub(crate) const CHANNEL: u64 = 1_200_000_000_000_000_200;

/// Starts a simulator; rustls needs a crypto provider even for plain `ws://` and `http://`.
pub(crate) async fn start(config: DiscordSimConfig) -> DiscordSim {
    let _ = rustls::crypto::ring::default_provider().install_default();
    DiscordSim::start(config)
        .await
        .expect("the simulator starts")
}

/// A twilight HTTP client pointed at the simulator.
pub(crate) fn http(sim: &DiscordSim, token: &str) -> twilight_http::Client {
    twilight_http::Client::builder()
        .token(token.to_owned())
        .proxy(sim.api_proxy(), true)
        .build()
}

/// What a driven shard yielded.
#[derive(Debug)]
pub(crate) enum Incoming {
    Event(Box<Event>),
    Error(String),
}

/// A real twilight shard polled by a background task that forwards what it yields.
pub(crate) struct ShardDriver {
    incoming: mpsc::UnboundedReceiver<Incoming>,
    pub(crate) sender: MessageSender,
    session: Arc<Mutex<Option<Session>>>,
    task: JoinHandle<()>,
}

impl ShardDriver {
    /// Connects shard `number` of `total` with the given token.
    pub(crate) fn connect_with(sim: &DiscordSim, number: u32, total: u32, token: &str) -> Self {
        Self::start(sim, number, total, token, None)
    }

    /// Connects shard `number` of `total` resuming `session` at the simulator's resume URL.
    pub(crate) fn resume(sim: &DiscordSim, number: u32, total: u32, session: Session) -> Self {
        Self::start(sim, number, total, &sim.config().token, Some(session))
    }

    fn start(
        sim: &DiscordSim,
        number: u32,
        total: u32,
        token: &str,
        session: Option<Session>,
    ) -> Self {
        // Max concurrency 0 grants identifies at once instead of every 5 s.
        let queue = InMemoryQueue::new(0, 1000, Duration::from_secs(86_400), 1000);
        let mut config = ConfigBuilder::new(token.to_owned(), Intents::GUILDS)
            .proxy_url(sim.gateway_url())
            .queue(queue);
        if let Some(session) = session {
            config = config.session(session).resume_url(sim.gateway_url());
        }
        let mut shard = Shard::with_config(ShardId::new(number, total), config.build());
        let sender = shard.sender();
        let (tx, incoming) = mpsc::unbounded_channel();
        let latest_session = Arc::new(Mutex::new(None));
        let session = Arc::clone(&latest_session);
        let task = tokio::spawn(async move {
            while let Some(item) = shard.next_event(EventTypeFlags::all()).await {
                *session.lock().unwrap_or_else(PoisonError::into_inner) = shard.session().cloned();
                let item = match item {
                    Ok(event) => Incoming::Event(Box::new(event)),
                    Err(error) => Incoming::Error(error.to_string()),
                };
                if tx.send(item).is_err() {
                    break;
                }
            }
        });
        Self {
            incoming,
            sender,
            session: latest_session,
            task,
        }
    }

    /// The shard's session as of the last thing it yielded.
    pub(crate) fn session(&self) -> Option<Session> {
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Connects shard `number` of `total` with the simulator's token.
    pub(crate) fn connect(sim: &DiscordSim, number: u32, total: u32) -> Self {
        Self::connect_with(sim, number, total, &sim.config().token)
    }

    /// The next thing the shard yields; `None` once the shard has finished for good.
    pub(crate) async fn next(&mut self) -> Option<Incoming> {
        tokio::time::timeout(PATIENCE, self.incoming.recv())
            .await
            .expect("the shard yields something in time")
    }

    /// Skips ahead to the first event `pick` accepts; panics (listing what was seen) on timeout.
    pub(crate) async fn wait_for<T>(&mut self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
                Ok(Some(Incoming::Event(event))) => match pick(&event) {
                    Some(picked) => return picked,
                    None => seen.push(format!("{:?}", event.kind())),
                },
                Ok(Some(Incoming::Error(error))) => seen.push(error),
                Ok(None) | Err(_) => panic!("no matching event; saw {seen:#?}"),
            }
        }
    }

    /// Waits for the INTERACTION_CREATE with this id.
    pub(crate) async fn interaction(
        &mut self,
        id: Id<twilight_model::id::marker::InteractionMarker>,
    ) -> Interaction {
        self.wait_for(|event| match event {
            Event::InteractionCreate(create) if create.id == id => Some(create.0.clone()),
            _ => None,
        })
        .await
    }
}

impl Drop for ShardDriver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A user with a role.
pub(crate) fn alice() -> SimUser {
    SimUser {
        role_ids: vec![1_200_000_000_000_000_300],
        ..SimUser::new(1_200_000_000_000_000_400, "alice")
    }
}

/// `/vm start name:<name>` as Discord sends it.
pub(crate) fn vm_start(name: &str) -> CommandData {
    CommandData {
        guild_id: None,
        id: Id::new(1_200_000_000_000_000_500),
        kind: CommandType::ChatInput,
        name: "vm".to_owned(),
        options: vec![CommandDataOption {
            name: "start".to_owned(),
            value: CommandOptionValue::SubCommand(vec![CommandDataOption {
                name: "name".to_owned(),
                value: CommandOptionValue::String(name.to_owned()),
            }]),
        }],
        resolved: None,
        target_id: None,
    }
}

/// `/vm start` by alice in the default guild's test channel.
pub(crate) fn invocation(sim: &DiscordSim, vm: &str) -> Invocation {
    Invocation {
        user: alice(),
        guild_id: Some(sim.config().guild_id),
        channel_id: CHANNEL,
        data: vm_start(vm),
    }
}

/// A raw HTTP/1.1 answer.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Value,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one raw HTTP request, for what twilight cannot send (bad JSON, unknown routes).
pub(crate) async fn raw_request(
    sim: &DiscordSim,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> RawResponse {
    let mut stream = TcpStream::connect(sim.api_addr()).await.expect("connects");
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        sim.api_addr(),
        body.len()
    );
    if let Some(authorization) = authorization {
        request.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut answer = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut answer))
        .await
        .expect("answers in time")
        .expect("reads");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).expect("a JSON body")
    };
    RawResponse {
        status,
        headers,
        body,
    }
}
