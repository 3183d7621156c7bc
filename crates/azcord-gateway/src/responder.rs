use std::sync::Arc;

use azcord_command::{BoxFuture, InteractionTarget, RespondError, Responder};
use tracing::{Instrument as _, field::Empty};
use twilight_http::Client;
use twilight_model::{
    channel::message::MessageFlags,
    http::interaction::{InteractionResponse, InteractionResponseData},
};

/// Delivers interaction responses over Discord's REST API with twilight-http.
///
/// twilight-http's rate limiter waits out 429s and retries, so a throttled
/// response is late rather than lost.
#[derive(Debug, Clone)]
pub struct RestResponder {
    client: Arc<Client>,
}

impl RestResponder {
    /// A responder that sends with `client`.
    pub fn new(client: Arc<Client>) -> Self {
        Self { client }
    }
}

impl Responder for RestResponder {
    fn respond<'a>(
        &'a self,
        target: &'a InteractionTarget,
        response: &'a InteractionResponse,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let request = async move {
            self.client
                .interaction(target.application_id)
                .create_response(target.interaction_id, target.token.expose(), response)
                .await
                .map(drop)
        };
        Box::pin(instrument(
            "POST",
            "/interactions/{interaction.id}/{interaction.token}/callback",
            request,
        ))
    }

    fn edit_original<'a>(
        &'a self,
        target: &'a InteractionTarget,
        data: &'a InteractionResponseData,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let request = async move {
            self.client
                .interaction(target.application_id)
                .update_response(target.token.expose())
                .content(data.content.as_deref())
                .embeds(data.embeds.as_deref())
                .components(data.components.as_deref())
                .await
                .map(drop)
        };
        Box::pin(instrument(
            "PATCH",
            "/webhooks/{application.id}/{interaction.token}/messages/@original",
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
            request,
        ))
    }
}

/// Runs one REST call in its own span, named by its route with the secrets left out.
async fn instrument(
    method: &'static str,
    route: &'static str,
    request: impl Future<Output = Result<(), twilight_http::Error>>,
) -> Result<(), RespondError> {
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
        let result = request.await;
        let span = tracing::Span::current();
        match &result {
            Ok(()) => {
                span.record("http.response.status_code", 200);
            }
            Err(error) => {
                if let twilight_http::error::ErrorType::Response { status, .. } = error.kind() {
                    // i64, not u16: the OTLP exporter sends unsigned numbers as strings.
                    span.record("http.response.status_code", i64::from(status.get()));
                }
                span.record("otel.status_code", "ERROR");
                span.record("error.message", error.to_string());
            }
        }
        result.map_err(|error| RespondError::new(format!("{method} {route} failed: {error}")))
    }
    .instrument(span)
    .await
}
