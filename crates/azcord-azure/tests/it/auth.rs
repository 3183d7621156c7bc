//! Tokens: the explicit scope, renewal after expiry, and credential failures that
//! never show the secret.

use std::time::Duration;

use azcord_azure::{AzureErrorKind, CredentialSource, connect};
use azcord_sim::ArmSimConfig;
use expect_test::expect;

use crate::support::{azure_config, connect_to, requests_since, sim_config, start};

#[tokio::test]
async fn tokens_are_asked_for_the_endpoints_default_scope() {
    let sim = start(sim_config()).await;
    assert!(
        sim.endpoint().ends_with('/'),
        "the trailing slash must not be doubled"
    );
    let azure = connect_to(&sim).await;
    azure.vms.list(None).await.unwrap();
    let expected = format!("{}.default", sim.endpoint());
    assert_eq!(
        sim.token_scopes(),
        [expected],
        "one token, cached, for `<endpoint>/.default`"
    );
    assert_eq!(sim.token_requests(), 1);
}

#[tokio::test]
async fn a_token_the_server_rejects_is_renewed_once() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let group = azcord_azure::ResourceGroupName::new("prod-web").unwrap();
    let vm = azcord_azure::VmName::new("web-1").unwrap();
    azure.vms.get(&group, &vm).await.unwrap();
    let from = sim.requests().len();

    // Azure rejects the cached token although it has not reached its expiry: the
    // pipeline drops the cache, fetches a token and sends the request again.
    sim.expire_tokens();
    azure.vms.get(&group, &vm).await.unwrap();
    expect![[r#"
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1?api-version=2024-07-01&%24expand=instanceView -> 401
        token -> 200
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1?api-version=2024-07-01&%24expand=instanceView -> 200
    "#]]
    .assert_eq(&requests_since(&sim, from));
    azure.vms.get(&group, &vm).await.unwrap();
    assert_eq!(sim.token_requests(), 2, "the new token is cached");
}

#[tokio::test]
async fn short_lived_tokens_are_renewed_before_use() {
    // azure_identity's cache treats a token as expired 5 minutes before its expiry, so
    // a 10 s token is renewed for every call: deterministic, with no clock to wait for.
    let sim = start(ArmSimConfig {
        token_lifetime: Duration::from_secs(10),
        ..sim_config()
    })
    .await;
    let azure = connect_to(&sim).await;
    let group = azcord_azure::ResourceGroupName::new("staging").unwrap();
    azure.vms.list(Some(&group)).await.unwrap();
    azure.container_groups.list(Some(&group)).await.unwrap();
    let from_connect = 1;
    let list_pages = 3;
    assert_eq!(sim.token_requests(), from_connect + list_pages + 1);
    assert!(
        sim.requests().iter().all(|request| request.authorized),
        "no request went out with a stale token"
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_at_connect_without_showing_it() {
    let sim = start(sim_config()).await;
    let secret = "Wr0ng~secret.value-that-must-not-leak";
    let mut config = azure_config(&sim);
    let CredentialSource::ServicePrincipal(principal) = &mut config.credential else {
        panic!("{config:?}")
    };
    principal.client_secret = azcord_azure::Secret::new(secret);
    let error = match connect(config).await {
        Ok(_) => panic!("connected with a wrong secret"),
        Err(error) => error,
    };
    assert_eq!(error.kind, AzureErrorKind::Credential);
    assert!(error.message.contains("AADSTS7000215"), "{error}");
    let shown = format!("{error} {error:?} {}", error.user_message());
    assert!(!shown.contains(secret), "{shown}");
    assert!(!error.is_users_to_fix());
}
