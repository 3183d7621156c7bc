//! The REST API under `/api/v10`: routes, authentication, recording and injected faults.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use twilight_model::{
    application::command::{Command, CommandType},
    channel::message::MessageFlags,
};

use super::{
    RestCall, SimMessage,
    api_error::ApiError,
    interaction::{CallbackOutcome, Deadlines, WebhookMessage},
    messages::{MessageFields, parse_body, parse_object},
    payload::{self, now_timestamp},
    state::ReplyReference,
    state::{RestFault, Shared},
};

/// Largest request body read, like Discord's 25 MiB upload limit.
const BODY_LIMIT: usize = 25 * 1024 * 1024;
/// The per-route limit advertised in `X-RateLimit-Limit`.
const ROUTE_LIMIT: u16 = 5;

type ApiResult = Result<Response, ApiError>;
type Sim = State<Arc<Shared>>;

/// The REST router, with `shared` as state.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let bot = Router::new()
        .route(&api("/gateway/bot"), get(gateway_bot))
        .route(&api("/users/@me"), get(current_user))
        .route(&api("/applications/@me"), get(application))
        .route(&api("/oauth2/applications/@me"), get(application))
        .route(
            &api("/applications/{app}/commands"),
            get(list_global_commands)
                .put(overwrite_global_commands)
                .post(create_global_command),
        )
        .route(
            &api("/applications/{app}/commands/{command}"),
            get(get_global_command)
                .patch(edit_global_command)
                .delete(delete_global_command),
        )
        .route(
            &api("/applications/{app}/guilds/{guild}/commands"),
            get(list_guild_commands)
                .put(overwrite_guild_commands)
                .post(create_guild_command),
        )
        .route(
            &api("/applications/{app}/guilds/{guild}/commands/{command}"),
            get(get_guild_command)
                .patch(edit_guild_command)
                .delete(delete_guild_command),
        )
        .route(
            &api("/channels/{channel}/messages"),
            get(list_channel_messages).post(create_channel_message),
        )
        .route(
            &api("/channels/{channel}/messages/{message}"),
            get(get_channel_message)
                .patch(edit_channel_message)
                .delete(delete_channel_message),
        )
        .route_layer(from_fn_with_state(Arc::clone(&shared), require_bot_token));
    // Interaction callbacks and webhooks are authenticated by the token in the path.
    let open = Router::new()
        .route(&api("/gateway"), get(gateway))
        .route(
            &api("/interactions/{interaction}/{token}/callback"),
            post(interaction_callback),
        )
        .route(&api("/webhooks/{app}/{token}"), post(create_followup))
        .route(
            &api("/webhooks/{app}/{token}/messages/{message}"),
            get(get_webhook_message)
                .patch(edit_webhook_message)
                .delete(delete_webhook_message),
        );
    bot.merge(open)
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(from_fn_with_state(
            Arc::clone(&shared),
            record_and_inject_faults,
        ))
        .with_state(shared)
}

fn api(path: &str) -> String {
    format!("/api/v10{path}")
}

// ---- middleware ----

/// Records every call, answers injected faults, and adds rate-limit headers.
async fn record_and_inject_faults(State(shared): Sim, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .unwrap_or_default();
    // A multipart upload carries the JSON in its `payload_json` part; handlers only see that.
    if let Some(json) = multipart_payload_json(&parts.headers, &bytes) {
        bytes = json;
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let authorized = parts.headers.contains_key(header::AUTHORIZATION);
    let body = serde_json::from_slice::<Value>(&bytes).ok();
    let bucket = bucket_of(&method, &path);

    let fault = shared.lock().rest_faults.pop_front();
    let mut response = match fault {
        Some(RestFault::Status(status)) => ApiError::status(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .into_response(),
        Some(RestFault::RateLimited(retry_after)) => rate_limited(&bucket, retry_after),
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    if response.status() != StatusCode::TOO_MANY_REQUESTS {
        // Discord sends X-RateLimit-Scope only on 429s, so twilight only reads these then.
        rate_limit_headers(
            response.headers_mut(),
            &bucket,
            ROUTE_LIMIT - 1,
            Duration::from_secs(1),
        );
    }
    shared.lock().rest_calls.push(RestCall {
        method,
        path,
        query,
        status: response.status().as_u16(),
        body,
        authorized,
    });
    response
}

/// Bot routes need `Authorization: Bot <token>`.
async fn require_bot_token(State(shared): Sim, request: Request, next: Next) -> Response {
    let expected = format!("Bot {}", shared.config.bare_token());
    let authorized = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value == expected);
    if authorized {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// A 429 as Discord documents it, for a user (per-route) limit.
fn rate_limited(bucket: &str, retry_after: Duration) -> Response {
    let body = json!({
        "message": "You are being rate limited.",
        "retry_after": retry_after.as_secs_f64(),
        "global": false,
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    let headers = response.headers_mut();
    rate_limit_headers(headers, bucket, 0, retry_after);
    let whole_seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    headers.insert(header::RETRY_AFTER, HeaderValue::from(whole_seconds));
    headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
    response
}

fn rate_limit_headers(
    headers: &mut HeaderMap,
    bucket: &str,
    remaining: u16,
    reset_after: Duration,
) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let reset = (now + reset_after).as_secs_f64();
    let values = [
        ("x-ratelimit-limit", ROUTE_LIMIT.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", format!("{reset:.3}")),
        (
            "x-ratelimit-reset-after",
            format!("{:.3}", reset_after.as_secs_f64()),
        ),
        ("x-ratelimit-bucket", bucket.to_owned()),
    ];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

/// A stable bucket hash for a route: the method and the path with ids and tokens blanked.
fn bucket_of(method: &http::Method, path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut route = String::from(method.as_str());
    for (index, segment) in segments.iter().enumerate() {
        let numeric = !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit());
        // Interaction and webhook tokens follow the id: /interactions/{id}/{token}.
        let token = index >= 2 && matches!(segments[index - 2], "interactions" | "webhooks");
        route.push('/');
        route.push_str(if numeric || token { ":id" } else { segment });
    }
    // FNV-1a: stable across runs, unlike the standard hasher.
    let hash = route.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The `payload_json` part of a `multipart/form-data` body.
fn multipart_payload_json(headers: &HeaderMap, body: &[u8]) -> Option<Bytes> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !content_type.starts_with("multipart/form-data") {
        return None;
    }
    let boundary = content_type
        .split(';')
        .find_map(|part| part.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    text.split(delimiter.as_str()).find_map(|part| {
        let (head, content) = part.split_once("\r\n\r\n")?;
        head.contains("name=\"payload_json\"")
            .then(|| Bytes::from(content.trim_end_matches("\r\n").to_owned()))
    })
}

// ---- helpers ----

/// Parses a snowflake path segment like Discord: anything else is a form error.
fn snowflake(segment: &str) -> Result<u64, ApiError> {
    segment
        .parse::<u64>()
        .ok()
        .filter(|&id| id != 0)
        .ok_or_else(|| {
            ApiError::invalid_form_body(
                &[],
                "NUMBER_TYPE_COERCE",
                &format!("Value \"{segment}\" is not snowflake."),
            )
        })
}

fn deadlines(shared: &Shared) -> Deadlines {
    Deadlines {
        ack: shared.config.interaction_ack_deadline,
        token_lifetime: shared.config.interaction_token_lifetime,
    }
}

/// The message object of a stored message, as JSON.
fn message_response(shared: &Shared, id: u64) -> ApiResult {
    let state = shared.lock();
    let stored = state
        .messages
        .get(&id)
        .ok_or_else(ApiError::unknown_message)?;
    let message = payload::message(&shared.config, &stored.message, stored.interaction.as_ref());
    Ok(Json(message).into_response())
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// ---- gateway and application ----

async fn gateway(State(shared): Sim) -> Json<Value> {
    Json(json!({ "url": shared.gateway_url() }))
}

async fn gateway_bot(State(shared): Sim) -> Json<Value> {
    let identified = shared.lock().identify_count;
    Json(json!({
        "url": shared.gateway_url(),
        "shards": shared.config.shard_count,
        "session_start_limit": {
            "total": 1000,
            "remaining": 1000_u32.saturating_sub(identified),
            "reset_after": 86_400_000,
            "max_concurrency": shared.config.max_concurrency,
        },
    }))
}

async fn current_user(State(shared): Sim) -> Response {
    Json(payload::current_user(&shared.config)).into_response()
}

async fn application(State(shared): Sim) -> Response {
    Json(payload::application(&shared.config)).into_response()
}

// ---- application commands ----

/// Which command list a route addresses.
#[derive(Clone, Copy)]
struct Scope {
    guild: Option<u64>,
}

impl Scope {
    fn of(shared: &Shared, app: &str, guild: Option<&str>) -> Result<Self, ApiError> {
        if snowflake(app)? != shared.config.application_id {
            return Err(ApiError::unknown_application());
        }
        Ok(Self {
            guild: guild.map(snowflake).transpose()?,
        })
    }
}

async fn list_global_commands(State(shared): Sim, Path(app): Path<String>) -> ApiResult {
    list_commands(&shared, Scope::of(&shared, &app, None)?)
}

async fn list_guild_commands(
    State(shared): Sim,
    Path((app, guild)): Path<(String, String)>,
) -> ApiResult {
    list_commands(&shared, Scope::of(&shared, &app, Some(&guild))?)
}

async fn overwrite_global_commands(
    State(shared): Sim,
    Path(app): Path<String>,
    body: Bytes,
) -> ApiResult {
    overwrite_commands(&shared, Scope::of(&shared, &app, None)?, &body)
}

async fn overwrite_guild_commands(
    State(shared): Sim,
    Path((app, guild)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    overwrite_commands(&shared, Scope::of(&shared, &app, Some(&guild))?, &body)
}

async fn create_global_command(
    State(shared): Sim,
    Path(app): Path<String>,
    body: Bytes,
) -> ApiResult {
    create_command(&shared, Scope::of(&shared, &app, None)?, &body)
}

async fn create_guild_command(
    State(shared): Sim,
    Path((app, guild)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    create_command(&shared, Scope::of(&shared, &app, Some(&guild))?, &body)
}

async fn get_global_command(
    State(shared): Sim,
    Path((app, command)): Path<(String, String)>,
) -> ApiResult {
    get_command(&shared, Scope::of(&shared, &app, None)?, &command)
}

async fn get_guild_command(
    State(shared): Sim,
    Path((app, guild, command)): Path<(String, String, String)>,
) -> ApiResult {
    get_command(&shared, Scope::of(&shared, &app, Some(&guild))?, &command)
}

async fn edit_global_command(
    State(shared): Sim,
    Path((app, command)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    edit_command(&shared, Scope::of(&shared, &app, None)?, &command, &body)
}

async fn edit_guild_command(
    State(shared): Sim,
    Path((app, guild, command)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    edit_command(
        &shared,
        Scope::of(&shared, &app, Some(&guild))?,
        &command,
        &body,
    )
}

async fn delete_global_command(
    State(shared): Sim,
    Path((app, command)): Path<(String, String)>,
) -> ApiResult {
    delete_command(&shared, Scope::of(&shared, &app, None)?, &command)
}

async fn delete_guild_command(
    State(shared): Sim,
    Path((app, guild, command)): Path<(String, String, String)>,
) -> ApiResult {
    delete_command(&shared, Scope::of(&shared, &app, Some(&guild))?, &command)
}

fn list_commands(shared: &Shared, scope: Scope) -> ApiResult {
    let state = shared.lock();
    let commands = state
        .commands
        .get(&scope.guild)
        .cloned()
        .unwrap_or_default();
    Ok(Json(commands).into_response())
}

fn overwrite_commands(shared: &Shared, scope: Scope, body: &[u8]) -> ApiResult {
    let bodies: Vec<Map<String, Value>> = parse_body(body)?;
    let mut state = shared.lock();
    let existing = state
        .commands
        .get(&scope.guild)
        .cloned()
        .unwrap_or_default();
    let mut commands: Vec<Command> = Vec::with_capacity(bodies.len());
    for (index, body) in bodies.iter().enumerate() {
        let command = build_command(shared, scope, body, &existing)
            .map_err(|error| nest_error(error, &index.to_string()))?;
        if commands
            .iter()
            .any(|other| other.name == command.name && other.kind == command.kind)
        {
            return Err(ApiError::invalid_form_body(
                &[&index.to_string(), "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                &format!("Application command names must be unique: {}", command.name),
            ));
        }
        commands.push(command);
    }
    state.commands.insert(scope.guild, commands.clone());
    Ok(Json(commands).into_response())
}

fn create_command(shared: &Shared, scope: Scope, body: &[u8]) -> ApiResult {
    let body = parse_object(body)?;
    let mut state = shared.lock();
    let list = state.commands.entry(scope.guild).or_default();
    let command = build_command(shared, scope, &body, list)?;
    // Creating a command with the name of an existing one overwrites it.
    let status = match list.iter_mut().find(|other| other.id == command.id) {
        Some(existing) => {
            *existing = command.clone();
            StatusCode::OK
        }
        None => {
            list.push(command.clone());
            StatusCode::CREATED
        }
    };
    Ok((status, Json(command)).into_response())
}

fn get_command(shared: &Shared, scope: Scope, command: &str) -> ApiResult {
    let id = snowflake(command)?;
    let state = shared.lock();
    let command = state
        .commands
        .get(&scope.guild)
        .and_then(|list| {
            list.iter()
                .find(|command| command.id.map(|id| id.get()) == Some(id))
        })
        .ok_or_else(ApiError::unknown_command)?;
    Ok(Json(command).into_response())
}

fn edit_command(shared: &Shared, scope: Scope, command: &str, body: &[u8]) -> ApiResult {
    let id = snowflake(command)?;
    let patch = parse_object(body)?;
    let mut state = shared.lock();
    let list = state.commands.entry(scope.guild).or_default();
    let index = list
        .iter()
        .position(|command| command.id.map(|id| id.get()) == Some(id))
        .ok_or_else(ApiError::unknown_command)?;
    let mut merged = match serde_json::to_value(&list[index]) {
        Ok(Value::Object(object)) => object,
        _ => Map::new(),
    };
    merged.extend(patch);
    let others: Vec<Command> = list
        .iter()
        .enumerate()
        .filter(|&(position, _)| position != index)
        .map(|(_, command)| command.clone())
        .collect();
    let mut command = build_command(shared, scope, &merged, std::slice::from_ref(&list[index]))?;
    if others
        .iter()
        .any(|other| other.name == command.name && other.kind == command.kind)
    {
        return Err(ApiError::invalid_form_body(
            &["name"],
            "APPLICATION_COMMANDS_DUPLICATE_NAME",
            "Application command names must be unique",
        ));
    }
    command.id = list[index].id;
    list[index] = command.clone();
    Ok(Json(command).into_response())
}

fn delete_command(shared: &Shared, scope: Scope, command: &str) -> ApiResult {
    let id = snowflake(command)?;
    let mut state = shared.lock();
    let list = state.commands.entry(scope.guild).or_default();
    let before = list.len();
    list.retain(|command| command.id.map(|id| id.get()) != Some(id));
    if list.len() == before {
        return Err(ApiError::unknown_command());
    }
    Ok(no_content())
}

/// Turns a command body into a stored command: ids, version and Discord's defaults filled in.
/// A command keeps the id of an existing one with the same name and type, and its version
/// if nothing changed.
fn build_command(
    shared: &Shared,
    scope: Scope,
    body: &Map<String, Value>,
    existing: &[Command],
) -> Result<Command, ApiError> {
    let mut body = body.clone();
    body.entry("type").or_insert_with(|| Value::from(1));
    body.entry("default_member_permissions")
        .or_insert(Value::Null);
    body.entry("description").or_insert_with(|| Value::from(""));
    body.insert(
        "application_id".to_owned(),
        Value::from(shared.config.application_id.to_string()),
    );
    match scope.guild {
        Some(guild) => body.insert("guild_id".to_owned(), Value::from(guild.to_string())),
        None => body.remove("guild_id"),
    };
    // Placeholders so the body parses; replaced below.
    body.insert("id".to_owned(), Value::from("1"));
    body.insert("version".to_owned(), Value::from("1"));
    let mut command: Command = serde_json::from_value(Value::Object(body)).map_err(|error| {
        ApiError::invalid_form_body(&[], "MODEL_TYPE_CONVERT", &error.to_string())
    })?;
    validate_command(&command)?;

    let previous = existing
        .iter()
        .find(|other| other.name == command.name && other.kind == command.kind);
    command.id = Some(match previous.and_then(|previous| previous.id) {
        Some(id) => id,
        None => twilight_model::id::Id::new(shared.ids.next()),
    });
    command.version = match previous {
        Some(previous) if same_definition(previous, &command) => previous.version,
        _ => twilight_model::id::Id::new(shared.ids.next()),
    };
    Ok(command)
}

fn same_definition(previous: &Command, next: &Command) -> bool {
    let comparable = |command: &Command| Command {
        version: twilight_model::id::Id::new(1),
        ..command.clone()
    };
    comparable(previous) == comparable(next)
}

/// Discord's rules for command names and descriptions.
fn validate_command(command: &Command) -> Result<(), ApiError> {
    let name_length = command.name.chars().count();
    if !(1..=32).contains(&name_length) {
        return Err(ApiError::invalid_form_body(
            &["name"],
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    if command.kind == CommandType::ChatInput {
        let valid_name = command.name.chars().all(|char| {
            (char.is_alphanumeric() || matches!(char, '-' | '_' | '\'')) && !char.is_uppercase()
        });
        if !valid_name {
            return Err(ApiError::invalid_form_body(
                &["name"],
                "APPLICATION_COMMAND_INVALID_NAME",
                &format!("Command name is invalid: {}", command.name),
            ));
        }
        let description_length = command.description.chars().count();
        if !(1..=100).contains(&description_length) {
            return Err(ApiError::invalid_form_body(
                &["description"],
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
    } else if !command.description.is_empty() {
        return Err(ApiError::invalid_form_body(
            &["description"],
            "APPLICATION_COMMAND_INVALID_DESCRIPTION",
            "Context menu commands cannot have description",
        ));
    }
    if command.options.len() > 25 {
        return Err(ApiError::invalid_form_body(
            &["options"],
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    Ok(())
}

/// Puts a form error one level deeper, e.g. under the index of a bulk-overwrite entry.
fn nest_error(mut error: ApiError, key: &str) -> ApiError {
    if let Some(errors) = error.errors.take() {
        error.errors = Some(json!({ key: errors }));
    }
    error
}

// ---- interactions ----

#[derive(Deserialize)]
struct CallbackQuery {
    #[serde(default, deserialize_with = "query_bool")]
    with_response: bool,
}

/// A boolean query parameter as Discord reads one: `true`, `True` or `1` is true,
/// `false`, `False` or `0` false (discord.py sends `with_response=1`).
fn query_bool<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.as_str() {
        "true" | "True" | "1" => Ok(true),
        "false" | "False" | "0" => Ok(false),
        other => Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Str(other),
            &"true, True, 1, false, False or 0",
        )),
    }
}

async fn interaction_callback(
    State(shared): Sim,
    Path((interaction, token)): Path<(String, String)>,
    Query(query): Query<CallbackQuery>,
    body: Bytes,
) -> ApiResult {
    shared.pass_callback_gate().await;
    let outcome = {
        let ids = &shared.ids;
        shared.lock().interaction_callback(
            || ids.next(),
            deadlines(&shared),
            &interaction,
            &token,
            &body,
        )?
    };
    if !query.with_response {
        return Ok(no_content());
    }
    Ok(Json(callback_response(&shared, &outcome)).into_response())
}

/// The body of a callback with `?with_response=true`.
fn callback_response(shared: &Shared, outcome: &CallbackOutcome) -> Value {
    let message = outcome.message.as_ref();
    let interaction = outcome.message.as_ref().and_then(|message| {
        shared
            .lock()
            .messages
            .get(&message.id)
            .and_then(|stored| stored.interaction.clone())
    });
    let mut resource = json!({ "type": outcome.response_kind as u8 });
    if let Some(message) = message {
        resource["message"] = serde_json::to_value(payload::message(
            &shared.config,
            message,
            interaction.as_ref(),
        ))
        .unwrap_or(Value::Null);
    }
    let mut callback = json!({
        "id": outcome.interaction_id.to_string(),
        "type": outcome.interaction_kind as u8,
    });
    if let Some(message) = message {
        callback["response_message_id"] = Value::from(message.id.to_string());
        callback["response_message_loading"] = Value::from(message.is_loading());
        callback["response_message_ephemeral"] = Value::from(message.is_ephemeral());
    }
    json!({ "interaction": callback, "resource": resource })
}

/// Lets the answer of an interaction's webhook delivery land before a webhook request
/// about it: an edit must not overtake the deferral it edits.
async fn wait_delivered(shared: &Shared, token: &str) {
    let patience = shared.config.interaction_ack_deadline + Duration::from_secs(1);
    shared.webhooks.wait_delivered(token, patience).await;
}

fn webhook_app(shared: &Shared, app: &str) -> Result<(u64, u64), ApiError> {
    Ok((
        snowflake(app).map_err(|_| ApiError::unknown_webhook())?,
        shared.config.application_id,
    ))
}

async fn create_followup(
    State(shared): Sim,
    Path((app, token)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    wait_delivered(&shared, &token).await;
    let app = webhook_app(&shared, &app)?;
    let id = {
        let ids = &shared.ids;
        shared
            .lock()
            .webhook_followup(app, &token, deadlines(&shared), || ids.next(), &body)?
    };
    message_response(&shared, id)
}

async fn get_webhook_message(
    State(shared): Sim,
    Path((app, token, message)): Path<(String, String, String)>,
) -> ApiResult {
    wait_delivered(&shared, &token).await;
    let app = webhook_app(&shared, &app)?;
    let target = WebhookMessage::parse(&message)?;
    let id = shared
        .lock()
        .webhook_get(app, &token, target, deadlines(&shared))?;
    message_response(&shared, id)
}

async fn edit_webhook_message(
    State(shared): Sim,
    Path((app, token, message)): Path<(String, String, String)>,
    body: Bytes,
) -> ApiResult {
    wait_delivered(&shared, &token).await;
    let app = webhook_app(&shared, &app)?;
    let target = WebhookMessage::parse(&message)?;
    let id = shared
        .lock()
        .webhook_edit(app, &token, target, deadlines(&shared), &body)?;
    message_response(&shared, id)
}

async fn delete_webhook_message(
    State(shared): Sim,
    Path((app, token, message)): Path<(String, String, String)>,
) -> ApiResult {
    wait_delivered(&shared, &token).await;
    let app = webhook_app(&shared, &app)?;
    let target = WebhookMessage::parse(&message)?;
    shared
        .lock()
        .webhook_delete(app, &token, target, deadlines(&shared))?;
    Ok(no_content())
}

// ---- channel messages ----

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn create_channel_message(
    State(shared): Sim,
    Path(channel): Path<String>,
    body: Bytes,
) -> ApiResult {
    let channel_id = snowflake(&channel)?;
    let body = parse_object(&body)?;
    let mut fields = MessageFields::from_body(&body)?;
    fields.flags.remove(MessageFlags::EPHEMERAL);
    fields.validate()?;
    let reference = reply_reference(&body)?;
    let message = {
        let mut state = shared.lock();
        let referenced_message_id = match reference {
            Some(reference) => state.replied_message(channel_id, reference)?,
            None => None,
        };
        let mut message = SimMessage {
            id: shared.ids.next(),
            channel_id,
            guild_id: state.guild_of_channel(channel_id, shared.config.guild_id),
            interaction_id: None,
            referenced_message_id,
            content: String::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            flags: MessageFlags::empty(),
            timestamp: now_timestamp(),
            edited_timestamp: None,
        };
        fields.write_to(&mut message);
        state.insert_message(message.clone(), None);
        message
    };
    let _ = shared.channel_messages.send(message.clone());
    message_response(&shared, message.id)
}

/// The `message_reference` of a create body, which makes the message a reply.
fn reply_reference(body: &Map<String, Value>) -> Result<Option<ReplyReference>, ApiError> {
    let Some(reference) = body
        .get("message_reference")
        .filter(|value| !value.is_null())
    else {
        return Ok(None);
    };
    let invalid = |message: &str| {
        ApiError::invalid_form_body(&["message_reference"], "MODEL_TYPE_CONVERT", message)
    };
    let object = reference
        .as_object()
        .ok_or_else(|| invalid("Must be an object."))?;
    // Discord sends snowflakes as strings and accepts numbers too.
    let id_of = |field: &str| -> Result<Option<u64>, ApiError> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => snowflake(text).map(Some),
            Some(Value::Number(number)) => number
                .as_u64()
                .filter(|&id| id != 0)
                .map(Some)
                .ok_or_else(|| invalid("Value is not snowflake.")),
            Some(_) => Err(invalid("Value is not snowflake.")),
        }
    };
    let message_id = id_of("message_id")?.ok_or_else(|| {
        ApiError::invalid_form_body(
            &["message_reference", "message_id"],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        )
    })?;
    Ok(Some(ReplyReference {
        message_id,
        channel_id: id_of("channel_id")?,
        fail_if_not_exists: object
            .get("fail_if_not_exists")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }))
}

/// A non-ephemeral message of `channel`, the only kind channel routes can see.
fn channel_message_id(shared: &Shared, channel: &str, message: &str) -> Result<u64, ApiError> {
    let (channel_id, message_id) = (snowflake(channel)?, snowflake(message)?);
    let state = shared.lock();
    state
        .messages
        .get(&message_id)
        .filter(|stored| stored.message.channel_id == channel_id && !stored.message.is_ephemeral())
        .map(|stored| stored.message.id)
        .ok_or_else(ApiError::unknown_message)
}

async fn list_channel_messages(
    State(shared): Sim,
    Path(channel): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult {
    let channel_id = snowflake(&channel)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 100);
    let state = shared.lock();
    let messages: Vec<_> = state
        .messages
        .values()
        .rev()
        .filter(|stored| stored.message.channel_id == channel_id && !stored.message.is_ephemeral())
        .take(limit)
        .map(|stored| {
            payload::message(&shared.config, &stored.message, stored.interaction.as_ref())
        })
        .collect();
    Ok(Json(messages).into_response())
}

async fn get_channel_message(
    State(shared): Sim,
    Path((channel, message)): Path<(String, String)>,
) -> ApiResult {
    let id = channel_message_id(&shared, &channel, &message)?;
    message_response(&shared, id)
}

async fn edit_channel_message(
    State(shared): Sim,
    Path((channel, message)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let id = channel_message_id(&shared, &channel, &message)?;
    let body = parse_object(&body)?;
    shared.lock().edit_message(id, &body)?;
    message_response(&shared, id)
}

async fn delete_channel_message(
    State(shared): Sim,
    Path((channel, message)): Path<(String, String)>,
) -> ApiResult {
    let id = channel_message_id(&shared, &channel, &message)?;
    shared.lock().messages.remove(&id);
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_query_parameters_read_as_discord_reads_them() {
        let cases = [
            ("true", Some(true)),
            ("True", Some(true)),
            ("1", Some(true)),
            ("false", Some(false)),
            ("False", Some(false)),
            ("0", Some(false)),
            ("yes", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let query = serde_json::from_value::<CallbackQuery>(json!({ "with_response": text }));
            assert_eq!(
                query.ok().map(|query| query.with_response),
                expected,
                "{text:?}"
            );
        }
        let absent = serde_json::from_value::<CallbackQuery>(json!({})).unwrap();
        assert!(!absent.with_response);
    }

    #[test]
    fn buckets_ignore_ids_and_tokens_but_not_routes() {
        let get = http::Method::GET;
        let post = http::Method::POST;
        let cases = [
            (
                (&get, "/api/v10/channels/1/messages"),
                (&get, "/api/v10/channels/2/messages"),
                true,
            ),
            (
                (&get, "/api/v10/channels/1/messages"),
                (&post, "/api/v10/channels/1/messages"),
                false,
            ),
            (
                (&post, "/api/v10/interactions/1/abc/callback"),
                (&post, "/api/v10/interactions/2/def/callback"),
                true,
            ),
            (
                (&post, "/api/v10/webhooks/1/abc"),
                (&post, "/api/v10/webhooks/1/def"),
                true,
            ),
            (
                (&get, "/api/v10/gateway"),
                (&get, "/api/v10/gateway/bot"),
                false,
            ),
        ];
        for ((method_a, path_a), (method_b, path_b), same) in cases {
            assert_eq!(
                bucket_of(method_a, path_a) == bucket_of(method_b, path_b),
                same,
                "{path_a} vs {path_b}"
            );
        }
    }

    #[test]
    fn multipart_bodies_yield_their_payload_json() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
        );
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ--\r\n";
        assert_eq!(
            multipart_payload_json(&headers, body.as_bytes()).as_deref(),
            Some(&b"{\"content\":\"hi\"}"[..])
        );
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(multipart_payload_json(&headers, body.as_bytes()), None);
    }

    #[test]
    fn commands_are_validated_like_discord() {
        let base = |name: &str, description: &str, kind: u8| {
            serde_json::from_value::<Command>(json!({
                "name": name, "description": description, "type": kind,
                "default_member_permissions": null, "version": "1",
            }))
            .unwrap()
        };
        let cases = [
            (base("vm", "Manage VMs", 1), true),
            (base("vm-list_2", "x", 1), true),
            (base("VM", "Manage VMs", 1), false),
            (base("vm list", "Manage VMs", 1), false),
            (base("vm", "", 1), false),
            (base(&"a".repeat(33), "x", 1), false),
            (base("Restart VM", "", 3), true),
            (base("Restart VM", "nope", 3), false),
        ];
        for (command, valid) in cases {
            assert_eq!(validate_command(&command).is_ok(), valid, "{command:?}");
        }
    }
}
