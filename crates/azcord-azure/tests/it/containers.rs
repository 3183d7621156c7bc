//! Container groups: list, get, start, stop, restart and logs.

use azcord_azure::{
    AzureErrorKind, ContainerGroupAction, ContainerGroupName, ContainerName, PendingOperation,
    ResourceGroupName, wait_for,
};
use azcord_sim::ArmSimConfig;
use expect_test::expect;

use crate::support::{connect_to, quick_wait, requests_since, sim_config, start};

fn group(name: &str) -> ResourceGroupName {
    ResourceGroupName::new(name).unwrap()
}

fn container_group(name: &str) -> ContainerGroupName {
    ContainerGroupName::new(name).unwrap()
}

#[tokio::test]
async fn list_and_get() {
    let sim = start(ArmSimConfig {
        page_size: 3,
        ..sim_config()
    })
    .await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();

    let groups = azure.container_groups.list(None).await.unwrap();
    let table: Vec<String> = groups
        .iter()
        .map(|g| {
            let containers: Vec<&str> = g.containers.iter().map(|c| c.name.as_str()).collect();
            format!(
                "{}/{} {} {} {} [{}]",
                g.resource_group,
                g.name,
                g.location,
                g.state.as_deref().unwrap_or("-"),
                g.ip_address.as_deref().unwrap_or("-"),
                containers.join(", ")
            )
        })
        .collect();
    // Like Azure, the list leaves out instance views: no state until a get.
    expect![[r#"
        dev-sandbox/jobs eastus - 52.170.33.8 [jobs]
        prod-data/backup westeurope - - [pg-backup]
        prod-web/frontend westeurope - 20.61.14.27 [nginx, sidecar]
        staging/worker westeurope - - [worker]
    "#]]
    .assert_eq(&(table.join("\n") + "\n"));
    let in_group = azure
        .container_groups
        .list(Some(&group("prod-web")))
        .await
        .unwrap();
    assert_eq!(
        in_group.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["frontend"]
    );
    expect![[r#"
        GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2024-05-01-preview -> 200
        GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups?api-version=2024-05-01-preview&$skiptoken=3 -> 200
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups?api-version=2024-05-01-preview -> 200
    "#]]
    .assert_eq(&requests_since(&sim, from));

    let frontend = azure
        .container_groups
        .get(&group("prod-web"), &container_group("frontend"))
        .await
        .unwrap();
    assert_eq!(
        (frontend.state.as_deref(), frontend.os_type.as_deref()),
        (Some("Running"), Some("Linux"))
    );
    let containers: Vec<(&str, &str, Option<i32>)> = frontend
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c.image.as_str(), c.restart_count))
        .collect();
    assert_eq!(
        containers,
        [
            ("nginx", "nginx:1.27-alpine", Some(0)),
            ("sidecar", "fluent/fluent-bit:3.0", Some(1))
        ]
    );
    assert!(
        frontend
            .containers
            .iter()
            .all(|c| c.state.as_deref() == Some("Running")),
        "{frontend:?}"
    );

    let missing = azure
        .container_groups
        .get(&group("prod-web"), &container_group("backend"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind, AzureErrorKind::NotFound);
}

#[tokio::test]
async fn stop_is_synchronous_and_start_and_restart_are_followed() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let (prod_web, frontend) = (group("prod-web"), container_group("frontend"));

    let stopped = azure
        .container_groups
        .begin(&prod_web, &frontend, ContainerGroupAction::Stop)
        .await
        .unwrap();
    assert!(
        matches!(
            stopped,
            PendingOperation::Completed {
                correlation_id: Some(_)
            }
        ),
        "{stopped:?}"
    );
    assert_eq!(
        sim.container_group("prod-web", "frontend").unwrap().state,
        "Stopped"
    );
    wait_for(azure.operations.as_ref(), &stopped, quick_wait(), |_| {})
        .await
        .unwrap();

    let started = azure
        .container_groups
        .begin(&prod_web, &frontend, ContainerGroupAction::Start)
        .await
        .unwrap();
    assert!(
        matches!(started, PendingOperation::Running { .. }),
        "{started:?}"
    );
    sim.finish_transitions();
    wait_for(azure.operations.as_ref(), &started, quick_wait(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        sim.container_group("prod-web", "frontend").unwrap().state,
        "Running"
    );

    // A start of a running group answers 204: done at once.
    let again = azure
        .container_groups
        .begin(&prod_web, &frontend, ContainerGroupAction::Start)
        .await
        .unwrap();
    assert!(
        matches!(again, PendingOperation::Completed { .. }),
        "{again:?}"
    );

    // Restart answers 204 with Azure-AsyncOperation, as the service's specification
    // declares a long-running operation with only 204: it is followed, not taken as done.
    let restarts = |sim: &azcord_sim::ArmSim| -> Vec<u32> {
        sim.container_group("prod-web", "frontend")
            .unwrap()
            .containers
            .iter()
            .map(|container| container.restart_count)
            .collect()
    };
    let before = restarts(&sim);
    let restarted = azure
        .container_groups
        .begin(&prod_web, &frontend, ContainerGroupAction::Restart)
        .await
        .unwrap();
    assert!(
        matches!(
            restarted,
            PendingOperation::Running {
                kind: azcord_azure::PollKind::AsyncOperation,
                ..
            }
        ),
        "{restarted:?}"
    );
    assert_eq!(
        sim.container_group("prod-web", "frontend").unwrap().state,
        "Pending"
    );
    sim.finish_transitions();
    wait_for(azure.operations.as_ref(), &restarted, quick_wait(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        sim.container_group("prod-web", "frontend").unwrap().state,
        "Running"
    );
    let after: Vec<u32> = restarts(&sim);
    assert_eq!(
        after,
        before.iter().map(|count| count + 1).collect::<Vec<u32>>()
    );
}

#[tokio::test]
async fn logs_take_a_tail() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let (prod_web, frontend, nginx) = (
        group("prod-web"),
        container_group("frontend"),
        ContainerName::new("nginx").unwrap(),
    );
    let from = sim.requests().len();
    let tail = azure
        .container_groups
        .logs(&prod_web, &frontend, &nginx, Some(2))
        .await
        .unwrap();
    expect![[r#"
        10.240.0.4 - - [14/May/2024:08:31:16 +0000] "GET /favicon.ico HTTP/1.1" 404 153 "-" "Mozilla/5.0"
        10.240.0.7 - - [14/May/2024:08:32:40 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"
    "#]]
    .assert_eq(&tail);
    let all = azure
        .container_groups
        .logs(&prod_web, &frontend, &nginx, None)
        .await
        .unwrap();
    assert_eq!(all.lines().count(), 6);
    expect![[r#"
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups/frontend/containers/nginx/logs?api-version=2024-05-01-preview&tail=2 -> 200
        GET /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.ContainerInstance/containerGroups/frontend/containers/nginx/logs?api-version=2024-05-01-preview -> 200
    "#]]
    .assert_eq(&requests_since(&sim, from));

    let missing = azure
        .container_groups
        .logs(
            &prod_web,
            &frontend,
            &ContainerName::new("php").unwrap(),
            Some(5),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind, AzureErrorKind::NotFound);
}
