//! Where azcord finds Azure: the subscription, the Resource Manager endpoint, the
//! credential and how patiently to retry, read from the environment.

use std::time::Duration;

use azcord_secret::Secret;

/// The public cloud's Resource Manager endpoint.
pub const PUBLIC_CLOUD_ENDPOINT: &str = "https://management.azure.com/";

/// The public cloud's Entra ID (Azure AD) authority.
pub const PUBLIC_CLOUD_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Everything [`crate::connect`] needs. `Debug` never shows the client secret.
#[derive(Debug, Clone)]
pub struct AzureConfig {
    /// The subscription whose VMs and container groups azcord manages.
    pub subscription_id: String,
    /// The Resource Manager endpoint, [`PUBLIC_CLOUD_ENDPOINT`] unless another cloud or
    /// the simulator is used.
    pub resource_manager_endpoint: String,
    /// How azcord gets its tokens.
    pub credential: CredentialSource,
    /// How often and how patiently failed calls are retried.
    pub retry: RetrySettings,
}

/// Where tokens come from, in the order `DefaultAzureCredential` would try them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A service principal's client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`).
    ServicePrincipal(ServicePrincipal),
    /// The managed identity of the VM, App Service or container group azcord runs in,
    /// else the signed-in Azure CLI (`az login`); the first that answers is kept.
    ManagedIdentityOrAzureCli,
    /// Only the system-assigned managed identity.
    ManagedIdentity,
    /// Only the signed-in Azure CLI.
    AzureCli,
}

/// A service principal that signs in with a client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret; redacted in `Debug`.
    pub client_secret: Secret,
    /// The Entra ID authority, [`PUBLIC_CLOUD_AUTHORITY`] unless `AZURE_AUTHORITY_HOST`
    /// names another (a national cloud, or the simulator).
    pub authority_host: String,
}

/// How failed calls are retried: 429 (honouring `Retry-After`), 408, 5xx and network
/// errors, with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// How many times a call is retried after its first attempt.
    pub max_retries: u32,
    /// The backoff before the first retry; it doubles with every retry.
    pub initial_delay: Duration,
    /// The longest backoff between two attempts.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// How long one attempt may wait for Azure's answer before it counts as a network
    /// error (and is retried).
    pub attempt_timeout: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

/// A configuration variable that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable} {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it, as the end of a sentence that starts with its name.
    pub problem: String,
}

impl AzureConfig {
    /// Reads the configuration through `lookup`, which answers an environment
    /// variable's value (`|name| std::env::var(name).ok()` in production):
    ///
    /// - `AZURE_SUBSCRIPTION_ID` (required);
    /// - `AZURE_RESOURCE_MANAGER_ENDPOINT` (default [`PUBLIC_CLOUD_ENDPOINT`]);
    /// - `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`: all three select
    ///   a service principal; none selects managed identity, then the Azure CLI;
    /// - `AZURE_AUTHORITY_HOST` (default [`PUBLIC_CLOUD_AUTHORITY`]).
    ///
    /// An empty value counts as unset. Retries take their defaults.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let subscription_id = var("AZURE_SUBSCRIPTION_ID").ok_or_else(|| ConfigError {
            variable: "AZURE_SUBSCRIPTION_ID",
            problem: "is not set; set it to the id of the subscription azcord manages".to_owned(),
        })?;
        let resource_manager_endpoint = var("AZURE_RESOURCE_MANAGER_ENDPOINT")
            .unwrap_or_else(|| PUBLIC_CLOUD_ENDPOINT.to_owned());
        check_url(
            "AZURE_RESOURCE_MANAGER_ENDPOINT",
            &resource_manager_endpoint,
        )?;
        let authority_host =
            var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| PUBLIC_CLOUD_AUTHORITY.to_owned());
        check_url("AZURE_AUTHORITY_HOST", &authority_host)?;

        let credential = match (
            var("AZURE_TENANT_ID"),
            var("AZURE_CLIENT_ID"),
            var("AZURE_CLIENT_SECRET"),
        ) {
            (Some(tenant_id), Some(client_id), Some(secret)) => {
                CredentialSource::ServicePrincipal(ServicePrincipal {
                    tenant_id,
                    client_id,
                    client_secret: Secret::new(secret),
                    authority_host,
                })
            }
            (tenant, _, Some(_)) => {
                let variable = if tenant.is_none() {
                    "AZURE_TENANT_ID"
                } else {
                    "AZURE_CLIENT_ID"
                };
                return Err(ConfigError {
                    variable,
                    problem: "is not set, but AZURE_CLIENT_SECRET is; a service principal needs \
                              AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                        .to_owned(),
                });
            }
            (_, Some(_), None) => {
                // azure_identity 0.21 only reaches the system-assigned identity; quietly using
                // it instead of the user-assigned one that was asked for would act as the
                // wrong principal.
                return Err(ConfigError {
                    variable: "AZURE_CLIENT_ID",
                    problem: "is set without AZURE_CLIENT_SECRET, which would select a user-assigned \
                              managed identity; azcord supports only the system-assigned one: unset \
                              AZURE_CLIENT_ID, or also set AZURE_TENANT_ID and AZURE_CLIENT_SECRET"
                        .to_owned(),
                });
            }
            (_, None, None) => CredentialSource::ManagedIdentityOrAzureCli,
        };

        Ok(Self {
            subscription_id,
            resource_manager_endpoint,
            credential,
            retry: RetrySettings::default(),
        })
    }

    /// [`AzureConfig::from_env`] over the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env(|name| std::env::var(name).ok())
    }

    /// The scope azcord asks tokens for: `<endpoint>/.default`, such as
    /// `https://management.azure.com/.default`.
    pub fn token_scope(&self) -> String {
        token_scope(&self.resource_manager_endpoint)
    }
}

/// `<endpoint>/.default` without a doubled slash.
pub(crate) fn token_scope(endpoint: &str) -> String {
    format!("{}/.default", endpoint.trim_end_matches('/'))
}

fn check_url(variable: &'static str, value: &str) -> Result<(), ConfigError> {
    match azure_core::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => Ok(()),
        _ => Err(ConfigError {
            variable,
            problem: format!("is not an http(s) URL: `{}`", value.escape_default()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn config_from_env() {
        let sp = |authority: &str| {
            CredentialSource::ServicePrincipal(ServicePrincipal {
                tenant_id: "tenant".into(),
                client_id: "client".into(),
                client_secret: Secret::new("s3cr3t"),
                authority_host: authority.into(),
            })
        };
        let sub = ("AZURE_SUBSCRIPTION_ID", "sub-1");
        let tenant = ("AZURE_TENANT_ID", "tenant");
        let client = ("AZURE_CLIENT_ID", "client");
        let secret = ("AZURE_CLIENT_SECRET", "s3cr3t");
        type Expected = Result<(&'static str, CredentialSource), &'static str>;
        let table: Vec<(Vec<(&str, &str)>, Expected)> = vec![
            (
                vec![sub],
                Ok((
                    PUBLIC_CLOUD_ENDPOINT,
                    CredentialSource::ManagedIdentityOrAzureCli,
                )),
            ),
            (
                vec![sub, tenant],
                Ok((
                    PUBLIC_CLOUD_ENDPOINT,
                    CredentialSource::ManagedIdentityOrAzureCli,
                )),
            ),
            (
                vec![sub, tenant, client, secret],
                Ok((PUBLIC_CLOUD_ENDPOINT, sp(PUBLIC_CLOUD_AUTHORITY))),
            ),
            (
                vec![
                    sub,
                    tenant,
                    client,
                    secret,
                    ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"),
                    ("AZURE_RESOURCE_MANAGER_ENDPOINT", "http://127.0.0.1:8"),
                ],
                Ok(("http://127.0.0.1:8", sp("http://127.0.0.1:9/"))),
            ),
            (
                vec![],
                Err(
                    "AZURE_SUBSCRIPTION_ID is not set; set it to the id of the subscription azcord manages",
                ),
            ),
            (
                vec![("AZURE_SUBSCRIPTION_ID", "  ")],
                Err(
                    "AZURE_SUBSCRIPTION_ID is not set; set it to the id of the subscription azcord manages",
                ),
            ),
            (
                vec![sub, client, secret],
                Err(
                    "AZURE_TENANT_ID is not set, but AZURE_CLIENT_SECRET is; a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
            (
                vec![sub, tenant, secret],
                Err(
                    "AZURE_CLIENT_ID is not set, but AZURE_CLIENT_SECRET is; a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
            (
                vec![sub, client],
                Err(
                    "AZURE_CLIENT_ID is set without AZURE_CLIENT_SECRET, which would select a user-assigned managed identity; azcord supports only the system-assigned one: unset AZURE_CLIENT_ID, or also set AZURE_TENANT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
            (
                vec![
                    sub,
                    ("AZURE_RESOURCE_MANAGER_ENDPOINT", "management.azure.com"),
                ],
                Err(
                    "AZURE_RESOURCE_MANAGER_ENDPOINT is not an http(s) URL: `management.azure.com`",
                ),
            ),
            (
                vec![sub, ("AZURE_AUTHORITY_HOST", "ftp://login")],
                Err("AZURE_AUTHORITY_HOST is not an http(s) URL: `ftp://login`"),
            ),
        ];
        for (vars, expected) in table {
            let actual = AzureConfig::from_env(lookup(&vars));
            match (actual, expected) {
                (Ok(config), Ok((endpoint, credential))) => {
                    assert_eq!(config.subscription_id, "sub-1");
                    assert_eq!(config.resource_manager_endpoint, endpoint, "{vars:?}");
                    assert_eq!(config.credential, credential, "{vars:?}");
                    assert_eq!(config.retry, RetrySettings::default());
                }
                (Err(error), Err(message)) => assert_eq!(error.to_string(), message, "{vars:?}"),
                (actual, expected) => panic!("{vars:?}: got {actual:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn debug_never_shows_the_client_secret() {
        let config = AzureConfig::from_env(lookup(&[
            ("AZURE_SUBSCRIPTION_ID", "sub-1"),
            ("AZURE_TENANT_ID", "tenant"),
            ("AZURE_CLIENT_ID", "client"),
            ("AZURE_CLIENT_SECRET", "hunter2-secret"),
        ]))
        .unwrap();
        let debug = format!("{config:?} {config:#?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(
            debug.contains("<redacted>") && debug.contains("client"),
            "{debug}"
        );
    }

    #[test]
    fn token_scopes_never_double_the_slash() {
        let table = [
            (
                "https://management.azure.com/",
                "https://management.azure.com/.default",
            ),
            (
                "https://management.azure.com",
                "https://management.azure.com/.default",
            ),
            (
                "https://management.usgovcloudapi.net/",
                "https://management.usgovcloudapi.net/.default",
            ),
            ("http://127.0.0.1:41234", "http://127.0.0.1:41234/.default"),
            ("http://127.0.0.1:41234/", "http://127.0.0.1:41234/.default"),
        ];
        for (endpoint, scope) in table {
            assert_eq!(token_scope(endpoint), scope);
        }
    }
}
