use std::{error::Error, fmt};

/// Why a command did not produce its reply.
///
/// A [`CommandError::User`] is a sentence fit for Discord, shown to the caller as it is.
/// A [`CommandError::Internal`] is a failure the caller can do nothing about: they see a
/// short message with a correlation id, and the details go to the trace.
#[derive(Debug)]
#[non_exhaustive]
pub enum CommandError {
    /// The caller asked for something that cannot be done; the message says why.
    User(UserError),
    /// The policy does not let the caller do this (known only once the command has
    /// looked at its options, such as a resource group); the message says why.
    Denied(UserError),
    /// Something broke inside the bot or a service it depends on.
    Internal(Box<dyn Error + Send + Sync>),
}

impl CommandError {
    /// An error shown to the caller as it is.
    pub fn user(message: impl Into<String>) -> Self {
        Self::User(UserError::new(message))
    }

    /// An internal failure, hidden from the caller behind a correlation id.
    pub fn internal(error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(error) | Self::Denied(error) => error.fmt(f),
            Self::Internal(error) => write!(f, "internal error: {error}"),
        }
    }
}

impl Error for CommandError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::User(_) | Self::Denied(_) => None,
            Self::Internal(error) => Some(error.as_ref()),
        }
    }
}

impl From<UserError> for CommandError {
    fn from(error: UserError) -> Self {
        Self::User(error)
    }
}

/// A message for the person who ran the command: what went wrong and, where it
/// helps, what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    message: String,
}

impl UserError {
    /// Wraps a sentence fit for Discord.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The sentence shown to the caller.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for UserError {}
