"""A second Pulumi program reusing two of the gateway's components in a network it does not own.

An API Management service, its identity, the VNet, the private endpoint subnet, the privatelink zones and the Log
Analytics workspace exist already (a landing zone); this program adds locked-down Azure OpenAI accounts behind
private endpoints and the Event Hubs usage hub with the APIM logger that writes to it. It reads its own config
(`openai-only:*`), never the gateway's settings: the components take plain Args.
"""

import re
from typing import Any

import pulumi
import pulumi_random as random

from components.private_openai import OpenAIAccount, PrivateOpenAI
from components.token_telemetry import TokenTelemetryHub

config = pulumi.Config("openai-only")
location = config.require("location")
resource_group_name = config.require("resourceGroupName")
subnet_id = config.require("privateEndpointSubnetId")
workspace_id = config.require("workspaceId")
principal_id = config.require("gatewayPrincipalId")


def snake_keys(value: Any) -> Any:
    """Stack config is camelCase (`upgradeOption`); the Args records are Python's snake_case (`upgrade_option`)."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake_keys(v) for k, v in value.items()}
    return [snake_keys(v) for v in value] if isinstance(value, list) else value


accounts: list[OpenAIAccount] = snake_keys(config.require_object("accounts"))

suffix = random.RandomString("suffix", length=5, special=False, upper=False, numeric=True)
prefix, environment = "aoai", pulumi.get_stack()
tags = {"workload": "openai-only", "environment": pulumi.get_stack()}

openai = PrivateOpenAI(
    "openai",
    {
        "name_prefix": prefix,
        "environment": environment,
        "name_suffix": suffix.result,
        "accounts": accounts,
        "location": location,
        "resource_group_name": resource_group_name,
        "private_endpoint_subnet_id": subnet_id,
        "private_dns_zone_id": config.require("openaiDnsZoneId"),
        "role_assignments": [
            {
                "role": "Cognitive Services OpenAI User",
                "principal_id": principal_id,
                "description": "The existing gateway calls Azure OpenAI with its managed identity",
            }
        ],
        "diagnostic_settings": [{"workspace_id": workspace_id, "dedicated_tables": False}],
        "tags": tags,
    },
)
telemetry = TokenTelemetryHub(
    "telemetry",
    {
        "name_prefix": prefix,
        "environment": environment,
        "name_suffix": suffix.result,
        "location": location,
        "resource_group_name": resource_group_name,
        "private_endpoint_subnet_id": subnet_id,
        "event_hubs_dns_zone_id": config.require("eventHubsDnsZoneId"),
        "workspace_id": workspace_id,
        "apim_name": config.require("apimName"),
        "apim_id": config.require("apimId"),
        "gateway_principal_id": principal_id,
        "gateway_client_id": config.require("gatewayClientId"),
        "tags": tags,
    },
)

pulumi.export("openaiAccounts", openai.summary)
pulumi.export("usageLoggerId", telemetry.usage_logger_id)
pulumi.export("usageEventHub", {"namespace": telemetry.namespace_name, "eventHub": telemetry.event_hub_name})
