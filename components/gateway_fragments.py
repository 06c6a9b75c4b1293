"""The gateway's own policy fragments: their ids, the header names they set, and their rendered documents.

Rendered from fragments/ with the values GatewayPolicies holds; GatewayPolicies declares one PolicyFragment per
entry. The fragments read the request's facts from variables set by `openai-request` (deployment, operation, API
surface), which resolves them alike for the dated API (path) and the v1 API (the body's model), so every API
shares every fragment.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlparse

import pulumi

from .gateway_inputs import GatewayModel
from .policy_templates import render
from .usage_record import SCHEMA_VERSION

IDENTITY_CLIENT_ID_NAMED_VALUE = "gateway-identity-client-id"
IP_HASH_KEY_NAMED_VALUE = "usage-ip-hash-key"
METRIC_NAMESPACE = "genai-gateway"
# The usage record's `api` field when no API policy set `openai-api` (each API's policy sets it).
DATED_API = "dated"


@dataclass(frozen=True)
class GatewayHeaders:
    """Response headers the gateway sets itself: never Azure OpenAI's x-ratelimit-* names (README, Headers)."""

    remaining_tokens: str = "x-gateway-remaining-tokens"
    remaining_quota_tokens: str = "x-gateway-remaining-quota-tokens"
    tokens_consumed: str = "x-gateway-tokens-consumed"
    request_id: str = "x-gateway-request-id"


HEADERS = GatewayHeaders()
# Headers of a backend's answer that describe the backend (its region, its deployment's capacity and
# utilization, its own request ids): removed before the caller sees the response.
STRIPPED_BACKEND_HEADERS = (
    "x-ms-region",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-limit-requests",
    "x-ratelimit-reset-tokens",
    "x-ratelimit-reset-requests",
    "azure-openai-deployment-utilization",
    "x-ms-deployment-name",
    "azureml-model-session",
    "apim-request-id",
    "x-ms-client-request-id",
    "retry-after-ms",
)
# Longest wait the OpenAI SDKs honour in Retry-After.
MAX_RETRY_AFTER_SECONDS = 60
# The adaptive limit's window.
ADAPTIVE_RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class FragmentIds:
    request: str = "openai-request"
    response: str = "openai-response"
    load_balancing: str = "openai-load-balancing"
    spillover_retry: str = "openai-spillover-retry"
    adaptive_token_limit: str = "adaptive-token-limit"
    token_usage_metrics: str = "token-usage-metrics"
    usage_record: str = "usage-record"
    errors: str = "openai-errors"
    entra_token: str = "entra-token"
    entra_consumers: str = "entra-consumers"
    consumer_required: str = "consumer-required"
    stored_response: str = "openai-stored-response"


FRAGMENTS = FragmentIds()


def spillover_retries(failure_count: int, largest_pool: int) -> int:
    """Retries that let a request trip every pool member but the last, so it reaches the spill-over tier.

    A member trips after `failure_count` failures and is skipped from then on; a request that meets only
    throttled members needs failure_count retries per member it passes. APIM allows 1 to 50 retries.
    """
    return min(50, max(1, failure_count * (largest_pool - 1)))


@dataclass(frozen=True)
class AdaptiveTier:
    """One tier's adaptive allowance: base + share x unused global budget, at most `ceiling`."""

    name: str
    base_tokens_per_minute: int
    share_of_unused: float
    ceiling: int


def adaptive_tiers(model: GatewayModel) -> list[AdaptiveTier]:
    budget = model.global_tokens_per_minute
    return [
        AdaptiveTier(name, tier.base_tokens_per_minute, tier.share_of_unused,
                     tier.base_tokens_per_minute + int(budget * tier.share_of_unused))
        for name, tier in model.allowances.items()
    ]


@dataclass(frozen=True)
class Ipv4Subnet:
    """A subnet as the numbers a policy expression compares an address with."""

    network: int
    mask: int


def ipv4_subnet(cidr: str) -> Ipv4Subnet:
    network = ipaddress.IPv4Network(cidr)
    return Ipv4Subnet(int(network.network_address), int(network.netmask))


def iso_seconds(duration: str) -> int:
    """Seconds of an ISO-8601 duration of days, hours, minutes and seconds (`PT1M` -> 60)."""
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", duration)
    if not match:
        raise ValueError(f"not an ISO-8601 duration: {duration!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def endpoint_host(endpoint: str) -> str:
    """`https://<subdomain>.openai.azure.com/` -> `<subdomain>.openai.azure.com`."""
    return (urlparse(endpoint).hostname or endpoint).lower()



def fragment_documents(model: GatewayModel) -> dict[str, tuple[pulumi.Input[str], str]]:
    """Every fragment GatewayPolicies declares: its rendered document (or an Output of it) and description."""
    largest_pool = max((len(p.members) for p in model.pools), default=1)
    breaker = model.breaker
    retry_after = min(MAX_RETRY_AFTER_SECONDS, max(1, iso_seconds(breaker["trip_duration"])))
    documents: dict[str, tuple[pulumi.Input[str], str]] = {
        FRAGMENTS.request: (
            render(
                "openai-request",
                deployments=[p.deployment for p in model.pools],
                aliases=sorted(model.aliases.items()),
            ),
            "The request's deployment (path or body model, aliases), operation and route, for every later fragment",
        ),
        FRAGMENTS.stored_response: (
            render(
                "openai-stored-response",
                backend_ids=[a.backend_id for a in model.accounts],
                timeout_seconds=model.backend_timeout_seconds,
            ),
            "Finds a stored response (no model named) on the account that holds it",
        ),
        FRAGMENTS.load_balancing: (
            render(
                "openai-load-balancing",
                pools=model.pools,
                identity_client_id_named_value=IDENTITY_CLIENT_ID_NAMED_VALUE,
            ),
            "Keyless access with the gateway identity; routes each deployment to its backend pool",
        ),
        FRAGMENTS.spillover_retry: (
            render(
                "openai-spillover-retry",
                pools=model.pools,
                retry_count=spillover_retries(breaker["failure_count"], largest_pool),
                timeout_seconds=model.backend_timeout_seconds,
            ),
            "Re-selects the pool and re-sends a throttled request so PTU spills over to pay-as-you-go",
        ),
        FRAGMENTS.adaptive_token_limit: (
            render(
                "adaptive-token-limit",
                global_tokens_per_minute=model.global_tokens_per_minute,
                tiers=adaptive_tiers(model),
                retry_after_seconds=ADAPTIVE_RETRY_AFTER_SECONDS,
            ),
            "Global token budget, and per-consumer allowances that grow with the unused budget",
        ),
        FRAGMENTS.token_usage_metrics: (
            render("token-usage-metrics", metric_namespace=METRIC_NAMESPACE),
            "Token metrics by consumer, subscription, backend, deployment and tier",
        ),
        FRAGMENTS.response: (
            pulumi.Output.all(*[a.endpoint for a in model.accounts]).apply(
                lambda endpoints: render(
                    "openai-response",
                    host_tiers=[
                        (endpoint_host(e), a.tier) for e, a in zip(endpoints, model.accounts, strict=True)
                    ],
                    stripped_headers=STRIPPED_BACKEND_HEADERS,
                    headers=HEADERS,
                    retry_after_seconds=retry_after,
                )
            ),
            "Backend tier and region for the record; strips backend headers; OpenAI-shaped errors",
        ),
        FRAGMENTS.usage_record: (
            render(
                "usage-record",
                logger_id=model.usage_logger_name,
                schema_version=SCHEMA_VERSION,
                api=DATED_API,
                hash_client_ip=model.hash_client_ip,
                ip_hash_key_named_value=IP_HASH_KEY_NAMED_VALUE,
                app_gateway_subnet=ipv4_subnet(model.app_gateway_subnet) if model.app_gateway_subnet else None,
            ),
            "One usage record per request to Event Hubs (schemas/usage-record.v2.json)",
        ),
        FRAGMENTS.errors: (
            render(
                "openai-errors",
                headers=HEADERS,
                retry_after_seconds=retry_after,
                timeout_seconds=model.backend_timeout_seconds,
            ),
            "The gateway's own errors in the OpenAI error contract, keeping Retry-After",
        ),
        FRAGMENTS.consumer_required: (
            render("consumer-required"),
            "Refuses requests that no consumer's product policy or Entra ID mapping claimed",
        ),
    }
    if model.entra_id is not None:
        entra_consumers = [c for c in model.consumers if c.entra_client_app_ids]
        documents[FRAGMENTS.entra_token] = (
            render(
                "entra-token",
                tenant_id=model.entra_id["tenant_id"],
                audiences=model.entra_id["audiences"],
                consumers=entra_consumers,
            ),
            "Entra ID callers: the token check, before anything else answers",
        )
        documents[FRAGMENTS.entra_consumers] = (
            render("entra-consumers", consumers=entra_consumers, headers=HEADERS),
            "Entra ID callers: their consumer's limits and allow-list",
        )
    return documents
