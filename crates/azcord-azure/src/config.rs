//! Where azcord finds Azure: the subscription, the Resource Manager endpoint, the
//! credential and how patiently to retry, read from the environment.

use std::{path::PathBuf, time::Duration};

use azcord_secret::Secret;
use azcord_tls::TlsTrust;

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
    /// What the TLS connections to Resource Manager and Entra ID trust besides the
    /// compiled-in roots (`SSL_CERT_FILE`).
    pub tls: TlsTrust,
}

/// Where tokens come from. [`AzureConfig::from_env`] picks one in the order
/// `DefaultAzureCredential` tries them: a client secret, a federated token (workload
/// identity), a managed identity, the Azure CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// A service principal's client secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`).
    ServicePrincipal(ServicePrincipal),
    /// Workload identity on Kubernetes: the service account token that the pod's
    /// projected volume holds, exchanged for an Entra ID token (`AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity(WorkloadIdentity),
    /// One user-assigned managed identity of the VM, App Service or container group
    /// azcord runs in, by its client id (`AZURE_CLIENT_ID` alone).
    UserAssignedManagedIdentity {
        /// The identity's client (application) id.
        client_id: String,
    },
    /// The system-assigned managed identity of the VM, App Service or container group
    /// azcord runs in, else the signed-in Azure CLI (`az login`); the first that
    /// answers is kept.
    ManagedIdentityOrAzureCli,
    /// Only the system-assigned managed identity.
    ManagedIdentity,
    /// Only the signed-in Azure CLI.
    AzureCli,
}

impl CredentialSource {
    /// A short name for logs and errors: `service principal`, `workload identity`, ...
    pub fn name(&self) -> &'static str {
        match self {
            Self::ServicePrincipal(_) => "service principal",
            Self::WorkloadIdentity(_) => "workload identity",
            Self::UserAssignedManagedIdentity { .. } => "user-assigned managed identity",
            Self::ManagedIdentityOrAzureCli => "managed identity or Azure CLI",
            Self::ManagedIdentity => "managed identity",
            Self::AzureCli => "Azure CLI",
        }
    }
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
    /// names another (a national cloud, or the simulator); https only.
    pub authority_host: String,
}

/// An application that signs in with a federated token: on AKS, the workload identity
/// webhook sets the three variables and mounts the token file, which the kubelet renews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadIdentity {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The application (client) id of the identity the federated credential belongs to.
    pub client_id: String,
    /// The file that holds the service account token; read again as it is renewed, and
    /// never logged.
    pub token_file: PathBuf,
    /// The Entra ID authority, as for [`ServicePrincipal::authority_host`].
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
    /// - the credential, by [`credential_from_env`];
    /// - `AZURE_AUTHORITY_HOST` (default [`PUBLIC_CLOUD_AUTHORITY`]; https only);
    /// - `SSL_CERT_FILE`, a PEM bundle trusted besides the compiled-in roots.
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
        let credential = credential_from_env(var)?;
        Ok(Self {
            subscription_id,
            resource_manager_endpoint,
            credential,
            retry: RetrySettings::default(),
            tls: TlsTrust::from_env(&lookup),
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

/// Chooses the credential from the environment (`var` answers a variable's trimmed,
/// non-empty value), in this order:
///
/// 1. `AZURE_CLIENT_SECRET`: a service principal, which also needs `AZURE_TENANT_ID`
///    and `AZURE_CLIENT_ID`;
/// 2. `AZURE_FEDERATED_TOKEN_FILE`: workload identity, which also needs
///    `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`;
/// 3. `AZURE_CLIENT_ID` alone: that user-assigned managed identity, and nothing else,
///    since falling back to another identity would act as the wrong principal;
/// 4. nothing: the system-assigned managed identity, else the Azure CLI.
///
/// The first two sign in at `AZURE_AUTHORITY_HOST`, which must be https (as
/// azure_identity insists).
pub fn credential_from_env(
    var: impl Fn(&str) -> Option<String>,
) -> Result<CredentialSource, ConfigError> {
    let authority_host = || -> Result<String, ConfigError> {
        let host = var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| PUBLIC_CLOUD_AUTHORITY.to_owned());
        check_url("AZURE_AUTHORITY_HOST", &host)?;
        if !host.starts_with("https://") {
            return Err(ConfigError {
                variable: "AZURE_AUTHORITY_HOST",
                problem: format!(
                    "must be an https URL, Entra ID is https only: `{}`",
                    host.escape_default()
                ),
            });
        }
        Ok(host)
    };
    let needs = |variable: &'static str, with: &str, kind: &str| ConfigError {
        variable,
        problem: format!(
            "is not set, but {with} is; {kind} needs AZURE_TENANT_ID, AZURE_CLIENT_ID and {with}"
        ),
    };
    let (tenant_id, client_id) = (var("AZURE_TENANT_ID"), var("AZURE_CLIENT_ID"));
    if var("AZURE_CLIENT_SECRET").is_some() {
        let secret = var("AZURE_CLIENT_SECRET").unwrap_or_default();
        const WITH: &str = "AZURE_CLIENT_SECRET";
        let tenant_id =
            tenant_id.ok_or_else(|| needs("AZURE_TENANT_ID", WITH, "a service principal"))?;
        let client_id =
            client_id.ok_or_else(|| needs("AZURE_CLIENT_ID", WITH, "a service principal"))?;
        return Ok(CredentialSource::ServicePrincipal(ServicePrincipal {
            tenant_id,
            client_id,
            client_secret: Secret::new(secret),
            authority_host: authority_host()?,
        }));
    }
    if let Some(token_file) = var("AZURE_FEDERATED_TOKEN_FILE") {
        const WITH: &str = "AZURE_FEDERATED_TOKEN_FILE";
        let tenant_id =
            tenant_id.ok_or_else(|| needs("AZURE_TENANT_ID", WITH, "workload identity"))?;
        let client_id =
            client_id.ok_or_else(|| needs("AZURE_CLIENT_ID", WITH, "workload identity"))?;
        return Ok(CredentialSource::WorkloadIdentity(WorkloadIdentity {
            tenant_id,
            client_id,
            token_file: PathBuf::from(token_file),
            authority_host: authority_host()?,
        }));
    }
    Ok(match client_id {
        Some(client_id) => CredentialSource::UserAssignedManagedIdentity { client_id },
        None => CredentialSource::ManagedIdentityOrAzureCli,
    })
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

    /// Each credential, chosen from its variables: a table of environments and the
    /// choice or the error.
    #[test]
    fn the_credential_is_chosen_from_the_environment() {
        let sp = |authority: &str| {
            CredentialSource::ServicePrincipal(ServicePrincipal {
                tenant_id: "tenant".into(),
                client_id: "client".into(),
                client_secret: Secret::new("s3cr3t"),
                authority_host: authority.into(),
            })
        };
        let workload = |authority: &str| {
            CredentialSource::WorkloadIdentity(WorkloadIdentity {
                tenant_id: "tenant".into(),
                client_id: "client".into(),
                token_file: PathBuf::from("/var/run/secrets/azure/tokens/azure-identity-token"),
                authority_host: authority.into(),
            })
        };
        let tenant = ("AZURE_TENANT_ID", "tenant");
        let client = ("AZURE_CLIENT_ID", "client");
        let secret = ("AZURE_CLIENT_SECRET", "s3cr3t");
        let token_file = (
            "AZURE_FEDERATED_TOKEN_FILE",
            "/var/run/secrets/azure/tokens/azure-identity-token",
        );
        let sim_authority = ("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9/");
        type Expected = Result<CredentialSource, &'static str>;
        let table: Vec<(Vec<(&str, &str)>, Expected)> = vec![
            (vec![], Ok(CredentialSource::ManagedIdentityOrAzureCli)),
            (
                vec![tenant],
                Ok(CredentialSource::ManagedIdentityOrAzureCli),
            ),
            (vec![tenant, client, secret], Ok(sp(PUBLIC_CLOUD_AUTHORITY))),
            (
                vec![tenant, client, secret, sim_authority],
                Ok(sp("https://127.0.0.1:9/")),
            ),
            // A secret wins over a token file, as in DefaultAzureCredential.
            (
                vec![tenant, client, secret, token_file],
                Ok(sp(PUBLIC_CLOUD_AUTHORITY)),
            ),
            (
                vec![tenant, client, token_file],
                Ok(workload(PUBLIC_CLOUD_AUTHORITY)),
            ),
            (
                vec![tenant, client, token_file, sim_authority],
                Ok(workload("https://127.0.0.1:9/")),
            ),
            (
                vec![client],
                Ok(CredentialSource::UserAssignedManagedIdentity {
                    client_id: "client".into(),
                }),
            ),
            (
                vec![tenant, client],
                Ok(CredentialSource::UserAssignedManagedIdentity {
                    client_id: "client".into(),
                }),
            ),
            (
                vec![client, secret],
                Err(
                    "AZURE_TENANT_ID is not set, but AZURE_CLIENT_SECRET is; a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
            (
                vec![tenant, secret],
                Err(
                    "AZURE_CLIENT_ID is not set, but AZURE_CLIENT_SECRET is; a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
            (
                vec![client, token_file],
                Err(
                    "AZURE_TENANT_ID is not set, but AZURE_FEDERATED_TOKEN_FILE is; workload identity needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
                ),
            ),
            (
                vec![tenant, token_file],
                Err(
                    "AZURE_CLIENT_ID is not set, but AZURE_FEDERATED_TOKEN_FILE is; workload identity needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE",
                ),
            ),
            (
                vec![
                    tenant,
                    client,
                    secret,
                    ("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9/"),
                ],
                Err(
                    "AZURE_AUTHORITY_HOST must be an https URL, Entra ID is https only: `http://127.0.0.1:9/`",
                ),
            ),
            (
                vec![
                    tenant,
                    client,
                    token_file,
                    ("AZURE_AUTHORITY_HOST", "ftp://login"),
                ],
                Err("AZURE_AUTHORITY_HOST is not an http(s) URL: `ftp://login`"),
            ),
        ];
        for (vars, expected) in table {
            let env = lookup(&vars);
            let var = |name: &str| env(name).filter(|value| !value.is_empty());
            let actual = credential_from_env(var).map_err(|error| error.to_string());
            assert_eq!(actual, expected.map_err(str::to_owned), "{vars:?}");
        }
    }

    #[test]
    fn config_from_env() {
        let sub = ("AZURE_SUBSCRIPTION_ID", "sub-1");
        type Expected = Result<(&'static str, Option<&'static str>), &'static str>;
        let table: Vec<(Vec<(&str, &str)>, Expected)> = vec![
            (vec![sub], Ok((PUBLIC_CLOUD_ENDPOINT, None))),
            (
                vec![
                    sub,
                    ("AZURE_RESOURCE_MANAGER_ENDPOINT", "https://127.0.0.1:8"),
                    ("SSL_CERT_FILE", "/tmp/sim-ca.pem"),
                ],
                Ok(("https://127.0.0.1:8", Some("/tmp/sim-ca.pem"))),
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
                vec![
                    sub,
                    ("AZURE_RESOURCE_MANAGER_ENDPOINT", "management.azure.com"),
                ],
                Err(
                    "AZURE_RESOURCE_MANAGER_ENDPOINT is not an http(s) URL: `management.azure.com`",
                ),
            ),
            (
                vec![sub, ("AZURE_CLIENT_SECRET", "s3cr3t")],
                Err(
                    "AZURE_TENANT_ID is not set, but AZURE_CLIENT_SECRET is; a service principal needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
                ),
            ),
        ];
        for (vars, expected) in table {
            let actual = AzureConfig::from_env(lookup(&vars));
            match (actual, expected) {
                (Ok(config), Ok((endpoint, extra_roots))) => {
                    assert_eq!(config.subscription_id, "sub-1");
                    assert_eq!(config.resource_manager_endpoint, endpoint, "{vars:?}");
                    assert_eq!(
                        config.credential,
                        CredentialSource::ManagedIdentityOrAzureCli
                    );
                    assert_eq!(config.retry, RetrySettings::default());
                    assert_eq!(config.tls.extra_roots, extra_roots.map(PathBuf::from));
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
