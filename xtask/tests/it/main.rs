//! xtask's integration tests: the delivery tasks run as a user runs them.

mod deny;
mod tools;
