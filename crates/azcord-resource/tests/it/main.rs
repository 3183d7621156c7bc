//! The resource flow from outside, on a resource type of the tests' own.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod flow;
