//! Following again the operations a dead process began: the one place a recorded
//! operation is claimed, followed to its end and reported from its record alone.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use azcord_azure::{PendingOperation, PollKind, ResourceGroupName, WaitOptions, wait_for};
use azcord_command::{
    BoxFuture, Follower, Notifier, Reply, RespondError, Shutdown, twilight_model::id::Id,
};
use azcord_store::OperationRecord;

use crate::{Resource, ResourceFlow, ResourceType, render};

/// Why an operation recorded before it was begun is not followed: the crash came
/// between the record and Azure's answer, so whether Azure began it is unknown.
pub const RESTARTED_BEFORE_BEGUN: &str =
    "azcord restarted before this action was confirmed started; check";

impl<R: ResourceType> Follower for ResourceFlow<R> {
    fn take_over(
        self: Arc<Self>,
        notifier: Arc<dyn Notifier>,
        shutdown: Shutdown,
    ) -> BoxFuture<'static, usize> {
        Box::pin(async move {
            if shutdown.is_requested() {
                return 0;
            }
            let recorded = match self.store.operations().await {
                Ok(recorded) => recorded,
                Err(error) => {
                    tracing::warn!(error = %error, "could not look for operations to take over");
                    return 0;
                }
            };
            let group = self.resource().names().group;
            let mut taken = 0;
            for (id, record) in recorded {
                if record.resource_type != group
                    || shutdown.is_requested()
                    || !self.start_following(&id)
                {
                    continue;
                }
                // What this process does not follow, an exclusive store's lease says
                // nothing about: the process that held it is gone.
                match self.claim_orphaned(&id).await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.stop_following(&id);
                        continue;
                    }
                    Err(error) => {
                        self.stop_following(&id);
                        tracing::warn!(error = %error, "could not claim an operation to take over");
                        continue;
                    }
                }
                // Read again under the lease: the operation may have ended, or its
                // record gained the message, since the scan.
                let record = match self.store.operation(&id).await {
                    Ok(Some(record)) => record,
                    Ok(None) => {
                        self.forget(&id).await;
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "could not read an operation to take over");
                        self.hand_over(&id).await;
                        continue;
                    }
                };
                tracing::info!(
                    resource_type = group,
                    action = %record.action,
                    previous_owner = %record.owner,
                    "taking over an operation"
                );
                taken += 1;
                let flow = Arc::clone(&self);
                let notifier = Arc::clone(&notifier);
                let watched = shutdown.clone();
                shutdown.spawn(async move {
                    flow.follow_recorded(&id, &record, notifier.as_ref(), &watched)
                        .await;
                });
            }
            taken
        })
    }
}

impl<R: ResourceType> ResourceFlow<R> {
    /// Follows the recorded operation `id` to its end while holding its lease, tells
    /// the user, and forgets it; or, once `shutdown` is requested, hands it over to the
    /// next process.
    async fn follow_recorded(
        &self,
        id: &str,
        record: &OperationRecord,
        notifier: &dyn Notifier,
        shutdown: &Shutdown,
    ) {
        let followed = tokio::select! {
            text = self.holding_lease(id, self.recorded_outcome(record)) => Some(text),
            () = shutdown.requested() => None,
        };
        let Some(text) = followed else {
            self.hand_over(id).await;
            return;
        };
        if let Err(error) = deliver(notifier, record, &Reply::text(text)).await {
            tracing::warn!(error = %error, "could not tell the user how a taken-over operation ended");
        }
        self.forget(id).await;
        self.cache.invalidate().await;
    }

    /// How the recorded operation ended, worded as the live flow words it.
    async fn recorded_outcome(&self, record: &OperationRecord) -> String {
        let group = self.resource().names().group;
        // The record was written from a parsed name, so this fails only on a corrupt one.
        let Ok(resource_group) = ResourceGroupName::new(&record.resource_group) else {
            return format!("azcord restarted and cannot read an operation; check `/{group} list`");
        };
        let target = Resource {
            resource_group,
            name: record.resource_name.clone(),
        };
        let elapsed = || {
            SystemTime::now()
                .duration_since(record.started_at)
                .unwrap_or_default()
                .as_secs()
        };
        let Some(spec) = self
            .resource()
            .actions()
            .into_iter()
            .find(|spec| spec.verbs.command == record.action)
        else {
            return format!(
                "azcord restarted and no longer has the action `{}`; check `/{group} list`",
                record.action
            );
        };
        let Some(poll) = &record.poll else {
            let reason = format!("{RESTARTED_BEFORE_BEGUN} `/{group} list`");
            return render::failed(&spec.verbs, &target, &reason, elapsed());
        };
        let operation = PendingOperation::Running {
            url: poll.url.clone(),
            kind: if poll.async_operation {
                PollKind::AsyncOperation
            } else {
                PollKind::Location
            },
            // Azure may have finished while nobody followed: ask at once, then as its
            // Retry-After says, rather than after the default interval.
            retry_after: Some(Duration::ZERO),
            correlation_id: poll.correlation_id.clone(),
        };
        let left = record
            .deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        let wait = WaitOptions {
            deadline: left,
            ..self.settings.wait
        };
        match wait_for(self.operations.as_ref(), &operation, wait, |_| {}).await {
            Ok(()) => render::done(&spec.verbs, &target, elapsed()),
            Err(error) => render::failed(&spec.verbs, &target, &error.user_message(), elapsed()),
        }
    }
}

/// Tells the user: by editing the original response while its token lives, else by a
/// reply in the channel with the bot's token. Clocks drift, so a token that Discord
/// refuses before its recorded expiry also sends the outcome to the channel.
async fn deliver(
    notifier: &dyn Notifier,
    record: &OperationRecord,
    reply: &Reply,
) -> Result<(), RespondError> {
    let application = record.application_id.and_then(Id::new_checked);
    let token = record
        .interaction_token
        .as_ref()
        .filter(|token| !token.is_empty());
    if let (Some(application), Some(token)) = (application, token)
        && SystemTime::now() < record.token_expires_at
    {
        match notifier.edit_reply(application, token, reply).await {
            Err(error) if error.is_token_rejected() => {
                tracing::info!(error = %error, "the interaction token was refused; replying in the channel");
            }
            edited => return edited,
        }
    }
    let channel = record
        .channel_id
        .and_then(Id::new_checked)
        .ok_or_else(|| RespondError::new("the operation names no channel to post in"))?;
    notifier
        .post_reply(channel, record.message_id.and_then(Id::new_checked), reply)
        .await
}
