"""Helpers for the ContentSafety tests: the resource types it declares and its account, backend deployment, fragment
and private endpoint in a recording.

The `eight_levels` fixture (tests/conftest.py) is `eight_levels_recording`, run once for the modules that use it.
"""

from __future__ import annotations

from lxml import etree

from tools.azure_mocks import AzureMocks
from tools.harness import RecordedResource, Recording, run_stack
from tools.rawxml import to_wellformed

COMPONENT = "genai-gateway:safety:ContentSafety"
ACCOUNT = "azure-native:cognitiveservices:Account"
NAMED_VALUE = "azure-native:apimanagement:NamedValue"
BACKEND = "azure-native:apimanagement:Backend"
DEPLOYMENT = "azure-native:resources:Deployment"
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
ROLE = "azure-native:authorization:RoleAssignment"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
APIM = "azure-native:apimanagement:ApiManagementService"


def account(r: Recording) -> RecordedResource:
    return r.one(ACCOUNT, "safety-account")


def backend_deployment(r: Recording) -> RecordedResource:
    return r.one(DEPLOYMENT, "safety-backend")


def backend(r: Recording) -> dict:
    [declared] = backend_deployment(r).get("properties.template.resources")
    return declared


def fragment(r: Recording) -> RecordedResource:
    return r.one(FRAGMENT, "safety-fragment")


def endpoint_of(r: Recording, name: str) -> RecordedResource:
    return r.one(PRIVATE_ENDPOINT, name)


def zone_group_of(r: Recording, endpoint: RecordedResource) -> RecordedResource:
    return next(c for c in r.children(endpoint) if c.type == ZONE_GROUP)


def zone(r: Recording, zone_name: str) -> RecordedResource:
    return next(z for z in r.of_type(ZONE) if z.get("privateZoneName") == zone_name)


def fabricated_guid(r: Recording, name: str, kind: str) -> str:
    return AzureMocks(r.stack)._guid(name, kind)


def fragment_xml(r: Recording) -> etree._Element:
    return etree.fromstring(to_wellformed(fragment(r).get("value")).encode())


def eight_levels_recording() -> Recording:
    """dev with content safety on: EightSeverityLevels, two categories unchecked, an account in another region."""
    return run_stack(
        "dev",
        {
            "contentSafety": {
                "enabled": True,
                "location": "francecentral",
                "shieldPrompt": False,
                "outputType": "EightSeverityLevels",
                "categories": {"Hate": 3, "SelfHarm": None, "Sexual": None, "Violence": 5},
            }
        },
    )
