"""Args of the optional capabilities that own a policy fragment: content safety and the semantic cache."""

from __future__ import annotations

from components.apim_baseline import ApimBaseline
from components.content_safety import (
    CONTENT_SAFETY_DNS_ZONE,
    CONTENT_SAFETY_ROLE,
    ContentSafetyArgs,
    ContentSafetyPolicy,
)
from components.private_openai import (
    PrivateOpenAI,
)
from components.semantic_cache import REDIS_DNS_ZONE, SemanticCacheArgs
from components.settings import GatewaySettings

from .common import circuit_breaker_record


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
