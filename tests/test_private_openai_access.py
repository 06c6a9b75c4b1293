"""PrivateOpenAI, access: the gateway reaches every account only privately and keylessly, through a private endpoint
in the gateway subnet registered in one shared privatelink.openai.azure.com zone, as Cognitive Services OpenAI
User with its managed identity.
"""

from __future__ import annotations

from components.access import ROLE_DEFINITIONS, assignment_name
from tests.private_openai_support import (
    OPENAI_ZONE,
    ROLE,
    SUBNET,
    VNET,
    ZONE_GROUP,
    ZONE_LINK,
    account_resource,
    accounts_of,
    gateway_principal_id,
    openai_zone,
    private_endpoint_of,
    settings_of,
)
from tools.azure_mocks import SUBSCRIPTION_ID
from tools.harness import Recording

OPENAI_USER_GUID = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"


def test_one_shared_openai_zone_linked_to_the_gateway_vnet_without_registration(stack: Recording) -> None:
    zone = openai_zone(stack)
    assert zone.get("location") == "global"
    links = [link for link in stack.of_type(ZONE_LINK) if link.get("privateZoneName") == OPENAI_ZONE]
    assert len(links) == 1
    assert links[0].get("registrationEnabled") is False
    assert links[0].get("virtualNetwork.id") == stack.one(VNET).id


def test_each_account_has_a_private_endpoint_for_group_account(stack: Recording) -> None:
    for account in accounts_of(stack):
        connection = private_endpoint_of(stack, account).get("privateLinkServiceConnections.0")
        assert connection["privateLinkServiceId"] == account_resource(stack, account).id
        assert connection["groupIds"] == ["account"]


def test_private_endpoints_sit_in_the_gateway_subnet_and_region_whatever_the_account_region(
    stack: Recording,
) -> None:
    subnet = stack.one(SUBNET, "gateway-pe-subnet")
    gateway_location = settings_of(stack.stack).location
    for account in accounts_of(stack):
        endpoint = private_endpoint_of(stack, account)
        assert endpoint.get("subnet.id") == subnet.id
        assert endpoint.get("location") == gateway_location


def test_private_endpoint_registers_in_the_openai_zone(stack: Recording) -> None:
    zone = openai_zone(stack)
    for account in accounts_of(stack):
        endpoint = private_endpoint_of(stack, account)
        groups = [g for g in stack.of_type(ZONE_GROUP) if g.parent == endpoint.urn]
        assert len(groups) == 1
        assert groups[0].get("privateEndpointName") == endpoint.get("privateEndpointName")
        assert groups[0].get("privateDnsZoneConfigs") == [{"name": "account", "privateDnsZoneId": zone.id}]


def test_gateway_identity_is_openai_user_on_each_account(stack: Recording) -> None:
    principal = gateway_principal_id(stack)
    role_id = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{OPENAI_USER_GUID}"
    assert ROLE_DEFINITIONS["Cognitive Services OpenAI User"] == OPENAI_USER_GUID
    for account in accounts_of(stack):
        scope = account_resource(stack, account).id
        assert scope is not None
        assignments = [r for r in stack.of_type(ROLE) if r.get("scope") == scope and r.get("principalId") == principal]
        assert len(assignments) == 1, [r.name for r in assignments]
        assignment = assignments[0]
        assert assignment.get("roleDefinitionId") == role_id
        assert assignment.get("principalId") == principal
        assert assignment.get("principalType") == "ServicePrincipal"
        assert assignment.get("roleAssignmentName") == assignment_name(
            scope, principal, "Cognitive Services OpenAI User"
        )
