"""ContentSafety, the account (on in prod only): one component owning a private, keyless Azure AI Content Safety
account that refuses keys and public access, reached through a private endpoint in the gateway region, with both
API Management identities as Cognitive Services User. No key is read, stored or named.

Asserted on the properties Azure receives.
"""

from __future__ import annotations

import re

import pytest

from components.cognitive_account import LOCAL_AUTH_EXCEPTION_TAG
from components.content_safety import BACKEND_ID, CONTENT_SAFETY_DNS_ZONE, FRAGMENT_ID
from tests.content_safety_support import (
    ACCOUNT,
    BACKEND,
    COMPONENT,
    DEPLOYMENT,
    DIAGNOSTIC,
    FRAGMENT,
    NAMED_VALUE,
    ROLE,
    SUBNET,
    VNET,
    ZONE_LINK,
    account,
    endpoint_of,
    fabricated_guid,
    zone,
    zone_group_of,
)
from tests.support import parse, raw_config
from tools.azure_mocks import SUBSCRIPTION_ID
from tools.harness import Recording

COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")


def test_prod_has_one_content_safety_component_owning_all_its_resources(prod: Recording) -> None:
    component = prod.one(COMPONENT, "safety")
    owned = {r.name for r in prod.descendants(component)}
    assert {"safety-account", "safety-backend", "safety-fragment", "safety-cs-pe"} <= owned


def test_no_key_vault_secret_or_named_value_exists_for_content_safety(prod: Recording) -> None:
    # The stack's only vault holds app teams' keys (components/consumer_keys.py), never a Content Safety key.
    vaults = prod.of_type("azure-native:keyvault:Vault") + prod.of_type("azure-native:keyvault:Secret")
    safety = {r.urn for r in prod.descendants(prod.one(COMPONENT, "safety"))}
    assert vaults and not [v for v in vaults if v.urn in safety or not v.name.startswith("keys-")]
    assert "content-safety-key" not in {n.get("namedValueId") for n in prod.of_type(NAMED_VALUE)}
    # Nothing reads the account's keys.
    assert "listAccountKeys" not in repr([r.inputs for r in prod.resources])


def test_dev_declares_nothing_of_content_safety(dev: Recording) -> None:
    assert dev.of_type(COMPONENT) == []
    assert [a.get("kind") for a in dev.of_type(ACCOUNT)] == ["OpenAI"] * len(dev.of_type(ACCOUNT))
    assert BACKEND_ID not in {b.get("backendId") for b in dev.of_type(BACKEND)}
    assert [d.name for d in dev.of_type(DEPLOYMENT)] == ["policies-llm-logging"]
    assert FRAGMENT_ID not in {f.get("id") for f in dev.of_type(FRAGMENT)}


def test_account_is_kind_content_safety_with_sku_s0_and_a_system_identity(prod: Recording) -> None:
    a = account(prod)
    assert (a.get("kind"), a.get("sku"), a.get("identity")) == (
        "ContentSafety",
        {"name": "S0"},
        {"type": "SystemAssigned"},
    )


def test_account_refuses_public_network_access_and_denies_by_default(prod: Recording) -> None:
    props = account(prod).get("properties")
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}


def test_account_accepts_no_keys(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.disableLocalAuth") is True
    assert LOCAL_AUTH_EXCEPTION_TAG not in (a.get("tags") or {})


def test_custom_subdomain_is_the_globally_unique_account_name(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.customSubDomainName") == a.get("accountName")
    assert SUBDOMAIN.match(a.get("accountName"))


def test_account_defaults_to_the_gateway_location(prod: Recording) -> None:
    assert account(prod).get("location") == parse(raw_config("prod")).location


def test_account_is_protected_in_production(prod: Recording) -> None:
    assert account(prod).protect


def test_account_logs_go_to_the_gateway_workspace(prod: Recording) -> None:
    workspace = prod.one("azure-native:operationalinsights:Workspace").id
    setting = next(d for d in prod.of_type(DIAGNOSTIC) if d.get("resourceUri") == account(prod).id)
    assert setting.get("workspaceId") == workspace
    assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]


def test_private_endpoint_targets_the_account_from_the_gateway_subnet(prod: Recording) -> None:
    pe = endpoint_of(prod, "safety-cs-pe")
    connection = pe.get("privateLinkServiceConnections.0")
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (account(prod).id, ["account"])
    assert pe.get("subnet") == {"id": prod.one(SUBNET, "gateway-pe-subnet").id}
    assert pe.get("location") == parse(raw_config("prod")).location


def test_private_endpoint_registers_in_its_zone_linked_to_the_vnet(prod: Recording) -> None:
    group_resource = zone_group_of(prod, endpoint_of(prod, "safety-cs-pe"))
    dns_zone = zone(prod, CONTENT_SAFETY_DNS_ZONE)
    assert group_resource.get("privateDnsZoneConfigs") == [{"name": "account", "privateDnsZoneId": dns_zone.id}]
    assert dns_zone.get("location") == "global"
    link = next(c for c in prod.children(dns_zone) if c.type == ZONE_LINK)
    assert link.get("virtualNetwork") == {"id": prod.one(VNET).id}
    assert link.get("registrationEnabled") is False


def test_endpoint_stays_in_the_gateway_region_when_the_account_moves(eight_levels: Recording) -> None:
    gateway_region = parse(raw_config("dev")).location
    assert account(eight_levels).get("location") == "francecentral"
    assert endpoint_of(eight_levels, "safety-cs-pe").get("location") == gateway_region


@pytest.mark.parametrize(
    ("role_name", "principal_of"),
    [
        ("safety-cs-role-cognitive-services-user", ("gateway-identity", "principal")),
        ("safety-cs-role-cognitive-services-user-apim-system", ("gateway-apim", "system-principal")),
    ],
)
def test_both_apim_identities_are_cognitive_services_user_on_the_account(
    prod: Recording, role_name: str, principal_of: tuple[str, str]
) -> None:
    # Which identity a managed-identity backend credential uses is not documented: both may call.
    role = prod.one(ROLE, role_name)
    principal = fabricated_guid(prod, *principal_of)
    assert role.get("roleDefinitionId") == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{COGNITIVE_SERVICES_USER}"
    )
    assert (role.get("scope"), role.get("principalId"), role.get("principalType")) == (
        account(prod).id,
        principal,
        "ServicePrincipal",
    )
