//! Operations that outlive the process that began them: who follows them again, and
//! how their outcome reaches the user then.

use std::sync::Arc;

use azcord_secret::Secret;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use twilight_model::id::{
    Id,
    marker::{ApplicationMarker, ChannelMarker, MessageMarker},
};

use crate::{BoxFuture, Reply, RespondError};

/// Follows again the recorded operations that no live process follows: those a dead
/// process began. A plugin that begins long operations provides one.
pub trait Follower: Send + Sync {
    /// Claims the recorded operations that are free to take over and follows each to
    /// its end in a task of its own (spawned with [`Shutdown::spawn`]), telling the
    /// user through `notifier`; how many it took over. Once `shutdown` is requested it
    /// takes nothing more, and what it follows is handed over: left recorded, its
    /// lease released.
    fn take_over(
        self: Arc<Self>,
        notifier: Arc<dyn Notifier>,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, usize>;
}

/// The process is shutting down: what another process can carry on (an operation
/// recorded in the store) hands over at once instead of holding up the exit. Also
/// tracks the background work that must finish handing over before the process
/// exits. Cheap to clone; clones share one request.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    requested: CancellationToken,
    tasks: TaskTracker,
}

impl Shutdown {
    /// Nothing requested yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything that watches to hand over.
    pub fn request(&self) {
        self.requested.cancel();
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        self.requested.is_cancelled()
    }

    /// Completes once shutdown is requested (at once if it was).
    pub async fn requested(&self) {
        self.requested.cancelled().await;
    }

    /// Runs `task` in the background; [`Shutdown::finished`] waits for it.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Completes once every task spawned with [`Shutdown::spawn`] has ended; call it
    /// after [`Shutdown::request`].
    pub async fn finished(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
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

    #[tokio::test]
    async fn shutdown_is_seen_by_every_clone_and_waits_for_its_tasks() {
        let shutdown = Shutdown::new();
        let watcher = shutdown.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        shutdown.spawn(async move {
            watcher.requested().await;
            let _ = sender.send(());
        });
        assert!(!shutdown.is_requested());
        shutdown.request();
        assert!(shutdown.is_requested());
        tokio::time::timeout(std::time::Duration::from_secs(10), shutdown.finished())
            .await
            .expect("the task saw the request and ended");
        assert_eq!(receiver.await, Ok(()));
    }
}
