//! Credentials end to end against the simulator's token endpoint, over TLS with the
//! simulator's CA trusted through `SSL_CERT_FILE`: workload identity's token exchange,
//! and the TLS error when the CA is not trusted. No log ever holds a secret.

use std::collections::HashMap;

use azcord_azure::{AzureConfig, AzureErrorKind, CredentialSource, connect};
use azcord_sim::ArmSim;
use tracing_subscriber::prelude::*;

use crate::{
    spans::Everything,
    support::{environment, quick_retries, sim_config, start},
};

/// The configuration a pod with workload identity has: the simulator's environment
/// with the federated token file in place of the client secret.
fn workload_config(sim: &ArmSim, token_file: &std::path::Path) -> AzureConfig {
    let mut environment: HashMap<&str, String> = environment(sim);
    environment.remove("AZURE_CLIENT_SECRET");
    environment.insert(
        "AZURE_FEDERATED_TOKEN_FILE",
        token_file.display().to_string(),
    );
    let config = AzureConfig::from_env(|name| environment.get(name).cloned())
        .expect("the environment is complete");
    AzureConfig {
        retry: quick_retries(),
        ..config
    }
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token_over_tls() {
    let everything = Everything::default();
    let _guard = tracing_subscriber::registry()
        .with(everything.clone())
        .set_default();
    let sim = start(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    std::fs::write(&token_file, &sim.config().federated_token).unwrap();

    let config = workload_config(&sim, &token_file);
    assert!(
        matches!(config.credential, CredentialSource::WorkloadIdentity(_)),
        "{config:?}"
    );
    assert!(sim.authority_host().starts_with("https://"));
    let azure = connect(config)
        .await
        .expect("the federated token is accepted");
    let vms = azure.vms.list(None).await.unwrap();
    assert!(!vms.is_empty());
    assert_eq!(sim.token_requests(), 1);
    assert!(
        sim.requests()
            .iter()
            .all(|request| request.authorized || request.token_request)
    );

    let logs = everything.text();
    assert!(
        logs.contains("workload identity"),
        "the credential is named: {logs}"
    );
    assert!(
        !logs.contains(&sim.config().federated_token),
        "the federated token reached the logs"
    );
    assert!(!logs.contains("sim."), "an access token reached the logs");
}

#[tokio::test]
async fn a_federated_token_entra_id_refuses_fails_at_connect_without_showing_it() {
    let sim = start(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("azure-identity-token");
    let token = "eyJhbGciOiJSUzI1NiJ9.a-service-account-token-of-another-cluster";
    std::fs::write(&token_file, token).unwrap();
    let error = match connect(workload_config(&sim, &token_file)).await {
        Ok(_) => panic!("connected with a federated token nobody trusts"),
        Err(error) => error,
    };
    assert_eq!(error.kind, AzureErrorKind::Credential);
    assert!(error.message.contains("AADSTS70021"), "{error}");
    let shown = format!("{error} {error:?} {}", error.user_message());
    assert!(!shown.contains(token), "{shown}");
}

#[tokio::test]
async fn a_missing_token_file_is_named_at_connect() {
    let sim = start(sim_config()).await;
    let missing = std::path::Path::new("/nonexistent/azure-identity-token");
    let error = match connect(workload_config(&sim, missing)).await {
        Ok(_) => panic!("connected without a token file"),
        Err(error) => error,
    };
    assert_eq!(error.kind, AzureErrorKind::Credential);
    assert!(
        error.message.contains("/nonexistent/azure-identity-token"),
        "{error}"
    );
    assert_eq!(sim.token_requests(), 0);
}

#[tokio::test]
async fn without_the_simulators_ca_the_token_request_fails_with_a_tls_error() {
    let everything = Everything::default();
    let _guard = tracing_subscriber::registry()
        .with(everything.clone())
        .set_default();
    let sim = start(sim_config()).await;
    let mut environment = environment(&sim);
    environment.remove("SSL_CERT_FILE");
    let config = AzureConfig {
        retry: quick_retries(),
        ..AzureConfig::from_env(|name| environment.get(name).cloned()).unwrap()
    };
    assert_eq!(config.tls.extra_roots, None);
    let error = match connect(config).await {
        Ok(_) => panic!("trusted a CA that is not among the roots"),
        Err(error) => error,
    };
    assert_eq!(error.kind, AzureErrorKind::Credential);
    assert!(
        error
            .message
            .contains("invalid peer certificate: UnknownIssuer"),
        "{error}"
    );
    assert_eq!(
        sim.token_requests(),
        0,
        "no request got through the handshake"
    );
    let logs = everything.text();
    assert!(
        !logs.contains(&sim.config().client_secret),
        "the client secret reached the logs"
    );
}

#[tokio::test]
async fn the_client_secret_never_reaches_the_logs() {
    let everything = Everything::default();
    let _guard = tracing_subscriber::registry()
        .with(everything.clone())
        .set_default();
    let sim = start(sim_config()).await;
    let azure = crate::support::connect_to(&sim).await;
    azure.vms.list(None).await.unwrap();
    let logs = everything.text();
    assert!(logs.contains("service principal"), "{logs}");
    assert!(!logs.contains(&sim.config().client_secret), "{logs}");
}
