use std::{
    fmt::Write as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use azcord_azure::{
    Azure, AzureError, AzureErrorKind, ContainerGroupAction, ContainerGroupName,
    ContainerGroupSummary, ContainerGroups, ContainerName, ContainerSummary, OperationStatus,
    Operations, PendingOperation, PollKind, ResourceGroupName, WaitOptions,
};
use azcord_command::{
    AutocompleteContext, BoxFuture, Button, Caller, Catalog, CommandError, CommandPattern,
    ComponentContext, Context, InteractionTarget, Outcome, Policy, Progress, Registry, Reply, Rule,
    testing::run_examples,
    twilight_model::{
        application::{
            command::{CommandOptionChoiceValue, CommandOptionType},
            interaction::application_command::{CommandDataOption, CommandOptionValue},
        },
        id::Id,
    },
};
use azcord_sim::terminal::parse_command_line;

use azcord_resource::{AzureSettings, Resource};

use crate::{plugin, render};

/// A subscription in memory that records what it is asked. Start and restart are
/// long-running and end on the first poll; stop answers at once, as ACI's does.
struct Fake {
    groups: Vec<ContainerGroupSummary>,
    /// What polls answer.
    poll_status: OperationStatus,
    calls: Mutex<Vec<String>>,
}

impl Fake {
    fn new(poll_status: OperationStatus) -> Self {
        Self {
            groups: sample(),
            poll_status,
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
        name: &ContainerGroupName,
    ) -> Result<ContainerGroupSummary, AzureError> {
        self.groups
            .iter()
            .find(|found| found.resource_group == group.as_str() && found.name == name.as_str())
            .cloned()
            .ok_or_else(|| AzureError {
                status: Some(404),
                code: Some("ResourceNotFound".into()),
                ..AzureError::new(
                    AzureErrorKind::NotFound,
                    format!(
                        "The Resource 'Microsoft.ContainerInstance/containerGroups/{name}' under resource group '{group}' was not found."
                    ),
                )
            })
    }
}

fn container(name: &str, image: &str, state: &str, restarts: i32) -> ContainerSummary {
    ContainerSummary {
        name: name.into(),
        image: image.into(),
        state: Some(state.into()),
        restart_count: Some(restarts),
    }
}

fn sample() -> Vec<ContainerGroupSummary> {
    vec![
        ContainerGroupSummary {
            name: "frontend".into(),
            resource_group: "prod-web".into(),
            location: "westeurope".into(),
            state: Some("Running".into()),
            os_type: Some("Linux".into()),
            ip_address: Some("20.61.14.7".into()),
            containers: vec![
                container("nginx", "nginx:1.27", "Running", 0),
                container("sidecar", "fluent/fluent-bit:3.1", "Running", 2),
            ],
        },
        ContainerGroupSummary {
            name: "worker".into(),
            resource_group: "staging".into(),
            location: "northeurope".into(),
            state: Some("Stopped".into()),
            os_type: Some("Linux".into()),
            ip_address: None,
            containers: vec![container(
                "worker",
                "contoso.azurecr.io/worker:2.4",
                "Terminated",
                0,
            )],
        },
        ContainerGroupSummary {
            name: "jobs".into(),
            resource_group: "dev-sandbox".into(),
            location: "westeurope".into(),
            state: Some("Running".into()),
            os_type: Some("Linux".into()),
            ip_address: Some("10.0.4.5".into()),
            containers: vec![container("runner", "python:3.12-slim", "Running", 1)],
        },
    ]
}

/// Each container's whole log.
fn log_of(container: &str) -> &'static str {
    match container {
        "nginx" => concat!(
            "/docker-entrypoint.sh: Configuration complete; ready for start up\n",
            "10.0.0.4 - - [01/Jun/2025:09:12:01 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"curl/8.5.0\"\n",
            "10.0.0.4 - - [01/Jun/2025:09:12:07 +0000] \"GET /health HTTP/1.1\" 200 2 \"-\" \"kube-probe\"\n",
        ),
        "runner" => concat!(
            "\u{1b}[32mINFO\u{1b}[0m job 41 done in 3.2 s\n",
            "\u{1b}[31mERROR\u{1b}[0m job 42 failed: unexpected ```end``` of template\n",
            "INFO retrying job 42\n",
        ),
        _ => "",
    }
}

impl ContainerGroups for Fake {
    fn list<'a>(
        &'a self,
        group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<ContainerGroupSummary>, AzureError>> {
        self.record(format!(
            "list {}",
            group.map_or("*", ResourceGroupName::as_str)
        ));
        let groups = self
            .groups
            .iter()
            .filter(|found| group.is_none_or(|group| group.as_str() == found.resource_group))
            .cloned()
            .collect();
        Box::pin(async move { Ok(groups) })
    }

    fn get<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
    ) -> BoxFuture<'a, Result<ContainerGroupSummary, AzureError>> {
        self.record(format!("get {group}/{name}"));
        Box::pin(async move { self.find(group, name) })
    }

    fn begin<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        action: ContainerGroupAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.record(format!("begin {group}/{name} {action:?}"));
        Box::pin(async move {
            self.find(group, name)?;
            Ok(match action {
                ContainerGroupAction::Stop => PendingOperation::Completed {
                    correlation_id: Some("corr".into()),
                },
                ContainerGroupAction::Start | ContainerGroupAction::Restart => {
                    PendingOperation::Running {
                        url: "http://arm/operations/1".into(),
                        kind: PollKind::AsyncOperation,
                        retry_after: Some(Duration::from_millis(1)),
                        correlation_id: Some("corr".into()),
                    }
                }
            })
        })
    }

    fn logs<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a ContainerGroupName,
        container: &'a ContainerName,
        tail: Option<u32>,
    ) -> BoxFuture<'a, Result<String, AzureError>> {
        self.record(format!("logs {group}/{name} {container} {tail:?}"));
        let lines: Vec<&str> = log_of(container.as_str()).lines().collect();
        let skip = tail.map_or(0, |tail| lines.len().saturating_sub(tail as usize));
        let log: String = lines[skip..]
            .iter()
            .map(|line| format!("{line}\n"))
            .collect();
        Box::pin(async move { Ok(log) })
    }
}

impl Operations for Fake {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        self.record("poll".into());
        let status = self.poll_status.clone();
        Box::pin(async move { Ok(status) })
    }
}

fn azure(fake: &Arc<Fake>) -> Azure {
    Azure {
        container_groups: fake.clone(),
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

/// Grants every `/aci` command to the ops role, in `resource_groups` (all if empty).
fn policy(resource_groups: &[&str]) -> Policy {
    Policy {
        guilds: Vec::new(),
        rules: vec![Rule {
            name: "ops".into(),
            commands: vec![CommandPattern::new("aci *")],
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
    let fake = Arc::new(Fake::new(OperationStatus::Succeeded));
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
            "Success /aci list: 3 container groups in the subscription · 2 running```",
            "Success /aci list resource_group:prod-web: 1 container group in `prod-web` · 1 running```",
            "Success /aci status name:frontend: frontend🟢 **nginx** · `nginx:1.27` · running · 0 restarts",
            "Success /aci status name:staging/worker: workerStopped: not billed. `/aci start` starts it again with fresh containers; a public IP address may change.",
            "Success /aci start name:staging/worker: ✅ **worker** in `staging` is running · took 0 s",
            "Success /aci stop name:prod-web/frontend: ⚠\u{fe0f} Stop **frontend** in `prod-web`? Stopping **ends billing** for the group, but its containers are terminated: they lose their state and anything in ephemeral storage, and its public IP address may change when it is started again.",
            "Success /aci restart name:dev-sandbox/jobs: ⚠\u{fe0f} Restart **jobs** in `dev-sandbox`? Every container restarts in place, so they are briefly interrupted; billing does not change.",
            "Success /aci logs name:jobs: runner · jobs in dev-sandbox · last 50 lines```",
            "Success /aci logs name:prod-web/frontend container:nginx tail:20: nginx · frontend in prod-web · last 20 lines```",
        ]
    "#]].assert_debug_eq(&summary);
}

#[test]
fn the_list_is_a_table() {
    expect_test::expect![[r#"
        # 3 container groups in the subscription · 2 running
        ```
        NAME      RESOURCE GROUP  STATE       CONTAINERS      IP          LOCATION
        jobs      dev-sandbox     🟢 running  runner          10.0.4.5    westeurope
        frontend  prod-web        🟢 running  nginx, sidecar  20.61.14.7  westeurope
        worker    staging         ⚪ stopped  worker                      northeurope
        ```
    "#]]
    .assert_eq(&show(&render::list(&sample(), None)));
    assert_eq!(
        render::list(&[], Some("empty")).content.as_deref(),
        Some("There are no container groups in `empty`.")
    );
}

#[test]
fn status_shows_every_container() {
    let [frontend, worker, _] = <[ContainerGroupSummary; 3]>::try_from(sample()).unwrap();
    expect_test::expect![[r#"
        # frontend
        🟢 **nginx** · `nginx:1.27` · running · 0 restarts
        🟢 **sidecar** · `fluent/fluent-bit:3.1` · running · 2 restarts
        State: 🟢 running
        OS: Linux
        IP address: 20.61.14.7
        Location: westeurope
        Resource group: prod-web
        Containers: 2
    "#]]
    .assert_eq(&show(&render::status(&frontend)));
    expect_test::expect![[r#"
        # worker
        Stopped: not billed. `/aci start` starts it again with fresh containers; a public IP address may change.

        ⚪ **worker** · `contoso.azurecr.io/worker:2.4` · terminated · 0 restarts
        State: ⚪ stopped
        OS: Linux
        IP address: none
        Location: northeurope
        Resource group: staging
        Containers: 1
    "#]].assert_eq(&show(&render::status(&worker)));
}

#[test]
fn logs_are_a_code_block() {
    let target = Resource {
        resource_group: ResourceGroupName::new("dev-sandbox").unwrap(),
        name: ContainerGroupName::new("jobs").unwrap(),
    };
    let runner = ContainerName::new("runner").unwrap();
    expect_test::expect![[r#"
        # runner · jobs in dev-sandbox · last 50 lines
        ```
        INFO job 41 done in 3.2 s
        ERROR job 42 failed: unexpected `\u{200b}`\u{200b}`end`\u{200b}`\u{200b}` of template
        INFO retrying job 42
        ```
    "#]]
    .assert_eq(&show(&render::logs(&target, &runner, 50, log_of("runner"))));
    expect_test::expect!["The log of **runner** in `dev-sandbox/jobs` is empty: the container has written nothing yet."].assert_eq(&show(&render::logs(&target, &runner, 50, "\n")));
}

/// Granted resource groups (all if empty), command, options.
type Case<'a> = (&'a [&'a str], &'a str, &'a [(&'a str, &'a str)]);

/// Commands run straight against the plugin, with what they asked Azure.
#[tokio::test]
async fn answers_and_the_calls_behind_them() {
    let table: &[Case<'_>] = &[
        (&[], "aci status", &[("name", "frontend")]),
        (&[], "aci status", &[("name", "Frontend")]),
        (&[], "aci status", &[("name", "ghost")]),
        (&[], "aci status", &[("name", "staging/ghost")]),
        (&[], "aci logs", &[("name", "jobs")]),
        (&[], "aci logs", &[("name", "frontend")]),
        (
            &[],
            "aci logs",
            &[
                ("name", "prod-web/frontend"),
                ("container", "nginx"),
                ("tail", "2"),
            ],
        ),
        (
            &[],
            "aci logs",
            &[("name", "prod-web/frontend"), ("container", "Nginx")],
        ),
        (
            &[],
            "aci logs",
            &[("name", "prod-web/frontend"), ("container", "db")],
        ),
        (&[], "aci logs", &[("name", "staging/worker")]),
        (&[], "aci start", &[("name", "staging/worker")]),
        (&[], "aci start", &[("name", "staging/ghost")]),
        (&["prod-*"], "aci start", &[("name", "worker")]),
        (&["prod-*"], "aci list", &[("resource_group", "staging")]),
        (&[], "aci list", &[("resource_group", "prod web")]),
    ];
    let mut transcript = String::new();
    for (resource_groups, command, options) in table {
        let harness = Harness::new(policy(resource_groups), OperationStatus::Succeeded);
        let shown: Vec<String> = options
            .iter()
            .map(|(name, value)| format!("{name}:{value}"))
            .collect();
        let answer = harness.run(command, options).await;
        let _ = writeln!(
            transcript,
            "/{command} {}\n  {}",
            shown.join(" "),
            first_line(&answer)
        );
        let _ = writeln!(transcript, "  azure: {:?}", harness.fake.calls());
    }
    expect_test::expect![[r#"
        /aci status name:frontend
          # frontend
          azure: ["list *", "get prod-web/frontend"]
        /aci status name:Frontend
          user: `Frontend` is not a valid container group name: use only lowercase letters, digits and `-`
          azure: []
        /aci status name:ghost
          user: there is no container group named `ghost` in the subscription; `/aci list` shows them
          azure: ["list *"]
        /aci status name:staging/ghost
          user: Azure answered `ResourceNotFound`: The Resource 'Microsoft.ContainerInstance/containerGroups/ghost' under resource group 'staging' was not found.
          azure: ["get staging/ghost"]
        /aci logs name:jobs
          # runner · jobs in dev-sandbox · last 50 lines
          azure: ["list *", "get dev-sandbox/jobs", "logs dev-sandbox/jobs runner Some(50)"]
        /aci logs name:frontend
          user: `frontend` in `prod-web` has 2 containers: `nginx`, `sidecar`. Say which, such as `container:nginx`
          azure: ["list *", "get prod-web/frontend"]
        /aci logs name:prod-web/frontend container:nginx tail:2
          # nginx · frontend in prod-web · last 2 lines
          azure: ["get prod-web/frontend", "logs prod-web/frontend nginx Some(2)"]
        /aci logs name:prod-web/frontend container:Nginx
          user: `Nginx` is not a valid container name: use only lowercase letters, digits and `-`
          azure: []
        /aci logs name:prod-web/frontend container:db
          user: `frontend` in `prod-web` has no container named `db`; its containers are `nginx`, `sidecar`
          azure: ["get prod-web/frontend"]
        /aci logs name:staging/worker
          The log of **worker** in `staging/worker` is empty: the container has written nothing yet.
          azure: ["get staging/worker", "logs staging/worker worker Some(50)"]
        /aci start name:staging/worker
          ✅ **worker** in `staging` is running · took 0 s
          azure: ["begin staging/worker Start", "poll"]
        /aci start name:staging/ghost
          user: Could not start **ghost** in `staging` · Azure answered `ResourceNotFound`: The Resource 'Microsoft.ContainerInstance/containerGroups/ghost' under resource group 'staging' was not found. · after 0 s
          azure: ["begin staging/ghost Start"]
        /aci start name:worker
          denied: you may not run `/aci start` on resource group `staging`, and no rule grants it to you here; it is granted by: - rule `ops`: for <@&10> on resource groups prod-*
          azure: ["list *"]
        /aci list resource_group:staging
          # 1 container group in `staging` · 0 running
          azure: ["list staging"]
        /aci list resource_group:prod web
          user: `prod web` is not a valid resource group name: use only letters, digits, `_`, `-`, `.`, `(` and `)`
          azure: []
    "#]].assert_eq(&transcript);
}

#[tokio::test]
async fn stop_and_restart_ask_first_and_only_the_owner_answers() {
    let harness = Harness::new(policy(&[]), OperationStatus::Succeeded);
    let prompt = harness
        .run("aci stop", &[("name", "prod-web/frontend")])
        .await
        .unwrap();
    let labels: Vec<&str> = prompt
        .buttons
        .iter()
        .map(|button| button.label.as_str())
        .collect();
    assert_eq!(labels, ["Stop", "Cancel"]);
    assert_eq!(
        harness.fake.calls(),
        Vec::<String>::new(),
        "nothing happens before the click"
    );
    let stranger = harness.click("aci stop", &prompt, 0, 99).await;
    assert_eq!(
        first_line(&stranger),
        "user: only <@7>, who ran the command, can answer this"
    );
    let done = harness.click("aci stop", &prompt, 0, 7).await;
    assert_eq!(
        first_line(&done),
        "✅ **frontend** in `prod-web` is stopped (no longer billed) · took 0 s"
    );
    assert_eq!(
        harness.fake.calls(),
        ["begin prod-web/frontend Stop"],
        "stop is synchronous: no polling"
    );

    let prompt = harness
        .run("aci restart", &[("name", "jobs")])
        .await
        .unwrap();
    let cancelled = harness.click("aci restart", &prompt, 1, 7).await;
    assert_eq!(
        first_line(&cancelled),
        "Cancelled: **jobs** in `dev-sandbox` was left as it was."
    );
    let prompt = harness
        .run("aci restart", &[("name", "jobs")])
        .await
        .unwrap();
    let done = harness.click("aci restart", &prompt, 0, 7).await;
    assert_eq!(
        first_line(&done),
        "✅ **jobs** in `dev-sandbox` has restarted · took 0 s"
    );
    assert_eq!(
        harness.fake.calls(),
        ["list *", "begin dev-sandbox/jobs Restart", "poll"]
    );
}

#[tokio::test]
async fn a_failed_operation_says_what_azure_said() {
    let failed = OperationStatus::Failed {
        code: "ContainerGroupQuotaReached".into(),
        message: "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota exceeded".into(),
    };
    let harness = Harness::new(policy(&[]), failed);
    let answer = harness
        .run("aci start", &[("name", "staging/worker")])
        .await;
    expect_test::expect!["user: Could not start **worker** in `staging` · Azure answered `ContainerGroupQuotaReached`: Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota exceeded · after 0 s"].assert_eq(&first_line(&answer));
}

#[tokio::test]
async fn autocomplete_reads_the_cache_and_offers_only_allowed_groups() {
    let harness = Harness::new(policy(&["prod-*", "dev-*"]), OperationStatus::Succeeded);
    let mut suggestions = Vec::new();
    for typed in ["", "f", "fr", "e", "staging"] {
        suggestions.push(format!(
            "{typed:?} → {:?}",
            harness.suggest("aci start", "name", typed, &[]).await
        ));
    }
    assert_eq!(
        harness.fake.calls(),
        ["list *"],
        "one ARM call for every keystroke"
    );
    for (name, typed) in [
        ("frontend", ""),
        ("prod-web/frontend", "s"),
        ("jobs", ""),
        ("ghost", ""),
        ("Bad!", ""),
    ] {
        let found = harness
            .suggest("aci logs", "container", typed, &[("name", name)])
            .await;
        suggestions.push(format!("{name} {typed:?} → {found:?}"));
    }
    expect_test::expect![[r#"
        [
            "\"\" → [\"prod-web/frontend (frontend · prod-web · running)\", \"dev-sandbox/jobs (jobs · dev-sandbox · running)\"]",
            "\"f\" → [\"prod-web/frontend (frontend · prod-web · running)\"]",
            "\"fr\" → [\"prod-web/frontend (frontend · prod-web · running)\"]",
            "\"e\" → [\"prod-web/frontend (frontend · prod-web · running)\", \"dev-sandbox/jobs (jobs · dev-sandbox · running)\"]",
            "\"staging\" → []",
            "frontend \"\" → [\"nginx (nginx · nginx:1.27 · running)\", \"sidecar (sidecar · fluent/fluent-bit:3.1 · running)\"]",
            "prod-web/frontend \"s\" → [\"sidecar (sidecar · fluent/fluent-bit:3.1 · running)\"]",
            "jobs \"\" → [\"runner (runner · python:3.12-slim · running)\"]",
            "ghost \"\" → []",
            "Bad! \"\" → []",
        ]
    "#]].assert_debug_eq(&suggestions);
}

/// The plugin behind a catalog, run the way the dispatcher runs it, by user 7 with the
/// ops role in guild 5.
struct Harness {
    fake: Arc<Fake>,
    catalog: Catalog,
}

impl Harness {
    fn new(policy: Policy, poll_status: OperationStatus) -> Self {
        let fake = Arc::new(Fake::new(poll_status));
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
                .map(|(name, value)| option(name, value))
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

    async fn suggest(
        &self,
        command: &str,
        focused: &str,
        typed: &str,
        others: &[(&str, &str)],
    ) -> Vec<String> {
        let (signature, handler) = self.catalog.registry().get(command).unwrap();
        let mut options: Vec<CommandDataOption> = others
            .iter()
            .map(|(name, value)| option(name, value))
            .collect();
        options.push(CommandDataOption {
            name: focused.into(),
            value: CommandOptionValue::Focused(typed.into(), CommandOptionType::String),
        });
        let ctx = AutocompleteContext {
            caller: caller(7),
            focused: focused.into(),
            partial: typed.into(),
            options,
            catalog: self.catalog.clone(),
            signature: Arc::clone(signature),
        };
        handler
            .autocomplete(ctx)
            .await
            .unwrap()
            .into_iter()
            .map(|choice| match choice.value {
                CommandOptionChoiceValue::String(value) => format!("{value} ({})", choice.name),
                other => panic!("{other:?}"),
            })
            .collect()
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

fn option(name: &str, value: &str) -> CommandDataOption {
    let value = match value.parse() {
        Ok(number) if name == "tail" => CommandOptionValue::Integer(number),
        _ => CommandOptionValue::String(value.into()),
    };
    CommandDataOption {
        name: name.into(),
        value,
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

/// A reply as text: content, then each embed's title, description and fields, with
/// zero-width spaces spelled out.
fn show(reply: &Reply) -> String {
    let mut text = reply.content.clone().unwrap_or_default();
    for embed in &reply.embeds {
        let _ = writeln!(text, "# {}", embed.title.as_deref().unwrap_or_default());
        let _ = writeln!(text, "{}", embed.description.as_deref().unwrap_or_default());
        for field in &embed.fields {
            let _ = writeln!(text, "{}: {}", field.name, field.value);
        }
    }
    text.replace('\u{200b}', "\\u{200b}")
}
