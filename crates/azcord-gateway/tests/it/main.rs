//! The gateway against the Discord simulator over loopback: how shards are supervised,
//! and how the audit channel posts.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod audit;
mod sessions;
mod supervision;
