"""A third Pulumi program: the gateway's governance on an API Management service a platform team already runs.

The service, its user-assigned identity, its Application Insights logger, the VNet, the private endpoint subnet, the
privatelink zones and the Log Analytics workspace exist (a landing zone). This program adds private Azure OpenAI
accounts, the usage hub, and, through GatewayPolicies, the backends with their circuit breakers, a PTU-first pool
per deployment, the policy fragments, the OpenAI APIs and a product with its limits per consumer, then the alerts.
It reads its own config (`existing-apim:*`), never the gateway's settings: every component takes plain Args.
"""

import re
from typing import Any

import pulumi
import pulumi_random as random

from components.alerts import GatewayAlerts
from components.circuit_breaker import CircuitBreaker
from components.consumer_keys import consumer_key_output
from components.gateway_inputs import BackendPool, Consumer, TokenLimits
from components.gateway_policies import GatewayPolicies
from components.private_openai import OpenAIAccount, PrivateOpenAI
from components.token_telemetry import USAGE_LOGGER_NAME, TokenTelemetryHub

config = pulumi.Config("existing-apim")
location = config.require("location")
resource_group_name = config.require("resourceGroupName")
subnet_id = config.require("privateEndpointSubnetId")
workspace_id = config.require("workspaceId")
apim_name, apim_id = config.require("apimName"), config.require("apimId")
principal_id, client_id = config.require("gatewayPrincipalId"), config.require("gatewayClientId")


def snake_keys(value: Any) -> Any:
    """Stack config is camelCase (`tokensPerMinute`); the Args records are Python's snake_case.

    Every key is renamed: this config has records only (no map whose keys are names, such as aliases)."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): snake_keys(v) for k, v in value.items()}
    return [snake_keys(v) for v in value] if isinstance(value, list) else value


accounts: list[OpenAIAccount] = snake_keys(config.require_object("accounts"))
consumers: list[Consumer] = snake_keys(config.require_object("consumers"))
token_limits: TokenLimits = snake_keys(config.require_object("tokenLimits"))

suffix = random.RandomString("suffix", length=5, special=False, upper=False, numeric=True)
prefix, environment = "gw", pulumi.get_stack()
tags = {"workload": "existing-apim", "environment": pulumi.get_stack()}

openai = PrivateOpenAI("openai", {
    "name_prefix": prefix, "environment": environment, "name_suffix": suffix.result, "accounts": accounts,
    "location": location, "resource_group_name": resource_group_name, "private_endpoint_subnet_id": subnet_id,
    "private_dns_zone_id": config.require("openaiDnsZoneId"),
    "role_assignments": [{"role": "Cognitive Services OpenAI User", "principal_id": principal_id,
                          "description": "The existing gateway calls Azure OpenAI with its managed identity"}],
    "diagnostic_settings": [{"workspace_id": workspace_id, "dedicated_tables": False}],
    "tags": tags,
})
telemetry = TokenTelemetryHub("telemetry", {
    "name_prefix": prefix, "environment": environment, "name_suffix": suffix.result, "location": location,
    "resource_group_name": resource_group_name, "private_endpoint_subnet_id": subnet_id,
    "event_hubs_dns_zone_id": config.require("eventHubsDnsZoneId"), "workspace_id": workspace_id,
    "apim_name": apim_name, "apim_id": apim_id, "gateway_principal_id": principal_id,
    "gateway_client_id": client_id, "tags": tags,
})

# PTU first, pay-as-you-go as spill-over: one pool per deployment name over the accounts that host it.
PRIORITY = {"ptu": 1, "paygo": 2}
pools: list[BackendPool] = [
    {"deployment": name, "strategy": "priority", "members": [
        {"account": a["name"], "priority": PRIORITY[a["tier"]], "weight": 1}
        for a in accounts if any(d["name"] == name for d in a["deployments"])
    ]}
    for name in sorted({d["name"] for a in accounts for d in a["deployments"]})
]
breaker: CircuitBreaker = {"failure_count": 3, "interval": "PT1M", "trip_duration": "PT1M",
           "status_code_ranges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}]}
policies = GatewayPolicies("policies", {
    "resource_group_name": resource_group_name, "apim_name": apim_name, "apim_id": apim_id,
    "identity_client_id": client_id, "app_insights_logger_id": config.require("appInsightsLoggerId"),
    "usage_logger_name": USAGE_LOGGER_NAME, "usage_logger_id": telemetry.usage_logger_id,
    "accounts": [
        {"key": a.key, "tier": a.tier, "region": a.region, "simulated": a.simulated, "endpoint": a.endpoint,
         "backend_url": a.backend_url}
        for a in openai.accounts
    ],
    "pools": pools,
    "routing": {"circuit_breaker": breaker},
    "token_limits": token_limits,
    "consumers": consumers,
})
GatewayAlerts("alerts", {
    "resource_group_name": resource_group_name, "location": location, "name_prefix": f"{prefix}{environment}",
    "workspace_id": workspace_id, "apim_name": apim_name, "apim_id": apim_id,
    "email_receivers": [{"name": "platform", "email": config.require("alertEmail")}],
    "quotas": [{"product_id": f"consumer-{c['name']}", "tokens": c["quota"]["tokens"]}
               for c in consumers if c.get("quota", {}).get("tokens")],
    "ptu_deployments": [{"account": a.key, "account_id": a.resource_id, "deployment": d.name}
                        for a in openai.accounts if a.tier == "ptu"
                        for d in a.deployments if d.sku.endswith("ProvisionedManaged")],
    "circuit_breaker": breaker,
    "azure_monitor_logger_id": policies.azure_monitor_logger_id,
    "tags": tags,
})

pulumi.export("openaiAccounts", openai.summary)
pulumi.export("apiId", policies.api_id)
# One secret output per consumer, never one map of every team's key (a team reads only its own).
def consumer_key(name: str) -> pulumi.Output[str]:
    return policies.consumer_keys.apply(lambda keys: keys[name])


for consumer in consumers:
    pulumi.export(consumer_key_output(consumer["name"]), consumer_key(consumer["name"]))
