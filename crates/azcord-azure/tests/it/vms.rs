//! VMs: the list with paging, get, and actions followed to the end.

use azcord_azure::{
    AzureErrorKind, OperationStatus, PendingOperation, PollKind, PowerState, ResourceGroupName,
    VmAction, VmName, wait_for,
};
use azcord_sim::{ArmSimConfig, PowerState as SimPower};
use expect_test::expect;

use crate::support::{connect_to, quick_wait, requests_since, sim_config, start};

fn group(name: &str) -> ResourceGroupName {
    ResourceGroupName::new(name).unwrap()
}

fn vm(name: &str) -> VmName {
    VmName::new(name).unwrap()
}

#[tokio::test]
async fn the_list_is_one_paged_call_with_power_states() {
    let sim = start(ArmSimConfig {
        page_size: 5,
        ..sim_config()
    })
    .await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();

    let vms = azure.vms.list(None).await.unwrap();
    let table: Vec<String> = vms
        .iter()
        .map(|vm| {
            let power = vm.power_state.as_ref().map_or("-", PowerState::as_str);
            format!(
                "{}/{} {} {} {}",
                vm.resource_group,
                vm.name,
                vm.location,
                power,
                vm.size.as_deref().unwrap_or("-")
            )
        })
        .collect();
    expect![[r#"
        dev-sandbox/build-agent eastus deallocated Standard_D4s_v5
        dev-sandbox/jump-box eastus running Standard_B1s
        dev-sandbox/win-test eastus deallocated Standard_B2s
        prod-data/db-1 westeurope running Standard_E4s_v5
        prod-data/db-2 westeurope deallocated Standard_E4s_v5
        prod-data/etl-worker northeurope stopped Standard_F4s_v2
        prod-web/cache-1 westeurope running Standard_E2s_v5
        prod-web/web-1 westeurope running Standard_D2s_v5
        prod-web/web-2 westeurope running Standard_D2s_v5
        prod-web/web-3 westeurope running Standard_D2s_v5
        staging/api-1 westeurope running Standard_B2ms
        staging/web-1 westeurope stopped Standard_B2s
    "#]]
    .assert_eq(&(table.join("\n") + "\n"));
    expect![[r#"
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true -> 200
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true&$skiptoken=5 -> 200
        GET /subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01&statusOnly=true&$skiptoken=10 -> 200
    "#]]
    .assert_eq(&requests_since(&sim, from));

    // One group: the same subscription-wide call (statusOnly exists only there), filtered.
    let staging = azure.vms.list(Some(&group("STAGING"))).await.unwrap();
    let names: Vec<(&str, Option<&PowerState>)> = staging
        .iter()
        .map(|vm| (vm.name.as_str(), vm.power_state.as_ref()))
        .collect();
    assert_eq!(
        names,
        [
            ("api-1", Some(&PowerState::Running)),
            ("web-1", Some(&PowerState::Stopped))
        ]
    );
    assert!(
        sim.requests()[from..]
            .iter()
            .all(|request| !request.path.contains("/instanceView")),
        "no call per VM"
    );
}

#[tokio::test]
async fn get_shows_the_instance_view() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let details = azure
        .vms
        .get(&group("prod-web"), &vm("web-1"))
        .await
        .unwrap();
    assert_eq!(details.summary.power_state, Some(PowerState::Running));
    assert_eq!(details.summary.size.as_deref(), Some("Standard_D2s_v5"));
    assert_eq!(details.os_type.as_deref(), Some("Linux"));
    assert_eq!(details.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(
        details.tags,
        [
            ("env".to_owned(), "prod".to_owned()),
            ("role".to_owned(), "web".to_owned())
        ]
    );
    assert!(details.id.as_deref().is_some_and(|id| {
        id.ends_with("/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-1")
    }));

    let missing = azure
        .vms
        .get(&group("prod-web"), &vm("web-9"))
        .await
        .unwrap_err();
    assert_eq!(
        (missing.kind, missing.status, missing.code.as_deref()),
        (
            AzureErrorKind::NotFound,
            Some(404),
            Some("ResourceNotFound")
        )
    );
    assert!(missing.correlation_id.is_some(), "{missing:?}");
    assert!(missing.message.contains("web-9"), "{missing:?}");
}

#[tokio::test]
async fn actions_return_at_once_and_polls_follow_them_to_the_end() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;

    let pending = azure
        .vms
        .begin(&group("prod-data"), &vm("db-2"), VmAction::Start)
        .await
        .unwrap();
    let PendingOperation::Running {
        url,
        kind,
        retry_after,
        correlation_id,
    } = &pending
    else {
        panic!("start is long-running: {pending:?}")
    };
    assert_eq!(*kind, PollKind::AsyncOperation);
    assert_eq!(
        *retry_after,
        Some(std::time::Duration::from_millis(20)),
        "x-ms-retry-after-ms wins over whole seconds"
    );
    assert!(
        url.starts_with(&sim.endpoint()) && correlation_id.is_some(),
        "{pending:?}"
    );
    // The 0.21 crates' action call would have returned here too, on the 202, but
    // claimed nothing about the outcome: azcord hands back how to follow it.
    assert_eq!(
        sim.vm("prod-data", "db-2").unwrap().power_state,
        SimPower::Starting
    );

    let polled = azure.operations.poll(&pending).await.unwrap();
    assert!(
        matches!(
            polled,
            OperationStatus::InProgress {
                retry_after: Some(_)
            }
        ),
        "{polled:?}"
    );
    sim.finish_transitions();
    assert_eq!(
        azure.operations.poll(&pending).await.unwrap(),
        OperationStatus::Succeeded
    );
    let mut polls = 0;
    wait_for(azure.operations.as_ref(), &pending, quick_wait(), |_| {
        polls += 1
    })
    .await
    .unwrap();
    assert_eq!(polls, 0, "already done at the first poll");
    assert_eq!(
        sim.vm("prod-data", "db-2").unwrap().power_state,
        SimPower::Running
    );

    // The Location style of the same kind of operation: 202 while running, 200 once done.
    let pending = azure
        .vms
        .begin(&group("prod-data"), &vm("db-1"), VmAction::Deallocate)
        .await
        .unwrap();
    let PendingOperation::Running {
        url,
        correlation_id,
        ..
    } = pending
    else {
        panic!("{pending:?}")
    };
    let location = PendingOperation::Running {
        url: url.replacen('?', "?monitor=true&", 1),
        kind: PollKind::Location,
        retry_after: None,
        correlation_id,
    };
    assert!(matches!(
        azure.operations.poll(&location).await.unwrap(),
        OperationStatus::InProgress { .. }
    ));
    sim.finish_transitions();
    assert_eq!(
        azure.operations.poll(&location).await.unwrap(),
        OperationStatus::Succeeded
    );
    assert_eq!(
        sim.vm("prod-data", "db-1").unwrap().power_state,
        SimPower::Deallocated
    );
}

#[tokio::test]
async fn every_action_is_sent_as_its_post() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    let actions = [
        ("prod-data", "db-2", VmAction::Start),
        ("prod-web", "web-2", VmAction::PowerOff),
        ("prod-web", "web-3", VmAction::Deallocate),
        ("staging", "api-1", VmAction::Restart),
    ];
    for (resource_group, name, action) in actions {
        let pending = azure
            .vms
            .begin(&group(resource_group), &vm(name), action)
            .await
            .unwrap();
        assert!(
            matches!(pending, PendingOperation::Running { .. }),
            "{action:?}: {pending:?}"
        );
    }
    expect![[r#"
        POST /subscriptions/{sub}/resourceGroups/prod-data/providers/Microsoft.Compute/virtualMachines/db-2/start?api-version=2024-07-01 -> 202
        POST /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-2/powerOff?api-version=2024-07-01 -> 202
        POST /subscriptions/{sub}/resourceGroups/prod-web/providers/Microsoft.Compute/virtualMachines/web-3/deallocate?api-version=2024-07-01 -> 202
        POST /subscriptions/{sub}/resourceGroups/staging/providers/Microsoft.Compute/virtualMachines/api-1/restart?api-version=2024-07-01 -> 202
    "#]]
    .assert_eq(&requests_since(&sim, from));
}

#[tokio::test]
async fn a_failed_operation_ends_the_wait_with_azures_error() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    sim.fail_next_operation(
        "VMAgentNotReady",
        "The VM agent did not report ready in time.",
    );
    let pending = azure
        .vms
        .begin(&group("prod-data"), &vm("db-2"), VmAction::Start)
        .await
        .unwrap();
    sim.finish_transitions();
    let error = wait_for(azure.operations.as_ref(), &pending, quick_wait(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        (error.kind, error.code.as_deref(), error.message.as_str()),
        (
            AzureErrorKind::OperationFailed,
            Some("VMAgentNotReady"),
            "The VM agent did not report ready in time."
        )
    );
    assert_eq!(error.correlation_id.as_deref(), pending.correlation_id());
    assert_eq!(
        sim.vm("prod-data", "db-2").unwrap().power_state,
        SimPower::Deallocated
    );
}

#[tokio::test]
async fn refusals_are_not_retried() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    let error = azure
        .vms
        .begin(&group("prod-data"), &vm("db-2"), VmAction::Restart)
        .await
        .unwrap_err();
    assert_eq!(
        (error.kind, error.status, error.code.as_deref()),
        (
            AzureErrorKind::Refused,
            Some(409),
            Some("OperationNotAllowed")
        )
    );
    assert!(error.is_users_to_fix());
    assert_eq!(sim.requests().len() - from, 1);
}

#[tokio::test]
async fn names_reach_the_url_as_validated() {
    let sim = start(sim_config()).await;
    let azure = connect_to(&sim).await;
    let from = sim.requests().len();
    // Parentheses and dots are valid in group names; `/`, `?` or `%` never get this far.
    let error = azure
        .vms
        .get(&group("team(a).eu"), &vm("web_1.x_"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, AzureErrorKind::NotFound);
    expect![[r#"
        GET /subscriptions/{sub}/resourceGroups/team(a).eu/providers/Microsoft.Compute/virtualMachines/web_1.x_?api-version=2024-07-01&%24expand=instanceView -> 404
    "#]]
    .assert_eq(&requests_since(&sim, from));
    assert!(VmName::new("../x").is_err() && ResourceGroupName::new("a?b").is_err());
}
