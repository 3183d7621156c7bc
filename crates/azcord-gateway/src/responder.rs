use std::{sync::Arc, time::Duration};

use azcord_command::{
    BoxFuture, InteractionTarget, Notifier, Reply, RespondError, Responder, Secret,
};
use tracing::{Instrument as _, field::Empty};
use twilight_http::Client;
use twilight_model::{
    channel::message::MessageFlags,
    http::interaction::{InteractionResponse, InteractionResponseData},
    id::{
        Id,
        marker::{ApplicationMarker, ChannelMarker, MessageMarker},
    },
};

/// Delivers interaction responses over Discord's REST API with twilight-http.
///
/// twilight-http's rate limiter waits out 429s and retries, so a throttled edit,
/// follow-up or message is late rather than lost. The interaction callback goes
/// without it (see [`crate::RestClient`]): a throttled callback is retried until
/// [`CALLBACK_WINDOW`] after the interaction arrived, and fails after that.
#[derive(Debug, Clone)]
pub struct RestResponder {
    client: Arc<Client>,
    /// For the interaction callback alone, without the rate limiter (see
    /// [`crate::RestClient`]).
    callbacks: Arc<Client>,
}

impl RestResponder {
    /// A responder that sends with the bot's REST client, sharing its rate limiter, and
    /// answers each interaction through its callback client.
    pub fn over(rest: &crate::RestClient) -> Self {
        Self {
            client: rest.client(),
            callbacks: rest.callbacks(),
        }
    }
}

/// How long after an interaction arrives its callback is still tried. Discord refuses
/// an interaction's first response after three seconds; the rest is room for one that
/// is on its way when they pass.
pub const CALLBACK_WINDOW: Duration = Duration::from_secs(5);

impl Responder for RestResponder {
    fn respond<'a>(
        &'a self,
        target: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        const ROUTE: &str = "/interactions/{interaction.id}/{interaction.token}/callback";
        let waited = target.received_at.elapsed().unwrap_or_default();
        // The request is made inside the boxed future, so that it is built where it
        // stays instead of being copied into the box.
        Box::pin(async move {
            let request = self
                .callbacks
                .interaction(target.application_id)
                .create_response(target.interaction_id, target.token.expose(), response)
                .into_future();
            let within = CALLBACK_WINDOW.saturating_sub(waited);
            instrument("POST", ROUTE, Some(within), request)
                .await
                .map(drop)
        })
    }

    fn edit_original<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        Box::pin(async move { self.edit_original_message(target, data).await.map(drop) })
    }

    fn edit_original_message<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<Option<Id<MessageMarker>>, RespondError>> {
        let request = async move {
            let response = self
                .client
                .interaction(target.application_id)
                .update_response(target.token.expose())
                .content(data.content.as_deref())
                .embeds(data.embeds.as_deref())
                .components(data.components.as_deref())
                .await?;
            // Discord answers with the message; an answer that does not read as one
            // costs only its id.
            Ok(message_id(response.bytes().await.ok().as_deref()))
        };
        Box::pin(instrument(
            "PATCH",
            "/webhooks/{application.id}/{interaction.token}/messages/@original",
            None,
            request,
        ))
    }

    fn followup<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let request = async move {
            let client = self.client.interaction(target.application_id);
            let mut followup = client.create_followup(target.token.expose());
            if let Some(content) = data
                .content
                .as_deref()
                .filter(|content| !content.is_empty())
            {
                followup = followup.content(content);
            }
            if let Some(embeds) = data.embeds.as_deref() {
                followup = followup.embeds(embeds);
            }
            if let Some(components) = data.components.as_deref() {
                followup = followup.components(components);
            }
            if let Some(flags) = data
                .flags
                .filter(|flags| flags.contains(MessageFlags::EPHEMERAL))
            {
                followup = followup.flags(flags);
            }
            followup.await.map(drop)
        };
        Box::pin(instrument(
            "POST",
            "/webhooks/{application.id}/{interaction.token}",
            None,
            request,
        ))
    }

    fn post_in_channel<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        Box::pin(self.create_message(channel_id, message_id, data))
    }
}

impl RestResponder {
    /// `POST /channels/{channel.id}/messages` with the bot's token, replying to
    /// `message_id` when known.
    async fn create_message(
        &self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        data: &InteractionResponseData,
    ) -> Result<(), RespondError> {
        let request = async move {
            let mut message = self.client.create_message(channel_id);
            if let Some(content) = data.content.as_deref() {
                message = message.content(content);
            }
            if let Some(embeds) = data.embeds.as_deref() {
                message = message.embeds(embeds);
            }
            if let Some(message_id) = message_id {
                message = message.reply(message_id);
            }
            message.await.map(drop)
        };
        instrument("POST", "/channels/{channel.id}/messages", None, request).await
    }
}

impl Notifier for RestResponder {
    fn edit_reply<'a>(
        &'a self,
        application_id: Id<ApplicationMarker>,
        token: &'a Secret,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let request = async move {
            let data = reply.to_response_data();
            self.client
                .interaction(application_id)
                .update_response(token.expose())
                .content(data.content.as_deref())
                .embeds(data.embeds.as_deref())
                .components(data.components.as_deref())
                .await
                .map(drop)
        };
        Box::pin(instrument(
            "PATCH",
            "/webhooks/{application.id}/{interaction.token}/messages/@original",
            None,
            request,
        ))
    }

    fn post_reply<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        Box::pin(async move {
            self.create_message(channel_id, message_id, &reply.to_response_data())
                .await
        })
    }
}

/// The `id` of a message object, if `body` is one.
fn message_id(body: Option<&[u8]>) -> Option<Id<MessageMarker>> {
    #[derive(serde::Deserialize)]
    struct Message {
        id: Id<MessageMarker>,
    }
    serde_json::from_slice::<Message>(body?)
        .ok()
        .map(|message| message.id)
}

/// Whether Discord refused a request for its interaction token: the token expired
/// (401, 50027 "Invalid Webhook Token") or names nothing any more (404). Only routes
/// authenticated by an interaction token can say so.
fn token_rejected(route: &str, error: &twilight_http::Error) -> bool {
    let by_token = route.contains("{interaction.token}");
    let status = match error.kind() {
        twilight_http::error::ErrorType::Response { status, .. } => status.get(),
        twilight_http::error::ErrorType::Unauthorized => 401,
        _ => return false,
    };
    by_token && matches!(status, 401 | 404)
}

/// Marks a REST call's span as failed, saying why.
fn mark_failed(span: &tracing::Span, message: &str) {
    span.record("otel.status_code", "ERROR");
    span.record("error.message", message);
}

/// Runs one REST call in its own span, named by its route with the secrets left out.
/// An interaction callback passes what is left of its [`CALLBACK_WINDOW`] as
/// `window_left`, and fails once that has passed; its span says so, as for any failure.
async fn instrument<T>(
    method: &'static str,
    route: &'static str,
    window_left: Option<Duration>,
    request: impl Future<Output = Result<T, twilight_http::Error>>,
) -> Result<T, RespondError> {
    let span = tracing::info_span!(
        "discord.rest",
        otel.name = format!("{method} {route}"),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        error.message = Empty,
    );
    async move {
        let result = match window_left {
            None => request.await,
            Some(left) => match tokio::time::timeout(left, request).await {
                Ok(result) => result,
                Err(_) => {
                    let message = format!(
                        "{method} {route} failed: Discord did not take it within {} s of \
                         the interaction arriving (it kept answering 429, or not at all)",
                        CALLBACK_WINDOW.as_secs()
                    );
                    mark_failed(&tracing::Span::current(), &message);
                    return Err(RespondError::new(message));
                }
            },
        };
        let span = tracing::Span::current();
        match &result {
            Ok(_) => {
                span.record("http.response.status_code", 200);
            }
            Err(error) => {
                if let twilight_http::error::ErrorType::Response { status, .. } = error.kind() {
                    // i64, not u16: the OTLP exporter sends unsigned numbers as strings.
                    span.record("http.response.status_code", i64::from(status.get()));
                }
                mark_failed(&span, &error.to_string());
            }
        }
        result.map_err(|error| {
            let message = format!("{method} {route} failed: {error}");
            if token_rejected(route, &error) {
                RespondError::token_rejected(message)
            } else {
                RespondError::new(message)
            }
        })
    }
    .instrument(span)
    .await
}
