//! Web apps: list, get, and start/stop/restart, which App Service finishes before it
//! answers.

use azcord_azure::{
    AzureErrorKind, PendingOperation, ResourceGroupName, WebAppAction, WebAppName, wait_for,
};
use azcord_sim::ArmSimConfig;
use expect_test::expect;

use crate::support::{connect_to, quick_wait, requests_since, sim_config, start};

fn group(name: &str) -> ResourceGroupName {
    ResourceGroupName::new(name).unwrap()
}

fn app(name: &str) -> WebAppName {
    WebAppName::new(name).unwrap()
}

#[tokio::test]
async fn list_and_get() {
    let sim = start(ArmSimConfig {
        page_size: 2,
        ..sim_config()
    })
    .await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();

    let apps = azure.web_apps.list(None).await.unwrap();
    let table: Vec<String> = apps
        .iter()
        .map(|app| {
            format!(
                "{}/{} {} {} {} {}",
                app.resource_group,
                app.name,
                app.location,
                app.state.as_deref().unwrap_or("-"),
                app.default_host_name.as_deref().unwrap_or("-"),
                app.plan.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    expect![[r#"
        dev-sandbox/docs East US Running docs.azurewebsites.net dev-plan
        prod-web/shop West Europe Running shop.azurewebsites.net prod-plan
        staging/shop-staging West Europe Stopped shop-staging.azurewebsites.net staging-plan
    "#]]
    .assert_eq(&(table.join("\n") + "\n"));
    let in_group = azure.web_apps.list(Some(&group("staging"))).await.unwrap();
    assert_eq!(
        in_group
            .iter()
            .map(|app| app.name.as_str())
            .collect::<Vec<_>>(),
        ["shop-staging"]
    );
    let shop = azure
        .web_apps
        .get(&group("prod-web"), &app("shop"))
        .await
        .unwrap();
    assert_eq!(shop, apps[1]);
    let missing = azure
        .web_apps
        .get(&group("prod-web"), &app("ghost"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind, AzureErrorKind::NotFound);
    expect![[r#"
        GET /subscriptions/{sub}/providers/Microsoft.Web/sites?api-version=2024-04-01 -> 200
        GET /subscriptions/{sub}/providers/Microsoft.Web/sites?api-version=2024-04-01&$skiptoken=2 -> 200
        GET /subscriptions/{sub}/resourceGroups/staging/providers/Microsoft.Web/sites?api-version=2024-04-01 -> 200
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Web/sites/shop?api-version=2024-04-01 -> 200
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Web/sites/ghost?api-version=2024-04-01 -> 404
    "#]].assert_eq(&requests_since(&sim, from));
}

#[tokio::test]
async fn actions_are_done_when_azure_answers() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let (staging, shop) = (group("staging"), app("shop-staging"));
    let from = sim.requests().len();
    for (action, state) in [
        (WebAppAction::Start, "Running"),
        (WebAppAction::Restart, "Running"),
        (WebAppAction::Stop, "Stopped"),
    ] {
        let operation = azure.web_apps.begin(&staging, &shop, action).await.unwrap();
        assert!(
            matches!(
                operation,
                PendingOperation::Completed {
                    correlation_id: Some(_)
                }
            ),
            "{action:?}: {operation:?}"
        );
        assert_eq!(sim.web_app("staging", "shop-staging").unwrap().state, state);
        wait_for(azure.operations.as_ref(), &operation, quick_wait(), |_| {})
            .await
            .unwrap();
    }
    expect![[r#"
        POST /subscriptions/{sub}/resourceGroups/staging/providers/Microsoft.Web/sites/shop-staging/start?api-version=2024-04-01 -> 200
        POST /subscriptions/{sub}/resourceGroups/staging/providers/Microsoft.Web/sites/shop-staging/restart?api-version=2024-04-01 -> 200
        POST /subscriptions/{sub}/resourceGroups/staging/providers/Microsoft.Web/sites/shop-staging/stop?api-version=2024-04-01 -> 200
    "#]].assert_eq(&requests_since(&sim, from));
}
