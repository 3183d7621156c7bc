//! The `/vm` commands.

use azcord_resource::IntoCommandError;
use std::sync::Arc;

use azcord_azure::{AzureError, PowerState, ResourceGroupName, VmAction, VmSummary, wait_for};
use azcord_command::{
    Answer, AutocompleteContext, BoxFuture, Command, CommandError, CommandKind, ComponentContext,
    Context, Progress, Reply, Signature,
    twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue},
};
use twilight_interactions::command::{CommandModel, CreateCommand};

use crate::{
    Shared, render,
    resolve::{self, VmTarget},
};

#[derive(CommandModel, CreateCommand)]
#[command(
    name = "list",
    desc = "List VMs with their power state, size and location"
)]
struct ListOptions {
    /// Only VMs in this resource group
    resource_group: Option<String>,
}

#[derive(CommandModel, CreateCommand)]
#[command(name = "vm", desc = "One VM")]
struct NameOptions {
    /// The VM: `name`, or `resource_group/name` when the name is in several groups
    #[command(autocomplete = true)]
    name: String,
}

/// `/vm list [resource_group]`.
pub(crate) struct List(pub(crate) Arc<Shared>);

impl Command for List {
    fn signature(&self) -> Signature {
        Signature::new(
            "vm list",
            "List VMs with their power state, size and location",
        )
        .options(ListOptions::create_command().options)
        .guild_only()
        .example("/vm list", "every VM in the subscription")
        .example(
            "/vm list resource_group:prod-web",
            "the VMs of one resource group",
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
                ctx.authorize_resource_group(group.as_str())?;
            }
            let vms = self
                .0
                .azure
                .vms
                .list(group.as_ref())
                .await
                .map_err(azure_error)?;
            Ok(render::list(
                &vms,
                group.as_ref().map(ResourceGroupName::as_str),
            ))
        })
    }
}

/// `/vm status name`.
pub(crate) struct Status(pub(crate) Arc<Shared>);

impl Command for Status {
    fn signature(&self) -> Signature {
        Signature::new("vm status", "Show one VM's details and power state")
            .options(NameOptions::create_command().options)
            .guild_only()
            .example("/vm status name:db-1", "details of db-1")
            .example(
                "/vm status name:staging/web-1",
                "details of web-1 in the staging resource group",
            )
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: NameOptions = ctx.options()?;
            let target = self.0.resolve(&options.name).await?;
            ctx.authorize_resource_group(target.resource_group.as_str())?;
            let details = self
                .0
                .azure
                .vms
                .get(&target.resource_group, &target.name)
                .await
                .map_err(azure_error)?;
            Ok(render::status(&details))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(self.0.suggest(ctx))
    }
}

/// `/vm start|stop|deallocate|restart name`: starts at once; the others ask first.
pub(crate) struct Act {
    action: VmAction,
    shared: Arc<Shared>,
}

impl Act {
    pub(crate) fn new(action: VmAction, shared: Arc<Shared>) -> Self {
        Self { action, shared }
    }

    /// Runs the action and follows it to the end, editing the reply as it goes.
    async fn execute(&self, target: VmTarget, progress: &Progress) -> Result<Reply, CommandError> {
        let action = self.action;
        progress.update(render::progress(action, &target, None));
        let operation = self
            .shared
            .azure
            .vms
            .begin(&target.resource_group, &target.name, action)
            .await
            .map_err(|error| failure(action, &target, &error, progress))?;
        if let Some(id) = operation.correlation_id() {
            progress.note_operation_id(id);
        }
        let result = wait_for(
            self.shared.azure.operations.as_ref(),
            &operation,
            self.shared.settings.wait,
            |elapsed| {
                progress.update(render::progress(action, &target, Some(elapsed.as_secs())));
            },
        )
        .await;
        self.shared.cache.invalidate().await;
        match result {
            Ok(()) => Ok(Reply::text(render::done(
                action,
                &target,
                progress.elapsed().as_secs(),
            ))),
            Err(error) => Err(failure(action, &target, &error, progress)),
        }
    }
}

impl Command for Act {
    fn signature(&self) -> Signature {
        let verbs = render::verbs(self.action);
        let (description, kind) = match self.action {
            VmAction::Start => ("Start a VM", CommandKind::Write),
            VmAction::PowerOff => (
                "Stop a VM (it stays allocated: compute is still billed)",
                CommandKind::Destructive,
            ),
            VmAction::Deallocate => (
                "Stop a VM and release its hardware (compute billing stops)",
                CommandKind::Destructive,
            ),
            VmAction::Restart => ("Restart a VM", CommandKind::Destructive),
        };
        let signature = Signature::new(format!("vm {}", verbs.command), description)
            .options(NameOptions::create_command().options)
            .kind(kind)
            .guild_only()
            .example(
                format!("/vm {} name:prod-web/web-2", verbs.command),
                format!("{} web-2", verbs.doing.to_lowercase()),
            );
        if self.action == VmAction::Start {
            signature.long_running()
        } else {
            signature
        }
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: NameOptions = ctx.options()?;
            let target = self.shared.resolve(&options.name).await?;
            ctx.authorize_resource_group(target.resource_group.as_str())?;
            if self.action == VmAction::Start {
                return self.execute(target, &ctx.progress).await;
            }
            let ttl = self.shared.confirmations.ttl().as_secs();
            let question = render::confirmation(self.action, &target, ttl);
            let button = render::verbs(self.action).button;
            Ok(self.shared.confirmations.ask(
                &ctx.signature.name,
                ctx.caller.user_id,
                target,
                question,
                button,
            ))
        })
    }

    fn component(&self, ctx: ComponentContext) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let (answer, target) = self
                .shared
                .confirmations
                .answer(&ctx.payload, ctx.caller.user_id)?;
            match answer {
                Answer::Cancel => Ok(Reply::text(format!(
                    "Cancelled: **{}** in `{}` was left as it was.",
                    target.name, target.resource_group
                ))),
                Answer::Confirm => {
                    ctx.authorize_resource_group(target.resource_group.as_str())?;
                    self.execute(target, &ctx.progress).await
                }
            }
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(self.shared.suggest(ctx))
    }
}

impl Shared {
    /// The VM list, from the cache when it is fresh.
    async fn vms(&self) -> Result<Arc<Vec<VmSummary>>, CommandError> {
        self.cache
            .get(|| self.azure.vms.list(None))
            .await
            .map_err(azure_error)
    }

    /// The one VM the `name` option means.
    async fn resolve(&self, input: &str) -> Result<VmTarget, CommandError> {
        let target = resolve::parse(input)?;
        match target.resource_group {
            Some(resource_group) => Ok(VmTarget {
                resource_group,
                name: target.name,
            }),
            None => resolve::unique(&target.name, &self.vms().await?),
        }
    }

    /// Suggestions for the `name` option, from the cached list: VMs whose
    /// `group/name` contains what was typed, in groups the caller may act on.
    async fn suggest(
        self: &Arc<Self>,
        ctx: AutocompleteContext,
    ) -> Result<Vec<CommandOptionChoice>, CommandError> {
        let vms = self.vms().await?;
        let typed = ctx.partial.trim().to_lowercase();
        Ok(vms
            .iter()
            .map(|vm| (vm, format!("{}/{}", vm.resource_group, vm.name)))
            .filter(|(_, value)| value.len() <= 100 && value.to_lowercase().contains(&typed))
            .filter(|(vm, _)| ctx.may_use_resource_group(&vm.resource_group))
            .take(25)
            .map(|(vm, value)| CommandOptionChoice {
                name: format!(
                    "{} · {} · {}",
                    vm.name,
                    vm.resource_group,
                    vm.power_state
                        .as_ref()
                        .map_or("unknown", PowerState::as_str)
                )
                .chars()
                .take(100)
                .collect(),
                name_localizations: None,
                value: CommandOptionChoiceValue::String(value),
            })
            .collect())
    }
}

/// An Azure failure as the caller sees it: Azure's code and message when it sent them,
/// a reference to the trace otherwise.
fn azure_error(error: AzureError) -> CommandError {
    error.into_command_error(str::to_owned)
}

/// A failed action, with the elapsed time.
fn failure(
    action: VmAction,
    target: &VmTarget,
    error: &AzureError,
    progress: &Progress,
) -> CommandError {
    let elapsed = progress.elapsed().as_secs();
    error
        .clone()
        .into_command_error(|reason| render::failed(action, target, reason, elapsed))
}
