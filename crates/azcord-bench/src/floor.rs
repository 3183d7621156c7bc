//! The floor: the least a twilight bot can do, answering `/ping` straight away with
//! no framework, on the same simulator.

use std::sync::Arc;

use twilight_gateway::{
    ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
    queue::InMemoryQueue,
};
use twilight_http::Client;
use twilight_model::{
    application::interaction::InteractionData,
    http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType},
};

pub(crate) async fn run(api_url: &str, gateway_url: &str, token: String) -> anyhow::Result<()> {
    register_ping(api_url, token.clone()).await?;
    // Interaction callbacks through a client without twilight's rate limiter, as azcord
    // sends them: the limiter queues every callback of the bot behind the one before.
    let client = Arc::new(
        Client::builder()
            .token(token.clone())
            .proxy(plain_host(api_url), true)
            .ratelimiter(None)
            .build(),
    );
    let config = ConfigBuilder::new(token, Intents::empty())
        .proxy_url(gateway_url.to_owned())
        .queue(InMemoryQueue::new(
            16,
            1000,
            std::time::Duration::from_secs(1),
            1000,
        ))
        .build();
    let mut shard = Shard::with_config(ShardId::ONE, config);
    while let Some(item) = shard.next_event(EventTypeFlags::INTERACTION_CREATE).await {
        let Ok(Event::InteractionCreate(interaction)) = item else {
            continue;
        };
        let client = Arc::clone(&client);
        tokio::spawn(async move {
            if !matches!(
                interaction.data,
                Some(InteractionData::ApplicationCommand(_))
            ) {
                return;
            }
            let response = InteractionResponse {
                kind: InteractionResponseType::ChannelMessageWithSource,
                data: Some(InteractionResponseData {
                    content: Some("🏓 pong".to_owned()),
                    ..Default::default()
                }),
            };
            let _ = client
                .interaction(interaction.application_id)
                .create_response(interaction.id, &interaction.token, &response)
                .await;
        });
    }
    Ok(())
}

/// The host and port of `api_url`, served over plain HTTP as the simulator serves it.
fn plain_host(api_url: &str) -> String {
    api_url.trim_start_matches("http://").to_owned()
}

/// A twilight-http client for the REST API at `api_url` (plain HTTP, as the simulator
/// serves it), once it has registered `/ping` as a global command.
pub(crate) async fn register_ping(api_url: &str, token: String) -> anyhow::Result<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder()
        .token(token)
        .proxy(plain_host(api_url), true)
        .build();
    let application_id = client.current_user_application().await?.model().await?.id;
    let ping = twilight_model::application::command::Command {
        application_id: None,
        contexts: None,
        default_member_permissions: None,
        #[allow(deprecated)]
        dm_permission: None,
        description: "Check that the bot is up".to_owned(),
        description_localizations: None,
        guild_id: None,
        id: None,
        integration_types: None,
        kind: twilight_model::application::command::CommandType::ChatInput,
        name: "ping".to_owned(),
        name_localizations: None,
        nsfw: None,
        options: Vec::new(),
        version: twilight_model::id::Id::new(1),
    };
    client
        .interaction(application_id)
        .set_global_commands(&[ping])
        .await?;
    Ok(client)
}
