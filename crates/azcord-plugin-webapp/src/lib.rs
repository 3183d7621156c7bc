//! `/webapp`: list, inspect, start, stop and restart Azure App Service web apps.
//!
//! The list, status, the actions and autocomplete are azcord-resource's flow; this
//! crate says what is the web apps' own: their names, calls and wording, and how a list
//! and one app look.

mod render;

use std::sync::Arc;

use azcord_azure::{
    Azure, AzureError, NameError, PendingOperation, ResourceGroupName, WebAppAction, WebAppName,
    WebAppSummary,
};
use azcord_command::{BoxFuture, CommandKind, Plugin, Reply};
use azcord_resource::{
    ActionExample, ActionSpec, AzureSettings, Resource, ResourceFlow, ResourceNames, ResourceType,
    StatusSpec, Store, Verbs,
};

/// The `/webapp` plugin over `azure`, recording its confirmations and operations in `store`.
pub fn plugin(azure: &Azure, settings: AzureSettings, store: Store) -> Plugin {
    let apps = WebApps(Arc::clone(&azure.web_apps));
    ResourceFlow::generic_plugin(apps, Arc::clone(&azure.operations), settings, store)
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
    type Details = WebAppSummary;
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

    fn get<'a>(
        &'a self,
        target: &'a Resource<WebAppName>,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        self.0.get(&target.resource_group, &target.name)
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

    fn status(&self) -> StatusSpec {
        StatusSpec {
            description: "Show one web app's state, host name and plan",
            examples: &[
                ActionExample {
                    name: "docs",
                    about: "details of docs",
                },
                ActionExample {
                    name: "staging/shop-staging",
                    about: "details of shop-staging in the staging resource group",
                },
            ],
        }
    }

    fn render_status(&self, app: &WebAppSummary) -> Reply {
        render::status(app)
    }
}

#[cfg(test)]
mod tests;
