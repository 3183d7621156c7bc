"""Drives the ARM simulator with Microsoft's own Python SDK, as a client nobody here wrote.

Usage: arm_sdk_check.py ENDPOINT AUTHORITY TENANT CLIENT_ID SUBSCRIPTION
with the client secret in the environment variable ARM_SIM_CLIENT_SECRET (never on the
command line). The simulator must hold the sample subscription, fail deployments of
BROKEN_IMAGE with InaccessibleImage, and use short transitions.

Prints one line per check, `PASS name` or `FAIL name: why`, and exits 0 only if every
check passed. Every call is bounded: the transport times out, and pollers are waited on
with a timeout.
"""

import json
import os
import sys
import time
import traceback
import urllib.parse
import urllib.request

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.web import WebSiteManagementClient

# Every pipeline call goes over plain HTTP to loopback: azure-core refuses to send a
# bearer token without TLS unless told per call.
NO_TLS = {"enforce_https": False, "connection_timeout": 10, "read_timeout": 10}
LRO_TIMEOUT = 30
BROKEN_IMAGE = "ghcr.io/contoso/azcord:broken"
SCOPE = "https://management.azure.com/.default"


class SimulatorCredential:
    """A TokenCredential over the simulator's AAD endpoint (client credentials)."""

    def __init__(self, authority, tenant, client_id, secret):
        self._url = f"{authority.rstrip('/')}/{tenant}/oauth2/v2.0/token"
        self._client_id = client_id
        self._secret = secret

    def get_token(self, *scopes, **_kwargs):
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._secret,
                "scope": " ".join(scopes),
            }
        ).encode()
        with urllib.request.urlopen(self._url, data=form, timeout=10) as answer:
            body = json.load(answer)
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))


def power_state(vm):
    statuses = vm.instance_view.statuses if vm.instance_view else []
    return next((s.code for s in statuses if s.code.startswith("PowerState/")), None)


def template(image):
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {
            "image": {"type": "string"},
            "token": {"type": "securestring"},
        },
        "resources": [
            {
                "type": "Microsoft.ContainerInstance/containerGroups",
                "apiVersion": "2023-05-01",
                "name": "azcord",
                "location": "[resourceGroup().location]",
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "osType": "Linux",
                    "containers": [
                        {
                            "name": "bot",
                            "properties": {
                                "image": "[parameters('image')]",
                                "resources": {"requests": {"cpu": 0.5, "memoryInGB": 1}},
                                "environmentVariables": [
                                    {"name": "DISCORD_TOKEN", "secureValue": "[parameters('token')]"}
                                ],
                            },
                        }
                    ],
                },
            }
        ],
    }


def deployment(image):
    return {
        "properties": {
            "mode": "Incremental",
            "template": template(image),
            "parameters": {"image": {"value": image}, "token": {"value": "not-a-real-token"}},
        }
    }


def main():
    endpoint, authority, tenant, client_id, subscription = sys.argv[1:6]

    credential = SimulatorCredential(authority, tenant, client_id, os.environ["ARM_SIM_CLIENT_SECRET"])
    options = {"base_url": endpoint, "credential_scopes": [SCOPE], "polling_interval": 0.05}
    compute = ComputeManagementClient(credential, subscription, **options)
    aci = ContainerInstanceManagementClient(credential, subscription, **options)
    deployments = DeploymentsMgmtClient(credential, subscription, **options)
    web = WebSiteManagementClient(credential, subscription, **options)

    def vms_list_all_with_status():
        vms = list(compute.virtual_machines.list_all(status_only="true", **NO_TLS))
        assert len(vms) == 12, [vm.name for vm in vms]
        assert all(power_state(vm) for vm in vms), "every VM has a power state"

    def vm_get_with_instance_view():
        vm = compute.virtual_machines.get("staging", "web-1", expand="instanceView", **NO_TLS)
        assert vm.hardware_profile.vm_size == "Standard_B2s", vm.hardware_profile.vm_size
        assert power_state(vm) == "PowerState/stopped", power_state(vm)

    def vm_begin_start():
        compute.virtual_machines.begin_start("staging", "web-1", **NO_TLS).result(timeout=LRO_TIMEOUT)
        vm = compute.virtual_machines.get("staging", "web-1", expand="instanceView", **NO_TLS)
        assert power_state(vm) == "PowerState/running", power_state(vm)

    def vm_begin_deallocate():
        poller = compute.virtual_machines.begin_deallocate("prod-web", "web-2", **NO_TLS)
        poller.result(timeout=LRO_TIMEOUT)
        assert poller.status() == "Succeeded", poller.status()
        vm = compute.virtual_machines.get("prod-web", "web-2", expand="instanceView", **NO_TLS)
        assert power_state(vm) == "PowerState/deallocated", power_state(vm)

    def vm_missing_is_not_found():
        try:
            compute.virtual_machines.get("prod-web", "web-9", **NO_TLS)
        except ResourceNotFoundError as error:
            assert error.error.code == "ResourceNotFound", error.error.code
        else:
            raise AssertionError("no ResourceNotFoundError")

    def container_groups_list():
        names = sorted(group.name for group in aci.container_groups.list(**NO_TLS))
        assert names == ["backup", "frontend", "jobs", "worker"], names

    def container_group_get():
        group = aci.container_groups.get("prod-web", "frontend", **NO_TLS)
        assert group.instance_view.state == "Running", group.instance_view.state
        assert [c.name for c in group.containers] == ["nginx", "sidecar"]
        assert group.ip_address.ip == "20.61.14.27", group.ip_address.ip

    def container_group_begin_start():
        aci.container_groups.begin_start("staging", "worker", **NO_TLS).result(timeout=LRO_TIMEOUT)
        group = aci.container_groups.get("staging", "worker", **NO_TLS)
        assert group.instance_view.state == "Running", group.instance_view.state

    def container_group_stop():
        aci.container_groups.stop("staging", "worker", **NO_TLS)
        group = aci.container_groups.get("staging", "worker", **NO_TLS)
        assert group.instance_view.state == "Stopped", group.instance_view.state

    def container_group_begin_restart():
        before = aci.container_groups.get("prod-web", "frontend", **NO_TLS)
        counts = [c.instance_view.restart_count for c in before.containers]
        poller = aci.container_groups.begin_restart("prod-web", "frontend", **NO_TLS)
        poller.result(timeout=LRO_TIMEOUT)
        assert poller.status() == "Succeeded", poller.status()
        after = aci.container_groups.get("prod-web", "frontend", **NO_TLS)
        assert after.instance_view.state == "Running", after.instance_view.state
        assert [c.instance_view.restart_count for c in after.containers] == [n + 1 for n in counts]

    def web_apps_list():
        names = sorted(site.name for site in web.web_apps.list(**NO_TLS))
        assert names == ["docs", "shop", "shop-staging"], names
        names = [site.name for site in web.web_apps.list_by_resource_group("staging", **NO_TLS)]
        assert names == ["shop-staging"], names

    def web_app_get():
        site = web.web_apps.get("staging", "shop-staging", **NO_TLS)
        assert site.state == "Stopped", site.state
        assert site.default_host_name == "shop-staging.azurewebsites.net", site.default_host_name
        assert site.server_farm_id.endswith("/serverfarms/staging-plan"), site.server_farm_id

    def web_app_start_restart_stop():
        web.web_apps.start("staging", "shop-staging", **NO_TLS)
        assert web.web_apps.get("staging", "shop-staging", **NO_TLS).state == "Running"
        web.web_apps.restart("staging", "shop-staging", **NO_TLS)
        web.web_apps.stop("staging", "shop-staging", **NO_TLS)
        assert web.web_apps.get("staging", "shop-staging", **NO_TLS).state == "Stopped"

    def deployment_creates_a_container_group():
        image = "ghcr.io/contoso/azcord:1.4.0"
        poller = deployments.deployments.begin_create_or_update(
            "staging", "azcord-sdk", deployment(image), **NO_TLS
        )
        result = poller.result(timeout=LRO_TIMEOUT)
        assert result.properties.provisioning_state == "Succeeded", result.properties.provisioning_state
        assert result.properties.parameters["token"] == {"type": "SecureString"}
        group = aci.container_groups.get("staging", "azcord", **NO_TLS)
        assert group.containers[0].image == image, group.containers[0].image
        assert group.identity.principal_id, "a system-assigned identity"
        assert group.containers[0].environment_variables[0].secure_value is None

    def failed_deployment_raises_deployment_failed():
        poller = deployments.deployments.begin_create_or_update(
            "staging", "azcord-broken", deployment(BROKEN_IMAGE), **NO_TLS
        )
        try:
            poller.result(timeout=LRO_TIMEOUT)
        except HttpResponseError as error:
            assert error.error.code == "DeploymentFailed", error.error.code
            assert error.error.details[0].code == "InaccessibleImage", error.error.details[0].code
        else:
            raise AssertionError("no HttpResponseError")

    def invalid_template_raises_invalid_template():
        body = deployment("x")
        del body["properties"]["parameters"]["image"]
        try:
            deployments.deployments.begin_create_or_update("staging", "azcord-invalid", body, **NO_TLS)
        except HttpResponseError as error:
            assert error.status_code == 400, error.status_code
            assert error.error.code == "InvalidTemplate", error.error.code
        else:
            raise AssertionError("no HttpResponseError")

    checks = [
        vms_list_all_with_status,
        vm_get_with_instance_view,
        vm_begin_start,
        vm_begin_deallocate,
        vm_missing_is_not_found,
        container_groups_list,
        container_group_get,
        container_group_begin_start,
        container_group_stop,
        container_group_begin_restart,
        web_apps_list,
        web_app_get,
        web_app_start_restart_stop,
        deployment_creates_a_container_group,
        failed_deployment_raises_deployment_failed,
        invalid_template_raises_invalid_template,
    ]
    failures = 0
    for check in checks:
        try:
            check()
            print(f"PASS {check.__name__}", flush=True)
        except Exception as error:  # noqa: BLE001 - every failure is reported, then counted
            failures += 1
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            print(f"FAIL {check.__name__}: {detail}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
