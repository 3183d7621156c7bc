//! Tokens for Resource Manager: azure_identity 1.x's credentials, adapted to the
//! azure_core 0.21 `TokenCredential` that the azure_mgmt 0.21 clients take
//! ([`IdentityCredential`]), in a chain in the style of `DefaultAzureCredential` that
//! keeps the first source that answers and scrubs secrets from its errors.
//!
//! Which source [`credential`] builds follows [`CredentialSource`], which
//! `config::credential_from_env` chooses; the order is documented in
//! docs/configuration.md.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use azcord_secret::Secret;
use azure_core::{
    auth::{AccessToken, TokenCredential},
    error::{Error, ErrorKind},
};
use azure_core_1::{
    cloud::{CloudConfiguration, CustomConfiguration},
    credentials::TokenCredential as IdentityTokenCredential,
    http::{ClientOptions, ExponentialRetryOptions, RetryOptions, Transport},
};
use azure_identity::{
    AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

use crate::{
    AzureError, AzureErrorKind,
    config::{CredentialSource, RetrySettings},
    errors_map::chain_message,
    transport::Transports,
};

/// How long the instance metadata endpoint may take to answer the first time. Outside
/// Azure its address often swallows packets, and the chain must move on to the CLI.
const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long any source may take for one token (the Azure CLI is slow to start).
const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds the credential `source` describes, whose token requests go through
/// `transports` (and so trust what azcord's TLS trusts) and retry as `retry` says.
pub(crate) fn credential(
    source: &CredentialSource,
    transports: &Transports,
    retry: &RetrySettings,
) -> Result<Arc<CredentialChain>, AzureError> {
    let options = IdentityOptions {
        http_client: transports.identity.clone(),
        retry: *retry,
    };
    let managed_identity = |user_assigned_id: Option<UserAssignedId>| {
        let options = options.clone();
        let build = move || {
            let credential: Arc<dyn IdentityTokenCredential> =
                ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                    user_assigned_id: user_assigned_id.clone(),
                    client_options: options.client_options(None),
                }))?;
            Ok(credential)
        };
        IdentityCredential::new(build)
    };
    let cli = || {
        IdentityCredential::new(|| {
            let credential: Arc<dyn IdentityTokenCredential> = AzureCliCredential::new(None)?;
            Ok(credential)
        })
    };
    let chain = match source {
        CredentialSource::ServicePrincipal(principal) => {
            let (tenant_id, client_id, secret) = (
                principal.tenant_id.clone(),
                principal.client_id.clone(),
                principal.client_secret.clone(),
            );
            let authority = principal.authority_host.clone();
            let options = options.clone();
            let credential = IdentityCredential::new(move || {
                let credential: Arc<dyn IdentityTokenCredential> = ClientSecretCredential::new(
                    &tenant_id,
                    client_id.clone(),
                    azure_core_1::credentials::Secret::new(secret.expose().to_owned()),
                    Some(ClientSecretCredentialOptions {
                        client_options: options.client_options(Some(&authority)),
                    }),
                )?;
                Ok(credential)
            })?;
            CredentialChain::new(vec![ChainSource::new(
                "service principal",
                Arc::new(credential),
                None,
            )])
            .with_secret(principal.client_secret.clone())
        }
        CredentialSource::WorkloadIdentity(workload) => {
            let workload = workload.clone();
            let options = options.clone();
            let credential = IdentityCredential::new(move || {
                let credential: Arc<dyn IdentityTokenCredential> =
                    WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: options.client_options(Some(&workload.authority_host)),
                        },
                        client_id: Some(workload.client_id.clone()),
                        tenant_id: Some(workload.tenant_id.clone()),
                        token_file_path: Some(workload.token_file.clone()),
                    }))?;
                Ok(credential)
            })?;
            // The token file is read when the credential is built, so a missing file
            // fails at startup, and the federated token is only ever held by azure_identity.
            CredentialChain::new(vec![ChainSource::new(
                "workload identity",
                Arc::new(credential),
                None,
            )])
        }
        CredentialSource::UserAssignedManagedIdentity { client_id } => {
            let credential = managed_identity(Some(UserAssignedId::ClientId(client_id.clone())))?;
            CredentialChain::new(vec![ChainSource::new(
                "user-assigned managed identity",
                Arc::new(credential),
                None,
            )])
        }
        CredentialSource::ManagedIdentityOrAzureCli => {
            let mut sources = Vec::new();
            // Where azure_identity supports no managed identity (Cloud Shell, Arc), the
            // CLI is the only source left rather than a reason to stop.
            match managed_identity(None) {
                Ok(credential) => sources.push(ChainSource::new(
                    "managed identity",
                    Arc::new(credential),
                    Some(IMDS_PROBE_TIMEOUT),
                )),
                Err(error) => {
                    tracing::info!(%error, "no managed identity here; trying the Azure CLI");
                }
            }
            sources.push(ChainSource::new("Azure CLI", Arc::new(cli()?), None));
            CredentialChain::new(sources)
        }
        CredentialSource::ManagedIdentity => CredentialChain::new(vec![ChainSource::new(
            "managed identity",
            Arc::new(managed_identity(None)?),
            None,
        )]),
        CredentialSource::AzureCli => {
            CredentialChain::new(vec![ChainSource::new("Azure CLI", Arc::new(cli()?), None)])
        }
    };
    Ok(Arc::new(chain))
}

/// What every azure_identity credential is built with: azcord's HTTP client and retries.
#[derive(Clone, Debug)]
struct IdentityOptions {
    http_client: Arc<dyn azure_core_1::http::HttpClient>,
    retry: RetrySettings,
}

impl IdentityOptions {
    /// Client options over azcord's transport; with `authority_host` when the credential
    /// signs in at Entra ID, so that azure_identity does not read `AZURE_AUTHORITY_HOST`
    /// behind azcord's back.
    fn client_options(&self, authority_host: Option<&str>) -> ClientOptions {
        let cloud = authority_host.map(|host| {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = host.to_owned();
            Arc::new(CloudConfiguration::from(custom))
        });
        let duration =
            |value: Duration| azure_core_1::time::Duration::try_from(value).unwrap_or_default();
        ClientOptions {
            transport: Some(Transport::new(self.http_client.clone())),
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: duration(self.retry.initial_delay),
                max_retries: self.retry.max_retries,
                max_total_elapsed: duration(self.retry.max_elapsed),
                max_delay: duration(self.retry.max_delay),
            }),
            cloud,
            ..Default::default()
        }
    }
}

type BuildCredential =
    dyn Fn() -> azure_core_1::Result<Arc<dyn IdentityTokenCredential>> + Send + Sync;

/// An azure_identity 1.x credential as an azure_core 0.21 `TokenCredential`.
///
/// azure_identity 1.x caches tokens inside each credential and has no way to drop that
/// cache, which the pipeline asks for when Azure refuses a token before its expiry;
/// so clearing the cache builds the credential afresh.
pub(crate) struct IdentityCredential {
    build: Box<BuildCredential>,
    current: Mutex<Arc<dyn IdentityTokenCredential>>,
}

impl std::fmt::Debug for IdentityCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCredential").finish_non_exhaustive()
    }
}

impl IdentityCredential {
    /// Builds the credential with `build`, which is called again by `clear_cache`.
    pub(crate) fn new(
        build: impl Fn() -> azure_core_1::Result<Arc<dyn IdentityTokenCredential>>
        + Send
        + Sync
        + 'static,
    ) -> Result<Self, AzureError> {
        let current = build().map_err(|error| {
            AzureError::new(AzureErrorKind::Credential, identity_message(&error))
        })?;
        Ok(Self {
            build: Box::new(build),
            current: Mutex::new(current),
        })
    }

    fn current(&self) -> Arc<dyn IdentityTokenCredential> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let token = self
            .current()
            .get_token(scopes, None)
            .await
            .map_err(|error| Error::message(ErrorKind::Credential, identity_message(&error)))?;
        Ok(AccessToken::new(
            azure_core::auth::Secret::new(token.token.secret().to_owned()),
            token.expires_on,
        ))
    }

    fn rebuild(&self) -> azure_core::Result<()> {
        let fresh = (self.build)()
            .map_err(|error| Error::message(ErrorKind::Credential, identity_message(&error)))?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(())
    }
}

/// Implements azure_core 0.21's `TokenCredential` (an async-trait, written out by hand
/// to keep the macro crate out) for a type with `async fn token(&self, scopes)`; `$clear`
/// is the future `clear_cache` returns.
macro_rules! impl_token_credential {
    ($credential:ty, |$this:ident| $clear:expr) => {
        impl TokenCredential for $credential {
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
                let $this = self;
                Box::pin($clear)
            }
        }
    };
}

impl_token_credential!(IdentityCredential, |this| {
    let result = this.rebuild();
    async move { result }
});

/// An azure_core 1.x error and its sources on one line, each part once: azure_identity
/// puts Entra ID's `AADSTS…` description in the message, and a TLS failure sits
/// several sources down (`invalid peer certificate: UnknownIssuer`).
pub(crate) fn identity_message(error: &azure_core_1::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        let text = error
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("To troubleshoot"))
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
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

impl_token_credential!(CredentialChain, |this| this.clear());

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
