//! End-to-end tests: the real bot, through the real twilight clients, against the
//! Discord simulator over loopback.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod azure;
mod fuzz_corpus;
mod gateway;
mod gateway_state;
mod process;
mod pty;
mod replicas;
mod replies;
mod restart;
mod run;
mod serve;
mod shell;
mod support;
mod telemetry;
mod tls;
