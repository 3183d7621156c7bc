//! The sample subscription a simulator holds when `ArmSimConfig::seed` is set.

use std::collections::BTreeMap;

use super::{
    PowerState, SimContainer, SimContainerGroup, SimPort, SimResourceGroup, SimVm, SimWebApp,
};

/// The resources of the sample subscription; see the [module docs](super) for a table.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmSample {
    /// `prod-web`, `prod-data`, `staging` and `dev-sandbox`.
    pub resource_groups: Vec<SimResourceGroup>,
    /// Twelve VMs in mixed power states.
    pub vms: Vec<SimVm>,
    /// Four container groups with logs.
    pub container_groups: Vec<SimContainerGroup>,
    /// Three App Service web apps, one of them stopped.
    pub web_apps: Vec<SimWebApp>,
}

/// The sample subscription: what a seeded simulator starts with.
pub fn sample() -> ArmSample {
    use PowerState::{Deallocated, Running, Stopped};
    let groups = [
        ("prod-web", "westeurope", "prod"),
        ("prod-data", "westeurope", "prod"),
        ("staging", "westeurope", "staging"),
        ("dev-sandbox", "eastus", "dev"),
    ];
    let resource_groups = groups
        .iter()
        .map(|(name, location, env)| SimResourceGroup {
            tags: tags(&[("env", env)]),
            ..SimResourceGroup::new(name, location)
        })
        .collect();
    let vm = |group: &str, name: &str, location: &str, size: &str, os: &str, power, role: &str| {
        let env = groups
            .iter()
            .find(|(candidate, ..)| *candidate == group)
            .map_or("dev", |(.., env)| *env);
        SimVm {
            name: name.to_owned(),
            resource_group: group.to_owned(),
            location: location.to_owned(),
            size: size.to_owned(),
            os_type: os.to_owned(),
            power_state: power,
            tags: tags(&[("env", env), ("role", role)]),
        }
    };
    let vms = vec![
        vm(
            "prod-web",
            "web-1",
            "westeurope",
            "Standard_D2s_v5",
            "Linux",
            Running,
            "web",
        ),
        vm(
            "prod-web",
            "web-2",
            "westeurope",
            "Standard_D2s_v5",
            "Linux",
            Running,
            "web",
        ),
        vm(
            "prod-web",
            "web-3",
            "westeurope",
            "Standard_D2s_v5",
            "Linux",
            Running,
            "web",
        ),
        vm(
            "prod-web",
            "cache-1",
            "westeurope",
            "Standard_E2s_v5",
            "Linux",
            Running,
            "cache",
        ),
        vm(
            "prod-data",
            "db-1",
            "westeurope",
            "Standard_E4s_v5",
            "Linux",
            Running,
            "database",
        ),
        vm(
            "prod-data",
            "db-2",
            "westeurope",
            "Standard_E4s_v5",
            "Linux",
            Deallocated,
            "database",
        ),
        vm(
            "prod-data",
            "etl-worker",
            "northeurope",
            "Standard_F4s_v2",
            "Linux",
            Stopped,
            "etl",
        ),
        vm(
            "staging",
            "web-1",
            "westeurope",
            "Standard_B2s",
            "Linux",
            Stopped,
            "web",
        ),
        vm(
            "staging",
            "api-1",
            "westeurope",
            "Standard_B2ms",
            "Linux",
            Running,
            "api",
        ),
        vm(
            "dev-sandbox",
            "build-agent",
            "eastus",
            "Standard_D4s_v5",
            "Linux",
            Deallocated,
            "ci",
        ),
        vm(
            "dev-sandbox",
            "jump-box",
            "eastus",
            "Standard_B1s",
            "Linux",
            Running,
            "bastion",
        ),
        vm(
            "dev-sandbox",
            "win-test",
            "eastus",
            "Standard_B2s",
            "Windows",
            Deallocated,
            "test",
        ),
    ];
    let mut container_groups = vec![
        SimContainerGroup {
            name: "frontend".to_owned(),
            resource_group: "prod-web".to_owned(),
            location: "westeurope".to_owned(),
            os_type: "Linux".to_owned(),
            state: "Running".to_owned(),
            ip: Some("20.61.14.27".to_owned()),
            containers: vec![
                container(
                    "nginx",
                    "nginx:1.27-alpine",
                    1.0,
                    1.5,
                    0,
                    &[
                        "/docker-entrypoint.sh: Configuration complete; ready for start up",
                        "2024/05/14 08:30:02 [notice] 1#1: nginx/1.27.0",
                        "2024/05/14 08:30:02 [notice] 1#1: start worker processes",
                        "10.240.0.4 - - [14/May/2024:08:31:15 +0000] \"GET / HTTP/1.1\" 200 615 \"-\" \"Mozilla/5.0\"",
                        "10.240.0.4 - - [14/May/2024:08:31:16 +0000] \"GET /favicon.ico HTTP/1.1\" 404 153 \"-\" \"Mozilla/5.0\"",
                        "10.240.0.7 - - [14/May/2024:08:32:40 +0000] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.29\"",
                    ],
                ),
                container(
                    "sidecar",
                    "fluent/fluent-bit:3.0",
                    0.5,
                    0.5,
                    1,
                    &[
                        "Fluent Bit v3.0.4",
                        "[2024/05/14 08:30:03] [ info] [fluent bit] version=3.0.4, commit=, pid=1",
                        "[2024/05/14 08:30:03] [ info] [input:tail:tail.0] initializing",
                        "[2024/05/14 08:30:03] [ info] [output:stdout:stdout.0] worker #0 started",
                    ],
                ),
            ],
            ..SimContainerGroup::new("", "", Vec::new())
        },
        SimContainerGroup {
            name: "backup".to_owned(),
            resource_group: "prod-data".to_owned(),
            location: "westeurope".to_owned(),
            os_type: "Linux".to_owned(),
            state: "Running".to_owned(),
            ip: None,
            containers: vec![container(
                "pg-backup",
                "postgres:16-alpine",
                1.0,
                2.0,
                0,
                &[
                    "starting nightly backup of db-1",
                    "pg_dump: dumping contents of table \"public.orders\"",
                    "pg_dump: dumping contents of table \"public.customers\"",
                    "uploaded backup-2024-05-14.sql.gz (412 MiB) to stprodbackups/nightly",
                    "backup finished in 6m12s",
                ],
            )],
            ..SimContainerGroup::new("", "", Vec::new())
        },
        SimContainerGroup {
            name: "worker".to_owned(),
            resource_group: "staging".to_owned(),
            location: "westeurope".to_owned(),
            os_type: "Linux".to_owned(),
            state: "Stopped".to_owned(),
            ip: None,
            containers: vec![container(
                "worker",
                "ghcr.io/contoso/worker:2.3.1",
                1.0,
                1.0,
                3,
                &[
                    "worker 2.3.1 starting",
                    "connected to queue staging-jobs",
                    "processed 118 messages",
                    "received SIGTERM, draining",
                    "shutdown complete",
                ],
            )],
            ..SimContainerGroup::new("", "", Vec::new())
        },
        SimContainerGroup {
            name: "jobs".to_owned(),
            resource_group: "dev-sandbox".to_owned(),
            location: "eastus".to_owned(),
            os_type: "Linux".to_owned(),
            state: "Running".to_owned(),
            ip: Some("52.170.33.8".to_owned()),
            containers: vec![container(
                "jobs",
                "python:3.12-slim",
                0.5,
                1.0,
                2,
                &[
                    "INFO scheduler started with 3 jobs",
                    "INFO job cleanup-tmp ran in 0.4s",
                    "WARNING job sync-reports retrying after timeout (attempt 2/5)",
                    "INFO job sync-reports ran in 12.8s",
                    "INFO job rotate-keys skipped: not due",
                ],
            )],
            ..SimContainerGroup::new("", "", Vec::new())
        },
    ];
    // The public groups expose port 80, on their first container.
    for group in &mut container_groups {
        if group.ip.is_some() {
            group.ip_ports = vec![SimPort::tcp(80)];
            if let Some(first) = group.containers.first_mut() {
                first.ports = vec![SimPort::tcp(80)];
            }
        }
    }
    let web_app = |group: &str, name: &str, location: &str, state: &str, plan: &str| {
        let env = groups
            .iter()
            .find(|(candidate, ..)| *candidate == group)
            .map_or("dev", |(.., env)| *env);
        SimWebApp {
            location: location.to_owned(),
            state: state.to_owned(),
            plan: plan.to_owned(),
            tags: tags(&[("env", env)]),
            ..SimWebApp::new(group, name)
        }
    };
    let web_apps = vec![
        web_app("prod-web", "shop", "West Europe", "Running", "prod-plan"),
        web_app(
            "staging",
            "shop-staging",
            "West Europe",
            "Stopped",
            "staging-plan",
        ),
        web_app("dev-sandbox", "docs", "East US", "Running", "dev-plan"),
    ];
    ArmSample {
        resource_groups,
        vms,
        container_groups,
        web_apps,
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn container(
    name: &str,
    image: &str,
    cpu: f64,
    memory_gb: f64,
    restart_count: u32,
    logs: &[&str],
) -> SimContainer {
    SimContainer {
        cpu,
        memory_gb,
        restart_count,
        logs: logs.iter().map(|line| (*line).to_owned()).collect(),
        ..SimContainer::new(name, image)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_sample_is_consistent() {
        let sample = sample();
        let groups: HashSet<&str> = sample
            .resource_groups
            .iter()
            .map(|group| group.name.as_str())
            .collect();
        assert!(
            sample
                .vms
                .iter()
                .all(|vm| groups.contains(vm.resource_group.as_str()))
        );
        assert!(
            sample
                .container_groups
                .iter()
                .all(|group| groups.contains(group.resource_group.as_str()))
        );
        let names: HashSet<(&str, &str)> = sample
            .vms
            .iter()
            .map(|vm| (vm.resource_group.as_str(), vm.name.as_str()))
            .collect();
        assert_eq!(names.len(), sample.vms.len(), "no duplicate VMs");
        // The deliberate ambiguity tests rely on.
        assert!(names.contains(&("prod-web", "web-1")) && names.contains(&("staging", "web-1")));
        assert!(
            sample
                .vms
                .iter()
                .all(|vm| !vm.power_state.is_transitional())
        );
    }
}
