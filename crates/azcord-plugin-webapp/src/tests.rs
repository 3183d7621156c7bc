use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use azcord_azure::{
    Azure, AzureError, AzureErrorKind, OperationStatus, Operations, PendingOperation, PollKind,
    ResourceGroupName, WaitOptions, WebAppAction, WebAppName, WebAppSummary, WebApps,
};
use azcord_command::{
    BoxFuture, Button, Caller, Catalog, CommandError, CommandPattern, ComponentContext, Context,
    InteractionTarget, Outcome, Policy, Progress, Registry, Reply, Rule,
    testing::run_examples,
    twilight_model::{
        application::interaction::application_command::{CommandDataOption, CommandOptionValue},
        id::Id,
    },
};
use azcord_resource::AzureSettings;
use azcord_sim::terminal::parse_command_line;

use crate::{plugin, render};

/// A subscription in memory that records what it is asked. Its actions answer as App
/// Service does, done at once, unless `polled` makes them long-running operations that
/// end on the first poll.
struct Fake {
    apps: Vec<WebAppSummary>,
    polled: bool,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn new(polled: bool) -> Self {
        Self {
            apps: sample(),
            polled,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn find(
        &self,
        group: &ResourceGroupName,
        name: &WebAppName,
    ) -> Result<WebAppSummary, AzureError> {
        self.apps
            .iter()
            .find(|app| app.resource_group == group.as_str() && app.name == name.as_str())
            .cloned()
            .ok_or_else(|| AzureError {
                status: Some(404),
                code: Some("ResourceNotFound".into()),
                ..AzureError::new(
                    AzureErrorKind::NotFound,
                    format!(
                        "The Resource 'Microsoft.Web/sites/{name}' under resource group '{group}' was not found."
                    ),
                )
            })
    }
}

fn app(group: &str, name: &str, state: &str, plan: &str) -> WebAppSummary {
    WebAppSummary {
        name: name.into(),
        resource_group: group.into(),
        location: "West Europe".into(),
        state: Some(state.into()),
        default_host_name: Some(format!("{name}.azurewebsites.net")),
        plan: Some(plan.into()),
    }
}

fn sample() -> Vec<WebAppSummary> {
    vec![
        app("prod-web", "shop", "Running", "prod-plan"),
        app("staging", "shop-staging", "Stopped", "staging-plan"),
        app("dev-sandbox", "docs", "Running", "dev-plan"),
    ]
}

impl WebApps for Fake {
    fn list<'a>(
        &'a self,
        group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<WebAppSummary>, AzureError>> {
        self.record(format!(
            "list {}",
            group.map_or("*", ResourceGroupName::as_str)
        ));
        let apps = self
            .apps
            .iter()
            .filter(|app| group.is_none_or(|group| group.as_str() == app.resource_group))
            .cloned()
            .collect();
        Box::pin(async move { Ok(apps) })
    }

    fn get<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a WebAppName,
    ) -> BoxFuture<'a, Result<WebAppSummary, AzureError>> {
        self.record(format!("get {group}/{name}"));
        Box::pin(async move { self.find(group, name) })
    }

    fn begin<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a WebAppName,
        action: WebAppAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.record(format!("begin {group}/{name} {action:?}"));
        Box::pin(async move {
            self.find(group, name)?;
            let correlation_id = Some("corr".to_owned());
            Ok(if self.polled {
                PendingOperation::Running {
                    url: "http://arm/operations/1".into(),
                    kind: PollKind::AsyncOperation,
                    retry_after: Some(Duration::from_millis(1)),
                    correlation_id,
                }
            } else {
                PendingOperation::Completed { correlation_id }
            })
        })
    }
}

impl Operations for Fake {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        self.record("poll".into());
        Box::pin(async { Ok(OperationStatus::Succeeded) })
    }
}

fn azure(fake: &Arc<Fake>) -> Azure {
    Azure {
        web_apps: fake.clone(),
        operations: fake.clone(),
        ..Azure::refusing(AzureError::new(AzureErrorKind::NotFound, "none"))
    }
}

fn settings() -> AzureSettings {
    AzureSettings {
        wait: WaitOptions {
            default_interval: Duration::from_millis(1),
            ..WaitOptions::default()
        },
        ..AzureSettings::default()
    }
}

const OPS_ROLE: u64 = 10;

/// Grants every `/webapp` command to the ops role, in `resource_groups` (all if empty).
fn policy(resource_groups: &[&str]) -> Policy {
    Policy {
        guilds: Vec::new(),
        rules: vec![Rule {
            name: "ops".into(),
            commands: vec![CommandPattern::new("webapp *")],
            roles: vec![Id::new(OPS_ROLE)],
            users: Vec::new(),
            channels: Vec::new(),
            resource_groups: resource_groups
                .iter()
                .map(|group| (*group).to_owned())
                .collect(),
        }],
    }
}

#[tokio::test]
async fn every_example_runs() {
    let fake = Arc::new(Fake::new(false));
    let registry = Registry::new([plugin(
        &azure(&fake),
        settings(),
        azcord_resource::Store::in_memory(),
    )])
    .unwrap();
    let runs = run_examples(registry, policy(&[]), &[OPS_ROLE], |line, definitions| {
        parse_command_line(line, definitions).map_err(|error| error.to_string())
    })
    .await;
    let summary: Vec<String> = runs
        .iter()
        .map(|run| {
            let first_line = run
                .content
                .as_deref()
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default();
            format!("{:?} {}: {first_line}", run.outcome, run.line)
        })
        .collect();
    assert!(
        runs.iter().all(|run| run.outcome == Outcome::Success),
        "{summary:#?}"
    );
    expect_test::expect![[r#"
        [
            "Success /webapp list: 3 web apps in the subscription · 2 running```",
            "Success /webapp list resource_group:prod-web: 1 web app in `prod-web` · 1 running```",
            "Success /webapp status name:docs: docs",
            "Success /webapp status name:staging/shop-staging: shop-stagingStopped: it serves nothing, but its App Service plan is still billed. `/webapp start` starts it again.",
            "Success /webapp start name:prod-web/shop: ✅ **shop** in `prod-web` is running · took 0 s",
            "Success /webapp stop name:prod-web/shop: ⚠\u{fe0f} Stop **shop** in `prod-web`? A stopped app serves nothing, but **its App Service plan is still billed**.",
            "Success /webapp restart name:prod-web/shop: ⚠\u{fe0f} Restart **shop** in `prod-web`? Requests fail or wait while it restarts; billing does not change.",
        ]
    "#]].assert_debug_eq(&summary);
}

#[test]
fn the_list_and_the_status() {
    let mut shown = show(&render::list(&sample(), None));
    shown.push_str(&show(&render::list(&sample()[..1], Some("prod-web"))));
    shown.push_str(&show(&render::status(&sample()[1])));
    let unknown = WebAppSummary {
        state: None,
        default_host_name: None,
        plan: None,
        ..sample()[0].clone()
    };
    shown.push_str(&show(&render::status(&unknown)));
    expect_test::expect![[r#"
        # 3 web apps in the subscription · 2 running
        ```
        NAME          RESOURCE GROUP  STATE       HOST NAME                       PLAN
        docs          dev-sandbox     🟢 running  docs.azurewebsites.net          dev-plan
        shop          prod-web        🟢 running  shop.azurewebsites.net          prod-plan
        shop-staging  staging         🟡 stopped  shop-staging.azurewebsites.net  staging-plan
        ```
        # 1 web app in `prod-web` · 1 running
        ```
        NAME  RESOURCE GROUP  STATE       HOST NAME               PLAN
        shop  prod-web        🟢 running  shop.azurewebsites.net  prod-plan
        ```
        # shop-staging
        Stopped: it serves nothing, but its App Service plan is still billed. `/webapp start` starts it again.
        State: 🟡 stopped
        Host name: https://shop-staging.azurewebsites.net
        Plan: staging-plan
        Location: West Europe
        Resource group: staging
        # shop

        State: ? unknown
        Host name: ?
        Plan: ?
        Location: West Europe
        Resource group: prod-web
    "#]].assert_eq(&shown);
    assert_eq!(
        render::list(&[], Some("empty")).content.as_deref(),
        Some("There are no web apps in `empty`.")
    );
}

/// Granted resource groups (all if empty), command, options.
type Case<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str)]);

/// Commands run straight against the plugin, with what they asked Azure.
#[tokio::test]
async fn answers_and_the_calls_behind_them() {
    let table: &[Case<'_>] = &[
        (&[], "webapp list", &[]),
        (&[], "webapp status", &[("name", "shop")]),
        (&[], "webapp status", &[("name", "shop_1")]),
        (&[], "webapp status", &[("name", "staging/ghost")]),
        (&[], "webapp start", &[("name", "shop-staging")]),
        (&[], "webapp start", &[("name", "staging/ghost")]),
        (&["prod-*"], "webapp start", &[("name", "shop-staging")]),
        (&[], "webapp stop", &[("name", "prod-web/shop")]),
        (&[], "webapp restart", &[("name", "docs")]),
    ];
    let mut transcript = String::new();
    for (resource_groups, command, options) in table {
        let harness = Harness::new(policy(resource_groups), false);
        let shown: Vec<String> = options
            .iter()
            .map(|(name, value)| format!(" {name}:{value}"))
            .collect();
        let answer = harness.run(command, options).await;
        let _ = writeln!(
            transcript,
            "/{command}{}\n  {}",
            shown.concat(),
            first_line(&answer)
        );
        let _ = writeln!(transcript, "  azure: {:?}", harness.fake.calls());
    }
    expect_test::expect![[r#"
        /webapp list
          # 3 web apps in the subscription · 2 running
          azure: ["list *"]
        /webapp status name:shop
          # shop
          azure: ["list *", "get prod-web/shop"]
        /webapp status name:shop_1
          user: `shop_1` is not a valid web app name: use only letters, digits and `-`
          azure: []
        /webapp status name:staging/ghost
          user: Azure answered `ResourceNotFound`: The Resource 'Microsoft.Web/sites/ghost' under resource group 'staging' was not found.
          azure: ["get staging/ghost"]
        /webapp start name:shop-staging
          ✅ **shop-staging** in `staging` is running · took 0 s
          azure: ["list *", "begin staging/shop-staging Start"]
        /webapp start name:staging/ghost
          user: Could not start **ghost** in `staging` · Azure answered `ResourceNotFound`: The Resource 'Microsoft.Web/sites/ghost' under resource group 'staging' was not found. · after 0 s
          azure: ["begin staging/ghost Start"]
        /webapp start name:shop-staging
          denied: you may not run `/webapp start` on resource group `staging`, and no rule grants it to you here; it is granted by: - rule `ops`: for <@&10> on resource groups prod-*
          azure: ["list *"]
        /webapp stop name:prod-web/shop
          ⚠️ Stop **shop** in `prod-web`? A stopped app serves nothing, but **its App Service plan is still billed**.
          azure: []
        /webapp restart name:docs
          ⚠️ Restart **docs** in `dev-sandbox`? Requests fail or wait while it restarts; billing does not change.
          azure: ["list *"]
    "#]].assert_eq(&transcript);
}

/// App Service acts synchronously: the flow shows the done message without a poll.
/// The same flow follows an action that must be polled until it ends.
#[tokio::test]
async fn synchronous_and_polled_actions_both_finish() {
    let mut transcript = String::new();
    for polled in [false, true] {
        let harness = Harness::new(policy(&[]), polled);
        let started = harness
            .run("webapp start", &[("name", "staging/shop-staging")])
            .await;
        let prompt = harness
            .run("webapp stop", &[("name", "prod-web/shop")])
            .await
            .unwrap();
        let labels: Vec<&str> = prompt
            .buttons
            .iter()
            .map(|button| button.label.as_str())
            .collect();
        let before_click = harness.fake.calls();
        let stranger = harness.click("webapp stop", &prompt, 0, 99).await;
        let stopped = harness.click("webapp stop", &prompt, 0, 7).await;
        let _ = writeln!(
            transcript,
            "polled: {polled}\n  {}\n  {}\n  {labels:?} {before_click:?}\n  {}\n  {}\n  azure: {:?}",
            first_line(&started),
            first_line(&Ok(prompt.clone())),
            first_line(&stranger),
            first_line(&stopped),
            harness.fake.calls()
        );
    }
    expect_test::expect![[r#"
        polled: false
          ✅ **shop-staging** in `staging` is running · took 0 s
          ⚠️ Stop **shop** in `prod-web`? A stopped app serves nothing, but **its App Service plan is still billed**.
          ["Stop", "Cancel"] ["begin staging/shop-staging Start"]
          user: only <@7>, who ran the command, can answer this
          ✅ **shop** in `prod-web` is stopped (its plan is still billed) · took 0 s
          azure: ["begin prod-web/shop Stop"]
        polled: true
          ✅ **shop-staging** in `staging` is running · took 0 s
          ⚠️ Stop **shop** in `prod-web`? A stopped app serves nothing, but **its App Service plan is still billed**.
          ["Stop", "Cancel"] ["begin staging/shop-staging Start", "poll"]
          user: only <@7>, who ran the command, can answer this
          ✅ **shop** in `prod-web` is stopped (its plan is still billed) · took 0 s
          azure: ["begin prod-web/shop Stop", "poll"]
    "#]].assert_eq(&transcript);
}

/// The plugin behind a catalog, run the way the dispatcher runs it, by user 7 with the
/// ops role in guild 5.
struct Harness {
    fake: Arc<Fake>,
    catalog: Catalog,
}

impl Harness {
    fn new(policy: Policy, polled: bool) -> Self {
        let fake = Arc::new(Fake::new(polled));
        let registry = Registry::new([plugin(
            &azure(&fake),
            settings(),
            azcord_resource::Store::in_memory(),
        )])
        .unwrap();
        Self {
            fake,
            catalog: Catalog::new(registry, policy),
        }
    }

    async fn run(&self, command: &str, options: &[(&str, &str)]) -> Result<Reply, CommandError> {
        let (signature, handler) = self.catalog.registry().get(command).unwrap();
        let ctx = Context {
            interaction_id: Id::new(1),
            target: InteractionTarget::detached(Id::new(1)),
            caller: caller(7),
            options: options
                .iter()
                .map(|(name, value)| CommandDataOption {
                    name: (*name).into(),
                    value: CommandOptionValue::String((*value).into()),
                })
                .collect(),
            resolved: None,
            progress: Progress::detached(),
            catalog: self.catalog.clone(),
            signature: Arc::clone(signature),
        };
        handler.run(ctx).await
    }

    async fn click(
        &self,
        command: &str,
        prompt: &Reply,
        button: usize,
        user: u64,
    ) -> Result<Reply, CommandError> {
        let (signature, handler) = self.catalog.registry().get(command).unwrap();
        let (_, payload) = Button::parse_custom_id(&prompt.buttons[button].custom_id).unwrap();
        let ctx = ComponentContext {
            interaction_id: Id::new(2),
            target: InteractionTarget::detached(Id::new(2)),
            caller: caller(user),
            message_id: None,
            payload: payload.to_owned(),
            progress: Progress::detached(),
            catalog: self.catalog.clone(),
            signature: Arc::clone(signature),
        };
        handler.component(ctx).await
    }
}

fn caller(user: u64) -> Caller {
    Caller {
        user_id: Id::new(user),
        role_ids: vec![Id::new(OPS_ROLE)],
        guild_id: Some(Id::new(5)),
        channel_id: Some(Id::new(6)),
    }
}

/// The first line of a reply, or the kind and message of an error.
fn first_line(answer: &Result<Reply, CommandError>) -> String {
    match answer {
        Ok(reply) => show(reply).lines().next().unwrap_or_default().to_owned(),
        Err(CommandError::User(error)) => format!("user: {}", error.message()),
        Err(CommandError::Denied(error)) => {
            format!("denied: {}", error.message().replace('\n', " "))
        }
        Err(other) => format!("internal: {other}"),
    }
}

/// A reply as text: content, then each embed's title, description and fields.
fn show(reply: &Reply) -> String {
    let mut text = reply.content.clone().unwrap_or_default();
    for embed in &reply.embeds {
        let _ = writeln!(text, "# {}", embed.title.as_deref().unwrap_or_default());
        let _ = writeln!(text, "{}", embed.description.as_deref().unwrap_or_default());
        for field in &embed.fields {
            let _ = writeln!(text, "{}: {}", field.name, field.value);
        }
    }
    text
}
