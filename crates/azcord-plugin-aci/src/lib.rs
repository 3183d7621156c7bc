//! `/aci`: list, inspect, start, stop and restart Azure container instances, and read
//! their containers' logs.
//!
//! The list, status, the actions and autocomplete are azcord-resource's flow; this
//! crate says what is the container groups' own: their names, calls and wording, how a
//! list and one group look, and `/aci logs`.

mod render;
mod resolve;

use std::sync::Arc;

use azcord_azure::{
    Azure, AzureError, ContainerGroupAction, ContainerGroupName, ContainerGroupSummary, NameError,
    PendingOperation, ResourceGroupName,
};
use azcord_command::{
    AutocompleteContext, BoxFuture, Command, CommandError, CommandKind, Context, Plugin, Reply,
    Signature,
    twilight_model::application::{
        command::CommandOptionChoice, interaction::application_command::CommandOptionValue,
    },
};
use azcord_resource::{
    ActionExample, ActionSpec, AuthorizeResourceGroup as _, AzureSettings, Resource, ResourceFlow,
    ResourceNames, ResourceType, StatusSpec, Store, Verbs, azure_error, choice,
};
use twilight_interactions::command::{CommandModel, CreateCommand};

/// How many log lines `/aci logs` shows when `tail:` is not given.
const DEFAULT_TAIL: i64 = 50;

/// The `/aci` plugin over `azure`, recording its confirmations and operations in `store`.
pub fn plugin(azure: &Azure, settings: AzureSettings, store: Store) -> Plugin {
    let flow = ResourceFlow::new(
        ContainerGroups(Arc::clone(&azure.container_groups)),
        Arc::clone(&azure.operations),
        settings,
        store,
    );
    flow.with_actions(flow.plugin()).command(Logs(flow))
}

/// Azure container instances (container groups) as a resource type.
struct ContainerGroups(Arc<dyn azcord_azure::ContainerGroups>);

impl ResourceType for ContainerGroups {
    type Name = ContainerGroupName;
    type Summary = ContainerGroupSummary;
    type Details = ContainerGroupSummary;
    type Action = ContainerGroupAction;

    fn names(&self) -> ResourceNames {
        ResourceNames {
            group: "aci",
            group_description: "Operate Azure container instances",
            noun: "container group",
            plural: "container groups",
            list_description: "List container groups with their state, containers, IP and location",
        }
    }

    fn parse_name(&self, input: &str) -> Result<ContainerGroupName, NameError> {
        ContainerGroupName::new(input)
    }

    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>> {
        self.0.list(resource_group)
    }

    fn get<'a>(
        &'a self,
        target: &'a Resource<ContainerGroupName>,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>> {
        self.0.get(&target.resource_group, &target.name)
    }

    /// ACI stops a group synchronously: `begin` answers `PendingOperation::Completed`.
    fn begin<'a>(
        &'a self,
        target: &'a Resource<ContainerGroupName>,
        action: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.0.begin(&target.resource_group, &target.name, action)
    }

    fn actions(&self) -> Vec<ActionSpec<ContainerGroupAction>> {
        vec![
            ActionSpec {
                action: ContainerGroupAction::Start,
                verbs: Verbs {
                    command: "start",
                    doing: "Starting",
                    done: "is running",
                    button: "Start",
                },
                description: "Start a container group",
                kind: CommandKind::Write,
                consequence: "Starting it bills its containers from now on.",
                example: ActionExample {
                    name: "staging/worker",
                    about: "staging/worker",
                },
            },
            ActionSpec {
                action: ContainerGroupAction::Stop,
                verbs: Verbs {
                    command: "stop",
                    doing: "Stopping",
                    done: "is stopped (no longer billed)",
                    button: "Stop",
                },
                description: "Stop a container group (billing stops; containers lose their state)",
                kind: CommandKind::Destructive,
                consequence: "Stopping **ends billing** for the group, but its containers are terminated: they lose their state and anything in ephemeral storage, and its public IP address may change when it is started again.",
                example: ActionExample {
                    name: "prod-web/frontend",
                    about: "prod-web/frontend",
                },
            },
            ActionSpec {
                action: ContainerGroupAction::Restart,
                verbs: Verbs {
                    command: "restart",
                    doing: "Restarting",
                    done: "has restarted",
                    button: "Restart",
                },
                description: "Restart every container of a group in place",
                kind: CommandKind::Destructive,
                consequence: "Every container restarts in place, so they are briefly interrupted; billing does not change.",
                example: ActionExample {
                    name: "dev-sandbox/jobs",
                    about: "dev-sandbox/jobs",
                },
            },
        ]
    }

    fn state(&self, group: &ContainerGroupSummary) -> Option<String> {
        group.state.as_deref().map(str::to_lowercase)
    }

    fn render_list(&self, groups: &[ContainerGroupSummary], resource_group: Option<&str>) -> Reply {
        render::list(groups, resource_group)
    }

    fn status(&self) -> StatusSpec {
        StatusSpec {
            description: "Show one container group's state and its containers",
            examples: &[
                ActionExample {
                    name: "frontend",
                    about: "the state of frontend and its containers",
                },
                ActionExample {
                    name: "staging/worker",
                    about: "worker in the staging resource group",
                },
            ],
        }
    }

    fn render_status(&self, group: &ContainerGroupSummary) -> Reply {
        render::status(group)
    }
}

type Flow = Arc<ResourceFlow<ContainerGroups>>;

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

/// `/aci logs name [container] [tail]`.
struct Logs(Flow);

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
            let target = self.0.parse(&options.name)?;
            let container = options
                .container
                .as_deref()
                .map(resolve::parse_container)
                .transpose()?;
            // Discord enforces 1..=1000 (declared on the option); parsing checks it again.
            let tail = u32::try_from(options.tail.unwrap_or(DEFAULT_TAIL))
                .map_err(|_| CommandError::user("`tail` must be between 1 and 1000"))?;
            let target = self.0.locate(target).await?;
            ctx.authorize_in(&target.resource_group)?;
            let groups = &self.0.resource().0;
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
                suggest_containers(&self.0, &ctx).await
            } else {
                self.0.suggest(&ctx).await
            }
        })
    }
}

/// Suggestions for the `container` option: the containers of the group named in the
/// `name` option, from the cached list; none until that names one group.
async fn suggest_containers(
    flow: &ResourceFlow<ContainerGroups>,
    ctx: &AutocompleteContext,
) -> Result<Vec<CommandOptionChoice>, CommandError> {
    let name = ctx.options.iter().find_map(|option| match &option.value {
        CommandOptionValue::String(value) if option.name == "name" => Some(value.as_str()),
        _ => None,
    });
    let Some(Ok(target)) = name.map(|name| flow.parse(name)) else {
        return Ok(Vec::new());
    };
    let groups = flow.summaries().await?;
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

#[cfg(test)]
mod tests;
