//! The command layer of azcord: the [`Command`] trait that plugins implement, the
//! [`Registry`] of all commands, and the [`Dispatcher`] that turns Discord interactions
//! into command runs and replies.
//!
//! This crate does no network I/O of its own. Replies leave through a [`Responder`],
//! which the gateway crate implements over Discord's REST API and tests implement in
//! memory.

mod audit;
mod cache;
mod command;
mod confirm;
mod context;
mod dispatch;
mod error;
mod follow;
mod policy;
mod registry;
mod reply;
mod table;
#[cfg(feature = "testing")]
pub mod testing;

pub use audit::{AuditEvent, AuditOutcome, AuditSink};
pub use azcord_secret::Secret;
pub use cache::TtlCache;
pub use command::{BoxFuture, Command, CommandKind, Example, Signature};
pub use confirm::{Answer, Confirmations};
pub use context::{AutocompleteContext, Caller, ComponentContext, Context, Progress};
pub use dispatch::{
    DispatchConfig, DispatchObserver, Dispatcher, Finished, INTERACTION_TOKEN_LIFETIME,
    InteractionTarget, IntoInteraction, Outcome, RespondError, Responder,
};
pub use error::{CommandError, UserError};
pub use follow::{Follower, Notifier, Shutdown};
pub use policy::{CommandPattern, Decision, Policy, Rule};
pub use registry::{Catalog, Group, Plugin, Registry, RegistryError, Resolved};
pub use reply::{Button, ButtonStyle, Reply};
pub use table::code_block_table;

/// Re-exported so that plugins name the same twilight types as this crate.
pub use twilight_interactions;
pub use twilight_model;
