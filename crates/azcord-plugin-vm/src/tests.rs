use std::{sync::Arc, time::Duration};

use azcord_azure::{
    Azure, AzureError, AzureErrorKind, OperationStatus, Operations, PendingOperation, PollKind,
    PowerState, ResourceGroupName, VirtualMachines, VmAction, VmDetails, VmName, VmSummary,
    WaitOptions,
};
use azcord_command::{
    BoxFuture, CommandPattern, Outcome, Policy, Registry, Rule, testing::run_examples,
};
use azcord_sim::terminal::parse_command_line;

use azcord_resource::AzureSettings;

use crate::{plugin, render};

/// A subscription in memory, whose operations succeed on the first poll.
struct Fake(Vec<VmSummary>);

fn vm(group: &str, name: &str, state: PowerState) -> VmSummary {
    VmSummary {
        name: name.into(),
        resource_group: group.into(),
        location: "westeurope".into(),
        size: Some("Standard_B2s".into()),
        power_state: Some(state),
    }
}

fn sample() -> Vec<VmSummary> {
    vec![
        vm("prod-web", "web-1", PowerState::Running),
        vm("prod-web", "web-2", PowerState::Running),
        vm("staging", "web-1", PowerState::Stopped),
        vm("prod-data", "db-1", PowerState::Running),
        vm("prod-data", "db-2", PowerState::Deallocated),
    ]
}

impl VirtualMachines for Fake {
    fn list<'a>(
        &'a self,
        group: Option<&'a ResourceGroupName>,
    ) -> BoxFuture<'a, Result<Vec<VmSummary>, AzureError>> {
        let vms = self
            .0
            .iter()
            .filter(|vm| group.is_none_or(|group| group.as_str() == vm.resource_group))
            .cloned()
            .collect();
        Box::pin(async move { Ok(vms) })
    }

    fn get<'a>(
        &'a self,
        group: &'a ResourceGroupName,
        name: &'a VmName,
    ) -> BoxFuture<'a, Result<VmDetails, AzureError>> {
        let found = self
            .0
            .iter()
            .find(|vm| vm.resource_group == group.as_str() && vm.name == name.as_str())
            .cloned();
        Box::pin(async move {
            let summary =
                found.ok_or_else(|| AzureError::new(AzureErrorKind::NotFound, "not found"))?;
            Ok(VmDetails {
                summary,
                os_type: Some("Linux".into()),
                provisioning_state: Some("Succeeded".into()),
                id: None,
                tags: vec![("team".into(), "web".into())],
            })
        })
    }

    fn begin<'a>(
        &'a self,
        _: &'a ResourceGroupName,
        _: &'a VmName,
        _: VmAction,
    ) -> BoxFuture<'a, Result<PendingOperation, AzureError>> {
        Box::pin(async {
            Ok(PendingOperation::Running {
                url: "http://arm/operations/1".into(),
                kind: PollKind::AsyncOperation,
                retry_after: Some(Duration::from_millis(1)),
                correlation_id: Some("corr".into()),
            })
        })
    }
}

impl Operations for Fake {
    fn poll<'a>(
        &'a self,
        _: &'a PendingOperation,
    ) -> BoxFuture<'a, Result<OperationStatus, AzureError>> {
        Box::pin(async { Ok(OperationStatus::Succeeded) })
    }
}

fn azure() -> Azure {
    let fake = Arc::new(Fake(sample()));
    Azure {
        vms: fake.clone(),
        operations: fake,
        ..Azure::refusing(AzureError::new(AzureErrorKind::NotFound, "none"))
    }
}

#[tokio::test]
async fn every_example_runs() {
    let settings = AzureSettings {
        wait: WaitOptions {
            default_interval: Duration::from_millis(1),
            ..WaitOptions::default()
        },
        ..AzureSettings::default()
    };
    let registry = Registry::new([plugin(
        &azure(),
        settings,
        azcord_resource::Store::in_memory(),
    )])
    .unwrap();
    let policy = Policy {
        guilds: Vec::new(),
        rules: vec![Rule {
            name: "ops".into(),
            commands: vec![CommandPattern::new("vm *")],
            roles: vec![azcord_command::twilight_model::id::Id::new(10)],
            users: Vec::new(),
            channels: Vec::new(),
            resource_groups: Vec::new(),
        }],
    };
    let runs = run_examples(registry, policy, &[10], |line, definitions| {
        parse_command_line(line, definitions).map_err(|error| error.to_string())
    })
    .await;
    let summary: Vec<String> = runs
        .iter()
        .map(|run| {
            format!(
                "{:?} {}: {}",
                run.outcome,
                run.line,
                run.content
                    .as_deref()
                    .unwrap_or_default()
                    .lines()
                    .next()
                    .unwrap_or_default()
            )
        })
        .collect();
    assert!(
        runs.iter().all(|run| run.outcome == Outcome::Success),
        "{summary:#?}"
    );
    expect_test::expect![[r#"
        [
            "Success /vm list: 5 VMs in the subscription · 3 running```",
            "Success /vm list resource_group:prod-web: 2 VMs in `prod-web` · 2 running```",
            "Success /vm status name:db-1: db-1",
            "Success /vm status name:staging/web-1: web-1Stopped but still allocated: compute is still billed. `/vm deallocate` stops that.",
            "Success /vm start name:prod-web/web-2: ✅ **web-2** in `prod-web` is running · took 0 s",
            "Success /vm stop name:prod-web/web-2: ⚠\u{fe0f} Stop **web-2** in `prod-web`? Stopping powers it off but keeps its hardware allocated: **compute is still billed**. To stop paying for compute, use `/vm deallocate` instead.",
            "Success /vm deallocate name:prod-web/web-2: ⚠\u{fe0f} Deallocate **web-2** in `prod-web`? Deallocating releases its hardware: **compute billing stops** (disks are still billed) and a dynamic public IP address is released.",
            "Success /vm restart name:prod-web/web-2: ⚠\u{fe0f} Restart **web-2** in `prod-web`? It is unavailable while it reboots; billing does not change.",
        ]
    "#]]
    .assert_debug_eq(&summary);
}

#[test]
fn the_list_is_a_table() {
    let reply = render::list(&sample(), None);
    let embed = &reply.embeds[0];
    expect_test::expect![[r#"
        5 VMs in the subscription · 3 running
        ```
        NAME   RESOURCE GROUP  STATE           SIZE          LOCATION
        db-1   prod-data       🟢 running      Standard_B2s  westeurope
        db-2   prod-data       ⚪ deallocated  Standard_B2s  westeurope
        web-1  prod-web        🟢 running      Standard_B2s  westeurope
        web-2  prod-web        🟢 running      Standard_B2s  westeurope
        web-1  staging         🟡 stopped      Standard_B2s  westeurope
        ```"#]]
    .assert_eq(&format!(
        "{}\n{}",
        embed.title.as_deref().unwrap(),
        embed.description.as_deref().unwrap()
    ));
    assert_eq!(
        render::list(&[], Some("empty")).content.as_deref(),
        Some("There are no VMs in `empty`.")
    );
}
