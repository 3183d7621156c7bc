//! The gateway against the Discord simulator over loopback: how shards are supervised.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod supervision;
