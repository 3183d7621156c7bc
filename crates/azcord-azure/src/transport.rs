//! The HTTP clients of both azure_core versions (0.21 under the azure_mgmt clients and
//! azcord's own calls, 1.x under azure_identity), built once per connection over one
//! rustls configuration from azcord-tls: the compiled-in roots plus `SSL_CERT_FILE`.

use std::sync::Arc;

use crate::{AzureError, AzureErrorKind, TlsTrust};

/// The two clients, sharing one TLS configuration.
#[derive(Clone, Debug)]
pub(crate) struct Transports {
    /// For azure_core 0.21: Resource Manager.
    pub(crate) arm: Arc<dyn azure_core::HttpClient>,
    /// For azure_core 1.x: Entra ID and the managed identity endpoints.
    pub(crate) identity: Arc<dyn azure_core_1::http::HttpClient>,
}

impl Transports {
    /// Builds both clients over `trust`.
    pub(crate) fn new(trust: &TlsTrust) -> Result<Self, AzureError> {
        let tls = trust.client_config().map_err(|error| {
            AzureError::new(
                AzureErrorKind::Transport,
                format!("cannot set up tls: {error}"),
            )
        })?;
        let failed = |error: &dyn std::fmt::Display| {
            AzureError::new(
                AzureErrorKind::Transport,
                format!("cannot build the http client: {error}"),
            )
        };
        let arm = reqwest::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&tls))
            .build()
            .map_err(|error| failed(&error))?;
        let identity = reqwest_0_13::Client::builder()
            .tls_backend_preconfigured(rustls::ClientConfig::clone(&tls))
            .build()
            .map_err(|error| failed(&error))?;
        Ok(Self {
            arm: Arc::new(arm),
            identity: Arc::new(identity),
        })
    }
}
