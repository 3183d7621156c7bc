//! Operations that outlive the process that began them: who follows them again, and
//! how their outcome reaches the user then.

use std::sync::Arc;

use azcord_secret::Secret;
use twilight_model::id::{
    Id,
    marker::{ApplicationMarker, ChannelMarker, MessageMarker},
};

use crate::{BoxFuture, Reply, RespondError};

/// Follows again the recorded operations that no live process follows: those a dead
/// process began. A plugin that begins long operations provides one.
pub trait Follower: Send + Sync {
    /// Claims the recorded operations that are free to take over and follows each to
    /// its end in a task of its own, telling the user through `notifier`; how many it
    /// took over.
    fn take_over(self: Arc<Self>, notifier: Arc<dyn Notifier>) -> BoxFuture<'static, usize>;
}

/// Tells a user how an operation ended, from a process that did not receive the
/// interaction. Only azcord-gateway implements it over Discord.
pub trait Notifier: Send + Sync {
    /// Replaces the interaction's original response with `reply`, while the
    /// interaction's token is still valid.
    fn edit_reply<'a>(
        &'a self,
        application_id: Id<ApplicationMarker>,
        token: &'a Secret,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>>;

    /// Posts `reply` as a new message in `channel_id` with the bot's token, as a reply
    /// to `message_id` when known: for an outcome that outlived the interaction's token.
    fn post_reply<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_obj_safe!(Follower, Notifier);
}
