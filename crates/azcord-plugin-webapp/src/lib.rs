//! `/webapp`: list, inspect, start, stop and restart Azure App Service web apps.
//!
//! The list, the actions and autocomplete are azcord-resource's flow; this crate says
//! what is the web apps' own: their names, calls and wording, and `/webapp status`.

mod render;

use std::sync::Arc;

use azcord_azure::{
    Azure, AzureError, NameError, PendingOperation, ResourceGroupName, WebAppAction, WebAppName,
    WebAppSummary,
};
use azcord_command::{
    AutocompleteContext, BoxFuture, Command, CommandError, CommandKind, Context, Plugin, Reply,
    Signature, twilight_model::application::command::CommandOptionChoice,
};
use azcord_resource::{
    ActionExample, ActionSpec, AzureSettings, Resource, ResourceFlow, ResourceNames, ResourceType,
    Store, Verbs, azure_error, name_option,
};

/// The `/webapp` plugin over `azure`, recording its confirmations and operations in `store`.
pub fn plugin(azure: &Azure, settings: AzureSettings, store: Store) -> Plugin {
    let flow = ResourceFlow::new(
        WebApps(Arc::clone(&azure.web_apps)),
        Arc::clone(&azure.operations),
        settings,
        store,
    );
    flow.with_actions(flow.plugin().command(Status(Arc::clone(&flow))))
}

/// App Service web apps as a resource type.
struct WebApps(Arc<dyn azcord_azure::WebApps>);

/// Every action shows the same example app.
const EXAMPLE: ActionExample = ActionExample {
    name: "prod-web/shop",
    about: "shop",
};

impl ResourceType for WebApps {
    type Name = WebAppName;
    type Summary = WebAppSummary;
    type Action = WebAppAction;

    fn names(&self) -> ResourceNames {
        ResourceNames {
            group: "webapp",
            group_description: "Operate Azure App Service web apps",
            noun: "web app",
            plural: "web apps",
            list_description: "List web apps with their state, host name and plan",
        }
    }

    fn parse_name(&self, input: &str) -> Result<WebAppName, NameError> {
        WebAppName::new(input)
    }

    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>> {
        self.0.list(resource_group)
    }

    // App Service answers 200 at once: `PendingOperation::Completed`, which the flow
    // finishes without polling.
    fn begin<'a>(
        &'a self,
        target: &'a Resource<WebAppName>,
        action: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.0.begin(&target.resource_group, &target.name, action)
    }

    fn actions(&self) -> Vec<ActionSpec<WebAppAction>> {
        vec![
            ActionSpec {
                action: WebAppAction::Start,
                verbs: Verbs {
                    command: "start",
                    doing: "Starting",
                    done: "is running",
                    button: "Start",
                },
                description: "Start a web app",
                kind: CommandKind::Write,
                consequence: "Starting it serves requests again; its plan is billed as before.",
                example: EXAMPLE,
            },
            ActionSpec {
                action: WebAppAction::Stop,
                verbs: Verbs {
                    command: "stop",
                    doing: "Stopping",
                    done: "is stopped (its plan is still billed)",
                    button: "Stop",
                },
                description: "Stop a web app (its App Service plan is still billed)",
                kind: CommandKind::Destructive,
                consequence: "A stopped app serves nothing, but **its App Service plan is still billed**.",
                example: EXAMPLE,
            },
            ActionSpec {
                action: WebAppAction::Restart,
                verbs: Verbs {
                    command: "restart",
                    doing: "Restarting",
                    done: "has restarted",
                    button: "Restart",
                },
                description: "Restart a web app",
                kind: CommandKind::Destructive,
                consequence: "Requests fail or wait while it restarts; billing does not change.",
                example: EXAMPLE,
            },
        ]
    }

    fn state(&self, app: &WebAppSummary) -> Option<String> {
        app.state.as_deref().map(str::to_lowercase)
    }

    fn render_list(&self, apps: &[WebAppSummary], resource_group: Option<&str>) -> Reply {
        render::list(apps, resource_group)
    }
}

/// `/webapp status name`.
struct Status(Arc<ResourceFlow<WebApps>>);

impl Command for Status {
    fn signature(&self) -> Signature {
        Signature::new(
            "webapp status",
            "Show one web app's state, host name and plan",
        )
        .options(vec![name_option("web app")])
        .guild_only()
        .example("/webapp status name:docs", "details of docs")
        .example(
            "/webapp status name:staging/shop-staging",
            "details of shop-staging in the staging resource group",
        )
    }

    fn run(&self, ctx: Context) -> BoxFuture<'_, Result<Reply, CommandError>> {
        Box::pin(async move {
            let target = self.0.authorized_target(&ctx).await?;
            let app = self
                .0
                .resource()
                .0
                .get(&target.resource_group, &target.name)
                .await
                .map_err(azure_error)?;
            Ok(render::status(&app))
        })
    }

    fn autocomplete(
        &self,
        ctx: AutocompleteContext,
    ) -> BoxFuture<'_, Result<Vec<CommandOptionChoice>, CommandError>> {
        Box::pin(async move { self.0.suggest(&ctx).await })
    }
}

#[cfg(test)]
mod tests;
