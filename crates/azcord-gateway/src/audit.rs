use std::sync::Arc;

use azcord_command::{AuditEvent, AuditSink};
use tracing::Instrument as _;
use twilight_http::Client;

use crate::RestClient;
use twilight_model::{
    channel::message::AllowedMentions,
    id::{Id, marker::ChannelMarker},
};

/// Posts every audit event as a message in one Discord channel.
///
/// Posting happens on its own task, so a slow or failing channel never delays a
/// command. Mentions in the message are rendered but notify nobody.
pub struct ChannelAuditSink {
    channel: Id<ChannelMarker>,
    client: Arc<Client>,
}

impl ChannelAuditSink {
    /// A sink that posts in `channel` through `rest`, from the first event on: it needs
    /// no connected gateway.
    pub fn new(rest: &RestClient, channel: Id<ChannelMarker>) -> Self {
        Self {
            channel,
            client: rest.client(),
        }
    }
}

impl AuditSink for ChannelAuditSink {
    fn record(&self, event: &AuditEvent) {
        let client = Arc::clone(&self.client);
        let channel = self.channel;
        let text = describe(event);
        let span = tracing::info_span!(
            "discord.rest",
            otel.name = "POST /channels/{channel.id}/messages",
            http.route = "/channels/{channel.id}/messages"
        );
        tokio::spawn(
            async move {
                let none = AllowedMentions::default();
                if let Err(error) = client
                    .create_message(channel)
                    .content(&text)
                    .allowed_mentions(Some(&none))
                    .await
                {
                    tracing::warn!(%error, "could not post the audit event");
                }
            }
            .instrument(span),
        );
    }
}

/// The audit message: who ran what where, how it ended, how long it took.
fn describe(event: &AuditEvent) -> String {
    let mut text = format!("`/{}", event.command);
    if !event.arguments.is_empty() {
        text.push(' ');
        text.push_str(&event.arguments);
    }
    text.push('`');
    text.push_str(&format!(" by <@{}>", event.user_id));
    if let Some(channel) = event.channel_id {
        text.push_str(&format!(" in <#{channel}>"));
    }
    text.push_str(&format!(": **{}**", event.outcome.as_str()));
    if let Some(rule) = &event.rule {
        text.push_str(&format!(" (rule `{rule}`)"));
    }
    text.push_str(&format!(" · {:.1} s", event.duration.as_secs_f64()));
    if let Some(operation) = &event.operation_id {
        text.push_str(&format!(" · operation `{operation}`"));
    }
    text.push_str(&format!(" · ref `{}`", event.interaction_id));
    text.chars().take(2000).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use azcord_command::AuditOutcome;

    use super::*;

    #[test]
    fn audit_messages_say_who_what_where_and_how() {
        let event = AuditEvent {
            interaction_id: Id::new(99),
            user_id: Id::new(7),
            guild_id: Some(Id::new(1)),
            channel_id: Some(Id::new(3)),
            command: "vm stop".into(),
            arguments: r#"name="prod-web/web-2""#.into(),
            outcome: AuditOutcome::Succeeded,
            rule: Some("ops".into()),
            duration: Duration::from_millis(12_340),
            operation_id: Some("corr-1".into()),
        };
        expect_test::expect![[r#"`/vm stop name="prod-web/web-2"` by <@7> in <#3>: **succeeded** (rule `ops`) · 12.3 s · operation `corr-1` · ref `99`"#]]
            .assert_eq(&describe(&event));
    }
}
