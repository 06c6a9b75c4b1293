"""Args of the platform: the APIM baseline (network, observability, ingress), the OpenAI accounts, the usage hub."""

from __future__ import annotations

from components.access import RoleAssignment
from components.apim_baseline import ApimBaseline, ApimBaselineArgs, ApimService, ExistingNetwork, SubnetPrefixes
from components.diagnostics import DiagnosticSetting
from components.private_openai import (
    INFERENCE_ROLE,
    OPENAI_DNS_ZONE,
    ModelDeployment,
    OpenAIAccount,
    PrivateOpenAIArgs,
)
from components.settings import AccountSettings, GatewaySettings
from components.token_telemetry import (
    BLOB_DNS_ZONE,
    EVENT_HUBS_DNS_ZONE,
    CaptureOptions,
    TokenTelemetryHubArgs,
)
from components.waf_ingress import WafIngressSpec

from .common import stack_tags


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
