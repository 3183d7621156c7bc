//! The gateway: one task per WebSocket connection, speaking v10 JSON in text frames.

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    sync::{mpsc, oneshot, watch},
    time::{Instant, sleep_until, timeout},
};
use tokio_websockets::{CloseCode, Message, ServerBuilder, WebSocketStream};
use twilight_model::gateway::{Intents, ShardId};

use super::{
    DiscordSimConfig, GatewayRecord, payload,
    session::{Frame, ResumeRefused},
    snowflake::random_hex,
    state::Shared,
};
use crate::tls::TlsListener;

/// How long a closing handshake may take before the TCP connection is dropped anyway.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Discord's gateway close codes the simulator sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CloseReason {
    UnknownOpcode,
    DecodeError,
    NotAuthenticated,
    AuthenticationFailed,
    AlreadyAuthenticated,
    SessionTimedOut,
    InvalidShard,
    ShardingRequired,
    InvalidApiVersion,
    InvalidIntents,
    DisallowedIntents,
    /// Any code a test asks for.
    Custom(u16),
}

impl CloseReason {
    pub(crate) fn code(self) -> u16 {
        match self {
            Self::UnknownOpcode => 4001,
            Self::DecodeError => 4002,
            Self::NotAuthenticated => 4003,
            Self::AuthenticationFailed => 4004,
            Self::AlreadyAuthenticated => 4005,
            Self::SessionTimedOut => 4009,
            Self::InvalidShard => 4010,
            Self::ShardingRequired => 4011,
            Self::InvalidApiVersion => 4012,
            Self::InvalidIntents => 4013,
            Self::DisallowedIntents => 4014,
            Self::Custom(code) => code,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::UnknownOpcode => "Unknown opcode.",
            Self::DecodeError => "Error while decoding payload.",
            Self::NotAuthenticated => "Not authenticated.",
            Self::AuthenticationFailed => "Authentication failed.",
            Self::AlreadyAuthenticated => "Already authenticated.",
            Self::SessionTimedOut => "Session timed out.",
            Self::InvalidShard => "Invalid shard.",
            Self::ShardingRequired => "Sharding required.",
            Self::InvalidApiVersion => "Invalid API version.",
            Self::InvalidIntents => "Invalid intent(s).",
            Self::DisallowedIntents => "Disallowed intent(s).",
            Self::Custom(_) => "",
        }
    }
}

/// What the simulator asks a connection task to do.
#[derive(Debug)]
pub(crate) enum ConnectionCommand {
    /// Write a sequenced dispatch.
    Frame(Frame),
    /// Write a frame outside the session (opcodes 1, 7, 9, or raw text), then report.
    Control {
        text: String,
        written: oneshot::Sender<()>,
    },
    /// Close with a close frame.
    Close {
        reason: CloseReason,
        done: oneshot::Sender<()>,
    },
    /// Drop the TCP connection without a close frame.
    Drop { done: Option<oneshot::Sender<()>> },
}

/// A connection's byte stream: plain TCP, or TLS over it.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Where gateway connections come from: `ws://` or `wss://`.
pub(crate) enum GatewayListener {
    Plain(TcpListener),
    /// Handshakes already done; a client that refuses the certificate never gets here.
    Tls(TlsListener),
}

impl GatewayListener {
    async fn accept(&mut self) -> Option<Box<dyn Io>> {
        match self {
            Self::Plain(listener) => {
                let (stream, _) = listener.accept().await.ok()?;
                Some(Box::new(stream))
            }
            Self::Tls(listener) => {
                let (stream, _) = axum::serve::Listener::accept(listener).await;
                Some(Box::new(stream))
            }
        }
    }
}

/// Accepts gateway connections until the simulator is dropped.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    mut listener: GatewayListener,
    mut shutdown: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Some(stream) = accepted {
                    tokio::spawn(Connection::run(Arc::clone(&shared), stream, shutdown.clone()));
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Frame text of a non-dispatch opcode.
pub(crate) fn opcode_frame(op: u8, data: Value) -> String {
    json!({ "op": op, "d": data, "s": null, "t": null }).to_string()
}

/// Checks an IDENTIFY payload's token, intents and shard; returns the shard it claims.
pub(crate) fn validate_identify(
    config: &DiscordSimConfig,
    identify: &Value,
) -> Result<ShardId, CloseReason> {
    let token = identify.get("token").and_then(Value::as_str).unwrap_or("");
    if !token_matches(config, token) {
        return Err(CloseReason::AuthenticationFailed);
    }
    let intents = identify
        .get("intents")
        .and_then(Value::as_u64)
        .ok_or(CloseReason::DecodeError)?;
    let intents = Intents::from_bits(intents).ok_or(CloseReason::InvalidIntents)?;
    if !config.allowed_intents.contains(intents) {
        return Err(CloseReason::DisallowedIntents);
    }
    let (number, total) = match identify.get("shard") {
        None | Some(Value::Null) => (0, 1),
        Some(shard) => {
            let pair = shard.as_array().filter(|pair| pair.len() == 2);
            let parse = |index: usize| {
                pair.and_then(|pair| pair[index].as_u64())
                    .and_then(|value| u32::try_from(value).ok())
            };
            match (parse(0), parse(1)) {
                (Some(number), Some(total)) => (number, total),
                _ => return Err(CloseReason::InvalidShard),
            }
        }
    };
    if total == 0 || number >= total || total > config.shard_count {
        return Err(CloseReason::InvalidShard);
    }
    if total < config.shard_count {
        return Err(CloseReason::ShardingRequired);
    }
    Ok(ShardId::new(number, total))
}

/// Whether a gateway token is the bot's, with or without the `Bot ` prefix.
pub(crate) fn token_matches(config: &DiscordSimConfig, token: &str) -> bool {
    token.strip_prefix("Bot ").unwrap_or(token) == config.bare_token()
}

/// What the connection loop does next.
enum Step {
    Continue,
    /// Close with a close frame, then drop the connection.
    Close(CloseReason),
    /// The connection is over; drop it.
    End,
}

/// Something that woke the connection loop.
enum Wake {
    Shutdown,
    Command(Option<ConnectionCommand>),
    Received(Option<Result<Message, tokio_websockets::Error>>),
    Silent,
}

struct Connection {
    shared: Arc<Shared>,
    id: u64,
    ws: WebSocketStream<Box<dyn Io>>,
    commands_tx: mpsc::UnboundedSender<ConnectionCommand>,
    commands: mpsc::UnboundedReceiver<ConnectionCommand>,
    /// The shard this connection identified or resumed as.
    shard: Option<u32>,
    last_heard: Instant,
}

impl Connection {
    async fn run(shared: Arc<Shared>, stream: Box<dyn Io>, mut shutdown: watch::Receiver<()>) {
        let Ok((request, ws)) = ServerBuilder::new().accept(stream).await else {
            return;
        };
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let id = {
            let mut state = shared.lock();
            state.next_connection_id += 1;
            state.next_connection_id
        };
        let mut connection = Self {
            shared,
            id,
            ws,
            commands_tx,
            commands,
            shard: None,
            last_heard: Instant::now(),
        };

        let version_ok = request
            .uri()
            .query()
            .is_none_or(|query| query_param(query, "v").is_none_or(|version| version == "10"));
        let mut step = if version_ok {
            connection.hello().await
        } else {
            Step::Close(CloseReason::InvalidApiVersion)
        };
        let interval = connection.shared.config.heartbeat_interval;
        while let Step::Continue = step {
            // Discord closes a connection that stays silent for 1.5 heartbeat intervals.
            let silent_at = connection.last_heard + interval * 3 / 2;
            let wake = tokio::select! {
                _ = shutdown.changed() => Wake::Shutdown,
                command = connection.commands.recv() => Wake::Command(command),
                message = connection.ws.next() => Wake::Received(message),
                () = sleep_until(silent_at) => Wake::Silent,
            };
            step = match wake {
                Wake::Shutdown => Step::End,
                Wake::Command(Some(command)) => connection.on_command(command).await,
                Wake::Command(None) => Step::End,
                Wake::Received(message) => connection.on_message(message).await,
                Wake::Silent => Step::Close(CloseReason::SessionTimedOut),
            };
        }
        if let Step::Close(reason) = step {
            connection.close(reason).await;
        }
        connection.unbind();
    }

    async fn hello(&mut self) -> Step {
        let interval =
            u64::try_from(self.shared.config.heartbeat_interval.as_millis()).unwrap_or(u64::MAX);
        self.write(opcode_frame(10, json!({ "heartbeat_interval": interval })))
            .await
    }

    async fn write(&mut self, text: String) -> Step {
        match self.ws.send(Message::text(text)).await {
            Ok(()) => Step::Continue,
            Err(_) => {
                self.record(GatewayRecord::ConnectionLost { shard: self.shard });
                Step::End
            }
        }
    }

    async fn on_command(&mut self, command: ConnectionCommand) -> Step {
        match command {
            ConnectionCommand::Frame(frame) => {
                if let Some(interaction) = frame.interaction {
                    let mut state = self.shared.lock();
                    if let Some(record) = state.interactions.get_mut(&interaction) {
                        record
                            .dispatched_at
                            .get_or_insert_with(std::time::Instant::now);
                    }
                }
                self.write(frame.text).await
            }
            ConnectionCommand::Control { text, written } => {
                let step = self.write(text).await;
                let _ = written.send(());
                step
            }
            ConnectionCommand::Close { reason, done } => {
                self.close(reason).await;
                let _ = done.send(());
                Step::End
            }
            ConnectionCommand::Drop { done } => {
                self.record(GatewayRecord::ConnectionLost { shard: self.shard });
                if let Some(done) = done {
                    let _ = done.send(());
                }
                Step::End
            }
        }
    }

    async fn on_message(
        &mut self,
        message: Option<Result<Message, tokio_websockets::Error>>,
    ) -> Step {
        let message = match message {
            Some(Ok(message)) => message,
            None | Some(Err(_)) => {
                self.record(GatewayRecord::ConnectionLost { shard: self.shard });
                return Step::End;
            }
        };
        if let Some((code, _)) = message.as_close() {
            let code = u16::from(code);
            self.record(GatewayRecord::ClientClosed {
                shard: self.shard,
                code: Some(code),
            });
            // Closing with 1000 or 1001 ends the session; any other code keeps it resumable.
            if matches!(code, 1000 | 1001) {
                self.invalidate_own_session();
            }
            // Answer the close frame and shut the TCP connection, which the client waits for.
            let _ = timeout(CLOSE_HANDSHAKE_TIMEOUT, self.ws.close()).await;
            return Step::End;
        }
        let Some(text) = message.as_text() else {
            return Step::Continue;
        };
        self.last_heard = Instant::now();
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            return Step::Close(CloseReason::DecodeError);
        };
        let Some(op) = payload.get("op").and_then(Value::as_u64) else {
            return Step::Close(CloseReason::DecodeError);
        };
        let data = payload.get("d").cloned().unwrap_or(Value::Null);
        match op {
            1 => self.on_heartbeat().await,
            2 => self.on_identify(&data).await,
            6 => self.on_resume(&data).await,
            // Presence, voice state and member requests are accepted and ignored.
            3 | 4 | 8 if self.shard.is_some() => Step::Continue,
            3 | 4 | 8 => Step::Close(CloseReason::NotAuthenticated),
            _ => Step::Close(CloseReason::UnknownOpcode),
        }
    }

    async fn on_heartbeat(&mut self) -> Step {
        let acks_stopped = self.shard.is_some_and(|shard| {
            self.shared
                .lock()
                .shards
                .get(shard as usize)
                .is_some_and(|slot| slot.heartbeat_acks_stopped)
        });
        if acks_stopped {
            return Step::Continue;
        }
        self.write(opcode_frame(11, Value::Null)).await
    }

    async fn on_identify(&mut self, data: &Value) -> Step {
        if self.shard.is_some() {
            return Step::Close(CloseReason::AlreadyAuthenticated);
        }
        let shard = match validate_identify(&self.shared.config, data) {
            Ok(shard) => shard,
            Err(reason) => return Step::Close(reason),
        };
        let too_early = {
            let mut state = self.shared.lock();
            let record = state
                .identify_limiter
                .admit(shard.number(), std::time::Instant::now());
            let too_early = record.too_early;
            state.identifies.push(record);
            if too_early {
                state.gateway_log.push(GatewayRecord::IdentifyTooEarly {
                    shard: shard.number(),
                });
            }
            too_early
        };
        if too_early {
            // Discord answers an identify over the max_concurrency limit with an invalid
            // session; the client waits and identifies again.
            return self.write(opcode_frame(9, Value::Bool(false))).await;
        }
        let session_id = random_hex(32);
        let resume_url = self.shared.gateway_url();
        let config = &self.shared.config;
        {
            let mut state = self.shared.lock();
            state.expire_sessions();
            let previous = state.connection_of(shard.number());
            let Some(slot) = state.shards.get_mut(shard.number() as usize) else {
                return Step::Close(CloseReason::InvalidShard);
            };
            let frames = slot.identify(self.id, session_id.clone(), |session_id| {
                serde_json::to_value(payload::ready(config, shard, session_id, &resume_url))
                    .expect("READY serializes")
            });
            kick(&mut state, previous, self.id);
            state.connections.insert(self.id, self.commands_tx.clone());
            for frame in frames {
                let _ = self.commands_tx.send(ConnectionCommand::Frame(frame));
            }
            state.identify_count += 1;
            state.gateway_log.push(GatewayRecord::Identified {
                shard: shard.number(),
                session_id,
            });
        }
        self.shard = Some(shard.number());
        self.shared.gateway_changed();
        Step::Continue
    }

    async fn on_resume(&mut self, data: &Value) -> Step {
        if self.shard.is_some() {
            return Step::Close(CloseReason::AlreadyAuthenticated);
        }
        let token = data.get("token").and_then(Value::as_str).unwrap_or("");
        if !token_matches(&self.shared.config, token) {
            return Step::Close(CloseReason::AuthenticationFailed);
        }
        let session_id = data.get("session_id").and_then(Value::as_str).unwrap_or("");
        let seq = data.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let resumed = {
            let mut state = self.shared.lock();
            state.expire_sessions();
            let shard = state.shards.iter().position(|slot| {
                slot.session()
                    .is_some_and(|session| session.id() == session_id)
            });
            let result = match shard {
                Some(shard) => {
                    let number = u32::try_from(shard).unwrap_or(u32::MAX);
                    let previous = state.connection_of(number);
                    let result = state.shards[shard].resume(self.id, session_id, seq);
                    if result == Err(ResumeRefused::ReplayTooOld) {
                        state.shards[shard].invalidate_session();
                    }
                    result.map(|frames| (number, frames, previous))
                }
                None => Err(ResumeRefused::UnknownSession),
            };
            match result {
                Ok((shard, frames, previous)) => {
                    kick(&mut state, previous, self.id);
                    state.connections.insert(self.id, self.commands_tx.clone());
                    state.gateway_log.push(GatewayRecord::Resumed {
                        shard,
                        session_id: session_id.to_owned(),
                        replayed: frames.len() - 1,
                    });
                    for frame in frames {
                        let _ = self.commands_tx.send(ConnectionCommand::Frame(frame));
                    }
                    Some(shard)
                }
                Err(_) => {
                    state.gateway_log.push(GatewayRecord::ResumeRefused {
                        session_id: session_id.to_owned(),
                    });
                    None
                }
            }
        };
        match resumed {
            Some(shard) => {
                self.shard = Some(shard);
                self.shared.gateway_changed();
                Step::Continue
            }
            None => self.write(opcode_frame(9, Value::Bool(false))).await,
        }
    }

    /// Sends a close frame and waits (briefly) for the client's answer.
    async fn close(&mut self, reason: CloseReason) {
        self.record(GatewayRecord::ServerClosed {
            shard: self.shard,
            code: reason.code(),
        });
        if reason == CloseReason::SessionTimedOut {
            self.invalidate_own_session();
        }
        let code = CloseCode::try_from(reason.code()).ok();
        let frame = Message::close(code, reason.text());
        if self.ws.send(frame).await.is_ok() {
            let _ = timeout(CLOSE_HANDSHAKE_TIMEOUT, self.ws.close()).await;
        }
    }

    /// Ends the session of this connection's shard, if this connection is the bound one.
    fn invalidate_own_session(&self) {
        let Some(shard) = self.shard else { return };
        let mut state = self.shared.lock();
        if let Some(slot) = state.shards.get_mut(shard as usize)
            && slot
                .binding()
                .is_some_and(|binding| binding.connection == self.id)
        {
            slot.invalidate_session();
        }
    }

    fn unbind(&self) {
        let unbound = {
            let mut state = self.shared.lock();
            state.connections.remove(&self.id);
            self.shard.is_some_and(|shard| {
                state
                    .shards
                    .get_mut(shard as usize)
                    .is_some_and(|slot| slot.unbind(self.id))
            })
        };
        if unbound {
            self.shared.gateway_changed();
        }
    }

    fn record(&self, record: GatewayRecord) {
        self.shared.lock().gateway_log.push(record);
    }
}

/// Drops the connection a new IDENTIFY or RESUME took the shard from.
fn kick(
    state: &mut super::state::State,
    previous: Option<(u64, mpsc::UnboundedSender<ConnectionCommand>)>,
    current: u64,
) {
    if let Some((id, sender)) = previous
        && id != current
    {
        state.connections.remove(&id);
        let _ = sender.send(ConnectionCommand::Drop { done: None });
    }
}

/// The value of `key` in a query string.
fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(name, value)| (name == key).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identify(token: &str, intents: Value, shard: Value) -> Value {
        json!({ "token": token, "intents": intents, "shard": shard, "properties": {} })
    }

    #[test]
    fn identify_is_checked_like_discord_does() {
        let config = DiscordSimConfig {
            shard_count: 2,
            allowed_intents: Intents::all() - Intents::GUILD_PRESENCES,
            ..DiscordSimConfig::default()
        };
        let guilds = Intents::GUILDS.bits();
        let cases = [
            (
                identify("sim-token", json!(guilds), json!([0, 2])),
                Ok((0, 2)),
            ),
            (
                identify("Bot sim-token", json!(guilds), json!([1, 2])),
                Ok((1, 2)),
            ),
            (identify("wrong", json!(guilds), json!([0, 2])), Err(4004)),
            (
                identify("sim-token", json!(1u64 << 40), json!([0, 2])),
                Err(4013),
            ),
            (
                identify(
                    "sim-token",
                    json!(Intents::GUILD_PRESENCES.bits()),
                    json!([0, 2]),
                ),
                Err(4014),
            ),
            (identify("sim-token", json!("x"), json!([0, 2])), Err(4002)),
            (
                identify("sim-token", json!(guilds), json!([2, 2])),
                Err(4010),
            ),
            (
                identify("sim-token", json!(guilds), json!([0, 3])),
                Err(4010),
            ),
            (
                identify("sim-token", json!(guilds), json!([0, 1])),
                Err(4011),
            ),
            (identify("sim-token", json!(guilds), Value::Null), Err(4011)),
            (identify("sim-token", json!(guilds), json!([0])), Err(4010)),
        ];
        for (payload, expected) in cases {
            let result = validate_identify(&config, &payload)
                .map(|shard| (shard.number(), shard.total()))
                .map_err(CloseReason::code);
            assert_eq!(result, expected, "{payload}");
        }
    }

    #[test]
    fn query_params_are_found() {
        assert_eq!(query_param("v=10&encoding=json", "v"), Some("10"));
        assert_eq!(query_param("v=10&encoding=json", "encoding"), Some("json"));
        assert_eq!(query_param("v=10", "compress"), None);
    }
}
