//! The generic commands every resource type gets: `/GROUP list`, `/GROUP status` and
//! one command per action, with the `name` option's autocomplete.

use std::{sync::Arc, time::SystemTime};

use azcord_azure::{AzureError, PendingOperation, PollKind, ResourceGroupName, wait_for};
use azcord_command::{
    Answer, AutocompleteContext, BoxFuture, Caller, Command, CommandError, ComponentContext,
    Context, InteractionTarget, Progress, Reply, Signature,
    twilight_model::{
        application::command::{CommandOption, CommandOptionChoice, CommandOptionType},
        id::{Id, marker::MessageMarker},
    },
};
use azcord_store::{OperationRecord, PollRecord, new_id};
use twilight_interactions::command::CommandModel;

use crate::{
    ActionSpec, AuthorizeResourceGroup as _, IntoCommandError, Resource, ResourceFlow,
    ResourceType, azure_error, confirms, prompt::unrecorded, render,
};

/// What the user is told when an action cannot be recorded before it begins.
pub const NOT_RECORDED: &str = "azcord cannot record this operation; not started";

/// The options of `/GROUP list`.
#[derive(CommandModel)]
struct ListOptions {
    resource_group: Option<String>,
}

/// The options of a command on one resource.
#[derive(CommandModel)]
pub struct NameOption {
    /// What was typed: `name` or `resource_group/name`.
    pub name: String,
}

/// `/GROUP status name`: one resource in full.
pub struct Status<R: ResourceType>(pub(crate) Arc<ResourceFlow<R>>);

impl<R: ResourceType> Command for Status<R> {
    fn signature(&self) -> Signature {
        let resource = self.0.resource();
        let names = resource.names();
        let spec = resource.status();
        let signature = Signature::new(format!("{} status", names.group), spec.description)
            .options(vec![name_option(names.noun)])
            .guild_only();
        spec.examples.iter().fold(signature, |signature, example| {
            signature.example(
                format!("/{} status name:{}", names.group, example.name),
                example.about,
            )
        })
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let target = self.0.authorized_target(&ctx).await?;
            let resource = self.0.resource();
            let details = resource.get(&target).await.map_err(azure_error)?;
            Ok(resource.render_status(&details))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move { self.0.suggest(&ctx).await })
    }
}

/// The `name` option of a command on one resource of type `noun`, with autocomplete.
pub fn name_option(noun: &str) -> CommandOption {
    string_option(
        "name",
        format!("The {noun}: `name`, or `resource_group/name` when the name is in several groups"),
        true,
        true,
    )
}

/// `/GROUP list [resource_group]`.
pub struct List<R: ResourceType>(pub(crate) Arc<ResourceFlow<R>>);

impl<R: ResourceType> Command for List<R> {
    fn signature(&self) -> Signature {
        let names = self.0.resource().names();
        Signature::new(format!("{} list", names.group), names.list_description)
            .options(vec![string_option(
                "resource_group",
                format!("Only {} in this resource group", names.plural),
                false,
                false,
            )])
            .guild_only()
            .example(
                format!("/{} list", names.group),
                format!("every {} in the subscription", names.noun),
            )
            .example(
                format!("/{} list resource_group:prod-web", names.group),
                format!("the {} of one resource group", names.plural),
            )
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: ListOptions = ctx.options()?;
            let group = options
                .resource_group
                .as_deref()
                .map(ResourceGroupName::new)
                .transpose()
                .map_err(|error| CommandError::user(error.to_string()))?;
            if let Some(group) = &group {
                ctx.authorize_in(group)?;
            }
            let resource = self.0.resource();
            let summaries = resource.list(group.as_ref()).await.map_err(azure_error)?;
            Ok(resource.render_list(&summaries, group.as_ref().map(ResourceGroupName::as_str)))
        })
    }
}

/// `/GROUP VERB name`: one action on one resource. A destructive action asks first and
/// acts on the Confirm button; any other acts at once.
///
/// This is the one place where an Azure action is confirmed, begun and followed.
pub struct Act<R: ResourceType> {
    spec: ActionSpec<R::Action>,
    flow: Arc<ResourceFlow<R>>,
}

impl<R: ResourceType> Act<R> {
    /// The command for `spec`.
    pub fn new(spec: ActionSpec<R::Action>, flow: Arc<ResourceFlow<R>>) -> Self {
        Self { spec, flow }
    }

    /// Records the action, begins it and follows it to the end, editing the reply as
    /// it goes. Nothing is begun that could not be recorded first.
    async fn execute(
        &self,
        target: Resource<R::Name>,
        asked: Asked<'_>,
        progress: &Progress,
    ) -> Result<Reply, CommandError> {
        let verbs = &self.spec.verbs;
        let store = &self.flow.store;
        let id = new_id();
        let mut record = self.record(&target, &asked);
        self.flow.start_following(&id);
        store.put_operation(&id, &record).await.map_err(|error| {
            self.flow.stop_following(&id);
            unrecorded(&error, NOT_RECORDED)
        })?;
        // The id is new, so the lease is free; a store that just failed refuses it.
        match self.flow.claim(&id).await {
            Ok(true) => {}
            Ok(false) => return Err(CommandError::internal("a new operation's lease is held")),
            Err(error) => {
                self.forget(&id).await;
                return Err(unrecorded(&error, NOT_RECORDED));
            }
        }
        progress.update(render::progress(verbs, &target, None));
        let begun = self.flow.resource().begin(&target, self.spec.action).await;
        let operation = match begun {
            Ok(operation) => operation,
            Err(error) => {
                self.forget(&id).await;
                return Err(self.failure(&target, &error, progress));
            }
        };
        if let Some(id) = operation.correlation_id() {
            progress.note_operation_id(id);
        }
        // Whether the next process could follow it: once how to poll it is recorded.
        let mut recorded = false;
        if let PendingOperation::Running {
            url,
            kind,
            correlation_id,
            ..
        } = &operation
        {
            record.poll = Some(PollRecord {
                url: url.clone(),
                async_operation: *kind == PollKind::AsyncOperation,
                correlation_id: correlation_id.clone(),
            });
            record.message_id = record.message_id.or(progress.message_id().map(Id::get));
            // Begun is begun: a failed update leaves the first record, which still
            // names the resource and the action.
            match store.put_operation(&id, &record).await {
                Ok(()) => recorded = true,
                Err(error) => {
                    tracing::warn!(error = %error, "could not record how to follow an operation");
                }
            }
        }
        // An action Azure finishes synchronously begins as `PendingOperation::Completed`,
        // for which `wait_for` returns at once without polling.
        let poll = wait_for(
            self.flow.operations.as_ref(),
            &operation,
            self.flow.settings.wait,
            |elapsed| progress.update(render::progress(verbs, &target, Some(elapsed.as_secs()))),
        );
        let noted = self.note_message(&id, &record, progress, recorded);
        let follow = async {
            tokio::select! {
                result = poll => result,
                never = noted => match never {},
            }
        };
        // On shutdown, a recorded operation is left to the next process rather than
        // holding this one up: it is begun, and the record says how to poll it.
        let followed = tokio::select! {
            result = self.flow.holding_lease(&id, follow) => Some(result),
            () = progress.shutdown().requested(), if recorded => None,
        };
        let Some(result) = followed else {
            self.flow.hand_over(&id).await;
            return Ok(Reply::text(render::handed_over(verbs, &target)));
        };
        self.forget(&id).await;
        self.flow.cache.invalidate().await;
        match result {
            Ok(()) => Ok(Reply::text(render::done(
                verbs,
                &target,
                progress.elapsed().as_secs(),
            ))),
            Err(error) => Err(self.failure(&target, &error, progress)),
        }
    }

    /// The record of this action on `target`, as `asked`, before it begins: all that
    /// another process needs to follow it and tell the user how it ended.
    fn record(&self, target: &Resource<R::Name>, asked: &Asked<'_>) -> OperationRecord {
        let now = SystemTime::now();
        let Asked {
            caller,
            interaction,
            message_id,
        } = asked;
        OperationRecord {
            owner: self.flow.store.owner().to_owned(),
            poll: None,
            resource_type: self.flow.resource().names().group.to_owned(),
            resource_group: target.resource_group.as_str().to_owned(),
            resource_name: target.name.to_string(),
            action: self.spec.verbs.command.to_owned(),
            invoker: caller.user_id.get(),
            application_id: Some(interaction.application_id.get()),
            interaction_token: Some(interaction.token.clone()),
            message_id: message_id.map(Id::get),
            channel_id: caller.channel_id.map(Id::get),
            guild_id: caller.guild_id.map(Id::get),
            started_at: now,
            deadline: now + self.flow.settings.wait.deadline,
            token_expires_at: interaction.token_expires_at(),
        }
    }

    /// Once Discord has said which message shows the reply, adds it to the operation's
    /// record if the record lacks it (a slash command's own reply), so that an outcome
    /// posted in the channel after the token expired replies to it; then waits forever.
    async fn note_message(
        &self,
        id: &str,
        record: &OperationRecord,
        progress: &Progress,
        recorded: bool,
    ) -> std::convert::Infallible {
        if recorded && record.message_id.is_none() {
            let shown = progress.shown_in().await;
            let record = OperationRecord {
                message_id: Some(shown.get()),
                ..record.clone()
            };
            if let Err(error) = self.flow.store.put_operation(id, &record).await {
                tracing::warn!(error = %error, "could not record the message of an operation");
            }
        }
        std::future::pending().await
    }

    /// Forgets the record of an operation that ended, and gives up its lease; what is
    /// left behind expires.
    async fn forget(&self, id: &str) {
        self.flow.forget(id).await;
    }

    /// A failed action, with the elapsed time.
    fn failure(
        &self,
        target: &Resource<R::Name>,
        error: &AzureError,
        progress: &Progress,
    ) -> CommandError {
        let elapsed = progress.elapsed().as_secs();
        error
            .clone()
            .into_command_error(|reason| render::failed(&self.spec.verbs, target, reason, elapsed))
    }
}

impl<R: ResourceType> Command for Act<R> {
    fn signature(&self) -> Signature {
        let names = self.flow.resource().names();
        let spec = &self.spec;
        let verbs = &spec.verbs;
        let signature = Signature::new(
            format!("{} {}", names.group, verbs.command),
            spec.description,
        )
        .options(vec![name_option(names.noun)])
        .kind(spec.kind)
        .guild_only()
        .example(
            format!(
                "/{} {} name:{}",
                names.group, verbs.command, spec.example.name
            ),
            format!("{} {}", verbs.doing.to_lowercase(), spec.example.about),
        );
        // What acts at once is deferred at once; a prompt is answered quickly.
        if confirms(spec.kind) {
            signature
        } else {
            signature.long_running()
        }
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let target = self.flow.authorized_target(&ctx).await?;
            if !confirms(self.spec.kind) {
                let asked = Asked {
                    caller: &ctx.caller,
                    interaction: &ctx.target,
                    message_id: None,
                };
                return self.execute(target, asked, &ctx.progress).await;
            }
            let prompts = &self.flow.prompts;
            let question = render::confirmation(&self.spec, &target, prompts.ttl().as_secs());
            prompts
                .ask(
                    &ctx.signature.name,
                    ctx.caller.user_id,
                    &target.resource_group,
                    &target.name.to_string(),
                    question,
                    self.spec.verbs.button,
                )
                .await
        })
    }

    fn component(&self, ctx: ComponentContext) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let (answer, target) = self
                .flow
                .prompts
                .answer(&ctx.payload, ctx.caller.user_id)
                .await?;
            let target = self.flow.prompted(target)?;
            match answer {
                Answer::Cancel => Ok(Reply::text(render::cancelled(&target))),
                Answer::Confirm => {
                    ctx.authorize_in(&target.resource_group)?;
                    let asked = Asked {
                        caller: &ctx.caller,
                        interaction: &ctx.target,
                        message_id: ctx.message_id,
                    };
                    self.execute(target, asked, &ctx.progress).await
                }
            }
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move { self.flow.suggest(&ctx).await })
    }
}

/// Who asked for an action, and where its outcome is shown.
struct Asked<'a> {
    caller: &'a Caller,
    interaction: &'a InteractionTarget,
    /// The message the outcome replaces: the prompt whose button was clicked; `None`
    /// for a command's own reply, whose id Discord gives only once it is sent.
    message_id: Option<Id<MessageMarker>>,
}

/// A string option, declared as twilight-interactions' derive declares one.
fn string_option(
    name: &str,
    description: String,
    required: bool,
    autocomplete: bool,
) -> CommandOption {
    CommandOption {
        autocomplete: Some(autocomplete),
        channel_types: None,
        choices: None,
        description,
        description_localizations: None,
        file_types: None,
        kind: CommandOptionType::String,
        max_length: None,
        max_value: None,
        min_length: None,
        min_value: None,
        name: name.to_owned(),
        name_localizations: None,
        options: None,
        required: Some(required),
    }
}
