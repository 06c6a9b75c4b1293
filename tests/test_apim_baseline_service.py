"""ApimBaseline, the API Management service: its SKU and mode per stack, injected into its subnet, with system and
user-assigned identities, hardened protocols and API versions, the publisher from settings, a unique name, and
protected in production.
"""

from __future__ import annotations

from components.apim_baseline import HARDENED_PROTOCOLS
from tests.apim_baseline_support import SUBNET, apim_of, gateway_identity
from tools.harness import Recording


def test_dev_gateway_is_developer_in_external_mode_with_a_standard_static_public_ip(dev: Recording) -> None:
    apim = apim_of(dev)
    assert (apim.get("sku.name"), apim.get("sku.capacity")) == ("Developer", 1)
    assert apim.get("virtualNetworkType") == "External"
    pip = dev.by_id(apim.get("publicIpAddressId"))
    assert pip.get("sku.name") == "Standard"
    assert pip.get("publicIPAllocationMethod") == "Static"
    assert pip.get("publicIPAddressVersion") == "IPv4"
    assert pip.get("dnsSettings.domainNameLabel")


def test_prod_gateway_is_premium_with_two_units_in_two_zones_in_internal_mode(prod: Recording) -> None:
    apim = apim_of(prod)
    assert (apim.get("sku.name"), apim.get("sku.capacity"), apim.get("zones")) == ("Premium", 2, ["1", "2"])
    assert apim.get("virtualNetworkType") == "Internal"
    assert apim.get("publicIpAddressId") is None


def test_gateway_is_injected_into_the_apim_subnet(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-apim-subnet")
    assert apim_of(stack).get("virtualNetworkConfiguration.subnetResourceId") == subnet.id


def test_gateway_has_system_and_user_assigned_identities(stack: Recording) -> None:
    identity = apim_of(stack).get("identity")
    assert identity["type"] == "SystemAssigned, UserAssigned"
    assert list(identity["userAssignedIdentities"]) == [gateway_identity(stack).id]


def test_control_plane_rejects_retired_api_versions(stack: Recording) -> None:
    assert apim_of(stack).get("apiVersionConstraint.minApiVersion") == "2021-08-01"


def test_legacy_tls_ssl_and_triple_des_are_disabled(stack: Recording) -> None:
    props = apim_of(stack).get("customProperties")
    for protocol in ("Tls10", "Tls11", "Ssl30"):
        assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.{protocol}"] == "false"
        assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.{protocol}"] == "false"
    assert props["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"] == "false"
    assert props == HARDENED_PROTOCOLS


def test_publisher_comes_from_settings(stack: Recording) -> None:
    apim = apim_of(stack)
    assert apim.get("publisherName") == "Contoso Platform Team"
    assert apim.get("publisherEmail") == "platform-team@contoso.example"


def test_gateway_name_is_globally_unique_per_stack(dev: Recording, prod: Recording) -> None:
    dev_name, prod_name = apim_of(dev).get("serviceName"), apim_of(prod).get("serviceName")
    assert dev_name.startswith("apim-genai-dev-") and prod_name.startswith("apim-genai-prod-")
    assert len(dev_name.rsplit("-", 1)[1]) == 5


def test_prod_protects_the_gateway_and_its_logs(prod: Recording, dev: Recording) -> None:
    assert apim_of(prod).protect and prod.one("azure-native:operationalinsights:Workspace").protect
    assert not apim_of(dev).protect
