//! End-to-end tests of the simulators, driven by the real twilight clients over loopback.

mod arm;
mod deployments;
mod discord_py;
mod gateway;
mod interactions;
mod python_sdk;
mod rest;
mod sessions;
mod support;
