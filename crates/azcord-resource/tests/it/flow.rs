//! The flow on a resource type of its own: one action that Azure follows with polls,
//! one that finishes at once, and one that fails.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use azcord_azure::{
    AzureError, AzureErrorKind, NameError, OperationStatus, Operations, PendingOperation, PollKind,
    PowerState, ResourceGroupName, VmName, VmSummary, WaitOptions,
};
use azcord_command::{
    BoxFuture, Button, Caller, Catalog, CommandError, CommandKind, CommandPattern,
    ComponentContext, Context, InteractionTarget, Notifier, Plugin, Policy, Progress, Registry,
    Reply, RespondError, Rule, Secret, Shutdown,
    twilight_model::{
        application::interaction::application_command::{CommandDataOption, CommandOptionValue},
        id::{
            Id,
            marker::{ApplicationMarker, ChannelMarker, MessageMarker},
        },
    },
};

use azcord_resource::{
    ActionExample, ActionSpec, AzureSettings, NOT_RECORDED, Resource, ResourceFlow, ResourceNames,
    ResourceType, StatusSpec, Store, Verbs, confirms, render,
};
use azcord_store::{
    Backend, EmbeddedBackend, Entry, OperationRecord, PollRecord, StateKey, StoreError,
    StoreErrorKind,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lever {
    /// Azure answers with an operation to poll.
    Pull,
    /// Azure answers 200 at once.
    Push,
    /// Azure refuses.
    Break,
}

/// Machines whose calls are recorded.
struct Machines {
    calls: Arc<Mutex<Vec<String>>>,
}

impl ResourceType for Machines {
    type Name = VmName;
    type Summary = VmSummary;
    type Details = String;
    type Action = Lever;

    fn names(&self) -> ResourceNames {
        ResourceNames {
            group: "machine",
            group_description: "Operate machines",
            noun: "machine",
            plural: "machines",
            list_description: "List machines",
        }
    }

    fn parse_name(&self, input: &str) -> Result<VmName, NameError> {
        VmName::new(input)
    }

    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        self.record(format!("list {resource_group:?}"));
        let machine = |group: &str, name: &str| VmSummary {
            name: name.into(),
            resource_group: group.into(),
            location: "westeurope".into(),
            size: None,
            power_state: Some(PowerState::Running),
        };
        let all = vec![
            machine("prod", "m-1"),
            machine("staging", "m-1"),
            machine("staging", "m-2"),
        ];
        Box::pin(async move { Ok(all) })
    }

    fn get<'a>(
        &'a self,
        target: &'a Resource<VmName>,
    ) -> BoxFuture<'a, Result<String, AzureError>> {
        self.record(format!("get {target}"));
        Box::pin(async move { Ok(format!("{} is humming", target.name)) })
    }

    fn begin<'a>(
        &'a self,
        target: &'a Resource<VmName>,
        action: Lever,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        self.record(format!("begin {target} {action:?}"));
        Box::pin(async move {
            match action {
                Lever::Pull => Ok(PendingOperation::Running {
                    url: "http://arm/operations/1".into(),
                    kind: PollKind::AsyncOperation,
                    retry_after: Some(Duration::from_millis(1)),
                    correlation_id: Some("corr".into()),
                }),
                Lever::Push => Ok(PendingOperation::Completed {
                    correlation_id: None,
                }),
                Lever::Break => Err(AzureError {
                    code: Some("Conflict".into()),
                    ..AzureError::new(AzureErrorKind::Refused, "the machine is busy")
                }),
            }
        })
    }

    fn actions(&self) -> Vec<ActionSpec<Lever>> {
        let spec = |action, command, kind| ActionSpec {
            action,
            verbs: Verbs {
                command,
                doing: "Working",
                done: "is done",
                button: "Go",
            },
            description: "Act on a machine",
            kind,
            consequence: "It costs.",
            example: ActionExample {
                name: "staging/m-2",
                about: "m-2",
            },
        };
        vec![
            spec(Lever::Pull, "pull", CommandKind::Write),
            spec(Lever::Push, "push", CommandKind::Destructive),
            spec(Lever::Break, "break", CommandKind::Write),
        ]
    }

    fn state(&self, summary: &VmSummary) -> Option<String> {
        summary
            .power_state
            .as_ref()
            .map(|state| state.as_str().to_owned())
    }

    fn render_list(&self, summaries: &[VmSummary], _: Option<&str>) -> Reply {
        Reply::text(format!("{} machines", summaries.len()))
    }

    fn status(&self) -> StatusSpec {
        StatusSpec {
            description: "Show one machine",
            examples: &[ActionExample {
                name: "m-2",
                about: "how m-2 is",
            }],
        }
    }

    fn render_status(&self, details: &String) -> Reply {
        Reply::text(format!("status: {details}"))
    }
}

impl Machines {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

/// Polls that succeed at once, recorded with what the store holds meanwhile.
struct Polls(Arc<Mutex<Vec<String>>>, Store);

impl Operations for Polls {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        Box::pin(async {
            let store = &self.1;
            let mut leased = Vec::new();
            for (id, _) in store.operations().await.unwrap() {
                let later = SystemTime::now() + Duration::from_secs(1);
                let free = store
                    .claim(&format!("operation/{id}"), "another process", later)
                    .await
                    .unwrap();
                leased.push(!free);
            }
            let recorded: Vec<String> = store
                .operations()
                .await
                .unwrap()
                .into_iter()
                .map(|(_, record)| {
                    // The token lasts 15 minutes from the interaction, a minute ago.
                    let token_left = record
                        .token_expires_at
                        .duration_since(record.started_at)
                        .unwrap_or_default()
                        .as_secs()
                        .div_ceil(60);
                    format!(
                        "{} {} {}/{} by {} polling {:?}; reply: app {:?} token {:?} \
                         message {:?} channel {:?} guild {:?} token left {token_left} min",
                        record.resource_type,
                        record.action,
                        record.resource_group,
                        record.resource_name,
                        record.invoker,
                        record.poll.map(|poll| poll.url),
                        record.application_id,
                        record.interaction_token.as_ref().map(Secret::expose),
                        record.message_id,
                        record.channel_id,
                        record.guild_id,
                    )
                })
                .collect();
            self.0
                .lock()
                .unwrap()
                .push(format!("poll; recorded {recorded:?}, leased {leased:?}"));
            Ok(OperationStatus::Succeeded)
        })
    }
}

/// A store that is down: every call fails as unavailable.
struct DownStore;

impl Backend for DownStore {
    fn put<'a>(
        &'a self,
        _: &'a str,
        _: Vec<u8>,
        _: SystemTime,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn take<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn remove<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn scan<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Vec<Entry>, StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn claim<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: SystemTime,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async { Err(down()) })
    }

    fn purge_expired(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async { Err(down()) })
    }
}

fn down() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "connection refused")
}

#[test]
fn a_resource_type_can_be_held_as_dyn() {
    let held: Box<
        dyn ResourceType<Name = VmName, Summary = VmSummary, Details = String, Action = Lever>,
    > = Box::new(Machines {
        calls: Arc::default(),
    });
    assert_eq!(held.names().group, "machine");
    assert_eq!(held.actions().len(), 3);
}

#[test]
fn only_a_destructive_action_asks_first() {
    let table = [
        (CommandKind::Read, false),
        (CommandKind::Write, false),
        (CommandKind::Destructive, true),
    ];
    for (kind, expected) in table {
        assert_eq!(confirms(kind), expected, "{kind:?}");
    }
}

struct Harness {
    calls: Arc<Mutex<Vec<String>>>,
    catalog: Catalog,
}

impl Harness {
    fn new() -> Self {
        Self::with_store(Store::in_memory())
    }

    /// A flow over `store`: one process of the bot; two over one store are a restart,
    /// or two replicas.
    fn with_store(store: Store) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let flow = ResourceFlow::new(
            Machines {
                calls: Arc::clone(&calls),
            },
            Arc::new(Polls(Arc::clone(&calls), store.clone())),
            AzureSettings {
                wait: WaitOptions {
                    default_interval: Duration::from_millis(1),
                    ..WaitOptions::default()
                },
                ..AzureSettings::default()
            },
            store,
        );
        let plugin: Plugin = flow.with_actions(flow.plugin());
        let policy = Policy {
            guilds: Vec::new(),
            rules: vec![Rule {
                name: "ops".into(),
                commands: vec![CommandPattern::new("machine *")],
                roles: vec![Id::new(10)],
                users: Vec::new(),
                channels: Vec::new(),
                resource_groups: Vec::new(),
            }],
        };
        Self {
            calls,
            catalog: Catalog::new(Registry::new([plugin]).unwrap(), policy),
        }
    }

    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    async fn run(&self, command: &str, name: &str) -> Result<Reply, CommandError> {
        self.run_watching(command, name, Shutdown::new()).await
    }

    /// Runs `command` in a process whose shutdown is `shutdown`.
    async fn run_watching(
        &self,
        command: &str,
        name: &str,
        shutdown: Shutdown,
    ) -> Result<Reply, CommandError> {
        let (signature, handler) = self.catalog.registry().get(command).unwrap();
        let ctx = Context {
            interaction_id: Id::new(1),
            target: interaction(1),
            caller: caller(),
            options: vec![CommandDataOption {
                name: "name".into(),
                value: CommandOptionValue::String(name.into()),
            }],
            resolved: None,
            progress: Progress::watching(shutdown),
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
    ) -> Result<Reply, CommandError> {
        let (signature, handler) = self.catalog.registry().get(command).unwrap();
        let (_, payload) = Button::parse_custom_id(&prompt.buttons[button].custom_id).unwrap();
        let ctx = ComponentContext {
            interaction_id: Id::new(2),
            target: interaction(2),
            caller: caller(),
            message_id: Some(Id::new(9)),
            payload: payload.to_owned(),
            progress: Progress::detached(),
            catalog: self.catalog.clone(),
            signature: Arc::clone(signature),
        };
        handler.component(ctx).await
    }
}

/// Interaction `id` of application 3, which arrived a minute ago.
fn interaction(id: u64) -> InteractionTarget {
    InteractionTarget {
        received_at: SystemTime::now() - Duration::from_secs(60),
        token: Secret::new(format!("token-of-{id}")),
        application_id: Id::new(3),
        ..InteractionTarget::detached(Id::new(id))
    }
}

fn caller() -> Caller {
    Caller {
        user_id: Id::new(7),
        role_ids: vec![Id::new(10)],
        guild_id: Some(Id::new(5)),
        channel_id: Some(Id::new(6)),
    }
}

fn first_line(answer: &Result<Reply, CommandError>) -> String {
    match answer {
        Ok(reply) => {
            let buttons: Vec<&str> = reply
                .buttons
                .iter()
                .map(|button| button.label.as_str())
                .collect();
            format!(
                "{} {buttons:?}",
                reply
                    .content
                    .as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            )
        }
        Err(CommandError::User(error)) => format!("user: {}", error.message()),
        Err(other) => format!("other: {other}"),
    }
}

#[test]
fn the_kind_decides_the_signature() {
    let harness = Harness::new();
    let signatures: Vec<String> = harness
        .catalog
        .registry()
        .signatures()
        .map(|(plugin, signature)| {
            format!(
                "{plugin}: {} {:?} long_running={} examples={:?}",
                signature.name,
                signature.kind,
                signature.long_running,
                signature
                    .examples
                    .iter()
                    .map(|example| format!("{} ({})", example.line, example.description))
                    .collect::<Vec<_>>()
            )
        })
        .collect();
    assert_eq!(
        signatures,
        [
            "machine: machine list Read long_running=false examples=[\"/machine list (every machine in the subscription)\", \"/machine list resource_group:prod-web (the machines of one resource group)\"]",
            "machine: machine status Read long_running=false examples=[\"/machine status name:m-2 (how m-2 is)\"]",
            "machine: machine pull Write long_running=true examples=[\"/machine pull name:staging/m-2 (working m-2)\"]",
            "machine: machine push Destructive long_running=false examples=[\"/machine push name:staging/m-2 (working m-2)\"]",
            "machine: machine break Write long_running=true examples=[\"/machine break name:staging/m-2 (working m-2)\"]",
        ]
    );
}

#[tokio::test]
async fn an_action_is_confirmed_begun_and_followed_whether_azure_polls_or_not() {
    let harness = Harness::new();
    let mut transcript = Vec::new();

    let pulled = harness.run("machine pull", "staging/m-2").await;
    transcript.push(format!(
        "pull: {} {:?}",
        first_line(&pulled),
        harness.calls()
    ));

    let prompt = harness.run("machine push", "m-2").await;
    transcript.push(format!(
        "push: {} {:?}",
        first_line(&prompt),
        harness.calls()
    ));
    let prompt = prompt.unwrap();
    let cancelled = harness.click("machine push", &prompt, 1).await;
    transcript.push(format!(
        "cancel: {} {:?}",
        first_line(&cancelled),
        harness.calls()
    ));
    let prompt = harness.run("machine push", "m-2").await.unwrap();
    let pushed = harness.click("machine push", &prompt, 0).await;
    transcript.push(format!(
        "confirm: {} {:?}",
        first_line(&pushed),
        harness.calls()
    ));

    let broken = harness.run("machine break", "prod/m-1").await;
    transcript.push(format!(
        "break: {} {:?}",
        first_line(&broken),
        harness.calls()
    ));
    let ambiguous = harness.run("machine break", "m-1").await;
    transcript.push(format!(
        "ambiguous: {} {:?}",
        first_line(&ambiguous),
        harness.calls()
    ));

    expect_test::expect![[r#"
        [
            "pull: ✅ **m-2** in `staging` is done · took 0 s [] [\"begin m-2 (staging) Pull\", \"poll; recorded [\\\"machine pull staging/m-2 by 7 polling Some(\\\\\\\"http://arm/operations/1\\\\\\\"); reply: app Some(3) token Some(\\\\\\\"token-of-1\\\\\\\") message None channel Some(6) guild Some(5) token left 14 min\\\"], leased [true]\"]",
            "push: ⚠\u{fe0f} Go **m-2** in `staging`? It costs. [\"Go\", \"Cancel\"] [\"list None\"]",
            "cancel: Cancelled: **m-2** in `staging` was left as it was. [] []",
            "confirm: ✅ **m-2** in `staging` is done · took 0 s [] [\"begin m-2 (staging) Push\"]",
            "break: user: Could not break **m-1** in `prod` · Azure answered `Conflict`: the machine is busy · after 0 s [\"begin m-1 (prod) Break\"]",
            "ambiguous: user: `m-1` is in 2 resource groups: `prod/m-1`, `staging/m-1`. Say which, such as `name:prod/m-1` [\"list None\"]",
        ]
    "#]].assert_debug_eq(&transcript);
}

#[tokio::test]
async fn status_finds_one_resource_and_renders_it_in_full() {
    let harness = Harness::new();
    let by_name = harness.run("machine status", "m-2").await;
    assert_eq!(
        first_line(&by_name),
        "status: m-2 is humming []",
        "{by_name:?}"
    );
    // A bare name is found through the list; a qualified one is asked for directly.
    assert_eq!(harness.calls(), ["list None", "get m-2 (staging)"]);
    let qualified = harness.run("machine status", "prod/m-1").await;
    assert_eq!(first_line(&qualified), "status: m-1 is humming []");
    assert_eq!(harness.calls(), ["get m-1 (prod)"]);
    let ambiguous = harness.run("machine status", "m-1").await;
    assert!(
        first_line(&ambiguous).contains("`m-1` is in 2 resource groups"),
        "{ambiguous:?}"
    );
}

#[tokio::test]
async fn a_prompt_outlives_its_process_and_is_answered_once() {
    let store = Store::in_memory();
    let before = Harness::with_store(store.clone());
    let prompt = before.run("machine push", "staging/m-2").await.unwrap();

    // The process that asked is gone; the next one, on the same store, acts.
    let after = Harness::with_store(store.clone());
    let pushed = after.click("machine push", &prompt, 0).await;
    let again = before.click("machine push", &prompt, 0).await;
    let cancel_too = after.click("machine push", &prompt, 1).await;
    assert_eq!(
        [first_line(&pushed), first_line(&again), first_line(&cancel_too)],
        [
            "✅ **m-2** in `staging` is done · took 0 s []".to_owned(),
            "user: this confirmation is no longer open: it was already answered; run the command again".to_owned(),
            "user: this confirmation is no longer open: it was already answered; run the command again".to_owned(),
        ]
    );
    assert_eq!(after.calls(), ["begin m-2 (staging) Push"]);
    assert_eq!(before.calls(), Vec::<String>::new());
    assert_eq!(store.operations().await.unwrap(), vec![]);
}

#[tokio::test]
async fn an_operation_is_recorded_while_followed_and_forgotten_after() {
    let store = Store::in_memory();
    let harness = Harness::with_store(store.clone());
    let pulled = harness.run("machine pull", "staging/m-2").await;
    assert!(
        first_line(&pulled).starts_with("✅"),
        "{}",
        first_line(&pulled)
    );
    expect_test::expect![[r#"
        [
            "begin m-2 (staging) Pull",
            "poll; recorded [\"machine pull staging/m-2 by 7 polling Some(\\\"http://arm/operations/1\\\"); reply: app Some(3) token Some(\\\"token-of-1\\\") message None channel Some(6) guild Some(5) token left 14 min\"], leased [true]",
        ]
    "#]]
    .assert_debug_eq(&harness.calls());
    assert_eq!(store.operations().await.unwrap(), vec![]);
}

#[tokio::test]
async fn nothing_is_asked_or_begun_that_cannot_be_recorded() {
    let harness = Harness::with_store(Store::new(Arc::new(DownStore), StateKey::generate()));
    let pulled = harness.run("machine pull", "staging/m-2").await;
    let prompt = harness.run("machine push", "staging/m-2").await;
    assert_eq!(
        [first_line(&pulled), first_line(&prompt)],
        [
            format!("user: {NOT_RECORDED}"),
            "user: azcord cannot record this confirmation; nothing was asked: try again shortly"
                .to_owned(),
        ]
    );
    assert_eq!(
        NOT_RECORDED,
        "azcord cannot record this operation; not started"
    );
    assert_eq!(harness.calls(), Vec::<String>::new());
}

#[test]
fn a_list_is_sorted_by_group_then_name_and_cut_to_fit() {
    let row = |name: &str, group: &str| vec![name.to_owned(), group.to_owned()];
    let title = |scope: &str| format!("machines in {scope}");
    let reply = render::list_table(
        "machines",
        None,
        &["NAME", "GROUP"],
        vec![row("b", "prod"), row("a", "staging"), row("a", "prod")],
        title,
    );
    let embed = &reply.embeds[0];
    expect_test::expect![[r#"
        machines in the subscription
        ```
        NAME  GROUP
        a     prod
        b     prod
        a     staging
        ```"#]]
    .assert_eq(&format!(
        "{}\n{}",
        embed.title.as_deref().unwrap(),
        embed.description.as_deref().unwrap()
    ));

    let many = (0..500)
        .map(|n| row(&format!("machine-{n:03}"), "prod"))
        .collect();
    let reply = render::list_table("machines", None, &["NAME", "GROUP"], many, title);
    let description = reply.embeds[0].description.as_deref().unwrap();
    assert!(description.len() <= 4096, "{}", description.len());
    let more = description.lines().last().unwrap();
    assert!(
        more.starts_with("… and ") && more.ends_with(" more: narrow it with `resource_group:`"),
        "{more}"
    );

    let none = render::list_table("machines", Some("empty"), &["NAME"], Vec::new(), title);
    assert_eq!(
        none.content.as_deref(),
        Some("There are no machines in `empty`.")
    );
}

/// Records what a taken-over operation tells the user, and where.
struct Told(tokio::sync::mpsc::UnboundedSender<String>);

impl Notifier for Told {
    fn edit_reply<'a>(
        &'a self,
        application_id: Id<ApplicationMarker>,
        token: &'a Secret,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        // Discord refuses this one before its recorded expiry: clocks drift.
        if token.expose() == "token-for-m-6" {
            return Box::pin(async { Err(RespondError::token_rejected("401: 50027")) });
        }
        let told = format!(
            "edit reply of app {application_id} with {}: {}",
            token.expose(),
            reply.content.as_deref().unwrap_or_default()
        );
        let _ = self.0.send(told);
        Box::pin(async { Ok(()) })
    }

    fn post_reply<'a>(
        &'a self,
        channel_id: Id<ChannelMarker>,
        message_id: Option<Id<MessageMarker>>,
        reply: &'a Reply,
    ) -> BoxFuture<'a, Result<(), RespondError>> {
        let told = format!(
            "post in channel {channel_id} replying to {message_id:?}: {}",
            reply.content.as_deref().unwrap_or_default()
        );
        let _ = self.0.send(told);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_dead_process_operations_are_taken_over_and_their_outcome_told() {
    let store = Store::in_memory();
    let now = SystemTime::now();
    let minute = Duration::from_secs(60);
    let record = |name: &str, polled: bool, token_expires_at: SystemTime| OperationRecord {
        owner: "a dead process".into(),
        poll: polled.then(|| PollRecord {
            url: "http://arm/operations/1".into(),
            async_operation: true,
            correlation_id: None,
        }),
        resource_type: "machine".into(),
        resource_group: "staging".into(),
        resource_name: name.into(),
        action: "pull".into(),
        invoker: 7,
        application_id: Some(3),
        interaction_token: Some(Secret::new(format!("token-for-{name}"))),
        message_id: Some(9),
        channel_id: Some(6),
        guild_id: Some(5),
        started_at: now,
        deadline: now + 10 * minute,
        token_expires_at,
    };
    let recorded = [
        ("followed", record("m-1", true, now + minute)),
        ("token-expired", record("m-2", true, now - minute)),
        ("never-begun", record("m-3", false, now + minute)),
        ("held-by-a-live-process", record("m-4", true, now + minute)),
        (
            "another-type",
            OperationRecord {
                resource_type: "vm".into(),
                ..record("m-5", true, now + minute)
            },
        ),
        ("token-refused", record("m-6", true, now + minute)),
    ];
    for (id, record) in &recorded {
        store.put_operation(id, record).await.unwrap();
    }
    let live = "a live process";
    let held = "operation/held-by-a-live-process";
    assert!(store.claim(held, live, now + minute).await.unwrap());

    let harness = Harness::with_store(store.clone());
    let [follower] = harness.catalog.registry().followers() else {
        panic!("one follower per resource type")
    };
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let notifier: Arc<dyn Notifier> = Arc::new(Told(sender));
    let taken = Arc::clone(follower)
        .take_over(Arc::clone(&notifier), Shutdown::new())
        .await;
    let mut told = Vec::new();
    for _ in 0..taken {
        // Bounded, so that a follower that never tells fails the test, not hangs it.
        let next = tokio::time::timeout(Duration::from_secs(10), receiver.recv());
        told.push(next.await.expect("told within 10 s").unwrap());
    }
    told.sort();
    expect_test::expect![[r#"
        [
            "edit reply of app 3 with token-for-m-1: ✅ **m-1** in `staging` is done · took 0 s",
            "edit reply of app 3 with token-for-m-3: Could not pull **m-3** in `staging` · azcord restarted before this action was confirmed started; check `/machine list` · after 0 s",
            "post in channel 6 replying to Some(Id<MessageMarker>(9)): ✅ **m-2** in `staging` is done · took 0 s",
            "post in channel 6 replying to Some(Id<MessageMarker>(9)): ✅ **m-6** in `staging` is done · took 0 s",
        ]
    "#]].assert_debug_eq(&told);

    let left: Vec<String> = store
        .operations()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(left, ["another-type", "held-by-a-live-process"]);
    assert_eq!(
        Arc::clone(follower)
            .take_over(notifier, Shutdown::new())
            .await,
        0
    );
}

/// An operation whose poll URL is recorded, owned by a process that is gone while its
/// lease still runs.
fn orphan(now: SystemTime) -> OperationRecord {
    OperationRecord {
        owner: "a killed process".into(),
        poll: Some(PollRecord {
            url: "http://arm/operations/1".into(),
            async_operation: true,
            correlation_id: None,
        }),
        resource_type: "machine".into(),
        resource_group: "staging".into(),
        resource_name: "m-1".into(),
        action: "pull".into(),
        invoker: 7,
        application_id: Some(3),
        interaction_token: Some(Secret::new("token-for-m-1")),
        message_id: Some(9),
        channel_id: Some(6),
        guild_id: Some(5),
        started_at: now,
        deadline: now + Duration::from_secs(600),
        token_expires_at: now + Duration::from_secs(600),
    }
}

#[tokio::test]
async fn an_embedded_store_is_taken_over_at_once_and_a_shared_one_after_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = EmbeddedBackend::open(&dir.path().join("state.redb")).unwrap();
    let stores = [
        (
            "embedded",
            Store::new(Arc::new(embedded), StateKey::generate()),
            1,
        ),
        ("shared", Store::in_memory(), 0),
    ];
    for (name, store, expected) in stores {
        let now = SystemTime::now();
        store.put_operation("op", &orphan(now)).await.unwrap();
        let lease_left = now + Duration::from_secs(30);
        assert!(
            store
                .claim("operation/op", "a killed process", lease_left)
                .await
                .unwrap()
        );
        let harness = Harness::with_store(store.clone());
        let [follower] = harness.catalog.registry().followers() else {
            panic!("one follower per resource type")
        };
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let taken = Arc::clone(follower)
            .take_over(Arc::new(Told(sender)), Shutdown::new())
            .await;
        assert_eq!(taken, expected, "{name}");
        if expected == 1 {
            let told = tokio::time::timeout(Duration::from_secs(10), receiver.recv()).await;
            assert_eq!(
                told.expect("told within 10 s").unwrap(),
                "edit reply of app 3 with token-for-m-1: ✅ **m-1** in `staging` is done · took 0 s",
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn on_shutdown_a_begun_operation_is_handed_over_with_its_record() {
    let store = Store::in_memory();
    let harness = Harness::with_store(store.clone());
    let shutdown = Shutdown::new();
    shutdown.request();
    let answer = harness
        .run_watching("machine pull", "staging/m-2", shutdown)
        .await;
    assert_eq!(
        first_line(&answer),
        "🔄 Working **m-2** in `staging`… azcord is restarting and will report the outcome []"
    );
    // Begun, never polled here.
    assert_eq!(harness.calls(), ["begin m-2 (staging) Pull"]);
    let recorded = store.operations().await.unwrap();
    let [(id, record)] = recorded.as_slice() else {
        panic!("one record: {recorded:?}")
    };
    assert_eq!(
        record.poll.as_ref().map(|poll| poll.url.as_str()),
        Some("http://arm/operations/1")
    );
    // Released: the next process takes it without waiting.
    let later = SystemTime::now() + Duration::from_secs(30);
    assert!(
        store
            .claim(&format!("operation/{id}"), "the next process", later)
            .await
            .unwrap()
    );

    // What is taken over stops too, and is left for the next process.
    let next = Harness::with_store(store.clone());
    store
        .release(&format!("operation/{id}"), "the next process")
        .await
        .unwrap();
    let [follower] = next.catalog.registry().followers() else {
        panic!("one follower per resource type")
    };
    let shutdown = Shutdown::new();
    shutdown.request();
    let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
    let taken = Arc::clone(follower)
        .take_over(Arc::new(Told(sender)), shutdown.clone())
        .await;
    assert_eq!(taken, 0, "nothing is taken over during shutdown");
    assert_eq!(store.operations().await.unwrap().len(), 1);
}
