//! Tokens for Resource Manager: a chain in the style of `DefaultAzureCredential` over
//! azure_identity 0.21's credentials, which keeps the first source that answers and
//! scrubs secrets from its errors.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use azcord_secret::Secret;
use azure_core::{
    HttpClient, Url,
    auth::{AccessToken, TokenCredential},
    error::{Error, ErrorKind},
};
use azure_identity::{
    AppServiceManagedIdentityCredential, AzureCliCredential, ClientSecretCredential,
    TokenCredentialOptions, VirtualMachineManagedIdentityCredential,
};

use crate::{
    AzureError, AzureErrorKind,
    config::{CredentialSource, ServicePrincipal},
    errors_map::chain_message,
};

/// How long the instance metadata endpoint may take to answer the first time. Outside
/// Azure its address often swallows packets, and the chain must move on to the CLI.
const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long any source may take for one token (the Azure CLI is slow to start).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the credential `source` describes.
pub(crate) fn credential(
    source: &CredentialSource,
    http_client: Arc<dyn HttpClient>,
) -> Result<Arc<CredentialChain>, AzureError> {
    let options = TokenCredentialOptions::from(http_client.clone());
    let managed_identity = || {
        let mut sources = Vec::new();
        // Set by App Service and Functions, and by some container hosts; absent on a VM.
        if let Ok(credential) = AppServiceManagedIdentityCredential::create(options.clone()) {
            sources.push(ChainSource::new(
                "managed identity (IDENTITY_ENDPOINT)",
                Arc::new(credential),
                None,
            ));
        }
        sources.push(ChainSource::new(
            "managed identity (instance metadata)",
            Arc::new(VirtualMachineManagedIdentityCredential::new(
                options.clone(),
            )),
            Some(IMDS_PROBE_TIMEOUT),
        ));
        sources
    };
    let cli = || ChainSource::new("Azure CLI", Arc::new(AzureCliCredential::new()), None);
    let chain = match source {
        CredentialSource::ServicePrincipal(principal) => {
            let credential = service_principal(principal, http_client)?;
            CredentialChain::new(vec![ChainSource::new(
                "service principal",
                credential,
                None,
            )])
            .with_secret(principal.client_secret.clone())
        }
        CredentialSource::ManagedIdentityOrAzureCli => {
            let mut sources = managed_identity();
            sources.push(cli());
            CredentialChain::new(sources)
        }
        CredentialSource::ManagedIdentity => CredentialChain::new(managed_identity()),
        CredentialSource::AzureCli => CredentialChain::new(vec![cli()]),
    };
    Ok(Arc::new(chain))
}

fn service_principal(
    principal: &ServicePrincipal,
    http_client: Arc<dyn HttpClient>,
) -> Result<Arc<dyn TokenCredential>, AzureError> {
    let authority = Url::parse(&principal.authority_host).map_err(|_| {
        AzureError::new(
            AzureErrorKind::Credential,
            format!(
                "the authority host `{}` is not a URL",
                principal.authority_host
            ),
        )
    })?;
    Ok(Arc::new(ClientSecretCredential::new(
        http_client,
        authority,
        principal.tenant_id.clone(),
        principal.client_id.clone(),
        principal.client_secret.expose().to_owned(),
    )))
}

/// Tries its sources in order until one gives a token, then sticks to that one, so that
/// a developer's machine does not probe the metadata endpoint before every call.
#[derive(Debug)]
pub(crate) struct CredentialChain {
    sources: Vec<ChainSource>,
    chosen: Mutex<Option<usize>>,
    secrets: Vec<Secret>,
}

#[derive(Debug)]
pub(crate) struct ChainSource {
    name: &'static str,
    credential: Arc<dyn TokenCredential>,
    /// A shorter timeout while the source has not answered yet.
    probe_timeout: Option<Duration>,
}

impl ChainSource {
    pub(crate) fn new(
        name: &'static str,
        credential: Arc<dyn TokenCredential>,
        probe_timeout: Option<Duration>,
    ) -> Self {
        Self {
            name,
            credential,
            probe_timeout,
        }
    }
}

impl CredentialChain {
    pub(crate) fn new(sources: Vec<ChainSource>) -> Self {
        Self {
            sources,
            chosen: Mutex::new(None),
            secrets: Vec::new(),
        }
    }

    /// Makes sure `secret` never appears in an error message.
    pub(crate) fn with_secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// The name of the source that answered, once one has.
    pub(crate) fn chosen(&self) -> Option<&'static str> {
        self.chosen_index().map(|index| self.sources[index].name)
    }

    fn chosen_index(&self) -> Option<usize> {
        *self.chosen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        if let Some(index) = self.chosen_index() {
            let source = &self.sources[index];
            return self
                .token_from(source, scopes, TOKEN_TIMEOUT)
                .await
                .map_err(|message| {
                    Error::message(ErrorKind::Credential, format!("{}: {message}", source.name))
                });
        }
        let mut failures = Vec::new();
        for (index, source) in self.sources.iter().enumerate() {
            match self
                .token_from(
                    source,
                    scopes,
                    source.probe_timeout.unwrap_or(TOKEN_TIMEOUT),
                )
                .await
            {
                Ok(token) => {
                    tracing::info!(credential = source.name, "azure credential found");
                    *self.chosen.lock().unwrap_or_else(PoisonError::into_inner) = Some(index);
                    return Ok(token);
                }
                Err(message) => failures.push(format!("{}: {message}", source.name)),
            }
        }
        let message = match failures.as_slice() {
            [only] => only.clone(),
            _ => format!("no credential answered ({})", failures.join("; ")),
        };
        Err(Error::message(ErrorKind::Credential, message))
    }

    /// A token from `source`, or why not, with secrets scrubbed.
    async fn token_from(
        &self,
        source: &ChainSource,
        scopes: &[&str],
        timeout: Duration,
    ) -> Result<AccessToken, String> {
        let message = match tokio::time::timeout(timeout, source.credential.get_token(scopes)).await
        {
            Ok(Ok(token)) => return Ok(token),
            Ok(Err(error)) => chain_message(&error),
            Err(_) => format!("no answer within {} s", timeout.as_secs()),
        };
        let message = scrub(message, &self.secrets);
        tracing::warn!(credential = source.name, error = %message, "azure credential failed");
        Err(message)
    }

    async fn clear(&self) -> azure_core::Result<()> {
        for source in &self.sources {
            source.credential.clear_cache().await?;
        }
        Ok(())
    }
}

impl TokenCredential for CredentialChain {
    fn get_token<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        scopes: &'life1 [&'life2 str],
    ) -> Pin<Box<dyn Future<Output = azure_core::Result<AccessToken>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.token(scopes))
    }

    fn clear_cache<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = azure_core::Result<()>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(self.clear())
    }
}

/// `message` with every secret replaced by `<redacted>`.
fn scrub(mut message: String, secrets: &[Secret]) -> String {
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        message = message.replace(secret.expose(), "<redacted>");
    }
    message
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A credential that answers from a script, counting its calls.
    #[derive(Debug)]
    pub(crate) struct FakeCredential {
        pub(crate) answer: Result<&'static str, &'static str>,
        pub(crate) calls: AtomicU32,
        pub(crate) hang: bool,
    }

    impl FakeCredential {
        pub(crate) fn new(answer: Result<&'static str, &'static str>) -> Arc<Self> {
            Arc::new(Self {
                answer,
                calls: AtomicU32::new(0),
                hang: false,
            })
        }
    }

    impl TokenCredential for FakeCredential {
        fn get_token<'life0, 'life1, 'life2, 'async_trait>(
            &'life0 self,
            _scopes: &'life1 [&'life2 str],
        ) -> Pin<Box<dyn Future<Output = azure_core::Result<AccessToken>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            'life2: 'async_trait,
            Self: 'async_trait,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = self.answer;
            let hang = self.hang;
            Box::pin(async move {
                if hang {
                    std::future::pending::<()>().await;
                }
                match answer {
                    Ok(token) => {
                        let expires_on = azure_core::date::parse_rfc3339("2999-01-01T00:00:00Z")?;
                        Ok(AccessToken::new(
                            azure_core::auth::Secret::new(token),
                            expires_on,
                        ))
                    }
                    Err(message) => Err(Error::message(ErrorKind::Credential, message)
                        .context("request token error")),
                }
            })
        }

        fn clear_cache<'life0, 'async_trait>(
            &'life0 self,
        ) -> Pin<Box<dyn Future<Output = azure_core::Result<()>> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_chain_keeps_the_first_source_that_answers() {
        let imds = Arc::new(FakeCredential {
            answer: Ok("never"),
            calls: AtomicU32::new(0),
            hang: true,
        });
        let cli = FakeCredential::new(Ok("token-from-cli"));
        let chain = CredentialChain::new(vec![
            ChainSource::new(
                "managed identity",
                imds.clone(),
                Some(Duration::from_secs(5)),
            ),
            ChainSource::new("Azure CLI", cli.clone(), None),
        ]);
        assert_eq!(chain.chosen(), None);
        for _ in 0..3 {
            let token = chain
                .get_token(&["https://management.azure.com/.default"])
                .await
                .unwrap();
            assert_eq!(token.token.secret(), "token-from-cli");
        }
        assert_eq!(chain.chosen(), Some("Azure CLI"));
        assert_eq!(
            (
                imds.calls.load(Ordering::SeqCst),
                cli.calls.load(Ordering::SeqCst)
            ),
            (1, 3)
        );
    }

    #[tokio::test]
    async fn chain_errors_name_every_source_and_never_a_secret() {
        let chain = CredentialChain::new(vec![
            ChainSource::new(
                "service principal",
                FakeCredential::new(Err("AADSTS7000215: bad secret 'hunter2-xyz'")),
                None,
            ),
            ChainSource::new(
                "Azure CLI",
                FakeCredential::new(Err("Azure CLI not installed")),
                None,
            ),
        ])
        .with_secret(Secret::new("hunter2-xyz"));
        let error = chain.get_token(&["scope"]).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::Credential);
        assert_eq!(
            error.to_string(),
            "no credential answered (service principal: request token error: AADSTS7000215: bad secret '<redacted>'; \
             Azure CLI: request token error: Azure CLI not installed)"
        );
        let mapped = crate::errors_map::map_error(&error);
        assert_eq!(mapped.kind, AzureErrorKind::Credential);
        assert!(!format!("{mapped} {mapped:?} {}", mapped.user_message()).contains("hunter2"));
    }
}
