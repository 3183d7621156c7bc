//! Confirmations waiting for a click: the Confirm and Cancel buttons that costly
//! commands put up before they act.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::time::Instant;
use twilight_model::id::{Id, marker::UserMarker};

use crate::{Button, ButtonStyle, CommandError, Reply};

/// Pending confirmations of one command: who may answer, until when, and what they
/// would confirm.
pub struct Confirmations<T> {
    ttl: Duration,
    pending: Mutex<HashMap<String, Pending<T>>>,
    next: AtomicU64,
}

struct Pending<T> {
    owner: Id<UserMarker>,
    expires: Instant,
    value: T,
}

/// What a click on a confirmation prompt asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The Confirm button.
    Confirm,
    /// The Cancel button.
    Cancel,
}

impl<T> Confirmations<T> {
    /// Confirmations that expire `ttl` after they are asked.
    pub fn new(ttl: Duration) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        Self {
            ttl,
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(seed),
        }
    }

    /// How long a confirmation stays open.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Puts up a prompt for `owner`: `text` with Confirm and Cancel buttons routed to
    /// the command named `command`.
    pub fn ask(
        &self,
        command: &str,
        owner: Id<UserMarker>,
        value: T,
        text: String,
        confirm_label: &str,
    ) -> Reply {
        let now = Instant::now();
        let token = format!(
            "{:x}",
            self.next
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        );
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, entry| entry.expires > now);
        pending.insert(
            token.clone(),
            Pending {
                owner,
                expires: now + self.ttl,
                value,
            },
        );
        Reply::text(text)
            .button(Button::for_command(
                command,
                &format!("confirm:{token}"),
                confirm_label,
                ButtonStyle::Danger,
            ))
            .button(Button::for_command(
                command,
                &format!("cancel:{token}"),
                "Cancel",
                ButtonStyle::Secondary,
            ))
    }

    /// Answers the prompt whose button carried `payload`, clicked by `clicker`: the
    /// answer and what was asked, or a refusal the clicker can read.
    ///
    /// Only the owner may answer; an answered or expired prompt cannot be answered again.
    pub fn answer(
        &self,
        payload: &str,
        clicker: Id<UserMarker>,
    ) -> Result<(Answer, T), CommandError> {
        let (answer, token) = match payload.split_once(':') {
            Some(("confirm", token)) => (Answer::Confirm, token),
            Some(("cancel", token)) => (Answer::Cancel, token),
            _ => return Err(CommandError::user("this button is no longer active")),
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = pending.get(token) else {
            return Err(CommandError::user(
                "this confirmation is no longer open: it was already answered, or azcord restarted; run the command again",
            ));
        };
        if entry.owner != clicker {
            return Err(CommandError::user(format!(
                "only <@{}>, who ran the command, can answer this",
                entry.owner
            )));
        }
        if entry.expires <= Instant::now() {
            pending.remove(token);
            return Err(CommandError::user(format!(
                "this confirmation expired after {} s; run the command again",
                self.ttl.as_secs()
            )));
        }
        let entry = pending.remove(token).map(|entry| entry.value);
        entry
            .map(|value| (answer, value))
            .ok_or_else(|| CommandError::user("this button is no longer active"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(reply: &Reply, index: usize) -> String {
        Button::parse_custom_id(&reply.buttons[index].custom_id)
            .unwrap()
            .1
            .to_owned()
    }

    fn refusal(result: Result<(Answer, &str), CommandError>) -> String {
        match result {
            Err(CommandError::User(error)) => error.message().to_owned(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_owner_answers_once_before_expiry() {
        let confirmations = Confirmations::new(Duration::from_secs(60));
        let owner = Id::new(1);
        let stranger = Id::new(2);
        let reply = confirmations.ask("vm stop", owner, "web-1", "Stop web-1?".into(), "Stop");
        assert_eq!(reply.buttons.len(), 2);
        let confirm = payload(&reply, 0);

        assert_eq!(
            refusal(confirmations.answer(&confirm, stranger)),
            "only <@1>, who ran the command, can answer this"
        );
        assert_eq!(
            confirmations.answer(&confirm, owner).unwrap(),
            (Answer::Confirm, "web-1")
        );
        assert!(
            refusal(confirmations.answer(&confirm, owner))
                .starts_with("this confirmation is no longer open")
        );

        let reply = confirmations.ask("vm stop", owner, "web-2", "Stop web-2?".into(), "Stop");
        assert_eq!(
            confirmations.answer(&payload(&reply, 1), owner).unwrap(),
            (Answer::Cancel, "web-2")
        );

        let reply = confirmations.ask("vm stop", owner, "web-3", "Stop web-3?".into(), "Stop");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(
            refusal(confirmations.answer(&payload(&reply, 0), owner)),
            "this confirmation expired after 60 s; run the command again"
        );
        assert_eq!(
            refusal(confirmations.answer("garbage", owner)),
            "this button is no longer active"
        );
    }
}
