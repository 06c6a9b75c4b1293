"""ApimBaseline, network: the subnets, their NSGs and delegations for an injected (classic) or integrated (v2)
gateway, private endpoints that answer only the gateway, the address plan, and the private DNS an internal
gateway's host names need.

Asserted on the properties Azure receives.
"""

from __future__ import annotations

import pytest

from tests.apim_baseline_support import NSG, PIP, SUBNET, apim_of, rule
from tests.support import raw_config
from tools.harness import Recording, run_stack


@pytest.fixture(scope="module")
def standard_v2() -> Recording:
    config = raw_config("dev")
    config["apim"] = {**config["apim"], "sku": "StandardV2", "networkMode": "Integration"}
    config["network"]["subnets"]["apim"] = "10.20.1.0/27"
    return run_stack("dev", overrides={"apim": config["apim"], "network": config["network"]})


@pytest.mark.parametrize(
    ("name", "source", "port"),
    [("AllowApimManagement", "ApiManagement", ["3443"]), ("AllowAzureLoadBalancer", "AzureLoadBalancer", ["6390"])],
)
def test_injected_apim_subnet_admits_management_and_load_balancer(
    stack: Recording, name: str, source: str, port: list[str]
) -> None:
    r = rule(stack.one(NSG, "gateway-apim-nsg"), name)
    assert (r["direction"], r["access"], r["protocol"]) == ("Inbound", "Allow", "Tcp")
    assert (r["sourceAddressPrefix"], r["destinationAddressPrefix"], r["destinationPortRanges"]) == (
        source,
        "VirtualNetwork",
        port,
    )


@pytest.mark.parametrize(
    ("name", "tag", "ports"),
    [
        ("AllowStorage", "Storage", ["443"]),
        ("AllowSql", "Sql", ["1433"]),
        ("AllowKeyVault", "AzureKeyVault", ["443"]),
        ("AllowAzureMonitor", "AzureMonitor", ["1886", "443"]),
    ],
)
def test_injected_apim_subnet_reaches_its_dependencies(stack: Recording, name: str, tag: str, ports: list[str]) -> None:
    r = rule(stack.one(NSG, "gateway-apim-nsg"), name)
    assert (r["direction"], r["access"], r["sourceAddressPrefix"]) == ("Outbound", "Allow", "VirtualNetwork")
    assert (r["destinationAddressPrefix"], r["destinationPortRanges"]) == (tag, ports)


def test_external_gateway_admits_client_https_from_the_internet(dev: Recording) -> None:
    r = rule(dev.one(NSG, "gateway-apim-nsg"), "AllowClientHttps")
    assert (r["sourceAddressPrefix"], r["destinationPortRanges"]) == ("Internet", ["443"])


def test_internal_gateway_admits_https_only_from_the_app_gateway_subnet(prod: Recording) -> None:
    nsg = prod.one(NSG, "gateway-apim-nsg")
    assert all(r["sourceAddressPrefix"] != "Internet" for r in nsg.get("securityRules"))
    assert rule(nsg, "AllowAppGatewayHttps")["sourceAddressPrefix"] == "10.30.3.0/24"


def test_classic_apim_subnet_has_its_nsg_and_no_delegation(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-apim-subnet")
    assert subnet.get("networkSecurityGroup.id") == stack.one(NSG, "gateway-apim-nsg").id
    assert not subnet.get("delegations")


def test_v2_gateway_subnet_is_delegated_to_server_farms(standard_v2: Recording) -> None:
    subnet = standard_v2.one(SUBNET, "gateway-apim-subnet")
    assert [d["serviceName"] for d in subnet.get("delegations")] == ["Microsoft.Web/serverFarms"]
    assert subnet.get("networkSecurityGroup.id") == standard_v2.one(NSG, "gateway-apim-nsg").id


def test_v2_gateway_uses_outbound_integration_without_a_public_ip(standard_v2: Recording) -> None:
    apim = apim_of(standard_v2)
    assert apim.get("sku.name") == "StandardV2"
    assert apim.get("virtualNetworkType") == "External"
    assert apim.get("virtualNetworkConfiguration.subnetResourceId") == standard_v2.one(SUBNET, "gateway-apim-subnet").id
    assert apim.get("publicIpAddressId") is None and not standard_v2.of_type(PIP)


def test_private_endpoint_subnet_enforces_network_policies(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-pe-subnet")
    assert subnet.get("privateEndpointNetworkPolicies") == "Enabled"
    assert subnet.get("networkSecurityGroup.id") == stack.one(NSG, "gateway-pe-nsg").id


def test_private_endpoints_answer_only_the_gateway_subnet(stack: Recording) -> None:
    nsg = stack.one(NSG, "gateway-pe-nsg")
    allow = rule(nsg, "AllowGatewayToServices")
    apim_prefix = stack.one(SUBNET, "gateway-apim-subnet").get("addressPrefix")
    assert (allow["access"], allow["sourceAddressPrefix"], allow["priority"]) == ("Allow", apim_prefix, 100)
    deny = rule(nsg, "DenyOtherVirtualNetworkInbound")
    assert (deny["access"], deny["sourceAddressPrefix"], deny["destinationPortRanges"]) == (
        "Deny",
        "VirtualNetwork",
        ["*"],
    )
    assert deny["priority"] < 65000  # ahead of Azure's default AllowVnetInBound


def test_subnets_of_one_vnet_are_created_one_after_another(prod: Recording) -> None:
    apim, pe, agw = (prod.one(SUBNET, f"gateway-{n}-subnet") for n in ("apim", "pe", "agw"))
    assert prod.depends_on(pe, apim) and prod.depends_on(agw, pe)


def test_subnets_match_the_address_plan(prod: Recording) -> None:
    prefixes = {s.name: s.get("addressPrefix") for s in prod.of_type(SUBNET)}
    assert prefixes == {
        "gateway-apim-subnet": "10.30.1.0/24",
        "gateway-pe-subnet": "10.30.2.0/24",
        "gateway-agw-subnet": "10.30.3.0/24",
    }
    assert prod.one("azure-native:network:VirtualNetwork").get("addressSpace.addressPrefixes") == ["10.30.0.0/16"]


def test_app_gateway_subnet_admits_v2_infrastructure_ports(prod: Recording) -> None:
    nsg = prod.one(NSG, "gateway-agw-nsg")
    assert rule(nsg, "AllowGatewayManager")["sourceAddressPrefix"] == "GatewayManager"
    assert rule(nsg, "AllowGatewayManager")["destinationPortRanges"] == ["65200-65535"]
    assert rule(nsg, "AllowAzureLoadBalancer")["sourceAddressPrefix"] == "AzureLoadBalancer"
    assert rule(nsg, "AllowClientHttps")["destinationPortRanges"] == ["443"]


def test_internal_host_names_resolve_to_the_private_ip(prod: Recording) -> None:
    zone = prod.one("azure-native:privatedns:PrivateZone", "gateway-apim-dns")
    assert zone.get("privateZoneName") == "azure-api.net"
    assert zone.get("location") == "global"
    service = apim_of(prod).get("serviceName")
    records = {r.get("relativeRecordSetName"): r for r in prod.of_type("azure-native:privatedns:PrivateRecordSet")}
    expected = {service} | {f"{service}.{label}" for label in ("portal", "developer", "management", "scm")}
    assert set(records) == expected
    private_ip = "10.30.1.4"  # the mock hands out the first usable address of the APIM subnet
    for record in records.values():
        assert record.get("recordType") == "A"
        assert record.get("aRecords") == [{"ipv4Address": private_ip}]


def test_internal_dns_zone_is_linked_to_the_vnet_without_registration(prod: Recording) -> None:
    link = prod.one("azure-native:privatedns:VirtualNetworkLink", "gateway-apim-dns-link")
    assert link.get("virtualNetwork.id") == prod.one("azure-native:network:VirtualNetwork").id
    assert link.get("registrationEnabled") is False


def test_external_gateway_needs_no_private_dns_for_its_host_names(dev: Recording) -> None:
    zones = [z.get("privateZoneName") for z in dev.of_type("azure-native:privatedns:PrivateZone")]
    assert "azure-api.net" not in zones
