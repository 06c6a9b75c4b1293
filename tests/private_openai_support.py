"""Helpers for the PrivateOpenAI tests: the resource types it declares, each stack's accounts as its settings give them,
and an account's resources (deployments, private endpoint, the shared zone) in a recording.
"""

from __future__ import annotations

from functools import cache

from components.settings import AccountSettings, GatewaySettings
from tests.support import parse, raw_config
from tools.azure_mocks import AzureMocks
from tools.harness import RecordedResource, Recording, Secret

COMPONENT = "genai-gateway:openai:PrivateOpenAI"
ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
ROLE = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
WORKSPACE = "azure-native:operationalinsights:Workspace"
OPENAI_ZONE = "privatelink.openai.azure.com"


@cache
def settings_of(stack: str) -> GatewaySettings:
    return parse(raw_config(stack))


def accounts_of(recording: Recording) -> list[AccountSettings]:
    return list(settings_of(recording.stack).openai.accounts)


def account_resource(recording: Recording, account: AccountSettings) -> RecordedResource:
    return recording.one(ACCOUNT, f"openai-{account.name}")


def deployments_of(recording: Recording, account: AccountSettings) -> list[RecordedResource]:
    return [recording.one(DEPLOYMENT, f"openai-{account.name}-{d.name}") for d in account.deployments]


def private_endpoint_of(recording: Recording, account: AccountSettings) -> RecordedResource:
    target = account_resource(recording, account).id
    found = [
        pe
        for pe in recording.of_type(PRIVATE_ENDPOINT)
        if pe.get("privateLinkServiceConnections.0.privateLinkServiceId") == target
    ]
    assert len(found) == 1, f"{account.name}: expected one private endpoint, found {[pe.name for pe in found]}"
    return found[0]


def openai_zone(recording: Recording) -> RecordedResource:
    zones = [z for z in recording.of_type(ZONE) if z.get("privateZoneName") == OPENAI_ZONE]
    assert len(zones) == 1, [z.name for z in zones]
    return zones[0]


def gateway_principal_id(recording: Recording) -> str:
    """The principal id Azure assigns the gateway identity (the mock fabricates it from the resource name)."""
    identity = recording.one(IDENTITY, "gateway-identity")
    return AzureMocks(recording.stack)._guid(identity.name, "principal")


def exported_accounts(recording: Recording) -> dict[str, dict]:
    return {entry["name"]: entry for entry in recording.outputs["openaiAccounts"]}


def contains_secret(value: object) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False
