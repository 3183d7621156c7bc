//! The `/aci` commands.

use azcord_resource::IntoCommandError;
use std::sync::Arc;

use azcord_azure::{
    AzureError, ContainerGroupAction, ContainerGroupName, ContainerGroupSummary, ResourceGroupName,
    Target, wait_for,
};
use azcord_command::{
    Answer, AutocompleteContext, BoxFuture, Command, CommandError, CommandKind, ComponentContext,
    Context, Progress, Reply, Signature,
    twilight_model::application::{
        command::{CommandOptionChoice, CommandOptionChoiceValue},
        interaction::application_command::CommandOptionValue,
    },
};
use twilight_interactions::command::{CommandModel, CreateCommand};

use crate::{
    Shared, render,
    resolve::{self, GroupTarget},
};

/// How many log lines `/aci logs` shows when `tail:` is not given.
const DEFAULT_TAIL: i64 = 50;

#[derive(CommandModel, CreateCommand)]
#[command(
    name = "list",
    desc = "List container groups with their state, containers, IP and location"
)]
struct ListOptions {
    /// Only container groups in this resource group
    resource_group: Option<String>,
}

#[derive(CommandModel, CreateCommand)]
#[command(name = "aci", desc = "One container group")]
struct NameOptions {
    /// The container group: `name`, or `resource_group/name` when the name is in several groups
    #[command(autocomplete = true)]
    name: String,
}

#[derive(CommandModel, CreateCommand)]
#[command(name = "logs", desc = "Show the end of a container's log")]
struct LogsOptions {
    /// The container group: `name`, or `resource_group/name` when the name is in several groups
    #[command(autocomplete = true)]
    name: String,
    /// The container; needed only when the group has several
    #[command(autocomplete = true)]
    container: Option<String>,
    /// How many lines from the end of the log (default 50)
    #[command(min_value = 1, max_value = 1000)]
    tail: Option<i64>,
}

/// `/aci list [resource_group]`.
pub(crate) struct List(pub(crate) Arc<Shared>);

impl Command for List {
    fn signature(&self) -> Signature {
        Signature::new(
            "aci list",
            "List container groups with their state, containers, IP and location",
        )
        .options(ListOptions::create_command().options)
        .guild_only()
        .example("/aci list", "every container group in the subscription")
        .example(
            "/aci list resource_group:prod-web",
            "the container groups of one resource group",
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
            let groups = self
                .0
                .azure
                .container_groups
                .list(group.as_ref())
                .await
                .map_err(azure_error)?;
            Ok(render::list(
                &groups,
                group.as_ref().map(ResourceGroupName::as_str),
            ))
        })
    }
}

/// `/aci status name`.
pub(crate) struct Status(pub(crate) Arc<Shared>);

impl Command for Status {
    fn signature(&self) -> Signature {
        Signature::new(
            "aci status",
            "Show one container group's state and its containers",
        )
        .options(NameOptions::create_command().options)
        .guild_only()
        .example(
            "/aci status name:frontend",
            "the state of frontend and its containers",
        )
        .example(
            "/aci status name:staging/worker",
            "worker in the staging resource group",
        )
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: NameOptions = ctx.options()?;
            let target = self.0.resolve(&options.name).await?;
            ctx.authorize_resource_group(target.resource_group.as_str())?;
            let group = self
                .0
                .azure
                .container_groups
                .get(&target.resource_group, &target.name)
                .await
                .map_err(azure_error)?;
            Ok(render::status(&group))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(self.0.suggest_groups(ctx))
    }
}

/// `/aci start|stop|restart name`: starts at once; the others ask first.
pub(crate) struct Act {
    action: ContainerGroupAction,
    shared: Arc<Shared>,
}

impl Act {
    pub(crate) fn new(action: ContainerGroupAction, shared: Arc<Shared>) -> Self {
        Self { action, shared }
    }

    /// Runs the action and follows it to the end, editing the reply as it goes.
    async fn execute(
        &self,
        target: GroupTarget,
        progress: &Progress,
    ) -> Result<Reply, CommandError> {
        let action = self.action;
        progress.update(render::progress(action, &target, None));
        let operation = self
            .shared
            .azure
            .container_groups
            .begin(&target.resource_group, &target.name, action)
            .await
            .map_err(|error| failure(action, &target, &error, progress))?;
        if let Some(id) = operation.correlation_id() {
            progress.note_operation_id(id);
        }
        // ACI stops a group synchronously: `begin` answers `PendingOperation::Completed`,
        // for which `wait_for` returns at once without polling.
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
        let (description, kind, example) = match self.action {
            ContainerGroupAction::Start => (
                "Start a container group",
                CommandKind::Write,
                "staging/worker",
            ),
            ContainerGroupAction::Stop => (
                "Stop a container group (billing stops; containers lose their state)",
                CommandKind::Destructive,
                "prod-web/frontend",
            ),
            ContainerGroupAction::Restart => (
                "Restart every container of a group in place",
                CommandKind::Destructive,
                "dev-sandbox/jobs",
            ),
        };
        let signature = Signature::new(format!("aci {}", verbs.command), description)
            .options(NameOptions::create_command().options)
            .kind(kind)
            .guild_only()
            .example(
                format!("/aci {} name:{example}", verbs.command),
                format!("{} {example}", verbs.doing.to_lowercase()),
            );
        if self.action == ContainerGroupAction::Start {
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
            if self.action == ContainerGroupAction::Start {
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
        Box::pin(self.shared.suggest_groups(ctx))
    }
}

/// `/aci logs name [container] [tail]`.
pub(crate) struct Logs(pub(crate) Arc<Shared>);

impl Command for Logs {
    fn signature(&self) -> Signature {
        Signature::new("aci logs", "Show the end of a container's log")
            .options(LogsOptions::create_command().options)
            .guild_only()
            .example(
                "/aci logs name:jobs",
                "the last 50 lines of the only container of jobs",
            )
            .example(
                "/aci logs name:prod-web/frontend container:nginx tail:20",
                "the last 20 lines of nginx",
            )
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let options: LogsOptions = ctx.options()?;
            let target = resolve::parse(&options.name)?;
            let container = options
                .container
                .as_deref()
                .map(resolve::parse_container)
                .transpose()?;
            // Discord enforces 1..=1000 (declared on the option); parsing checks it again.
            let tail = u32::try_from(options.tail.unwrap_or(DEFAULT_TAIL))
                .map_err(|_| CommandError::user("`tail` must be between 1 and 1000"))?;
            let target = self.0.locate(target).await?;
            ctx.authorize_resource_group(target.resource_group.as_str())?;
            let groups = &self.0.azure.container_groups;
            let group = groups
                .get(&target.resource_group, &target.name)
                .await
                .map_err(azure_error)?;
            let container = resolve::container(&group, container.as_ref())?;
            let log = groups
                .logs(&target.resource_group, &target.name, &container, Some(tail))
                .await
                .map_err(azure_error)?;
            Ok(render::logs(&target, &container, tail, &log))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move {
            if ctx.focused == "container" {
                self.0.suggest_containers(ctx).await
            } else {
                self.0.suggest_groups(ctx).await
            }
        })
    }
}

impl Shared {
    /// The container group list, from the cache when it is fresh.
    async fn groups(&self) -> Result<Arc<Vec<ContainerGroupSummary>>, CommandError> {
        self.cache
            .get(|| self.azure.container_groups.list(None))
            .await
            .map_err(azure_error)
    }

    /// The one container group the `name` option means.
    async fn resolve(&self, input: &str) -> Result<GroupTarget, CommandError> {
        self.locate(resolve::parse(input)?).await
    }

    /// The one container group a parsed `name` option means.
    async fn locate(
        &self,
        target: Target<ContainerGroupName>,
    ) -> Result<GroupTarget, CommandError> {
        match target.resource_group {
            Some(resource_group) => Ok(GroupTarget {
                resource_group,
                name: target.name,
            }),
            None => resolve::unique(&target.name, &self.groups().await?),
        }
    }

    /// Suggestions for the `name` option, from the cached list: groups whose
    /// `resource_group/name` contains what was typed, in resource groups the caller may act on.
    async fn suggest_groups(
        &self,
        ctx: AutocompleteContext,
    ) -> Result<Vec<CommandOptionChoice>, CommandError> {
        let groups = self.groups().await?;
        let typed = ctx.partial.trim().to_lowercase();
        Ok(groups
            .iter()
            .map(|group| (group, format!("{}/{}", group.resource_group, group.name)))
            .filter(|(_, value)| value.len() <= 100 && value.to_lowercase().contains(&typed))
            .filter(|(group, _)| ctx.may_use_resource_group(&group.resource_group))
            .take(25)
            .map(|(group, value)| {
                let label = format!(
                    "{} · {} · {}",
                    group.name,
                    group.resource_group,
                    group.state.as_deref().unwrap_or("unknown").to_lowercase()
                );
                choice(&label, value)
            })
            .collect())
    }

    /// Suggestions for the `container` option: the containers of the group named in
    /// the `name` option, from the cached list; none until that names one group.
    async fn suggest_containers(
        &self,
        ctx: AutocompleteContext,
    ) -> Result<Vec<CommandOptionChoice>, CommandError> {
        let name = ctx.options.iter().find_map(|option| match &option.value {
            CommandOptionValue::String(value) if option.name == "name" => Some(value.as_str()),
            _ => None,
        });
        let Some(Ok(target)) = name.map(resolve::parse) else {
            return Ok(Vec::new());
        };
        let groups = self.groups().await?;
        let mut matching = groups.iter().filter(|group| {
            group.name == target.name.as_str()
                && target
                    .resource_group
                    .as_ref()
                    .is_none_or(|resource_group| group.resource_group == resource_group.as_str())
        });
        let (Some(group), None) = (matching.next(), matching.next()) else {
            return Ok(Vec::new());
        };
        if !ctx.may_use_resource_group(&group.resource_group) {
            return Ok(Vec::new());
        }
        let typed = ctx.partial.trim().to_lowercase();
        Ok(group
            .containers
            .iter()
            .filter(|container| container.name.contains(&typed))
            .take(25)
            .map(|container| {
                let label = format!(
                    "{} · {} · {}",
                    container.name,
                    container.image,
                    container
                        .state
                        .as_deref()
                        .unwrap_or("unknown")
                        .to_lowercase()
                );
                choice(&label, container.name.clone())
            })
            .collect())
    }
}

/// An autocomplete choice, with the label cut to Discord's 100 characters.
fn choice(label: &str, value: String) -> CommandOptionChoice {
    CommandOptionChoice {
        name: label.chars().take(100).collect(),
        name_localizations: None,
        value: CommandOptionChoiceValue::String(value),
    }
}

/// An Azure failure as the caller sees it: Azure's code and message when it sent them,
/// a reference to the trace otherwise.
fn azure_error(error: AzureError) -> CommandError {
    error.into_command_error(str::to_owned)
}

/// A failed action, with the elapsed time.
fn failure(
    action: ContainerGroupAction,
    target: &GroupTarget,
    error: &AzureError,
    progress: &Progress,
) -> CommandError {
    let elapsed = progress.elapsed().as_secs();
    error
        .clone()
        .into_command_error(|reason| render::failed(action, target, reason, elapsed))
}
