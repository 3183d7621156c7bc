use std::{sync::Mutex, time::Duration};

use serde_json::json;
use twilight_model::{
    application::command::CommandOptionChoiceValue,
    http::interaction::InteractionResponseType as Kind,
};

use super::*;
use crate::{ButtonStyle, Command, CommandKind, Plugin, Rule};

static_assertions::assert_obj_safe!(Command, Responder, DispatchObserver, crate::AuditSink);

#[derive(Debug, Clone, PartialEq)]
enum Sent {
    Respond(Kind, Option<String>, bool),
    Edit(Option<String>),
    Followup(Option<String>, bool),
    Posted(u64, Option<String>),
}

/// Records what is sent; with `refuse_acknowledgements`, Discord rejects every initial
/// response (as it does once the interaction token has expired).
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Sent>>,
    refuse_acknowledgements: bool,
    /// Discord refuses the interaction token for edits, as once it expired.
    refuse_edits: bool,
}

impl Recorder {
    fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }
}

fn ephemeral(data: &InteractionResponseData) -> bool {
    data.flags
        .is_some_and(|flags| flags.contains(MessageFlags::EPHEMERAL))
}

impl Responder for Recorder {
    fn respond<'a>(
        &'a self,
        _: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let data = response.data.as_ref();
        self.sent.lock().unwrap().push(Sent::Respond(
            response.kind,
            data.and_then(|data| data.content.clone()),
            data.is_some_and(ephemeral),
        ));
        let result = if self.refuse_acknowledgements {
            Err(RespondError::new("unknown interaction"))
        } else {
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn edit_original<'a>(
        &'a self,
        _: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.sent
            .lock()
            .unwrap()
            .push(Sent::Edit(data.content.clone()));
        Box::pin(async { Ok(()) })
    }

    /// As Discord does, the edit's answer names the message: always 77 here.
    fn edit_original_message<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<Option<Id<MessageMarker>>, RespondError>> {
        Box::pin(async move {
            if self.refuse_edits {
                return Err(RespondError::token_rejected("401: Invalid Webhook Token"));
            }
            self.edit_original(target, data).await?;
            Ok(Some(Id::new(77)))
        })
    }

    fn post_in_channel<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        _: Option<Id<MessageMarker>>,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.sent
            .lock()
            .unwrap()
            .push(Sent::Posted(channel_id.get(), data.content.clone()));
        Box::pin(async { Ok(()) })
    }

    fn followup<'a>(
        &'a self,
        _: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        self.sent
            .lock()
            .unwrap()
            .push(Sent::Followup(data.content.clone(), ephemeral(data)));
        Box::pin(async { Ok(()) })
    }
}

/// A command whose behaviour is picked by its name.
struct Scripted(&'static str, CommandKind);

impl Command for Scripted {
    fn signature(&self) -> Signature {
        let signature = Signature::new(self.0, "scripted").kind(self.1);
        if self.0 == "deferred" {
            signature.long_running()
        } else {
            signature
        }
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            match self.0 {
                "slow" => {
                    ctx.progress.update("step 1");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    ctx.progress.update("step 2");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Ok(Reply::text("done"))
                }
                "handover" => {
                    ctx.progress.update("step 1");
                    let shown = ctx.progress.shown_in().await;
                    tokio::select! {
                        () = ctx.progress.shutdown().requested() => {
                            Ok(Reply::text(format!("handed over; shown in {shown}")))
                        }
                        () = tokio::time::sleep(Duration::from_secs(3600)) => Ok(Reply::text("done")),
                    }
                }
                "refuse" => Err(CommandError::user("no such vm `x`")),
                "fail" => Err(CommandError::internal(std::io::Error::other(
                    "connection reset",
                ))),
                "panic" => panic!("boom"),
                "confirm" => Ok(Reply::text("sure?").button(Button::for_command(
                    "confirm",
                    "yes",
                    "Yes",
                    ButtonStyle::Danger,
                ))),
                name => Ok(Reply::text(name)),
            }
        })
    }

    fn component(&self, ctx: ComponentContext) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            if ctx.caller.user_id.get() == 4 {
                // Outlasts the acknowledgement budget before it refuses.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            if ctx.caller.user_id.get() != 1 {
                return Err(CommandError::user(
                    "only the user who ran the command can confirm it",
                ));
            }
            Ok(Reply::text(format!("confirmed {}", ctx.payload)))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move {
            Ok(["web-1", "web-2", "db-1"]
                .into_iter()
                .filter(|name| name.starts_with(&ctx.partial))
                .map(|name| CommandOptionChoice {
                    name: name.to_owned(),
                    name_localizations: None,
                    value: CommandOptionChoiceValue::String(name.to_owned()),
                })
                .collect())
        })
    }
}

fn dispatcher(audit: Option<Arc<AuditLog>>) -> Dispatcher {
    let plugin = [
        "quick", "slow", "deferred", "refuse", "fail", "panic", "confirm", "handover",
    ]
    .into_iter()
    .fold(Plugin::new("test"), |plugin, name| {
        plugin.command(Scripted(name, CommandKind::Read))
    })
    .command(Scripted("write", CommandKind::Write));
    let registry = Registry::new([plugin]).unwrap();
    let policy = Policy {
        guilds: Vec::new(),
        rules: vec![Rule {
            name: "ops".into(),
            commands: vec![crate::CommandPattern::new("write")],
            roles: vec![Id::new(10)],
            users: Vec::new(),
            channels: Vec::new(),
            resource_groups: Vec::new(),
        }],
    };
    let sinks: Vec<Arc<dyn crate::AuditSink>> = audit
        .into_iter()
        .map(|log| log as Arc<dyn crate::AuditSink>)
        .collect();
    Dispatcher::build(
        registry,
        policy,
        DispatchConfig::default(),
        Vec::new(),
        sinks,
    )
}

fn interaction(kind: u8, user: u64, data: serde_json::Value) -> Interaction {
    serde_json::from_value(json!({
        "id": "100", "application_id": "1", "type": kind, "token": "secret-token", "version": 1,
        "guild_id": "5", "channel": {"id": "6", "type": 0},
        "member": {"user": {"id": user.to_string(), "username": "u", "discriminator": "0", "avatar": null},
                   "roles": if user == 3 { vec!["10"] } else { Vec::new() }, "joined_at": null, "deaf": false, "mute": false, "flags": 0},
        "data": data, "entitlements": [], "authorizing_integration_owners": {}, "attachment_size_limit": 0,
    }))
    .unwrap()
}

fn command(name: &str) -> Interaction {
    interaction(2, 1, json!({"id": "9", "name": name, "type": 1}))
}

async fn run(interaction: Interaction) -> (Vec<Sent>, Outcome) {
    let recorder = Recorder::default();
    let finished = dispatcher(None).handle(interaction, &recorder, 0).await;
    (recorder.sent(), finished.outcome)
}

fn respond(kind: Kind, content: &str, ephemeral: bool) -> Sent {
    Sent::Respond(kind, Some(content.to_owned()), ephemeral)
}

#[tokio::test(start_paused = true)]
async fn commands_are_acknowledged_as_the_protocol_requires() {
    let internal = "something went wrong on our side; the team can trace it with reference `100`";
    let table: Vec<(&str, Vec<Sent>, Outcome)> = vec![
        (
            "quick",
            vec![respond(Kind::ChannelMessageWithSource, "quick", false)],
            Outcome::Success,
        ),
        (
            "slow",
            vec![
                Sent::Respond(Kind::DeferredChannelMessageWithSource, None, false),
                Sent::Edit(Some("step 1".into())),
                Sent::Edit(Some("step 2".into())),
                Sent::Edit(Some("done".into())),
            ],
            Outcome::Success,
        ),
        (
            "deferred",
            vec![
                Sent::Respond(Kind::DeferredChannelMessageWithSource, None, false),
                Sent::Edit(Some("deferred".into())),
            ],
            Outcome::Success,
        ),
        (
            "refuse",
            vec![respond(
                Kind::ChannelMessageWithSource,
                "⚠️ no such vm `x`",
                true,
            )],
            Outcome::UserError,
        ),
        (
            "fail",
            vec![respond(Kind::ChannelMessageWithSource, internal, true)],
            Outcome::InternalError,
        ),
        (
            "panic",
            vec![respond(Kind::ChannelMessageWithSource, internal, true)],
            Outcome::Panic,
        ),
        (
            "gone",
            vec![respond(
                Kind::ChannelMessageWithSource,
                "azcord does not know `/gone`: it may have been removed or renamed. `/help` lists the commands you can run",
                true,
            )],
            Outcome::UnknownCommand,
        ),
    ];
    for (name, expected, outcome) in table {
        assert_eq!(run(command(name)).await, (expected, outcome), "/{name}");
    }
}

/// Once Discord has rejected the deferral, every edit of the message is bound to fail:
/// none is sent, neither for progress nor for the result.
#[tokio::test(start_paused = true)]
async fn nothing_follows_a_failed_acknowledgement() {
    let table = [
        ("slow", Kind::DeferredChannelMessageWithSource),
        ("deferred", Kind::DeferredChannelMessageWithSource),
    ];
    for (name, deferral) in table {
        let recorder = Recorder {
            refuse_acknowledgements: true,
            ..Recorder::default()
        };
        let finished = dispatcher(None).handle(command(name), &recorder, 0).await;
        assert_eq!(
            (recorder.sent(), finished.outcome),
            (
                vec![Sent::Respond(deferral, None, false)],
                Outcome::ResponseFailed
            ),
            "/{name}"
        );
    }
}

#[derive(Default)]
struct AuditLog(Mutex<Vec<crate::AuditEvent>>);

impl crate::AuditSink for AuditLog {
    fn record(&self, event: &crate::AuditEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

#[tokio::test]
async fn the_policy_decides_and_every_run_is_audited() {
    let log = Arc::new(AuditLog::default());
    let dispatcher = dispatcher(Some(Arc::clone(&log)));
    let recorder = Recorder::default();
    let denied = dispatcher
        .handle(
            interaction(2, 1, json!({"id": "9", "name": "write", "type": 1})),
            &recorder,
            0,
        )
        .await;
    let allowed = dispatcher
        .handle(
            interaction(2, 3, json!({"id": "9", "name": "write", "type": 1})),
            &recorder,
            0,
        )
        .await;
    assert_eq!(
        (denied.outcome, allowed.outcome),
        (Outcome::Denied, Outcome::Success)
    );
    let Sent::Respond(_, Some(denial), true) = &recorder.sent()[0] else {
        panic!("{:?}", recorder.sent())
    };
    assert!(denial.contains("rule `ops`"), "{denial}");
    let events: Vec<(u64, AuditOutcome, Option<String>)> = log
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|event| (event.user_id.get(), event.outcome, event.rule.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (1, AuditOutcome::Denied, None),
            (3, AuditOutcome::Succeeded, Some("ops".into()))
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn buttons_reach_their_command_and_refusals_go_to_the_clicker_alone() {
    let click = |user| {
        interaction(
            3,
            user,
            json!({"custom_id": "confirm|yes", "component_type": 2}),
        )
    };
    assert_eq!(
        run(click(1)).await,
        (
            vec![respond(Kind::UpdateMessage, "confirmed yes", false)],
            Outcome::Success
        )
    );
    assert_eq!(
        run(click(2)).await,
        (
            vec![respond(
                Kind::ChannelMessageWithSource,
                "⚠️ only the user who ran the command can confirm it",
                true
            )],
            Outcome::UserError
        )
    );
    // Once the click is deferred, the refusal is a private followup: the message stays.
    assert_eq!(
        run(click(4)).await,
        (
            vec![
                Sent::Respond(Kind::DeferredUpdateMessage, None, false),
                Sent::Followup(
                    Some("⚠️ only the user who ran the command can confirm it".into()),
                    true
                ),
            ],
            Outcome::UserError
        )
    );
    let stale = interaction(3, 1, json!({"custom_id": "removed|x", "component_type": 2}));
    assert_eq!(
        run(stale).await,
        (
            vec![respond(
                Kind::ChannelMessageWithSource,
                "this button is no longer active",
                true
            )],
            Outcome::UnknownCommand
        )
    );
}

#[tokio::test]
async fn autocomplete_answers_with_choices() {
    let dispatcher = dispatcher(None);
    let recorder = Recorder::default();
    let data = json!({"id": "9", "name": "quick", "type": 1, "options": [{"name": "name", "type": 3, "value": "web", "focused": true}]});
    let finished = dispatcher
        .handle(interaction(4, 1, data), &recorder, 0)
        .await;
    assert_eq!(finished.outcome, Outcome::Success);
    assert_eq!(
        recorder.sent(),
        [Sent::Respond(
            Kind::ApplicationCommandAutocompleteResult,
            None,
            false
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_finishes_work_in_flight_and_turns_new_work_away() {
    let dispatcher = dispatcher(None);
    let recorder = Arc::new(Recorder::default());
    let mut finished = dispatcher.subscribe();
    dispatcher.spawn(
        command("slow"),
        Arc::clone(&recorder) as Arc<dyn Responder>,
        0,
    );
    assert_eq!(dispatcher.in_flight(), 1);
    dispatcher.close();
    assert!(dispatcher.drain(Duration::from_secs(30)).await);
    assert_eq!(finished.recv().await.unwrap().outcome, Outcome::Success);
    assert_eq!(
        recorder.sent().last(),
        Some(&Sent::Edit(Some("done".into())))
    );

    let (sent, outcome) = {
        let recorder = Recorder::default();
        let finished = dispatcher.handle(command("quick"), &recorder, 0).await;
        (recorder.sent(), finished.outcome)
    };
    assert_eq!(outcome, Outcome::ShuttingDown);
    assert_eq!(
        sent,
        [respond(
            Kind::ChannelMessageWithSource,
            "azcord is restarting; try again in a few seconds",
            true
        )]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_long_command_hand_over_and_names_the_message_it_edits() {
    let dispatcher = dispatcher(None);
    let recorder = Arc::new(Recorder::default());
    let started = tokio::time::Instant::now();
    dispatcher.spawn(
        command("handover"),
        Arc::clone(&recorder) as Arc<dyn Responder>,
        0,
    );
    dispatcher.close();
    assert!(dispatcher.shutdown().is_requested());
    assert!(dispatcher.drain(Duration::from_secs(30)).await);
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        recorder.sent(),
        [
            Sent::Respond(Kind::DeferredChannelMessageWithSource, None, false),
            Sent::Edit(Some("step 1".into())),
            Sent::Edit(Some("handed over; shown in 77".into())),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_reply_that_outlived_its_token_is_posted_in_the_channel() {
    let recorder = Recorder {
        refuse_edits: true,
        ..Recorder::default()
    };
    let finished = dispatcher(None)
        .handle(command("deferred"), &recorder, 0)
        .await;
    assert_eq!(finished.outcome, Outcome::Success);
    assert_eq!(
        recorder.sent(),
        [
            Sent::Respond(Kind::DeferredChannelMessageWithSource, None, false),
            Sent::Posted(6, Some("deferred".into())),
        ]
    );
}

/// The `command.*` fields recorded on the `interaction` span.
#[derive(Default, Clone)]
struct CommandFields(Arc<Mutex<std::collections::BTreeMap<String, String>>>);

impl<S> tracing_subscriber::Layer<S> for CommandFields
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attributes: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attributes.metadata().name() == "interaction" {
            attributes.record(&mut self.clone());
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if context
            .span(id)
            .is_some_and(|span| span.name() == "interaction")
        {
            values.record(&mut self.clone());
        }
    }
}

impl tracing::field::Visit for CommandFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name().starts_with("command.") {
            self.0
                .lock()
                .unwrap()
                .insert(field.name().to_owned(), value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// Whatever the interaction's origin, the command is recorded the same way: from its
/// signature when the bot has it.
#[tokio::test]
async fn the_span_records_the_command_from_its_signature() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let table = [
        ("slash command", command("quick")),
        (
            "slash command with options",
            interaction(
                2,
                1,
                json!({"id": "9", "name": "quick", "type": 1, "options": [{"name": "name", "type": 3, "value": "web-1"}]}),
            ),
        ),
        (
            "click",
            interaction(
                3,
                1,
                json!({"custom_id": "confirm|yes", "component_type": 2}),
            ),
        ),
        (
            "autocomplete",
            interaction(
                4,
                1,
                json!({"id": "9", "name": "quick", "type": 1, "options": [{"name": "name", "type": 3, "value": "we", "focused": true}]}),
            ),
        ),
        ("unknown command", command("gone")),
        (
            "stale button",
            interaction(3, 1, json!({"custom_id": "removed|x", "component_type": 2})),
        ),
    ];
    let mut actual = String::new();
    for (name, interaction) in table {
        let fields = CommandFields::default();
        let subscriber = tracing_subscriber::registry().with(fields.clone());
        let _default = tracing::subscriber::set_default(subscriber);
        dispatcher(None)
            .handle(interaction, &Recorder::default(), 0)
            .await;
        let recorded = fields.0.lock().unwrap().clone();
        let _ = writeln!(actual, "{name}: {recorded:?}");
    }
    expect_test::expect![[r#"
        slash command: {"command.kind": "read", "command.name": "quick", "command.options": ""}
        slash command with options: {"command.kind": "read", "command.name": "quick", "command.options": "name=\"web-1\""}
        click: {"command.kind": "read", "command.name": "confirm"}
        autocomplete: {"command.kind": "read", "command.name": "quick", "command.options": "name=\"we\""}
        unknown command: {"command.name": "gone"}
        stale button: {}
    "#]].assert_eq(&actual);
}

#[test]
fn options_are_described_with_sensitive_values_redacted() {
    let options: Vec<CommandDataOption> = serde_json::from_value(json!([
        {"name": "name", "type": 3, "value": "web 1"},
        {"name": "password", "type": 3, "value": "hunter2"},
        {"name": "count", "type": 4, "value": 3},
    ]))
    .unwrap();
    assert_eq!(
        describe_options(&options, &["password".to_owned()]),
        r#"name="web 1" password=<redacted> count=3"#
    );
}

/// Every interaction in flight holds one of these futures; a burst of a thousand must
/// not cost a thousand copies of the whole interaction payload.
#[test]
fn an_interaction_in_flight_stays_small() {
    let dispatcher = dispatcher(None);
    let recorder = Recorder::default();
    let handling = dispatcher.handle(command("quick"), &recorder, 0);
    let size = std::mem::size_of_val(&handling);
    assert!(size < 8 * 1024, "the handling future is {size} bytes");
}
