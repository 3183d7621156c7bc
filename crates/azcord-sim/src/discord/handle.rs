//! [`InteractionHandle`]: a test's view of one interaction it started.

use std::{sync::Arc, time::Duration};

use tokio::sync::mpsc;
use twilight_model::id::{Id, marker::InteractionMarker};

use super::{InteractionEvent, SimMessage, state::Shared};

/// One interaction a test started: its events in order, and its messages as they stand.
#[derive(Debug)]
pub struct InteractionHandle {
    /// The interaction's snowflake.
    pub id: Id<InteractionMarker>,
    /// The interaction token the bot answers with.
    pub token: String,
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<InteractionEvent>,
    /// How long `next_event` and `wait_for` wait before panicking.
    patience: Duration,
}

impl InteractionHandle {
    pub(crate) fn new(
        id: Id<InteractionMarker>,
        token: String,
        shared: Arc<Shared>,
        events: mpsc::UnboundedReceiver<InteractionEvent>,
    ) -> Self {
        let patience = shared.config.wait_timeout;
        Self {
            id,
            token,
            shared,
            events,
            patience,
        }
    }

    /// The next event, waiting for it if needed.
    ///
    /// # Panics
    ///
    /// If none comes within the configured `wait_timeout`, so a test never hangs.
    pub async fn next_event(&mut self) -> InteractionEvent {
        match self.next_event_within(self.patience).await {
            Some(event) => event,
            None => panic!(
                "interaction {}: no event within {:?}; the bot never answered it",
                self.id, self.patience
            ),
        }
    }

    /// The next event if one comes within `wait`; `None` otherwise.
    pub async fn next_event_within(&mut self, wait: Duration) -> Option<InteractionEvent> {
        tokio::time::timeout(wait, self.events.recv())
            .await
            .ok()
            .flatten()
    }

    /// The first event, in order, that satisfies `predicate`; earlier ones are skipped.
    ///
    /// # Panics
    ///
    /// If none comes within the configured `wait_timeout`; the message lists the events seen.
    pub async fn wait_for(
        &mut self,
        predicate: impl Fn(&InteractionEvent) -> bool,
    ) -> InteractionEvent {
        let deadline = tokio::time::Instant::now() + self.patience;
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) if predicate(&event) => return event,
                Ok(Some(event)) => seen.push(event),
                Ok(None) | Err(_) => panic!(
                    "interaction {}: no matching event within {:?}; saw {seen:#?}",
                    self.id, self.patience
                ),
            }
        }
    }

    /// The original response as it stands now, if there is one.
    pub fn message(&self) -> Option<SimMessage> {
        let state = self.shared.lock();
        let original = state.interactions.get(&self.id)?.original?;
        state
            .messages
            .get(&original)
            .map(|stored| stored.message.clone())
    }

    /// The follow-up messages that still exist, oldest first.
    pub fn followups(&self) -> Vec<SimMessage> {
        let state = self.shared.lock();
        state
            .interactions
            .get(&self.id)
            .map(|record| {
                record
                    .followups
                    .iter()
                    .filter(|&&id| Some(id) != record.original)
                    .filter_map(|id| state.messages.get(id))
                    .map(|stored| stored.message.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
