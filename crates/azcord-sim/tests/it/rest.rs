//! The REST API: authentication, faults, commands, channel messages and error bodies.

use std::time::Duration;

use azcord_sim::DiscordSimConfig;
use serde_json::{Value, json};
use twilight_http::{api_error::ApiError, error::ErrorType};
use twilight_model::{application::command::Command, id::Id};

use crate::support::{CHANNEL, http, raw_request, start};

#[tokio::test]
async fn a_rate_limited_call_is_retried_and_succeeds() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, &sim.config().token);
    sim.rate_limit_next_rest(1, Duration::from_millis(100));

    let gateway = http
        .gateway()
        .authed()
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(gateway.url, sim.gateway_url());
    assert_eq!(gateway.shards, 1);

    let statuses: Vec<(String, u16)> = sim
        .rest_calls()
        .into_iter()
        .map(|call| (call.path, call.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/api/v10/gateway/bot".to_owned(), 429),
            ("/api/v10/gateway/bot".to_owned(), 200)
        ]
    );
}

#[tokio::test]
async fn injected_errors_carry_discords_body() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, &sim.config().token);
    sim.fail_next_rest(1, 503);

    let error = http.current_user().await.unwrap_err();
    let ErrorType::Response {
        status,
        error: ApiError::General(body),
        ..
    } = error.kind()
    else {
        panic!("expected an API error, got {error:?}");
    };
    assert_eq!(status.get(), 503);
    assert_eq!(
        (body.code, body.message.as_str()),
        (0, "503: Service Unavailable")
    );
    // The fault was used up.
    let user = http.current_user().await.unwrap().model().await.unwrap();
    assert_eq!(user.id.get(), sim.config().bot_user_id);
}

#[tokio::test]
async fn a_wrong_token_gets_401_and_twilight_stops_using_it() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, "not-the-token");

    let error = http.current_user().await.unwrap_err();
    let ErrorType::Response {
        status,
        error: ApiError::General(body),
        ..
    } = error.kind()
    else {
        panic!("expected an API error, got {error:?}");
    };
    assert_eq!((status.get(), body.code), (401, 0));
    assert_eq!(body.message, "401: Unauthorized");

    let error = http.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorType::Unauthorized));
    let calls = sim.rest_calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].authorized);
}

fn command(name: &str, description: &str) -> Command {
    serde_json::from_value(json!({
        "name": name,
        "description": description,
        "type": 1,
        "default_member_permissions": null,
        "version": "1",
        "options": [{"type": 1, "name": "start", "description": "Start a VM"}],
    }))
    .expect("a valid command")
}

#[tokio::test]
async fn commands_are_stored_with_ids_and_versions() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));
    let guild = Id::new(sim.config().guild_id);

    let set = client
        .set_global_commands(&[
            command("vm", "Manage VMs"),
            command("rg", "Resource groups"),
        ])
        .await
        .unwrap()
        .models()
        .await
        .unwrap();
    let stored = sim.registered_commands(None);
    assert_eq!(set, stored);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|command| command.id.is_some()
        && command.application_id.map(|id| id.get()) == Some(sim.config().application_id)
        && command.guild_id.is_none()));

    // Same definition: same id and version. Changed: same id, new version.
    client
        .set_global_commands(&[command("vm", "Manage VMs")])
        .await
        .unwrap();
    let again = sim.registered_commands(None);
    assert_eq!(again, [stored[0].clone()]);
    client
        .set_global_commands(&[command("vm", "Manage virtual machines")])
        .await
        .unwrap();
    let changed = sim.registered_commands(None);
    assert_eq!(changed[0].id, stored[0].id);
    assert_ne!(changed[0].version, stored[0].version);

    let listed = client
        .global_commands()
        .await
        .unwrap()
        .models()
        .await
        .unwrap();
    assert_eq!(listed, changed);

    client
        .set_guild_commands(guild, &[command("vm", "Guild VMs")])
        .await
        .unwrap();
    let in_guild = sim.registered_commands(Some(guild.get()));
    assert_eq!(in_guild[0].guild_id, Some(guild));
    let data = sim
        .command_data(Some(guild.get()), "vm", Vec::new())
        .unwrap();
    assert_eq!(Some(data.id), in_guild[0].id);
    assert_eq!(data.guild_id, Some(guild));
    assert!(sim.command_data(None, "nope", Vec::new()).is_none());

    let duplicate = client
        .set_global_commands(&[command("vm", "a"), command("vm", "b")])
        .await
        .unwrap_err();
    assert!(matches!(
        duplicate.kind(),
        ErrorType::Response { error: ApiError::General(body), .. } if body.code == 50035
    ));
}

#[tokio::test]
async fn channel_messages_are_recorded_and_announced() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, &sim.config().token);
    let mut announced = sim.subscribe_channel_messages();

    let sent = http
        .create_message(Id::new(CHANNEL))
        .content("audit: alice started web-1")
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(sent.channel_id.get(), CHANNEL);
    assert_eq!(sent.author.id.get(), sim.config().bot_user_id);

    let messages = sim.channel_messages(CHANNEL);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].content, "audit: alice started web-1");
    assert_eq!(messages[0].id, sent.id.get());
    assert_eq!(announced.recv().await.unwrap(), messages[0]);

    let fetched = http
        .message(Id::new(CHANNEL), sent.id)
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(fetched.content, sent.content);
}

#[tokio::test]
async fn errors_have_discords_status_and_body() {
    let sim = start(DiscordSimConfig::default()).await;
    let bot = format!("Bot {}", sim.config().token);
    let app = sim.config().application_id;
    let original = format!("/api/v10/webhooks/{app}/nope/messages/@original");
    let callback = "/api/v10/interactions/1/nope/callback";
    let messages = format!("/api/v10/channels/{CHANNEL}/messages");
    /// (method, path, authorization, body) and the answer's (status, body).
    type Case<'a> = (
        (&'a str, &'a str, Option<&'a str>, Option<&'a str>),
        u16,
        Value,
    );
    let cases: Vec<Case> = vec![
        (
            ("GET", "/api/v10/nope", Some(&bot), None),
            404,
            json!({"message": "404: Not Found", "code": 0}),
        ),
        (
            ("GET", "/api/v10/gateway/bot", None, None),
            401,
            json!({"message": "401: Unauthorized", "code": 0}),
        ),
        (
            ("GET", "/api/v10/gateway/bot", Some("Bot wrong"), None),
            401,
            json!({"message": "401: Unauthorized", "code": 0}),
        ),
        (
            ("GET", "/api/v10/gateway/bot", Some("sim-token"), None),
            401,
            json!({"message": "401: Unauthorized", "code": 0}),
        ),
        (
            ("DELETE", "/api/v10/gateway", None, None),
            405,
            json!({"message": "405: Method Not Allowed", "code": 0}),
        ),
        (
            ("POST", &messages, Some(&bot), Some("{")),
            400,
            json!({"message": "The request body contains invalid JSON.", "code": 50109}),
        ),
        (
            ("POST", &messages, Some(&bot), Some("{}")),
            400,
            json!({"message": "Cannot send an empty message", "code": 50006}),
        ),
        (
            ("POST", callback, None, Some(r#"{"type":4}"#)),
            404,
            json!({"message": "Unknown interaction", "code": 10062}),
        ),
        (
            ("PATCH", &original, None, Some(r#"{"content":"x"}"#)),
            401,
            json!({"message": "Invalid Webhook Token", "code": 50027}),
        ),
    ];
    for ((method, path, authorization, body), status, expected) in cases {
        let response = raw_request(&sim, method, path, authorization, body).await;
        assert_eq!(
            (response.status, &response.body),
            (status, &expected),
            "{method} {path}"
        );
    }
    let gateway = raw_request(&sim, "GET", "/api/v10/gateway", None, None).await;
    assert_eq!(gateway.body, json!({"url": sim.gateway_url()}));
}

#[tokio::test]
async fn rate_limit_headers_follow_discords_documentation() {
    let sim = start(DiscordSimConfig::default()).await;

    let normal = raw_request(&sim, "GET", "/api/v10/gateway", None, None).await;
    assert_eq!(normal.status, 200);
    assert_eq!(normal.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(normal.header("x-ratelimit-remaining"), Some("4"));
    assert!(normal.header("x-ratelimit-reset").is_some());
    assert!(normal.header("x-ratelimit-bucket").is_some());
    // Discord sends the scope only with a 429.
    assert_eq!(normal.header("x-ratelimit-scope"), None);

    sim.rate_limit_next_rest(1, Duration::from_millis(1500));
    let limited = raw_request(&sim, "GET", "/api/v10/gateway", None, None).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false})
    );
    let headers = [
        ("retry-after", Some("2")),
        ("x-ratelimit-limit", Some("5")),
        ("x-ratelimit-remaining", Some("0")),
        ("x-ratelimit-reset-after", Some("1.500")),
        ("x-ratelimit-scope", Some("user")),
        ("x-ratelimit-bucket", normal.header("x-ratelimit-bucket")),
    ];
    for (name, value) in headers {
        assert_eq!(limited.header(name), value, "{name}");
    }
    let reset: f64 = limited
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_600_000_000.0);
}

#[tokio::test]
async fn a_channel_message_with_a_message_reference_is_a_reply() {
    let sim = start(DiscordSimConfig::default()).await;
    let http = http(&sim, &sim.config().token);
    let original = http
        .create_message(Id::new(CHANNEL))
        .content("Starting web-1…")
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    let reply = http
        .create_message(Id::new(CHANNEL))
        .content("web-1 is running")
        .reply(original.id)
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(
        reply.kind,
        twilight_model::channel::message::MessageType::Reply
    );
    let reference = reply.reference.expect("a reply has a message_reference");
    assert_eq!(reference.message_id, Some(original.id));
    assert_eq!(reference.channel_id.map(Id::get), Some(CHANNEL));
    let seen = sim.message(reply.id.get()).unwrap();
    assert_eq!(seen.referenced_message_id, Some(original.id.get()));
    assert_eq!(sim.channel_messages(CHANNEL).len(), 2);

    let path = format!("/api/v10/channels/{CHANNEL}/messages");
    let bot = format!("Bot {}", sim.config().token);
    let other_channel = CHANNEL + 1;
    // (message_reference, status, whether the message is a reply, error code)
    let cases = [
        (
            format!(r#"{{"message_id":"{}"}}"#, original.id),
            200,
            true,
            None,
        ),
        (r#"{"message_id":"42"}"#.to_owned(), 400, false, Some(50035)),
        (
            r#"{"message_id":"42","fail_if_not_exists":false}"#.to_owned(),
            200,
            false,
            None,
        ),
        (
            format!(
                r#"{{"message_id":"{}","channel_id":"{other_channel}"}}"#,
                original.id
            ),
            400,
            false,
            Some(50035),
        ),
        (r#"{"channel_id":"1"}"#.to_owned(), 400, false, Some(50035)),
        ("5".to_owned(), 400, false, Some(50035)),
    ];
    for (reference, status, is_reply, code) in cases {
        let body = format!(r#"{{"content":"done","message_reference":{reference}}}"#);
        let response = raw_request(&sim, "POST", &path, Some(&bot), Some(&body)).await;
        assert_eq!(response.status, status, "{reference}: {:?}", response.body);
        assert_eq!(
            response.body["code"].as_u64(),
            code,
            "{reference}: {:?}",
            response.body
        );
        if status == 200 {
            assert_eq!(
                response.body["message_reference"].is_object(),
                is_reply,
                "{reference}"
            );
            assert_eq!(response.body["type"], if is_reply { 19 } else { 0 });
        }
    }
    let unknown = raw_request(
        &sim,
        "POST",
        &path,
        Some(&bot),
        Some(r#"{"content":"done","message_reference":{"message_id":"42"}}"#),
    )
    .await;
    expect_test::expect![[r#"{"code":50035,"errors":{"message_reference":{"_errors":[{"code":"REPLIES_UNKNOWN_MESSAGE","message":"Unknown message"}]}},"message":"Invalid Form Body"}"#]]
        .assert_eq(&unknown.body.to_string());
}
