//! What a resource type declares: the [`ResourceType`] trait and the data it returns.

use std::{fmt, time::Duration};

use azcord_azure::{
    AzureError, NameError, Named, PendingOperation, ResourceGroupName, WaitOptions,
};
use azcord_command::{BoxFuture, CommandKind, Reply};

/// One Azure resource type that `/GROUP list`, `/GROUP status name`, `/GROUP VERB name`
/// and their autocomplete run on.
///
/// An implementor holds its Azure client and says only what is its own: its names,
/// the calls behind listing and acting, and the wording of its actions. Usable as
/// `dyn ResourceType<Name = ..., Summary = ..., Details = ..., Action = ...>`.
pub trait ResourceType: Send + Sync + 'static {
    /// The validated name of one resource, such as `VmName`.
    type Name: Clone + fmt::Display + Send + Sync + 'static;
    /// One resource as the list shows it, such as `VmSummary`.
    type Summary: Named + Send + Sync + 'static;
    /// One resource in full, as `/GROUP status` shows it, such as `VmDetails`.
    type Details: Send + 'static;
    /// What can be done to a resource, such as `VmAction`.
    type Action: Copy + fmt::Debug + Send + Sync + 'static;

    /// Its command group and the nouns its replies use.
    fn names(&self) -> ResourceNames;

    /// Checks a name against Azure's rules for this type.
    fn parse_name(&self, input: &str) -> Result<Self::Name, NameError>;

    /// Every resource of this type, in one resource group if given.
    fn list<'a>(
        &'a self,
        resource_group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<Self::Summary>, AzureError>>;

    /// One resource in full.
    fn get<'a>(
        &'a self,
        target: &'a Resource<Self::Name>,
    ) -> BoxFuture<'a, Result<Self::Details, AzureError>>;

    /// Begins `action` on `target` and returns how to follow it, which may already be
    /// `PendingOperation::Completed` when Azure acts synchronously.
    fn begin<'a>(
        &'a self,
        target: &'a Resource<Self::Name>,
        action: Self::Action,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>>;

    /// The actions, one command each, in the order they are registered.
    fn actions(&self) -> Vec<ActionSpec<Self::Action>>;

    /// The state autocomplete shows beside a name, such as `running`.
    fn state(&self, summary: &Self::Summary) -> Option<String>;

    /// The reply to `/GROUP list`, for the resources in `resource_group` if given.
    fn render_list(&self, summaries: &[Self::Summary], resource_group: Option<&str>) -> Reply;

    /// What `/GROUP status` says of itself.
    fn status(&self) -> StatusSpec;

    /// The reply to `/GROUP status`.
    fn render_status(&self, details: &Self::Details) -> Reply;
}

/// The words of `/GROUP status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusSpec {
    /// One line shown in Discord's command picker.
    pub description: &'static str,
    /// Its examples in `/help`: a `name` option each, and what it shows.
    pub examples: &'static [ActionExample],
}

/// The names a resource type goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceNames {
    /// The command group and plugin name: `vm`.
    pub group: &'static str,
    /// What the group is for, in Discord's command picker.
    pub group_description: &'static str,
    /// One resource: `VM`, `container group`.
    pub noun: &'static str,
    /// Several: `VMs`, `container groups`.
    pub plural: &'static str,
    /// What `/GROUP list` shows, in Discord's command picker.
    pub list_description: &'static str,
}

/// One action of a resource type, and everything its command says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec<A> {
    /// The action passed to [`ResourceType::begin`].
    pub action: A,
    /// Its words.
    pub verbs: Verbs,
    /// One line shown in Discord's command picker.
    pub description: &'static str,
    /// How much harm it does: a destructive action asks first.
    pub kind: CommandKind,
    /// What it costs, stated in the confirmation prompt.
    pub consequence: &'static str,
    /// The example the command shows and the examples test runs.
    pub example: ActionExample,
}

/// Words for an action: its command, in progress, done, and on its Confirm button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbs {
    /// The subcommand: `start`.
    pub command: &'static str,
    /// In progress: `Starting`.
    pub doing: &'static str,
    /// Done, after the name: `is running`.
    pub done: &'static str,
    /// The Confirm button's label: `Start`.
    pub button: &'static str,
}

/// An example of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionExample {
    /// The `name` option: `prod-web/web-2`.
    pub name: &'static str,
    /// How the example's description names it: `web-2`.
    pub about: &'static str,
}

/// One resource, named completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<N> {
    /// Its resource group.
    pub resource_group: ResourceGroupName,
    /// Its name.
    pub name: N,
}

impl<N: fmt::Display> fmt::Display for Resource<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.resource_group)
    }
}

/// How the Azure plugins behave: the `[azure]` table of the config.
#[derive(Debug, Clone, Copy)]
pub struct AzureSettings {
    /// How long the resource lists behind names and autocomplete are reused.
    pub cache_ttl: Duration,
    /// How long Confirm buttons stay valid.
    pub confirm_ttl: Duration,
    /// How long to wait for operations, and how to pace the polls.
    pub wait: WaitOptions,
    /// How long the process following an operation holds it without renewing: once
    /// this has passed since the last renewal, another process may take it over.
    pub lease: Duration,
}

impl Default for AzureSettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(30),
            confirm_ttl: Duration::from_secs(60),
            wait: WaitOptions::default(),
            lease: Duration::from_secs(30),
        }
    }
}

/// Whether an action of this kind asks for confirmation before it begins: only a
/// destructive one does, as `CommandKind` documents.
pub fn confirms(kind: CommandKind) -> bool {
    kind == CommandKind::Destructive
}
