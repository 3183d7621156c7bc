//! How a Discord reply words an Azure failure.

use azcord_azure::AzureError;
use azcord_command::CommandError;

/// How a command answers an Azure failure.
pub trait IntoCommandError {
    /// Azure's code and message, worded by `describe`, when the user can act on them; a
    /// reference to the trace otherwise.
    fn into_command_error(self, describe: impl FnOnce(&str) -> String) -> CommandError;
}

impl IntoCommandError for AzureError {
    fn into_command_error(self, describe: impl FnOnce(&str) -> String) -> CommandError {
        if self.code.is_some() || self.is_users_to_fix() {
            CommandError::user(describe(&self.user_message()))
        } else {
            CommandError::internal(self)
        }
    }
}

/// An Azure failure as the caller sees it: Azure's code and message when it sent them,
/// a reference to the trace otherwise.
pub fn azure_error(error: AzureError) -> CommandError {
    error.into_command_error(str::to_owned)
}

#[cfg(test)]
mod tests {
    use azcord_azure::AzureErrorKind;

    use super::*;

    #[test]
    fn users_see_what_they_can_act_on_and_a_reference_otherwise() {
        let cases = [
            (AzureErrorKind::NotFound, None, true),
            (AzureErrorKind::Refused, Some("OperationNotAllowed"), true),
            (
                AzureErrorKind::ServerError,
                Some("InternalServerError"),
                true,
            ),
            (AzureErrorKind::ServerError, None, false),
            (AzureErrorKind::Credential, None, false),
        ];
        for (kind, code, shown) in cases {
            let error = AzureError {
                code: code.map(str::to_owned),
                ..AzureError::new(kind, "the message")
            };
            let answer = error.into_command_error(|reason| format!("cannot: {reason}"));
            assert_eq!(
                format!("{answer:?}").contains("cannot: "),
                shown,
                "{kind:?} {code:?}: {answer:?}"
            );
        }
    }
}
