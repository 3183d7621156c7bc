//! [`StoreError`]: what went wrong with the store, by kind.

use std::{error::Error as StdError, fmt};

/// A store operation that failed, with its kind.
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached: the server is down, the file cannot be written,
    /// or it did not answer in time. Trying again later may work.
    Unavailable,
    /// The store answered and refused the request: out of memory, read-only, not
    /// allowed, a value too large, or the file is held by another process.
    Refused,
    /// What the store holds cannot be read back: a damaged file, an entry that does
    /// not decode, or a token sealed with another key.
    Corrupt,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unavailable => "store unavailable",
            Self::Refused => "store refused the request",
            Self::Corrupt => "store entry unreadable",
        })
    }
}

impl StoreError {
    /// An error of `kind`, described by `message`.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(
        kind: StoreErrorKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Why it failed.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}
