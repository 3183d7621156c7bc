//! Throttling and server errors: retried a bounded number of times, honouring
//! Retry-After, then reported with Azure's code.

use std::time::{Duration, Instant};

use azcord_azure::AzureErrorKind;
use expect_test::expect;

use crate::support::{connect_to, requests_since, sim_config, start};

#[tokio::test]
async fn throttling_is_waited_out() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    sim.throttle_next(2, Duration::from_millis(150));
    let started = Instant::now();
    let vms = azure.vms.list(None).await.unwrap();
    assert_eq!(vms.len(), 12);
    // Two waits of the Retry-After, longer than the 5 and 10 ms backoffs.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    expect![[r#"
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true -> 429
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true -> 429
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true -> 200
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true&$skiptoken=5 -> 200
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true&$skiptoken=10 -> 200
    "#]]
    .assert_eq(&requests_since(&sim, from));
}

#[tokio::test]
async fn throttling_that_lasts_is_reported() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    sim.throttle_next(10, Duration::from_millis(30));
    let error = azure.vms.list(None).await.unwrap_err();
    assert_eq!(
        (error.kind, error.status, error.code.as_deref()),
        (
            AzureErrorKind::Throttled,
            Some(429),
            Some("TooManyRequests")
        )
    );
    assert_eq!(error.retry_after, Some(Duration::from_millis(30)));
    assert!(error.correlation_id.is_some(), "{error:?}");
    assert_eq!(
        sim.requests().len() - from,
        3,
        "the first attempt and two retries"
    );
}

#[tokio::test]
async fn a_server_error_that_stays_ends_after_the_retries() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    sim.fail_next(
        10,
        500,
        "InternalServerError",
        "An internal error occurred.",
    );
    let started = Instant::now();
    let error = azure.vms.list(None).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (
            error.kind,
            error.status,
            error.code.as_deref(),
            error.message.as_str()
        ),
        (
            AzureErrorKind::ServerError,
            Some(500),
            Some("InternalServerError"),
            "An internal error occurred."
        )
    );
    assert_eq!(
        error.to_string(),
        "azure answered 500 InternalServerError: An internal error occurred."
    );
    assert!(
        error.correlation_id.is_some() && !error.is_users_to_fix(),
        "{error:?}"
    );
    assert_eq!(sim.requests().len() - from, 3);
}

#[tokio::test]
async fn a_passing_server_error_is_retried_away() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    sim.fail_next(1, 503, "ServiceUnavailable", "Try again.");
    let group = azcord_azure::ResourceGroupName::new("prod-web").unwrap();
    let vm = azcord_azure::VmName::new("web-1").unwrap();
    let details = azure.vms.get(&group, &vm).await.unwrap();
    assert_eq!(details.summary.name, "web-1");
}
