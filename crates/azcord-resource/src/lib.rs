//! One action flow for every Azure resource type, between the command layer and the
//! Azure client layer.
//!
//! A resource type (VMs, container groups, ...) implements [`ResourceType`]: its names,
//! how to list it, how to begin an action and a spec per action. [`ResourceFlow`] turns
//! that into the generic `list`, action and autocomplete commands, so that resolving a
//! name, authorizing it, confirming, beginning and following an action are written
//! once. azcord-azure knows nothing of Discord replies and azcord-command nothing of
//! Azure; this crate is where the two meet, so that every Azure plugin answers alike.

mod authorize;
mod commands;
mod error;
mod flow;
mod prompt;
pub mod render;
mod resource;
mod takeover;

pub use authorize::AuthorizeResourceGroup;
/// The store the flow records confirmations and operations in.
pub use azcord_store::Store;
pub use commands::{Act, List, NOT_RECORDED, NameOption, Status, name_option};
pub use error::{IntoCommandError, azure_error};
pub use flow::{ResourceFlow, choice};
pub use resource::{
    ActionExample, ActionSpec, AzureSettings, Resource, ResourceNames, ResourceType, StatusSpec,
    Verbs, confirms,
};
pub use takeover::RESTARTED_BEFORE_BEGUN;
