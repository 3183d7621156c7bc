//! azcord-azure against the ARM simulator over loopback: the real azure_identity and
//! azure_mgmt_* clients, azcord's pipeline, and Azure's side driven by the test.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod auth;
mod containers;
mod faults;
mod identity;
mod spans;
mod support;
mod vms;
mod web;
