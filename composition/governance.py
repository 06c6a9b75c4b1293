"""Args of the gateway's governance: policies and consumers, the usage workbook, the alerts, the key vault."""

from __future__ import annotations

from components.alerts import GatewayAlertsArgs
from components.apim_baseline import ApimBaseline
from components.backend_ids import account_backend_id
from components.consumer_keys import ConsumerKeyVaultArgs
from components.gateway_inputs import Consumer, ConsumerQuota, GatewayPoliciesArgs, IncludedFragment
from components.gateway_policies import API_ID, GatewayPolicies
from components.private_openai import (
    PrivateOpenAI,
)
from components.settings import ConsumerSettings, GatewaySettings
from components.settings.gateway import TokenQuota, effective_quota, resolve_pools
from components.token_telemetry import (
    USAGE_LOGGER_NAME,
    TokenTelemetryHub,
)
from components.usage_workbook import UsageWorkbookArgs, workbook_name

from .common import circuit_breaker_record


def gateway_policies_args(
    settings: GatewaySettings,
    baseline: ApimBaseline,
    openai: PrivateOpenAI,
    telemetry: TokenTelemetryHub,
    included: list[IncludedFragment],
) -> GatewayPoliciesArgs:
    limits = settings.token_limits
    args: GatewayPoliciesArgs = {
        "resource_group_name": baseline.resource_group_name,
        "apim_name": baseline.apim_name,
        "apim_id": baseline.apim_id,
        "identity_client_id": baseline.identity_client_id,
        "app_insights_logger_id": baseline.app_insights_logger_id,
        # A literal in the policy (expressions are not allowed in logger-id): the constant, not the Output.
        "usage_logger_name": USAGE_LOGGER_NAME,
        "usage_logger_id": telemetry.usage_logger_id,
        "accounts": [
            {"key": a.key, "tier": a.tier, "region": a.region, "simulated": a.simulated,
             "endpoint": a.endpoint, "backend_url": a.backend_url}
            for a in openai.accounts
        ],
        "pools": resolve_pools(settings),
        "routing": {
            "circuit_breaker": circuit_breaker_record(settings.routing),
            "backend_timeout_seconds": settings.routing.backend_timeout_seconds,
            "aliases": dict(settings.routing.aliases),
        },
        "token_limits": {
            "global_tokens_per_minute": limits.global_tokens_per_minute,
            "high": {"base_tokens_per_minute": limits.high.base_tokens_per_minute,
                     "share_of_unused": limits.high.share_of_unused},
            "low": {"base_tokens_per_minute": limits.low.base_tokens_per_minute,
                    "share_of_unused": limits.low.share_of_unused},
        },
        "consumers": [_consumer(c, settings) for c in settings.consumers],
        "hash_client_ip": settings.telemetry.hash_client_ip,
        "sampling_percentage": settings.observability.sampling_percentage,
        "log_client_ip": settings.observability.log_client_ip,
        "included_fragments": included,
    }
    entra = settings.entra_id
    if entra.enabled:
        # Settings validation guarantees the tenant and at least one audience (components/settings/gateway.py).
        assert entra.tenant_id is not None
        args["entra_id"] = {"tenant_id": entra.tenant_id, "audiences": list(entra.audiences)}
    if settings.ingress.enabled and settings.network.app_gateway_prefix is not None:
        args["app_gateway_subnet"] = str(settings.network.app_gateway_prefix)
    return args


def _consumer(c: ConsumerSettings, settings: GatewaySettings) -> Consumer:
    record: Consumer = {
        "name": c.name,
        "tier": c.tier,
        "deployments": list(c.deployments),
        "tokens_per_minute": c.tokens_per_minute,
        "entra_client_app_ids": list(c.entra_client_app_ids),
    }
    if c.display_name:
        record["display_name"] = c.display_name
    quota = effective_quota(c, settings)
    if quota.tokens is not None or quota.from_budget is not None:
        record["quota"] = _quota(quota)
    return record


def _quota(quota: TokenQuota) -> ConsumerQuota:
    record: ConsumerQuota = {}
    if quota.tokens is not None and quota.period is not None:
        record["tokens"], record["period"] = quota.tokens, quota.period
    if quota.from_budget is not None:
        record["from_budget"] = quota.from_budget
    return record


def monthly_quotas(settings: GatewaySettings) -> dict[str, int]:
    """Monthly token quota of each consumer that has one (a budget's, or the explicit one), by name."""
    result = {}
    for c in settings.consumers:
        quota = effective_quota(c, settings)
        if quota.tokens and quota.period == "Monthly":
            result[c.name] = quota.tokens
    return result


def usage_workbook_args(settings: GatewaySettings, baseline: ApimBaseline, openai: PrivateOpenAI) -> UsageWorkbookArgs:
    return {
        "resource_group_name": baseline.resource_group_name,
        "location": settings.location,
        "name": workbook_name(baseline.naming.regional("rg")),
        "display_name": f"GenAI gateway usage ({settings.environment})",
        "workspace_id": baseline.workspace_id,
        "api_id": API_ID,
        "backend_tiers": {account_backend_id(a.name): a.tier for a in settings.openai.accounts},
        "endpoint_tiers": [{"endpoint": a.endpoint, "tier": a.tier} for a in openai.accounts],
        "tags": dict(baseline.tags),
        "consumer_quotas": monthly_quotas(settings),
    }


def alerts_args(
    settings: GatewaySettings, baseline: ApimBaseline, openai: PrivateOpenAI, policies: GatewayPolicies
) -> GatewayAlertsArgs:
    a = settings.alerts
    real_ptu = {acc.name for acc in settings.openai.accounts if acc.tier == "ptu" and not acc.simulated}
    return {
        "resource_group_name": baseline.resource_group_name,
        "location": settings.location,
        "name_prefix": f"{settings.name_prefix}{settings.environment}",
        "workspace_id": baseline.workspace_id,
        "apim_name": baseline.apim_name,
        "apim_id": baseline.apim_id,
        "email_receivers": [{"name": r.name, "email": r.email} for r in a.email_receivers],
        "quotas": [
            {"product_id": c.product_id, "tokens": quota.tokens}
            for c in settings.consumers
            if (quota := effective_quota(c, settings)).tokens
        ],
        "quota_warning_percent": a.quota_warning_percent,
        "throttling": {
            "percent": a.throttling_percent,
            "min_requests": a.throttling_min_requests,
            "window_minutes": a.throttling_window_minutes,
        },
        "ptu_deployments": [
            {"account": account.key, "account_id": account.resource_id, "deployment": d.name}
            for account in openai.accounts if account.key in real_ptu
            for d in account.deployments if d.sku.endswith("ProvisionedManaged")
        ],
        "ptu_utilization_percent": a.ptu_utilization_percent,
        "circuit_breaker": circuit_breaker_record(settings.routing),
        "tags": dict(baseline.tags),
        "azure_monitor_logger_id": policies.azure_monitor_logger_id,
    }


def consumer_keys_args(
    settings: GatewaySettings, baseline: ApimBaseline, policies: GatewayPolicies
) -> ConsumerKeyVaultArgs:
    keys = {c.name: c.primary_key for c in policies.consumers}
    args: ConsumerKeyVaultArgs = {
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "name_suffix": baseline.name_suffix,
        "location": settings.location,
        "resource_group_name": baseline.resource_group_name,
        "vnet_id": baseline.vnet_id,
        "private_endpoint_subnet_id": baseline.private_endpoint_subnet_id,
        "deliveries": [
            {"consumer": c.name, "key": keys[c.name], "reader_principal_id": c.key_vault_reader.principal_id,
             "reader_principal_type": c.key_vault_reader.principal_type}
            for c in settings.consumers
            if c.key_vault_reader is not None
        ],
        # Key Vault logs to AzureDiagnostics.
        "diagnostic_settings": [{"workspace_id": baseline.workspace_id, "dedicated_tables": False}],
        "tags": dict(baseline.tags),
        "protect_stateful": settings.is_production,
    }
    zone = settings.consumer_key_vault.private_dns_zone_id
    if zone is not None:
        args["private_dns_zone_id"] = zone
    return args
