//! Which Azure the bot talks to: a real subscription, the built-in simulator, or none.

use azcord_azure::{Azure, AzureError, AzureErrorKind};

/// Azure for a bot with no subscription configured: every call explains what to set.
pub(crate) fn unconfigured() -> Azure {
    Azure::refusing(AzureError {
        code: Some("NotConfigured".to_owned()),
        ..AzureError::new(
            AzureErrorKind::Credential,
            "this azcord has no Azure subscription configured; its operators set AZURE_SUBSCRIPTION_ID and credentials",
        )
    })
}
