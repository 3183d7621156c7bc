//! The ARM simulator checked with Microsoft's own Python SDK (azure-mgmt-compute,
//! azure-mgmt-containerinstance, azure-mgmt-web, azure-mgmt-resource-deployments and azure-core's LRO
//! pollers): `tests/python/arm_sdk_check.py` drives a simulator started here and prints
//! one `PASS`/`FAIL` line per check.

use std::{path::PathBuf, process::Stdio, time::Duration};

use azcord_sim::{ArmSim, ArmSimConfig};
use tokio::process::Command;

use azcord_sim::tools::{require_python_modules, require_tool};

/// The pinned packages, as `.ci/run` installs them.
const PIP_INSTALL: &str = "pip install azure-core==1.41.0 azure-mgmt-core==1.6.0 \
     azure-mgmt-compute==39.0.0 azure-mgmt-containerinstance==10.1.0 \
     azure-mgmt-resource==26.0.0 azure-mgmt-resource-deployments==2.0.0 azure-mgmt-web==11.0.1";
/// The whole script, SDK imports included, must finish within this.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Every check the script runs, in order.
const CHECKS: [&str; 16] = [
    "vms_list_all_with_status",
    "vm_get_with_instance_view",
    "vm_begin_start",
    "vm_begin_deallocate",
    "vm_missing_is_not_found",
    "container_groups_list",
    "container_group_get",
    "container_group_begin_start",
    "container_group_stop",
    "container_group_begin_restart",
    "web_apps_list",
    "web_app_get",
    "web_app_start_restart_stop",
    "deployment_creates_a_container_group",
    "failed_deployment_raises_deployment_failed",
    "invalid_template_raises_invalid_template",
];

#[tokio::test]
async fn microsofts_python_sdk_sees_the_simulator_as_azure() {
    let Some(python) = require_tool("python3", "apt-get install -y python3 python3-pip") else {
        return;
    };
    let modules = [
        "azure.mgmt.compute",
        "azure.mgmt.containerinstance",
        "azure.mgmt.resource.deployments",
        "azure.mgmt.web",
    ];
    if !require_python_modules(&python, &modules, PIP_INSTALL) {
        return;
    }
    let sim = ArmSim::start(ArmSimConfig {
        transition: Duration::from_millis(200),
        retry_after: Duration::from_millis(50),
        ..ArmSimConfig::default()
    })
    .await
    .expect("the simulator starts");
    sim.make_image_unpullable("ghcr.io/contoso/azcord:broken");
    let config = sim.config().clone();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/arm_sdk_check.py");
    let child = Command::new(&python)
        .arg(&script)
        .args([
            sim.endpoint(),
            sim.authority_host(),
            config.tenant_id.clone(),
            config.client_id.clone(),
            config.subscription_id.clone(),
        ])
        .env("ARM_SIM_CLIENT_SECRET", &config.client_secret)
        // The simulator is https with its own CA: urllib (the token request) trusts
        // SSL_CERT_FILE, requests (the SDK's transport) REQUESTS_CA_BUNDLE.
        .env("SSL_CERT_FILE", sim.ca_file())
        .env("REQUESTS_CA_BUNDLE", sim.ca_file())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .expect("the script finishes in time")
        .expect("the script's output is read");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        !report.contains(&config.client_secret),
        "the secret never shows"
    );
    let passed: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("PASS "))
        .collect();
    assert_eq!(passed, CHECKS, "{report}");
    assert!(output.status.success(), "{}: {report}", output.status);
}
