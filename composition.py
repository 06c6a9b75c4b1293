"""The one mapping from stack settings to component Args.

Components take plain typed Args (ids, names, small records of `pulumi.Input` values) and know nothing of stack
configuration; this module is the only place that reads the settings models to build them, so the components
can be reused by other programs (examples/openai-only), from other Pulumi languages (components/ is a Pulumi
component package) and in landing zones that bring their own network.
"""

from __future__ import annotations

from components.access import RoleAssignment
from components.alerts import GatewayAlertsArgs
from components.apim_baseline import ApimBaseline, ApimBaselineArgs, ApimService, ExistingNetwork, SubnetPrefixes
from components.consumer_keys import ConsumerKeyVaultArgs
from components.content_safety import (
    CONTENT_SAFETY_DNS_ZONE,
    CONTENT_SAFETY_ROLE,
    ContentSafetyArgs,
    ContentSafetyPolicy,
)
from components.diagnostics import DiagnosticSetting
from components.gateway_policies import (
    API_ID,
    GatewayPolicies,
    GatewayPoliciesArgs,
    IncludedFragment,
    circuit_breaker_record,
)
from components.private_openai import (
    INFERENCE_ROLE,
    OPENAI_DNS_ZONE,
    ModelDeployment,
    OpenAIAccount,
    PrivateOpenAI,
    PrivateOpenAIArgs,
)
from components.semantic_cache import REDIS_DNS_ZONE, SemanticCacheArgs
from components.settings import AccountSettings, GatewaySettings
from components.settings.gateway import account_backend_id, effective_quota
from components.token_telemetry import (
    BLOB_DNS_ZONE,
    EVENT_HUBS_DNS_ZONE,
    CaptureOptions,
    TokenTelemetryHub,
    TokenTelemetryHubArgs,
)
from components.usage_workbook import UsageWorkbookArgs, workbook_name
from components.waf_ingress import WafIngressSpec


def stack_tags(settings: GatewaySettings) -> dict[str, str]:
    return {"environment": settings.environment, "workload": "genai-gateway", **settings.tags}


def baseline_args(settings: GatewaySettings) -> ApimBaselineArgs:
    net, apim, obs = settings.network, settings.apim, settings.observability
    service: ApimService = {
        "sku": apim.sku,
        "capacity": apim.capacity,
        "zones": list(apim.zones),
        "network_mode": apim.network_mode,
        "publisher_name": apim.publisher_name,
        "publisher_email": apim.publisher_email,
        "min_api_version": apim.min_api_version,
    }
    args: ApimBaselineArgs = {
        "location": settings.location,
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "apim": service,
        "observability": {
            "log_retention_days": obs.log_retention_days,
            "sampling_percentage": obs.sampling_percentage,
            "verbosity": obs.verbosity,
            "log_client_ip": obs.log_client_ip,
        },
        "tags": stack_tags(settings),
        "protect_stateful": settings.is_production,
    }
    if net.existing is not None:
        existing: ExistingNetwork = {
            "vnet_id": net.existing.vnet_id,
            "apim_subnet_id": net.existing.apim_subnet_id,
            "private_endpoint_subnet_id": net.existing.private_endpoint_subnet_id,
        }
        if net.existing.app_gateway_subnet_id is not None:
            existing["app_gateway_subnet_id"] = net.existing.app_gateway_subnet_id
        args["existing_network"] = existing
    else:
        # Settings validation guarantees a whole address plan without network.existing.
        assert net.address_space is not None and net.subnets is not None
        subnets: SubnetPrefixes = {
            "apim": str(net.subnets.apim),
            "private_endpoints": str(net.subnets.private_endpoints),
        }
        if net.subnets.app_gateway is not None:
            subnets["app_gateway"] = str(net.subnets.app_gateway)
        args["address_space"] = str(net.address_space)
        args["subnets"] = subnets
        args["private_endpoint_clients"] = [str(c) for c in net.private_endpoint_clients]
    if obs.existing_workspace_id is not None:
        args["existing_workspace_id"] = obs.existing_workspace_id
    ingress = settings.ingress
    if ingress.enabled:
        # Settings validation guarantees the three (components/settings/ingress.py).
        assert ingress.host_name and ingress.certificate_secret_id and ingress.key_vault_id
        spec: WafIngressSpec = {
            "host_name": ingress.host_name,
            "certificate_secret_id": ingress.certificate_secret_id,
            "key_vault_id": ingress.key_vault_id,
            "waf_rule_set": ingress.waf_rule_set,
            "waf_mode": ingress.waf_mode,
            "min_capacity": ingress.min_capacity,
            "max_capacity": ingress.max_capacity,
            "zones": list(ingress.zones),
            "role_propagation_seconds": ingress.role_propagation_seconds,
        }
        args["ingress"] = spec
    return args


def openai_args(settings: GatewaySettings, baseline: ApimBaseline) -> PrivateOpenAIArgs:
    roles: list[RoleAssignment] = [
        {
            "role": INFERENCE_ROLE,
            "principal_id": baseline.identity_principal_id,
            "description": "APIM gateway calls Azure OpenAI with its managed identity (no keys)",
        }
    ]
    if settings.semantic_cache.enabled:
        # llm-semantic-cache-lookup calls the embeddings backend with the system-assigned identity only.
        roles.append(
            {
                "role": INFERENCE_ROLE,
                "principal_id": baseline.system_principal_id,
                "description": "APIM semantic cache embeds prompts with its system-assigned identity",
                "label": "apim-system",
            }
        )
    # Cognitive Services accounts log to the AzureDiagnostics table only (no resource-specific tables).
    diagnostics: list[DiagnosticSetting] = [{"workspace_id": baseline.workspace_id, "dedicated_tables": False}]
    args: PrivateOpenAIArgs = {
        "accounts": [_account(a) for a in settings.openai.accounts],
        "location": settings.location,
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "name_suffix": baseline.name_suffix,
        "resource_group_name": baseline.resource_group_name,
        "vnet_id": baseline.vnet_id,
        "private_endpoint_subnet_id": baseline.private_endpoint_subnet_id,
        "role_assignments": roles,
        "diagnostic_settings": diagnostics,
        "tags": stack_tags(settings),
        "protect_accounts": settings.is_production,
    }
    zone = settings.network.private_dns_zones.get(OPENAI_DNS_ZONE)
    if zone is not None:
        args["private_dns_zone_id"] = zone
    return args


def _account(account: AccountSettings) -> OpenAIAccount:
    deployments: list[ModelDeployment] = [
        {
            "name": d.name,
            "model": d.model.name,
            "version": d.model.version,
            "sku": d.sku,
            "capacity": d.capacity,
            "upgrade_option": d.upgrade_option,
        }
        for d in account.deployments
    ]
    return {
        "name": account.name,
        "location": account.location,
        "tier": account.tier,
        "simulated": account.simulated,
        "deployments": deployments,
    }


def telemetry_args(settings: GatewaySettings, baseline: ApimBaseline) -> TokenTelemetryHubArgs:
    t = settings.telemetry
    args: TokenTelemetryHubArgs = {
        "location": settings.location,
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "name_suffix": baseline.name_suffix,
        "resource_group_name": baseline.resource_group_name,
        "vnet_id": baseline.vnet_id,
        "private_endpoint_subnet_id": baseline.private_endpoint_subnet_id,
        "workspace_id": baseline.workspace_id,
        "apim_name": baseline.apim_name,
        "apim_id": baseline.apim_id,
        "gateway_principal_id": baseline.identity_principal_id,
        "gateway_client_id": baseline.identity_client_id,
        "event_hub": {
            "capacity": t.event_hub.capacity,
            "partition_count": t.event_hub.partition_count,
            "retention_days": t.event_hub.retention_days,
            "zone_redundant": t.event_hub.zone_redundant,
        },
        "tags": dict(baseline.tags),
        "protect_stateful": settings.is_production,
    }
    zones = settings.network.private_dns_zones
    if EVENT_HUBS_DNS_ZONE in zones:
        args["event_hubs_dns_zone_id"] = zones[EVENT_HUBS_DNS_ZONE]
    if BLOB_DNS_ZONE in zones:
        args["blob_dns_zone_id"] = zones[BLOB_DNS_ZONE]
    if t.capture.enabled:
        capture: CaptureOptions = {
            "storage_sku": t.capture_sku,
            "interval_seconds": t.capture.interval_seconds,
            "size_limit_bytes": t.capture.size_limit_bytes,
            "deployer_access": t.capture.deployer_access,
            "deployer_principal_type": t.capture.deployer_principal_type,
            "role_propagation_seconds": t.capture.role_propagation_seconds,
        }
        args["capture"] = capture
    return args


def content_safety_args(settings: GatewaySettings, baseline: ApimBaseline) -> ContentSafetyArgs:
    cs = settings.content_safety
    policy: ContentSafetyPolicy = {
        "shield_prompt": cs.shield_prompt,
        "output_type": cs.output_type,
        "categories": [{"category": c, "threshold": t} for c, t in cs.categories.checked()],
    }
    args: ContentSafetyArgs = {
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "name_suffix": baseline.name_suffix,
        "account_location": cs.region(settings),
        "location": settings.location,
        "resource_group_name": baseline.resource_group_name,
        "vnet_id": baseline.vnet_id,
        "private_endpoint_subnet_id": baseline.private_endpoint_subnet_id,
        "apim_name": baseline.apim_name,
        "apim_id": baseline.apim_id,
        "backend_identity_client_id": baseline.identity_client_id,
        "policy": policy,
        # Both of API Management's identities: which one a managed-identity backend credential uses is not
        # documented (components/content_safety.py).
        "role_assignments": [
            {
                "role": CONTENT_SAFETY_ROLE,
                "principal_id": baseline.identity_principal_id,
                "description": "APIM gateway (user-assigned identity) calls Azure AI Content Safety",
            },
            {
                "role": CONTENT_SAFETY_ROLE,
                "principal_id": baseline.system_principal_id,
                "description": "APIM gateway (system-assigned identity) calls Azure AI Content Safety",
                "label": "apim-system",
            },
        ],
        # Cognitive Services accounts log to AzureDiagnostics.
        "diagnostic_settings": [{"workspace_id": baseline.workspace_id, "dedicated_tables": False}],
        "tags": dict(baseline.tags),
        "protect_stateful": settings.is_production,
    }
    zone = settings.network.private_dns_zones.get(CONTENT_SAFETY_DNS_ZONE)
    if zone is not None:
        args["private_dns_zone_id"] = zone
    return args


def semantic_cache_args(settings: GatewaySettings, baseline: ApimBaseline, openai: PrivateOpenAI) -> SemanticCacheArgs:
    sc = settings.semantic_cache
    # The account whose embeddings deployment vectorises prompts: the chosen one, or the first hosting it
    # (settings validation guarantees one exists).
    account = next(
        a for a in openai.accounts
        if any(d.name == sc.embeddings_deployment for d in a.deployments)
        and (sc.embeddings_account is None or a.key == sc.embeddings_account)
    )
    args: SemanticCacheArgs = {
        "name_prefix": settings.name_prefix,
        "environment": settings.environment,
        "name_suffix": baseline.name_suffix,
        "location": settings.location,
        "resource_group_name": baseline.resource_group_name,
        "apim_name": baseline.apim_name,
        "apim_id": baseline.apim_id,
        "vnet_id": baseline.vnet_id,
        "private_endpoint_subnet_id": baseline.private_endpoint_subnet_id,
        "embeddings": {
            "account": account.key,
            "deployment": sc.embeddings_deployment,
            "backend_url": account.backend_url,
        },
        "circuit_breaker": circuit_breaker_record(settings.routing),
        "behaviour": {
            "score_threshold": sc.score_threshold,
            "duration_seconds": sc.duration_seconds,
            "max_message_count": sc.max_message_count,
            "ignore_system_messages": sc.ignore_system_messages,
        },
        "redis_sku": sc.redis_sku,
        "high_availability": sc.high_availability,
        "diagnostic_settings": [{"workspace_id": baseline.workspace_id, "dedicated_tables": False}],
        "tags": dict(baseline.tags),
    }
    zone = settings.network.private_dns_zones.get(REDIS_DNS_ZONE)
    if zone is not None:
        args["private_dns_zone_id"] = zone
    return args


def gateway_policies_args(
    settings: GatewaySettings,
    baseline: ApimBaseline,
    openai: PrivateOpenAI,
    telemetry: TokenTelemetryHub,
    included: list[IncludedFragment],
) -> GatewayPoliciesArgs:
    return GatewayPoliciesArgs.from_settings(settings, baseline, openai, telemetry, included)


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
    return GatewayAlertsArgs.from_settings(settings, baseline, openai, policies)


def consumer_keys_args(
    settings: GatewaySettings, baseline: ApimBaseline, policies: GatewayPolicies
) -> ConsumerKeyVaultArgs:
    return ConsumerKeyVaultArgs.from_settings(settings, baseline, policies.consumers)
