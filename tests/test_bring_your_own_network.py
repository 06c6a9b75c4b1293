"""Landing zones bring their own VNet, subnets, private DNS zones and Log Analytics workspace."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from components.settings import PROJECT
from tests.support import DELETE, only, problems, with_value
from tools.harness import Recording, run_stack
from tools.stack_config import load_stack_config

ROOT = Path(__file__).resolve().parent.parent
HUB_DIR = ROOT / "examples" / "hub-network"
OPENAI_ONLY_DIR = ROOT / "examples" / "openai-only"

SPOKE = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-spoke-genai/providers/Microsoft.Network"
VNET_ID = f"{SPOKE}/virtualNetworks/vnet-spoke-genai"
HUB_DNS = (
    "/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-connectivity-dns/providers/"
    "Microsoft.Network/privateDnsZones"
)
WORKSPACE_ID = (
    "/subscriptions/33333333-3333-3333-3333-333333333333/resourceGroups/rg-management/providers/"
    "Microsoft.OperationalInsights/workspaces/law-platform-central"
)


@pytest.fixture(scope="module")
def hub() -> Recording:
    return run_stack("hub", project_dir=HUB_DIR)


@pytest.fixture(scope="module")
def openai_only() -> Recording:
    return run_stack("example", project_dir=OPENAI_ONLY_DIR)


def hub_config() -> dict[str, Any]:
    flat, _ = load_stack_config("hub", HUB_DIR)
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: json.loads(v) if v[:1] in "{[" else v for k, v in flat.items()}


# -- the hub stack ----------------------------------------------------------------------------------------------
def test_the_hub_stack_declares_no_network_of_its_own(hub: Recording) -> None:
    for token in ("VirtualNetwork", "Subnet", "NetworkSecurityGroup"):
        assert hub.of_type(f"azure-native:network:{token}") == [], token


def test_the_hub_stack_creates_and_links_no_private_dns_zone(hub: Recording) -> None:
    assert hub.of_type("azure-native:privatedns:PrivateZone") == []
    assert hub.of_type("azure-native:privatedns:VirtualNetworkLink") == []


def test_apim_integrates_into_the_existing_subnet(hub: Recording) -> None:
    apim = hub.one("azure-native:apimanagement:ApiManagementService")
    assert apim.get("virtualNetworkConfiguration.subnetResourceId") == f"{VNET_ID}/subnets/snet-apim"
    assert apim.get("sku.name") == "StandardV2"


def test_private_endpoints_join_the_existing_subnet_and_register_in_the_hub_zones(hub: Recording) -> None:
    endpoints = hub.of_type("azure-native:network:PrivateEndpoint")
    assert endpoints and {e.get("subnet.id") for e in endpoints} == {f"{VNET_ID}/subnets/snet-private-endpoints"}
    zones = {
        c["privateDnsZoneId"]
        for group in hub.of_type("azure-native:network:PrivateDnsZoneGroup")
        for c in group.get("privateDnsZoneConfigs")
    }
    assert zones == {f"{HUB_DNS}/privatelink.openai.azure.com", f"{HUB_DNS}/privatelink.servicebus.windows.net"}


def test_logs_go_to_the_existing_workspace(hub: Recording) -> None:
    assert hub.of_type("azure-native:operationalinsights:Workspace") == []
    assert hub.one("azure-native:applicationinsights:Component").get("workspaceResourceId") == WORKSPACE_ID
    settings = hub.of_type("azure-native:monitor:DiagnosticSetting")
    assert settings and {s.get("workspaceId") for s in settings} == {WORKSPACE_ID}


# -- the second program ----------------------------------------------------------------------------------------
def test_the_openai_only_program_reuses_only_the_two_components(openai_only: Recording) -> None:
    components = {r.type for r in openai_only.resources if not r.custom}
    assert components == {"genai-gateway:openai:PrivateOpenAI", "genai-gateway:telemetry:TokenTelemetryHub"}
    assert openai_only.of_type("azure-native:apimanagement:ApiManagementService") == []


def test_the_openai_only_program_joins_the_existing_network_and_gateway(openai_only: Recording) -> None:
    assert openai_only.of_type("azure-native:privatedns:PrivateZone") == []
    logger = openai_only.one("azure-native:apimanagement:Logger")
    assert logger.get("serviceName") == "apim-contoso-shared"
    assert logger.get("credentials.identityClientId") == "00000000-0000-0000-0000-0000000000bb"
    account = openai_only.one("azure-native:cognitiveservices:Account")
    assert account.get("properties.publicNetworkAccess") == "Disabled"
    assert openai_only.one("azure-native:cognitiveservices:Deployment").get("sku.name") == "GlobalStandard"


# -- validation --------------------------------------------------------------------------------------------------
def test_the_hub_stack_settings_are_valid() -> None:
    assert problems(hub_config()) == []


def test_an_address_plan_and_an_existing_network_together_are_refused() -> None:
    config = with_value(hub_config(), "network.addressSpace", "10.40.0.0/16")
    assert only(problems(config)) == (
        f"{PROJECT}:network.addressSpace: (set): not with network.existing: the platform owns the existing "
        "network's address plan and NSGs"
    )


def test_neither_an_address_plan_nor_an_existing_network_is_refused() -> None:
    line = only(problems(with_value(hub_config(), "network.existing", DELETE)))
    assert line.startswith(f"{PROJECT}:network.addressSpace: (missing): required unless network.existing")


def test_a_subnet_of_another_vnet_is_refused() -> None:
    other = f"{SPOKE}/virtualNetworks/vnet-other/subnets/snet-apim"
    line = only(problems(with_value(hub_config(), "network.existing.apimSubnetId", other)))
    assert line.startswith(f"{PROJECT}:network.existing.apimSubnetId: '{other}': must be a subnet of vnetId")


def test_one_subnet_for_two_roles_is_refused() -> None:
    config = with_value(hub_config(), "network.existing.privateEndpointSubnetId", f"{VNET_ID}/subnets/snet-apim")
    assert "each role needs its own subnet" in only(problems(config))


def test_v2_integration_needs_the_delegation_confirmed() -> None:
    line = only(problems(with_value(hub_config(), "network.existing.apimSubnetDelegated", False)))
    assert line.startswith(f"{PROJECT}:network.existing.apimSubnetDelegated: false: ")
    assert "Microsoft.Web/serverFarms" in line


def test_v2_integration_refuses_a_known_prefix_smaller_than_a_27() -> None:
    line = only(problems(with_value(hub_config(), "network.existing.apimSubnetPrefix", "10.40.1.0/28")))
    assert line == (
        f"{PROJECT}:network.existing.apimSubnetPrefix: '10.40.1.0/28': VNet integration of StandardV2 needs a "
        "/27 or larger subnet"
    )


def test_classic_injection_refuses_a_delegated_subnet() -> None:
    config = with_value(hub_config(), "apim", {**hub_config()["apim"], "sku": "Developer", "networkMode": "External"})
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:network.existing.apimSubnetDelegated: true: a classic External injection")


def test_ingress_needs_the_existing_app_gateway_subnet_and_its_prefix() -> None:
    config = copy.deepcopy(hub_config())
    config["apim"].update(sku="Premium", networkMode="Internal")
    config["network"]["existing"]["apimSubnetDelegated"] = False
    config["ingress"] = {
        "enabled": True,
        "hostName": "genai.contoso.example",
        "certificateSecretId": "https://kv-platform.vault.azure.net/secrets/genai-tls",
        "keyVaultId": "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg-kv/providers/"
        "Microsoft.KeyVault/vaults/kv-platform",
    }
    keys = {line.split(": ", 1)[0] for line in problems(config)}
    assert keys == {
        f"{PROJECT}:network.existing.appGatewaySubnetId",
        f"{PROJECT}:network.existing.appGatewaySubnetPrefix",
    }


def test_an_unknown_private_dns_zone_is_refused() -> None:
    zones = {**hub_config()["network"]["privateDnsZones"], "privatelink.example.com": f"{HUB_DNS}/x.example.com"}
    line = only(problems(with_value(hub_config(), "network.privateDnsZones", zones)))
    assert line.startswith(f"{PROJECT}:network.privateDnsZones: 'privatelink.example.com': unknown zone; known: ")


def test_a_zone_id_of_another_zone_is_refused() -> None:
    wrong = f"{HUB_DNS}/privatelink.blob.core.windows.net"
    config = hub_config()
    config["network"]["privateDnsZones"]["privatelink.openai.azure.com"] = wrong
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:network.privateDnsZones.privatelink.openai.azure.com: '{wrong}': must be")


def test_a_workspace_id_that_is_no_workspace_is_refused() -> None:
    line = only(problems(with_value(hub_config(), "observability.existingWorkspaceId", VNET_ID)))
    assert line.startswith(f"{PROJECT}:observability.existingWorkspaceId: ")
    assert line.endswith(
        ": must be the Azure resource id of a Log Analytics workspace: /subscriptions/<subscription id>/"
        "resourceGroups/<resource group>/providers/Microsoft.OperationalInsights/workspaces/<workspace>"
    )


def test_private_endpoint_clients_need_a_network_the_stack_creates() -> None:
    line = only(problems(with_value(hub_config(), "network.privateEndpointClients", ["10.50.0.0/24"])))
    assert line.startswith(f"{PROJECT}:network.privateEndpointClients: (set): not with network.existing")


@pytest.mark.parametrize(("stack", "folder"), [("hub", HUB_DIR), ("example", OPENAI_ONLY_DIR)])
def test_both_examples_pass_the_plan_with_its_guardrails_and_lint(stack: str, folder: Path, tmp_path: Path) -> None:
    from tools.plan import main

    assert main([stack, "--project-dir", str(folder), "--out", str(tmp_path), "--quiet"]) == 0
    violations = json.loads((tmp_path / f"{stack}.json").read_text())["violations"]
    assert [v for v in violations if v["level"] == "mandatory"] == []
