//! The life of an interaction: the callback, the original response and follow-ups.
//!
//! These are methods on [`State`] that take a parsed request and return what the REST
//! handler answers; every change is also reported on the interaction's event channel.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::mpsc;
use twilight_model::{
    application::{command::CommandOptionChoice, interaction::InteractionType},
    channel::message::{Component, MessageFlags},
    http::interaction::InteractionResponseType,
    id::{Id, marker::InteractionMarker},
};

use super::{
    InteractionEvent, SimMessage, SimUser,
    api_error::ApiError,
    messages::{MessageFields, parse_object},
    payload::{MessageInteraction, now_timestamp},
    state::State,
};

/// Most autocomplete choices in one answer.
const AUTOCOMPLETE_CHOICE_LIMIT: usize = 25;

/// What the simulator remembers about one interaction.
#[derive(Debug)]
pub(crate) struct InteractionRecord {
    pub(crate) id: Id<InteractionMarker>,
    pub(crate) token: String,
    pub(crate) kind: InteractionType,
    pub(crate) user: SimUser,
    pub(crate) guild_id: Option<u64>,
    pub(crate) channel_id: u64,
    pub(crate) created_at: Instant,
    /// When the INTERACTION_CREATE frame was first written; the ack deadline counts from here.
    pub(crate) dispatched_at: Option<Instant>,
    /// The callback type the bot answered with.
    pub(crate) response: Option<InteractionResponseType>,
    /// The message `@original` refers to, once there is one.
    pub(crate) original: Option<u64>,
    /// For component interactions: the message whose component was used.
    pub(crate) source_message: Option<u64>,
    pub(crate) followups: Vec<u64>,
    pub(crate) events: mpsc::UnboundedSender<InteractionEvent>,
    /// Whether the test expired its token ahead of its lifetime.
    pub(crate) token_expired: bool,
}

impl InteractionRecord {
    fn emit(&self, event: InteractionEvent) {
        // A dropped handle just means nobody is watching.
        let _ = self.events.send(event);
    }

    fn message_interaction(&self, original_response: Option<u64>) -> MessageInteraction {
        MessageInteraction {
            id: self.id,
            kind: self.kind,
            user: self.user.clone(),
            guild_id: self.guild_id,
            original_response_message_id: original_response,
            interacted_message_id: self.source_message,
        }
    }

    fn new_message(&self, id: u64, fields: MessageFields) -> SimMessage {
        let mut message = SimMessage {
            id,
            channel_id: self.channel_id,
            guild_id: self.guild_id,
            interaction_id: Some(self.id),
            referenced_message_id: None,
            content: String::new(),
            embeds: Vec::new(),
            components: Vec::new(),
            flags: MessageFlags::empty(),
            timestamp: now_timestamp(),
            edited_timestamp: None,
        };
        fields.write_to(&mut message);
        message
    }
}

/// Timing rules of interactions, from the configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    /// How long after dispatch the callback may come.
    pub(crate) ack: Duration,
    /// How long after creation the interaction token works for webhooks.
    pub(crate) token_lifetime: Duration,
}

/// What a successful callback did, for `?with_response=true`.
#[derive(Clone, Debug)]
pub(crate) struct CallbackOutcome {
    pub(crate) interaction_id: Id<InteractionMarker>,
    pub(crate) interaction_kind: InteractionType,
    pub(crate) response_kind: InteractionResponseType,
    pub(crate) message: Option<SimMessage>,
}

/// Which message of an interaction webhook a request targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WebhookMessage {
    Original,
    Id(u64),
}

impl WebhookMessage {
    /// Parses the `{message_id}` path segment: `@original` or a snowflake.
    pub(crate) fn parse(segment: &str) -> Result<Self, ApiError> {
        if segment == "@original" {
            return Ok(Self::Original);
        }
        segment
            .parse()
            .map(Self::Id)
            .map_err(|_| ApiError::unknown_message())
    }
}

impl State {
    /// `POST /interactions/{id}/{token}/callback`.
    pub(crate) fn interaction_callback(
        &mut self,
        new_id: impl FnOnce() -> u64,
        deadlines: Deadlines,
        interaction_id: &str,
        token: &str,
        body: &[u8],
    ) -> Result<CallbackOutcome, ApiError> {
        let now = Instant::now();
        let Some(record) = interaction_id
            .parse::<u64>()
            .ok()
            .and_then(Id::new_checked)
            .and_then(|id| self.interactions.get(&id))
            .filter(|record| record.token == token)
        else {
            return Err(ApiError::unknown_interaction());
        };
        if record.response.is_some() {
            record.emit(InteractionEvent::Rejected(
                "callback rejected: interaction has already been acknowledged".to_owned(),
            ));
            return Err(ApiError::already_acknowledged());
        }
        let dispatched_at = record.dispatched_at.unwrap_or(record.created_at);
        let elapsed = now.saturating_duration_since(dispatched_at);
        if elapsed > deadlines.ack {
            record.emit(InteractionEvent::Rejected(format!(
                "callback rejected: unknown interaction, answered after {elapsed:?}, the deadline is {:?}",
                deadlines.ack
            )));
            return Err(ApiError::unknown_interaction());
        }

        let body = parse_object(body)?;
        let response_kind = response_type(&body)?;
        let data = match body.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data.clone(),
            Some(_) => {
                return Err(ApiError::invalid_form_body(
                    &["data"],
                    "MODEL_TYPE_CONVERT",
                    "Must be an object.",
                ));
            }
        };
        check_response_allowed(record.kind, record.source_message.is_some(), response_kind)?;

        let record_id = record.id;
        let (event, message) = self.apply_callback(record_id, response_kind, &data, new_id)?;
        let Some(record) = self.interactions.get_mut(&record_id) else {
            return Err(ApiError::unknown_interaction());
        };
        record.response = Some(response_kind);
        record.emit(event);
        let outcome = CallbackOutcome {
            interaction_id: record.id,
            interaction_kind: record.kind,
            response_kind,
            message,
        };
        self.ack_latencies.push(elapsed);
        Ok(outcome)
    }

    /// Carries out a validated callback; returns the event to report and the message touched.
    fn apply_callback(
        &mut self,
        record_id: Id<InteractionMarker>,
        response_kind: InteractionResponseType,
        data: &Map<String, Value>,
        new_id: impl FnOnce() -> u64,
    ) -> Result<(InteractionEvent, Option<SimMessage>), ApiError> {
        let Some(record) = self.interactions.get(&record_id) else {
            return Err(ApiError::unknown_interaction());
        };
        let acknowledged = |message: Option<SimMessage>| InteractionEvent::Acknowledged {
            kind: response_kind,
            deferred: matches!(
                response_kind,
                InteractionResponseType::DeferredChannelMessageWithSource
                    | InteractionResponseType::DeferredUpdateMessage
            ),
            message,
        };
        match response_kind {
            InteractionResponseType::ChannelMessageWithSource
            | InteractionResponseType::DeferredChannelMessageWithSource => {
                let mut fields = MessageFields::from_body(data)?;
                if response_kind == InteractionResponseType::ChannelMessageWithSource {
                    fields.validate()?;
                } else {
                    // A deferral shows "is thinking..." and keeps only the ephemeral flag.
                    fields = MessageFields {
                        flags: (fields.flags & MessageFlags::EPHEMERAL) | MessageFlags::LOADING,
                        ..MessageFields::default()
                    };
                }
                let message = record.new_message(new_id(), fields);
                let interaction = record.message_interaction(None);
                let id = message.id;
                self.insert_message(message.clone(), Some(interaction));
                if let Some(record) = self.interactions.get_mut(&record_id) {
                    record.original = Some(id);
                }
                Ok((acknowledged(Some(message.clone())), Some(message)))
            }
            InteractionResponseType::DeferredUpdateMessage => {
                let source = record.source_message;
                if let Some(record) = self.interactions.get_mut(&record_id) {
                    record.original = source;
                }
                Ok((acknowledged(None), None))
            }
            InteractionResponseType::UpdateMessage => {
                let source = record
                    .source_message
                    .ok_or_else(ApiError::unknown_message)?;
                let message = self.edit_message(source, data)?;
                if let Some(record) = self.interactions.get_mut(&record_id) {
                    record.original = Some(source);
                }
                Ok((acknowledged(Some(message.clone())), Some(message)))
            }
            InteractionResponseType::ApplicationCommandAutocompleteResult => {
                let choices: Vec<CommandOptionChoice> = match data.get("choices") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(choices) => serde_json::from_value(choices.clone()).map_err(|error| {
                        ApiError::invalid_form_body(
                            &["data", "choices"],
                            "MODEL_TYPE_CONVERT",
                            &error.to_string(),
                        )
                    })?,
                };
                if choices.len() > AUTOCOMPLETE_CHOICE_LIMIT {
                    return Err(ApiError::invalid_form_body(
                        &["data", "choices"],
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 25 or fewer in length.",
                    ));
                }
                Ok((InteractionEvent::Autocomplete(choices), None))
            }
            InteractionResponseType::Modal => {
                let text = |field: &str| {
                    data.get(field)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ApiError::invalid_form_body(
                                &["data", field],
                                "BASE_TYPE_REQUIRED",
                                "This field is required",
                            )
                        })
                };
                let components: Vec<Component> = match data.get("components") {
                    Some(components) => {
                        serde_json::from_value(components.clone()).map_err(|error| {
                            ApiError::invalid_form_body(
                                &["data", "components"],
                                "MODEL_TYPE_CONVERT",
                                &error.to_string(),
                            )
                        })?
                    }
                    None => Vec::new(),
                };
                Ok((
                    InteractionEvent::Modal {
                        custom_id: text("custom_id")?,
                        title: text("title")?,
                        components,
                    },
                    None,
                ))
            }
            _ => Err(invalid_response_type()),
        }
    }

    /// Finds the interaction behind a webhook token, checking the application and the token's age.
    fn webhook_interaction(
        &self,
        application_id: u64,
        configured_application: u64,
        token: &str,
        deadlines: Deadlines,
    ) -> Result<Id<InteractionMarker>, ApiError> {
        if application_id != configured_application {
            return Err(ApiError::unknown_webhook());
        }
        let record = self
            .interaction_tokens
            .get(token)
            .and_then(|id| self.interactions.get(id))
            .ok_or_else(ApiError::invalid_webhook_token)?;
        if record.token_expired || record.created_at.elapsed() > deadlines.token_lifetime {
            record.emit(InteractionEvent::Rejected(
                "webhook request rejected: the interaction token expired".to_owned(),
            ));
            return Err(ApiError::invalid_webhook_token());
        }
        if record.response.is_none() {
            record.emit(InteractionEvent::Rejected(
                "webhook request rejected: the interaction was not acknowledged yet".to_owned(),
            ));
            return Err(ApiError::unknown_webhook());
        }
        Ok(record.id)
    }

    /// Resolves the message a webhook request targets, which must belong to the interaction.
    fn webhook_message_id(
        &self,
        record_id: Id<InteractionMarker>,
        target: WebhookMessage,
    ) -> Result<u64, ApiError> {
        let record = self
            .interactions
            .get(&record_id)
            .ok_or_else(ApiError::unknown_webhook)?;
        let id = match target {
            WebhookMessage::Original => record.original,
            WebhookMessage::Id(id) => {
                (record.original == Some(id) || record.followups.contains(&id)).then_some(id)
            }
        };
        id.filter(|id| self.messages.contains_key(id))
            .ok_or_else(ApiError::unknown_message)
    }

    /// `GET /webhooks/{app}/{token}/messages/{id or @original}`.
    pub(crate) fn webhook_get(
        &self,
        (application_id, configured): (u64, u64),
        token: &str,
        target: WebhookMessage,
        deadlines: Deadlines,
    ) -> Result<u64, ApiError> {
        let record_id = self.webhook_interaction(application_id, configured, token, deadlines)?;
        self.webhook_message_id(record_id, target)
    }

    /// `PATCH /webhooks/{app}/{token}/messages/{id or @original}`.
    pub(crate) fn webhook_edit(
        &mut self,
        (application_id, configured): (u64, u64),
        token: &str,
        target: WebhookMessage,
        deadlines: Deadlines,
        body: &[u8],
    ) -> Result<u64, ApiError> {
        let record_id = self.webhook_interaction(application_id, configured, token, deadlines)?;
        let id = self.webhook_message_id(record_id, target)?;
        let body = parse_object(body)?;
        let message = self.edit_message(id, &body)?;
        if let Some(record) = self.interactions.get(&record_id) {
            record.emit(if record.original == Some(id) {
                InteractionEvent::OriginalEdited(message)
            } else {
                InteractionEvent::FollowupEdited(message)
            });
        }
        Ok(id)
    }

    /// `DELETE /webhooks/{app}/{token}/messages/{id or @original}`.
    pub(crate) fn webhook_delete(
        &mut self,
        (application_id, configured): (u64, u64),
        token: &str,
        target: WebhookMessage,
        deadlines: Deadlines,
    ) -> Result<(), ApiError> {
        let record_id = self.webhook_interaction(application_id, configured, token, deadlines)?;
        let id = self.webhook_message_id(record_id, target)?;
        self.messages.remove(&id);
        if let Some(record) = self.interactions.get_mut(&record_id) {
            if record.original == Some(id) {
                record.original = None;
                record.emit(InteractionEvent::OriginalDeleted);
            } else {
                record.followups.retain(|&followup| followup != id);
                record.emit(InteractionEvent::FollowupDeleted(id));
            }
        }
        Ok(())
    }

    /// `POST /webhooks/{app}/{token}`: a follow-up, or the answer to a deferral.
    pub(crate) fn webhook_followup(
        &mut self,
        (application_id, configured): (u64, u64),
        token: &str,
        deadlines: Deadlines,
        new_id: impl FnOnce() -> u64,
        body: &[u8],
    ) -> Result<u64, ApiError> {
        let record_id = self.webhook_interaction(application_id, configured, token, deadlines)?;
        let body = parse_object(body)?;
        let fields = MessageFields::from_body(&body)?;
        fields.validate()?;
        let Some(record) = self.interactions.get(&record_id) else {
            return Err(ApiError::unknown_webhook());
        };

        // The first follow-up after a deferral replaces the loading message, keeping its
        // ephemeral flag.
        let loading_original = record.original.filter(|id| {
            record.followups.is_empty()
                && self
                    .messages
                    .get(id)
                    .is_some_and(|stored| stored.message.is_loading())
        });
        let message = match loading_original {
            Some(original) => {
                let Some(stored) = self.messages.get_mut(&original) else {
                    return Err(ApiError::unknown_message());
                };
                let ephemeral = stored.message.flags & MessageFlags::EPHEMERAL;
                MessageFields {
                    flags: (fields.flags - MessageFlags::EPHEMERAL) | ephemeral,
                    ..fields
                }
                .write_to(&mut stored.message);
                stored.message.clone()
            }
            None => {
                let message = record.new_message(new_id(), fields);
                let interaction = record.message_interaction(record.original);
                self.insert_message(message.clone(), Some(interaction));
                message
            }
        };
        if let Some(record) = self.interactions.get_mut(&record_id) {
            record.followups.push(message.id);
            record.emit(InteractionEvent::Followup(message.clone()));
        }
        Ok(message.id)
    }

    /// Applies an edit body to a stored message; an edit ends the loading state.
    pub(crate) fn edit_message(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<SimMessage, ApiError> {
        let stored = self
            .messages
            .get_mut(&id)
            .ok_or_else(ApiError::unknown_message)?;
        let mut fields = MessageFields::of(&stored.message);
        fields.apply(body)?;
        fields.validate()?;
        let was_loading = stored.message.is_loading();
        fields.flags.remove(MessageFlags::LOADING);
        fields.write_to(&mut stored.message);
        if !was_loading {
            stored.message.edited_timestamp = Some(now_timestamp());
        }
        Ok(stored.message.clone())
    }
}

/// Reads the callback `type`.
fn response_type(body: &Map<String, Value>) -> Result<InteractionResponseType, ApiError> {
    let kind = body.get("type").ok_or_else(|| {
        ApiError::invalid_form_body(&["type"], "BASE_TYPE_REQUIRED", "This field is required")
    })?;
    serde_json::from_value(kind.clone()).map_err(|_| invalid_response_type())
}

fn invalid_response_type() -> ApiError {
    ApiError::invalid_form_body(
        &["type"],
        "BASE_TYPE_CHOICES",
        "Value must be one of (1, 4, 5, 6, 7, 8, 9, 10, 12).",
    )
}

/// Which callback types Discord accepts for which interaction types.
fn check_response_allowed(
    interaction: InteractionType,
    has_source_message: bool,
    response: InteractionResponseType,
) -> Result<(), ApiError> {
    use InteractionResponseType as Response;
    use InteractionType as Kind;
    let allowed = match response {
        Response::Pong => interaction == Kind::Ping,
        Response::ChannelMessageWithSource | Response::DeferredChannelMessageWithSource => {
            matches!(
                interaction,
                Kind::ApplicationCommand | Kind::MessageComponent | Kind::ModalSubmit
            )
        }
        Response::DeferredUpdateMessage | Response::UpdateMessage => has_source_message,
        Response::ApplicationCommandAutocompleteResult => {
            interaction == Kind::ApplicationCommandAutocomplete
        }
        Response::Modal => matches!(
            interaction,
            Kind::ApplicationCommand | Kind::MessageComponent
        ),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::invalid_form_body(
            &["type"],
            "INTERACTION_RESPONSE_TYPE_INVALID",
            &format!(
                "Interaction response type {} is not valid for interaction type {}",
                response as u8, interaction as u8
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEADLINES: Deadlines = Deadlines {
        ack: Duration::from_secs(3),
        token_lifetime: Duration::from_secs(900),
    };
    const APP: (u64, u64) = (1, 1);

    struct Fixture {
        state: State,
        id: Id<InteractionMarker>,
        events: mpsc::UnboundedReceiver<InteractionEvent>,
        next_id: u64,
    }

    impl Fixture {
        fn new(kind: InteractionType, source_message: Option<u64>) -> Self {
            let (events_tx, events) = mpsc::unbounded_channel();
            let id = Id::new(1000);
            let mut state = State::new(&crate::discord::DiscordSimConfig::default());
            state.interactions.insert(
                id,
                InteractionRecord {
                    id,
                    token: "tok".to_owned(),
                    kind,
                    user: SimUser::new(42, "alice"),
                    guild_id: Some(9),
                    channel_id: 7,
                    created_at: Instant::now(),
                    dispatched_at: Some(Instant::now()),
                    response: None,
                    original: None,
                    source_message,
                    followups: Vec::new(),
                    events: events_tx,
                    token_expired: false,
                },
            );
            state.interaction_tokens.insert("tok".to_owned(), id);
            Self {
                state,
                id,
                events,
                next_id: 2000,
            }
        }

        fn callback(&mut self, body: Value) -> Result<CallbackOutcome, ApiError> {
            self.next_id += 1;
            let next = self.next_id;
            self.state.interaction_callback(
                || next,
                DEADLINES,
                "1000",
                "tok",
                body.to_string().as_bytes(),
            )
        }

        fn followup(&mut self, body: Value) -> Result<u64, ApiError> {
            self.next_id += 1;
            let next = self.next_id;
            self.state
                .webhook_followup(APP, "tok", DEADLINES, || next, body.to_string().as_bytes())
        }

        fn edit(&mut self, target: WebhookMessage, body: Value) -> Result<u64, ApiError> {
            self.state
                .webhook_edit(APP, "tok", target, DEADLINES, body.to_string().as_bytes())
        }

        fn event(&mut self) -> InteractionEvent {
            self.events.try_recv().unwrap()
        }

        fn original(&self) -> SimMessage {
            let id = self.state.interactions[&self.id].original.unwrap();
            self.state.messages[&id].message.clone()
        }
    }

    #[test]
    fn a_message_response_creates_the_original_and_a_second_callback_is_rejected() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        let outcome = fixture
            .callback(json!({"type": 4, "data": {"content": "hi", "flags": 64}}))
            .unwrap();
        assert_eq!(outcome.message.as_ref().unwrap().content, "hi");
        let InteractionEvent::Acknowledged {
            kind,
            deferred,
            message,
        } = fixture.event()
        else {
            panic!("expected an acknowledgement");
        };
        assert_eq!(kind, InteractionResponseType::ChannelMessageWithSource);
        assert!(!deferred);
        assert!(message.unwrap().is_ephemeral());

        let error = fixture
            .callback(json!({"type": 4, "data": {"content": "again"}}))
            .unwrap_err();
        assert_eq!(error.code, 40060);
        assert!(matches!(fixture.event(), InteractionEvent::Rejected(_)));
    }

    #[test]
    fn a_late_callback_is_an_unknown_interaction() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        let record = fixture.state.interactions.get_mut(&fixture.id).unwrap();
        record.dispatched_at = Instant::now().checked_sub(Duration::from_secs(4));
        let error = fixture.callback(json!({"type": 5})).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (404, 10062));
        assert!(matches!(fixture.event(), InteractionEvent::Rejected(_)));
    }

    #[test]
    fn wrong_tokens_and_ids_are_unknown_interactions() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        for (id, token) in [("1000", "nope"), ("999", "tok"), ("x", "tok"), ("0", "tok")] {
            let error = fixture
                .state
                .interaction_callback(|| 1, DEADLINES, id, token, br#"{"type":5}"#)
                .unwrap_err();
            assert_eq!(error.code, 10062);
        }
    }

    #[test]
    fn callback_types_must_fit_the_interaction() {
        let cases = [
            (InteractionType::ApplicationCommand, None, 1, false),
            (InteractionType::ApplicationCommand, None, 4, true),
            (InteractionType::ApplicationCommand, None, 5, true),
            (InteractionType::ApplicationCommand, None, 6, false),
            (InteractionType::ApplicationCommand, None, 7, false),
            (InteractionType::ApplicationCommand, None, 8, false),
            (InteractionType::ApplicationCommand, None, 9, true),
            (InteractionType::MessageComponent, Some(1), 6, true),
            (InteractionType::MessageComponent, Some(1), 7, true),
            (
                InteractionType::ApplicationCommandAutocomplete,
                None,
                8,
                true,
            ),
            (
                InteractionType::ApplicationCommandAutocomplete,
                None,
                4,
                false,
            ),
            (
                InteractionType::ApplicationCommandAutocomplete,
                None,
                9,
                false,
            ),
        ];
        for (kind, source, response, allowed) in cases {
            let response: InteractionResponseType =
                serde_json::from_value(json!(response)).unwrap();
            assert_eq!(
                check_response_allowed(kind, source.is_some(), response).is_ok(),
                allowed,
                "{kind:?} answered with {response:?}"
            );
        }
    }

    #[test]
    fn a_deferral_loads_until_edited() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        fixture
            .callback(json!({"type": 5, "data": {"flags": 64}}))
            .unwrap();
        let InteractionEvent::Acknowledged {
            deferred: true,
            message: Some(loading),
            ..
        } = fixture.event()
        else {
            panic!("expected a deferred acknowledgement");
        };
        assert!(loading.is_loading() && loading.is_ephemeral());

        fixture
            .edit(WebhookMessage::Original, json!({"content": "done"}))
            .unwrap();
        let InteractionEvent::OriginalEdited(edited) = fixture.event() else {
            panic!("expected an edit");
        };
        assert_eq!(edited.content, "done");
        assert!(!edited.is_loading() && edited.is_ephemeral());
        assert_eq!(fixture.original(), edited);
    }

    #[test]
    fn the_first_followup_after_a_deferral_replaces_the_loading_message() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        fixture
            .callback(json!({"type": 5, "data": {"flags": 64}}))
            .unwrap();
        fixture.event();
        let first = fixture.followup(json!({"content": "one"})).unwrap();
        let second = fixture.followup(json!({"content": "two"})).unwrap();
        let original = fixture.original();
        assert_eq!(first, original.id);
        assert_eq!(original.content, "one");
        assert!(original.is_ephemeral() && !original.is_loading());
        assert_ne!(second, first);
        let second = &fixture.state.messages[&second];
        assert!(!second.message.is_ephemeral());
        assert_eq!(
            second
                .interaction
                .as_ref()
                .unwrap()
                .original_response_message_id,
            Some(first)
        );
    }

    #[test]
    fn webhooks_need_an_acknowledged_interaction_and_an_existing_message() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        let before_ack = fixture.edit(WebhookMessage::Original, json!({"content": "x"}));
        assert_eq!(before_ack.unwrap_err().code, 10015);
        fixture
            .callback(json!({"type": 4, "data": {"content": "hi"}}))
            .unwrap();
        let wrong_app =
            fixture
                .state
                .webhook_get((2, 1), "tok", WebhookMessage::Original, DEADLINES);
        assert_eq!(wrong_app.unwrap_err().code, 10015);
        let wrong_token =
            fixture
                .state
                .webhook_get(APP, "nope", WebhookMessage::Original, DEADLINES);
        assert_eq!(wrong_token.unwrap_err().code, 50027);
        assert_eq!(
            fixture
                .edit(WebhookMessage::Id(12345), json!({"content": "x"}))
                .unwrap_err()
                .code,
            10008
        );
        fixture
            .state
            .webhook_delete(APP, "tok", WebhookMessage::Original, DEADLINES)
            .unwrap();
        let gone = fixture
            .state
            .webhook_get(APP, "tok", WebhookMessage::Original, DEADLINES);
        assert_eq!(gone.unwrap_err().code, 10008);
    }

    #[test]
    fn an_expired_token_is_an_invalid_webhook_token() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommand, None);
        fixture
            .callback(json!({"type": 4, "data": {"content": "hi"}}))
            .unwrap();
        assert!(matches!(
            fixture.event(),
            InteractionEvent::Acknowledged { .. }
        ));
        fixture
            .state
            .interactions
            .get_mut(&fixture.id)
            .unwrap()
            .token_expired = true;
        let error = fixture
            .edit(WebhookMessage::Original, json!({"content": "x"}))
            .unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code, error.message.as_str()),
            (401, 50027, "Invalid Webhook Token")
        );
        assert_eq!(fixture.original().content, "hi");
    }

    #[test]
    fn component_updates_edit_the_clicked_message() {
        let mut fixture = Fixture::new(InteractionType::MessageComponent, Some(77));
        let clicked = SimMessage {
            id: 77,
            channel_id: 7,
            guild_id: Some(9),
            interaction_id: None,
            referenced_message_id: None,
            content: "pick one".to_owned(),
            embeds: Vec::new(),
            components: Vec::new(),
            flags: MessageFlags::empty(),
            timestamp: now_timestamp(),
            edited_timestamp: None,
        };
        fixture.state.insert_message(clicked, None);
        fixture
            .callback(json!({"type": 7, "data": {"content": "picked"}}))
            .unwrap();
        let InteractionEvent::Acknowledged {
            message: Some(updated),
            ..
        } = fixture.event()
        else {
            panic!("expected an acknowledgement with the updated message");
        };
        assert_eq!((updated.id, updated.content.as_str()), (77, "picked"));
        assert!(updated.edited_timestamp.is_some());
        assert_eq!(fixture.original().id, 77);
    }

    #[test]
    fn autocomplete_answers_carry_choices() {
        let mut fixture = Fixture::new(InteractionType::ApplicationCommandAutocomplete, None);
        fixture
            .callback(
                json!({"type": 8, "data": {"choices": [{"name": "web-1", "value": "web-1"}]}}),
            )
            .unwrap();
        let InteractionEvent::Autocomplete(choices) = fixture.event() else {
            panic!("expected choices");
        };
        assert_eq!(choices.len(), 1);
        assert_eq!(choices[0].name, "web-1");
    }
}
