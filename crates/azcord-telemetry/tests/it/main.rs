//! Integration tests for azcord-telemetry, over loopback only.

// Test helpers outside #[test] functions may unwrap too (clippy.toml allows it in tests).
#![allow(clippy::unwrap_used)]

mod admin;
mod export;
mod http;
