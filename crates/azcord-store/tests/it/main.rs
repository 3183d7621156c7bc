//! The store's integration tests: one conformance suite run against every backend.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod conformance;
mod harness;
mod redis_faults;
mod redis_releases;
mod redis_tls;
