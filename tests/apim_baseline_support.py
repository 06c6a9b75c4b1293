"""Helpers for the ApimBaseline tests: the resource types it declares, an NSG's rule by name, the gateway and its
identity in a recording.
"""

from __future__ import annotations

from tools.harness import RecordedResource, Recording

APIM = "azure-native:apimanagement:ApiManagementService"
NSG = "azure-native:network:NetworkSecurityGroup"
SUBNET = "azure-native:network:Subnet"
PIP = "azure-native:network:PublicIPAddress"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
AGW = "azure-native:network:ApplicationGateway"


def rule(nsg: RecordedResource, name: str) -> dict:
    rules = {r["name"]: r for r in nsg.get("securityRules")}
    assert name in rules, f"{nsg.name} has no rule {name}; has {sorted(rules)}"
    return rules[name]


def apim_of(recording: Recording) -> RecordedResource:
    return recording.one(APIM)


def gateway_identity(recording: Recording) -> RecordedResource:
    return recording.one(IDENTITY, "gateway-identity")
