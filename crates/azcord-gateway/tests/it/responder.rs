//! Each REST call of the responder runs in a `discord.rest` span that says how it
//! ended, a callback given up on after its window included.

use std::{
    sync::{Arc, Mutex},
    time::SystemTime,
};

use azcord_command::{
    InteractionTarget, Responder as _, Secret,
    twilight_model::{
        http::interaction::{InteractionResponse, InteractionResponseType},
        id::Id,
    },
};
use azcord_gateway::{CALLBACK_WINDOW, RestClient, RestResponder};
use azcord_sim::{DiscordSim, DiscordSimConfig};
use tracing::{
    Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{Layer, layer::Context, prelude::*, registry::LookupSpan};

/// Every field given to a `discord.rest` span, at its start or recorded later, as
/// `name=value` lines.
#[derive(Clone, Default)]
struct RestSpans(Arc<Mutex<Vec<String>>>);

impl RestSpans {
    fn fields(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Lines<'a>(&'a mut Vec<String>);

impl Visit for Lines<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push(format!("{}={value:?}", field.name()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push(format!("{}={value}", field.name()));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RestSpans {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, _: &span::Id, _: Context<'_, S>) {
        if attrs.metadata().name() == "discord.rest" {
            attrs.record(&mut Lines(&mut self.0.lock().unwrap()));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if ctx
            .span(id)
            .is_some_and(|span| span.name() == "discord.rest")
        {
            values.record(&mut Lines(&mut self.0.lock().unwrap()));
        }
    }
}

#[tokio::test]
async fn a_callback_past_its_window_fails_and_its_span_is_marked_failed() {
    let spans = RestSpans::default();
    let _default = tracing_subscriber::registry()
        .with(spans.clone())
        .set_default();
    let sim = DiscordSim::start(DiscordSimConfig::default())
        .await
        .unwrap();
    let rest = RestClient::new(&crate::config_for(&sim)).await.unwrap();
    let responder = RestResponder::over(&rest);
    // An interaction whose window has just passed: its callback is tried once, and not
    // waited for.
    let target = InteractionTarget {
        application_id: Id::new(1),
        interaction_id: Id::new(2),
        token: Secret::new("interaction-token-never-shown"),
        received_at: SystemTime::now() - CALLBACK_WINDOW,
    };
    let response = InteractionResponse {
        kind: InteractionResponseType::DeferredChannelMessageWithSource,
        data: None,
    };

    let error = responder.respond(&target, &response).await.unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("Discord did not take it within 5 s of the interaction arriving"),
        "{message}"
    );
    let fields = spans.fields();
    for expected in [
        "http.route=/interactions/{interaction.id}/{interaction.token}/callback",
        "otel.status_code=ERROR",
        &format!("error.message={message}"),
    ] {
        assert!(
            fields.iter().any(|field| field == expected),
            "{expected} missing from {fields:#?}"
        );
    }
    assert!(
        !fields
            .iter()
            .any(|field| field.contains("interaction-token-never-shown")),
        "{fields:#?}"
    );
}
