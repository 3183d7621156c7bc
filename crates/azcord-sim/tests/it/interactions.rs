//! Interaction callbacks and webhooks, answered with the real twilight HTTP client.

use std::time::Duration;

use azcord_sim::{DiscordSimConfig, InteractionEvent, SimError};
use twilight_http::{
    api_error::ApiError,
    error::{Error, ErrorType},
};
use twilight_model::{
    application::{
        command::{CommandOptionChoice, CommandOptionChoiceValue, CommandOptionType},
        interaction::{InteractionData, InteractionType, application_command::CommandOptionValue},
    },
    channel::message::{
        Component, MessageFlags,
        component::{ActionRow, Button, ButtonStyle},
    },
    http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType},
    id::Id,
};

use crate::support::{ShardDriver, alice, http, invocation, start};

fn reply(kind: InteractionResponseType, data: InteractionResponseData) -> InteractionResponse {
    InteractionResponse {
        kind,
        data: Some(data),
    }
}

fn text(content: &str) -> InteractionResponseData {
    InteractionResponseData {
        content: Some(content.to_owned()),
        ..InteractionResponseData::default()
    }
}

/// The Discord error code of a failed twilight request.
fn discord_code(error: &Error) -> (u16, u64) {
    match error.kind() {
        ErrorType::Response {
            error: ApiError::General(general),
            status,
            ..
        } => (status.get(), general.code),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_and_its_edits_are_reported_in_order() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));

    let mut handle = sim.invoke(invocation(&sim, "web-1"));
    let interaction = shard.interaction(handle.id).await;
    assert_eq!(interaction.token, handle.token);
    assert_eq!(interaction.kind, InteractionType::ApplicationCommand);
    assert_eq!(
        interaction.channel.as_ref().map(|channel| channel.id.get()),
        Some(crate::support::CHANNEL)
    );
    let member = interaction.member.as_ref().expect("a guild member");
    assert_eq!(member.roles, [Id::new(alice().role_ids[0])]);
    assert_eq!(member.permissions, Some(alice().permissions));
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
        panic!("command data expected");
    };
    assert_eq!(**data, crate::support::vm_start("web-1"));

    client
        .create_response(
            interaction.id,
            &interaction.token,
            &reply(
                InteractionResponseType::ChannelMessageWithSource,
                text("starting web-1"),
            ),
        )
        .await
        .unwrap();
    let InteractionEvent::Acknowledged {
        kind,
        deferred,
        message,
    } = handle.next_event().await
    else {
        panic!("expected an acknowledgement");
    };
    assert_eq!(kind, InteractionResponseType::ChannelMessageWithSource);
    assert!(!deferred);
    assert_eq!(message.unwrap().content, "starting web-1");

    let edited = client
        .update_response(&interaction.token)
        .content(Some("web-1 is running"))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(edited.content, "web-1 is running");
    assert!(matches!(
        handle.next_event().await,
        InteractionEvent::OriginalEdited(message) if message.content == "web-1 is running"
    ));
    assert_eq!(handle.message().unwrap().content, "web-1 is running");
    let fetched = client
        .response(&interaction.token)
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(fetched.id, edited.id);

    let followup = client
        .create_followup(&interaction.token)
        .content("only you can see this")
        .flags(MessageFlags::EPHEMERAL)
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(followup.flags, Some(MessageFlags::EPHEMERAL));
    assert!(matches!(
        handle.next_event().await,
        InteractionEvent::Followup(message) if message.is_ephemeral() && message.id == followup.id.get()
    ));
    assert_eq!(handle.followups().len(), 1);

    client.delete_response(&interaction.token).await.unwrap();
    assert_eq!(handle.next_event().await, InteractionEvent::OriginalDeleted);
    assert_eq!(handle.message(), None);
    let error = client.response(&interaction.token).await.unwrap_err();
    assert_eq!(discord_code(&error), (404, 10008));

    assert_eq!(sim.ack_latencies().len(), 1);
    assert!(sim.ack_latencies()[0] < Duration::from_secs(3));
}

#[tokio::test]
async fn a_second_callback_is_rejected_with_40060() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));

    let mut handle = sim.invoke(invocation(&sim, "web-1"));
    let interaction = shard.interaction(handle.id).await;
    let defer = InteractionResponse {
        kind: InteractionResponseType::DeferredChannelMessageWithSource,
        data: None,
    };
    client
        .create_response(interaction.id, &interaction.token, &defer)
        .await
        .unwrap();
    let error = client
        .create_response(interaction.id, &interaction.token, &defer)
        .await
        .unwrap_err();
    assert_eq!(discord_code(&error), (400, 40060));

    assert!(matches!(
        handle.next_event().await,
        InteractionEvent::Acknowledged { deferred: true, .. }
    ));
    assert!(matches!(
        handle.next_event().await,
        InteractionEvent::Rejected(_)
    ));
}

#[tokio::test]
async fn a_callback_after_the_deadline_is_an_unknown_interaction() {
    let sim = start(DiscordSimConfig {
        interaction_ack_deadline: Duration::ZERO,
        ..DiscordSimConfig::default()
    })
    .await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));

    let mut handle = sim.invoke(invocation(&sim, "web-1"));
    let interaction = shard.interaction(handle.id).await;
    let error = client
        .create_response(
            interaction.id,
            &interaction.token,
            &reply(
                InteractionResponseType::ChannelMessageWithSource,
                text("too late"),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(discord_code(&error), (404, 10062));
    assert!(
        matches!(handle.next_event().await, InteractionEvent::Rejected(reason) if reason.contains("deadline"))
    );
    assert!(sim.ack_latencies().is_empty());
}

#[tokio::test]
async fn the_first_followup_after_a_deferral_replaces_the_loading_message() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));

    let mut handle = sim.invoke(invocation(&sim, "web-1"));
    let interaction = shard.interaction(handle.id).await;
    let defer = reply(
        InteractionResponseType::DeferredChannelMessageWithSource,
        InteractionResponseData {
            flags: Some(MessageFlags::EPHEMERAL),
            ..InteractionResponseData::default()
        },
    );
    client
        .create_response(interaction.id, &interaction.token, &defer)
        .await
        .unwrap();
    let InteractionEvent::Acknowledged {
        deferred: true,
        message: Some(loading),
        ..
    } = handle.next_event().await
    else {
        panic!("expected a deferral");
    };
    assert!(loading.is_loading() && loading.is_ephemeral());

    let first = client
        .create_followup(&interaction.token)
        .content("web-1 started")
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(first.id.get(), loading.id);
    let original = handle.message().unwrap();
    assert_eq!(original.content, "web-1 started");
    assert!(!original.is_loading() && original.is_ephemeral());

    let second = client
        .create_followup(&interaction.token)
        .content("and one more thing")
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_ne!(second.id, first.id);
    let events = [handle.next_event().await, handle.next_event().await];
    assert!(
        events
            .iter()
            .all(|event| matches!(event, InteractionEvent::Followup(_)))
    );
}

#[tokio::test]
async fn autocomplete_and_button_clicks_round_trip() {
    let sim = start(DiscordSimConfig::default()).await;
    let mut shard = ShardDriver::connect(&sim, 0, 1);
    sim.wait_until_ready().await;
    let http = http(&sim, &sim.config().token);
    let client = http.interaction(Id::new(sim.config().application_id));

    // Autocomplete: the focused option carries the partial text.
    let mut typing = sim.autocomplete(invocation(&sim, "we"), "name");
    let interaction = shard.interaction(typing.id).await;
    assert_eq!(
        interaction.kind,
        InteractionType::ApplicationCommandAutocomplete
    );
    let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else {
        panic!("command data expected");
    };
    let CommandOptionValue::SubCommand(options) = &data.options[0].value else {
        panic!("subcommand expected");
    };
    assert_eq!(
        options[0].value,
        CommandOptionValue::Focused("we".to_owned(), CommandOptionType::String)
    );
    let choice = CommandOptionChoice {
        name: "web-1".to_owned(),
        name_localizations: None,
        value: CommandOptionChoiceValue::String("web-1".to_owned()),
    };
    client
        .create_response(
            interaction.id,
            &interaction.token,
            &reply(
                InteractionResponseType::ApplicationCommandAutocompleteResult,
                InteractionResponseData {
                    choices: Some(vec![choice.clone()]),
                    ..InteractionResponseData::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        typing.next_event().await,
        InteractionEvent::Autocomplete(vec![choice])
    );

    // A reply with a button, then a click that updates it.
    let mut command = sim.invoke(invocation(&sim, "web-1"));
    let interaction = shard.interaction(command.id).await;
    let confirm = Component::ActionRow(ActionRow {
        id: None,
        components: vec![Component::Button(Button {
            custom_id: Some("confirm".to_owned()),
            disabled: false,
            emoji: None,
            id: None,
            label: Some("Stop web-1".to_owned()),
            sku_id: None,
            style: ButtonStyle::Danger,
            url: None,
        })],
    });
    client
        .create_response(
            interaction.id,
            &interaction.token,
            &reply(
                InteractionResponseType::ChannelMessageWithSource,
                InteractionResponseData {
                    components: Some(vec![confirm]),
                    ..text("Really stop web-1?")
                },
            ),
        )
        .await
        .unwrap();
    let InteractionEvent::Acknowledged {
        message: Some(prompt),
        ..
    } = command.next_event().await
    else {
        panic!("expected the prompt");
    };

    assert!(matches!(
        sim.click(&prompt, "nope", &alice()),
        Err(SimError::UnknownComponent { .. })
    ));
    let mut click = sim.click(&prompt, "confirm", &alice()).unwrap();
    let interaction = shard.interaction(click.id).await;
    assert_eq!(interaction.kind, InteractionType::MessageComponent);
    assert_eq!(
        interaction.message.as_ref().map(|message| message.id.get()),
        Some(prompt.id)
    );
    let Some(InteractionData::MessageComponent(data)) = &interaction.data else {
        panic!("component data expected");
    };
    assert_eq!(data.custom_id, "confirm");

    client
        .create_response(
            interaction.id,
            &interaction.token,
            &reply(
                InteractionResponseType::UpdateMessage,
                InteractionResponseData {
                    components: Some(Vec::new()),
                    ..text("Stopping web-1")
                },
            ),
        )
        .await
        .unwrap();
    let updated = click
        .wait_for(|event| matches!(event, InteractionEvent::Acknowledged { .. }))
        .await;
    let InteractionEvent::Acknowledged {
        kind,
        message: Some(updated),
        ..
    } = updated
    else {
        panic!("expected the updated message");
    };
    assert_eq!(kind, InteractionResponseType::UpdateMessage);
    assert_eq!(
        (updated.id, updated.content.as_str()),
        (prompt.id, "Stopping web-1")
    );
    assert!(updated.components.is_empty());
    // The command's own view of its reply follows the update.
    assert_eq!(command.message().unwrap().content, "Stopping web-1");
}
