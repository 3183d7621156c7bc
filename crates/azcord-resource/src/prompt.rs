//! Confirmation prompts kept in the store, so that a Confirm click works after a
//! restart or on another replica until the prompt's own expiry, and acts once.

use std::time::{Duration, SystemTime};

use azcord_azure::ResourceGroupName;
use azcord_command::{
    Answer, Button, ButtonStyle, CommandError, Reply,
    twilight_model::id::{Id, marker::UserMarker},
};
use azcord_store::{ConfirmationRecord, Store, StoreError, new_id};
use serde::{Deserialize, Serialize};

/// The open prompts of one resource type's actions, in the store.
pub(crate) struct Prompts {
    store: Store,
    ttl: Duration,
}

/// What a prompt would act on, as stored: a resource group and a name, checked again
/// when answered.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PromptedTarget {
    pub(crate) resource_group: String,
    pub(crate) name: String,
}

impl Prompts {
    pub(crate) fn new(store: Store, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// How long a prompt stays open.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Records a prompt for `owner` and puts it up: `text` with Confirm and Cancel
    /// buttons routed to `command`. Nothing is asked if it cannot be recorded.
    pub(crate) async fn ask(
        &self,
        command: &str,
        owner: Id<UserMarker>,
        target: &ResourceGroupName,
        name: &str,
        text: String,
        confirm_label: &str,
    ) -> Result<Reply, CommandError> {
        let id = new_id();
        let value = serde_json::to_value(PromptedTarget {
            resource_group: target.as_str().to_owned(),
            name: name.to_owned(),
        })
        .map_err(CommandError::internal)?;
        let record = ConfirmationRecord {
            command: command.to_owned(),
            owner: owner.get(),
            value,
            expires_at: SystemTime::now() + self.ttl,
        };
        self.store
            .put_confirmation(&id, &record)
            .await
            .map_err(|error| {
                unrecorded(
                    &error,
                    "azcord cannot record this confirmation; nothing was asked: try again shortly",
                )
            })?;
        Ok(Reply::text(text)
            .button(Button::for_command(
                command,
                &format!("confirm:{id}"),
                confirm_label,
                ButtonStyle::Danger,
            ))
            .button(Button::for_command(
                command,
                &format!("cancel:{id}"),
                "Cancel",
                ButtonStyle::Secondary,
            )))
    }

    /// Answers the prompt whose button carried `payload`, clicked by `clicker`: the
    /// answer and what was asked, or a refusal the clicker can read. Only the owner
    /// may answer, before the expiry, and of several clicks only one is answered.
    pub(crate) async fn answer(
        &self,
        payload: &str,
        clicker: Id<UserMarker>,
    ) -> Result<(Answer, PromptedTarget), CommandError> {
        let (answer, id) = match payload.split_once(':') {
            Some(("confirm", id)) => (Answer::Confirm, id),
            Some(("cancel", id)) => (Answer::Cancel, id),
            _ => return Err(CommandError::user("this button is no longer active")),
        };
        let unreadable = |error: StoreError| {
            unrecorded(
                &error,
                "azcord cannot read its confirmations right now; nothing was done: try again shortly",
            )
        };
        let closed = || {
            CommandError::user(
                "this confirmation is no longer open: it was already answered; run the command again",
            )
        };
        let record = self
            .store
            .confirmation(id)
            .await
            .map_err(unreadable)?
            .ok_or_else(closed)?;
        if record.owner != clicker.get() {
            return Err(CommandError::user(format!(
                "only <@{}>, who ran the command, can answer this",
                record.owner
            )));
        }
        let record = self
            .store
            .take_confirmation(id)
            .await
            .map_err(unreadable)?
            .ok_or_else(closed)?;
        if record.expires_at <= SystemTime::now() {
            return Err(CommandError::user(format!(
                "this confirmation expired after {} s; run the command again",
                self.ttl.as_secs()
            )));
        }
        let target = serde_json::from_value(record.value).map_err(CommandError::internal)?;
        Ok((answer, target))
    }
}

/// A store failure as the user sees it: `message`, with the cause in the trace.
pub(crate) fn unrecorded(error: &StoreError, message: &str) -> CommandError {
    tracing::warn!(error = %error, kind = ?error.kind(), "the store failed");
    CommandError::user(message)
}
