//! xtask's integration tests: the delivery tasks run as a user runs them.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod ci;
mod config;
mod deny;
mod deploy;
mod support;
mod tools;
