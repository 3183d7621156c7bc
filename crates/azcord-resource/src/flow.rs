//! [`ResourceFlow`]: what one resource type's commands share, and how a typed name
//! becomes one resource.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    time::SystemTime,
};

use azcord_azure::{Named, Operations, ResourceGroupName, Target, find_unique};
use azcord_command::{
    AutocompleteContext, CommandError, Context, Follower, Plugin, TtlCache,
    twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue},
};

use azcord_store::Store;

use crate::{
    Act, AuthorizeResourceGroup as _, AzureSettings, List, NameOption, Resource, ResourceType,
    Status, azure_error,
    prompt::{PromptedTarget, Prompts},
};

/// One resource type with what its commands share: the list cache behind names and
/// autocomplete, the store that holds its open confirmations and its operations in
/// flight, and how to follow an operation.
pub struct ResourceFlow<R: ResourceType> {
    resource: R,
    pub(crate) operations: Arc<dyn Operations>,
    pub(crate) cache: TtlCache<Vec<R::Summary>>,
    pub(crate) prompts: Prompts,
    pub(crate) store: Store,
    pub(crate) settings: AzureSettings,
    /// The operations this process follows now, so that it takes none over twice.
    following: Mutex<HashSet<String>>,
}

impl<R: ResourceType> ResourceFlow<R> {
    /// The flow of `resource`, whose operations `operations` polls, recording its
    /// confirmations and operations in `store`.
    pub fn new(
        resource: R,
        operations: Arc<dyn Operations>,
        settings: AzureSettings,
        store: Store,
    ) -> Arc<Self> {
        Arc::new(Self {
            resource,
            operations,
            cache: TtlCache::new(settings.cache_ttl),
            prompts: Prompts::new(store.clone(), settings.confirm_ttl),
            store,
            settings,
            following: Mutex::default(),
        })
    }

    /// The resource type, for its domain-specific commands.
    pub fn resource(&self) -> &R {
        &self.resource
    }

    /// The plugin with its group, `/GROUP list`, `/GROUP status` and what follows its
    /// operations again after a restart; add the domain's commands, then
    /// [`ResourceFlow::with_actions`].
    pub fn plugin(self: &Arc<Self>) -> Plugin {
        let names = self.resource.names();
        Plugin::new(names.group)
            .group(names.group, names.group_description)
            .command(List(Arc::clone(self)))
            .command(Status(Arc::clone(self)))
            .follower(Arc::clone(self) as Arc<dyn Follower>)
    }

    /// The plugin of `resource` with only the generic commands: [`ResourceFlow::plugin`]
    /// and its actions.
    pub fn generic_plugin(
        resource: R,
        operations: Arc<dyn Operations>,
        settings: AzureSettings,
        store: Store,
    ) -> Plugin {
        let flow = Self::new(resource, operations, settings, store);
        flow.with_actions(flow.plugin())
    }

    /// `plugin` with one command per action, in the order the resource type gives.
    pub fn with_actions(self: &Arc<Self>, plugin: Plugin) -> Plugin {
        self.resource
            .actions()
            .into_iter()
            .fold(plugin, |plugin, spec| {
                plugin.command(Act::new(spec, Arc::clone(self)))
            })
    }

    /// The resource list, from the cache when it is fresh.
    pub async fn summaries(&self) -> Result<Arc<Vec<R::Summary>>, CommandError> {
        self.cache
            .get(|| self.resource.list(None))
            .await
            .map_err(azure_error)
    }

    /// Parses the `name` option: `name` or `resource_group/name`, checked against
    /// Azure's rules.
    pub fn parse(&self, input: &str) -> Result<Target<R::Name>, CommandError> {
        Target::parse(input, |name| self.resource.parse_name(name))
            .map_err(|error| CommandError::user(error.to_string()))
    }

    /// The one resource the `name` option means.
    pub async fn resolve(&self, input: &str) -> Result<Resource<R::Name>, CommandError> {
        self.locate(self.parse(input)?).await
    }

    /// The one resource the command's `name` option means, once the caller may act on
    /// its resource group: the first steps of every command on one resource.
    pub async fn authorized_target(
        &self,
        ctx: &Context,
    ) -> Result<Resource<R::Name>, CommandError> {
        let options: NameOption = ctx.options()?;
        let target = self.resolve(&options.name).await?;
        ctx.authorize_in(&target.resource_group)?;
        Ok(target)
    }

    /// The one resource a parsed `name` option means: looked up in the cached list
    /// when no resource group was given.
    pub async fn locate(&self, target: Target<R::Name>) -> Result<Resource<R::Name>, CommandError> {
        match target.resource_group {
            Some(resource_group) => Ok(Resource {
                resource_group,
                name: target.name,
            }),
            None => self.unique(&target.name, &self.summaries().await?),
        }
    }

    /// The resource a stored prompt names, checked again as if typed.
    pub(crate) fn prompted(
        &self,
        target: PromptedTarget,
    ) -> Result<Resource<R::Name>, CommandError> {
        Ok(Resource {
            resource_group: ResourceGroupName::new(&target.resource_group)
                .map_err(CommandError::internal)?,
            name: self
                .resource
                .parse_name(&target.name)
                .map_err(CommandError::internal)?,
        })
    }

    /// Suggestions for the `name` option, from the cached list: resources whose
    /// `resource_group/name` contains what was typed, in groups the caller may act on.
    pub async fn suggest(
        &self,
        ctx: &AutocompleteContext,
    ) -> Result<Vec<CommandOptionChoice>, CommandError> {
        let summaries = self.summaries().await?;
        let typed = ctx.partial.trim().to_lowercase();
        Ok(summaries
            .iter()
            .map(|item| (item, format!("{}/{}", item.resource_group(), item.name())))
            .filter(|(_, value)| value.len() <= 100 && value.to_lowercase().contains(&typed))
            .filter(|(item, _)| ctx.may_use_resource_group(item.resource_group()))
            .take(25)
            .map(|(item, value)| {
                let state = self.resource.state(item);
                let label = format!(
                    "{} · {} · {}",
                    item.name(),
                    item.resource_group(),
                    state.as_deref().unwrap_or("unknown")
                );
                choice(&label, value)
            })
            .collect())
    }

    /// The one resource a name without a resource group means, in `summaries`.
    fn unique(
        &self,
        name: &R::Name,
        summaries: &[R::Summary],
    ) -> Result<Resource<R::Name>, CommandError> {
        let names = self.resource.names();
        let found = find_unique(
            &name.to_string(),
            summaries,
            names.noun,
            &format!("/{} list", names.group),
        )
        .map_err(CommandError::user)?;
        Ok(Resource {
            resource_group: ResourceGroupName::new(found.resource_group())
                .map_err(CommandError::internal)?,
            name: self
                .resource
                .parse_name(found.name())
                .map_err(CommandError::internal)?,
        })
    }
}

impl<R: ResourceType> ResourceFlow<R> {
    /// Takes or renews this process's lease on the operation `id` for
    /// [`AzureSettings::lease`]; whether this process holds it.
    pub(crate) async fn claim(&self, id: &str) -> Result<bool, azcord_store::StoreError> {
        let until = SystemTime::now() + self.settings.lease;
        self.store
            .claim(&lease_name(id), self.store.owner(), until)
            .await
    }

    /// Takes this process's lease on the operation `id`, which no live process follows:
    /// on an exclusive store (one process per file) whoever held it is gone, so the
    /// lease is not waited out; on a shared store only a free or expired lease is taken.
    pub(crate) async fn claim_orphaned(&self, id: &str) -> Result<bool, azcord_store::StoreError> {
        let until = SystemTime::now() + self.settings.lease;
        self.store
            .claim_orphaned(&lease_name(id), self.store.owner(), until)
            .await
    }

    /// Runs `follow` while renewing the lease on the operation `id` three times per
    /// lease, so that the lease outlives a slow store call but not a dead process.
    pub(crate) async fn holding_lease<T>(&self, id: &str, follow: impl Future<Output = T>) -> T {
        let renew = self.renew_forever(id);
        tokio::select! {
            result = follow => result,
            never = renew => match never {},
        }
    }

    /// Renews the lease on the operation `id` three times per lease until dropped.
    async fn renew_forever(&self, id: &str) -> std::convert::Infallible {
        let mut ticks = tokio::time::interval(self.settings.lease / 3);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match self.claim(id).await {
                Ok(true) => {}
                // Following goes on: Azure's outcome still reaches the user, and a second
                // follower only repeats it.
                Ok(false) => tracing::warn!("the lease on an operation was taken over"),
                Err(error) => {
                    tracing::warn!(error = %error, "could not renew the lease on an operation");
                }
            }
        }
    }

    /// Notes that this process follows the operation `id`; whether it did not already.
    pub(crate) fn start_following(&self, id: &str) -> bool {
        self.following
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned())
    }

    /// Notes that this process no longer follows the operation `id`.
    pub(crate) fn stop_following(&self, id: &str) {
        self.following
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Hands the operation `id` over to the next process: stops following it and gives
    /// up its lease, leaving its record, and tells the processes sharing the store, so
    /// that a running one takes it over at once, as does one that starts.
    pub(crate) async fn hand_over(&self, id: &str) {
        self.stop_following(id);
        match self
            .store
            .hand_over(&lease_name(id), self.store.owner())
            .await
        {
            Ok(_) => tracing::info!("handed an operation over to the next process"),
            // Left to expire, or to the next look: another process takes it over then.
            Err(error) => {
                tracing::warn!(error = %error, "could not hand over an operation at once");
            }
        }
    }

    /// Forgets the operation `id` once it ended, and gives up its lease; what is left
    /// behind expires.
    pub(crate) async fn forget(&self, id: &str) {
        // Followed until the record is gone, so that a takeover in this process never
        // finds it unfollowed.
        if let Err(error) = self.store.remove_operation(id).await {
            tracing::warn!(error = %error, "could not remove the record of an ended operation");
        }
        if let Err(error) = self
            .store
            .release(&lease_name(id), self.store.owner())
            .await
        {
            tracing::warn!(error = %error, "could not release the lease on an ended operation");
        }
        self.stop_following(id);
    }
}

/// The lease on the operation `id`.
fn lease_name(id: &str) -> String {
    format!("operation/{id}")
}

/// An autocomplete choice, with the label cut to Discord's 100 characters.
pub fn choice(label: &str, value: String) -> CommandOptionChoice {
    CommandOptionChoice {
        name: label.chars().take(100).collect(),
        name_localizations: None,
        value: CommandOptionChoiceValue::String(value),
    }
}
