"""GatewayPolicies: the GenAI gateway's behaviour as API Management resources.

One backend per OpenAI account (each with a circuit breaker that honours Retry-After), one pool per
deployment name (round-robin, weighted or PTU-first priority spill-over), the policy fragments rendered
from fragments/ (components/gateway_fragments.py), the OpenAI APIs for key and Entra ID callers with their
policies, diagnostics and LLM logging (components/openai_api.py), and a product with a token-limit policy and a
subscription for every consumer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_random as random
from pulumi_azure_native import apimanagement

from .circuit_breaker import CircuitBreaker, circuit_breaker_args
from .gateway_fragments import (
    FRAGMENTS,
    HEADERS,
    IDENTITY_CLIENT_ID_NAMED_VALUE,
    IP_HASH_KEY_NAMED_VALUE,
    fragment_documents,
)
from .openai_api import (
    ENTRA_API,
    ENTRA_V1_API,
    KEY_API,
    KEY_V1_API,
    DeclaredApi,
    api_specs,
    declare_api,
    declare_llm_logging,
)
from .policy_templates import render
from .private_openai import OpenAIAccountEndpoint
from .settings import ConsumerSettings, EntraIdSettings, GatewaySettings, RoutingSettings, TokenLimitSettings
from .settings.gateway import ResolvedPool, TokenQuota, account_backend_id, effective_quota, resolve_pools
from .token_telemetry import USAGE_LOGGER_NAME

API_ID = KEY_API.api_id
API_PATH = KEY_API.path
ENTRA_API_PATH = ENTRA_API.path
V1_API_ID = KEY_V1_API.api_id
V1_API_PATH = KEY_V1_API.path
ENTRA_V1_API_PATH = ENTRA_V1_API.path
@dataclass(frozen=True)
class IncludedFragment:
    """A fragment another component owns (semantic cache, content safety) that the API policy includes."""

    fragment_id: str
    section: Literal["inbound", "outbound"]
    resource: pulumi.Resource


@dataclass(frozen=True)
class ConsumerPolicy:
    """What the policy templates need of a consumer."""

    name: str
    tier: str
    deployments: tuple[str, ...]
    tokens_per_minute: int
    quota: TokenQuota
    entra_client_app_ids: tuple[str, ...]

    @property
    def subscription_id(self) -> str:
        return subscription_sid(self.name)


def subscription_sid(consumer: str) -> str:
    return f"{consumer}-key"


def circuit_breaker(routing: RoutingSettings) -> apimanagement.BackendCircuitBreakerArgs:
    """The one breaker rule Azure allows per backend, from the routing settings."""
    return circuit_breaker_args(circuit_breaker_record(routing))


def circuit_breaker_record(routing: RoutingSettings) -> CircuitBreaker:
    breaker = routing.circuit_breaker
    return {
        "failure_count": breaker.failure_count,
        "interval": breaker.interval,
        "trip_duration": breaker.trip_duration,
        "status_code_ranges": [{"min": r.min, "max": r.max} for r in breaker.status_code_ranges],
    }


@dataclass(frozen=True)
class GatewayPoliciesArgs:
    resource_group_name: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    apim: pulumi.Resource
    identity_client_id: pulumi.Input[str]
    app_insights_logger_id: pulumi.Input[str]
    usage_logger_name: str
    usage_logger: pulumi.Resource
    accounts: Sequence[OpenAIAccountEndpoint]
    pools: Sequence[ResolvedPool]
    routing: RoutingSettings
    token_limits: TokenLimitSettings
    consumers: Sequence[ConsumerSettings]
    hash_client_ip: bool
    sampling_percentage: float
    # Client IPs are personal data: the API diagnostic logs them only where the stack owner decides to.
    log_client_ip: bool = False
    quotas: Mapping[str, TokenQuota] = field(default_factory=dict)
    entra_id: EntraIdSettings = field(default_factory=EntraIdSettings)
    # In the order they run: inbound ones after the Entra ID check, outbound ones before the usage record.
    included_fragments: Sequence[IncludedFragment] = ()
    # With the WAF ingress: the App Gateway subnet, whose connections carry the client in X-Forwarded-For.
    app_gateway_subnet: str | None = None

    @classmethod
    def from_settings(
        cls,
        settings: GatewaySettings,
        baseline: Any,
        openai: Any,
        telemetry: Any,
        included_fragments: Sequence[IncludedFragment] = (),
    ) -> GatewayPoliciesArgs:
        return cls(
            resource_group_name=baseline.resource_group_name,
            apim_name=baseline.apim_name,
            apim=baseline.apim,
            identity_client_id=baseline.identity.client_id,
            app_insights_logger_id=baseline.app_insights_logger_id,
            # A literal in the policy (expressions are not allowed in logger-id): the constant, not the Output.
            usage_logger_name=USAGE_LOGGER_NAME,
            usage_logger=telemetry.logger,
            accounts=openai.accounts,
            pools=resolve_pools(settings),
            routing=settings.routing,
            token_limits=settings.token_limits,
            consumers=settings.consumers,
            hash_client_ip=settings.telemetry.hash_client_ip,
            sampling_percentage=settings.observability.sampling_percentage,
            log_client_ip=settings.observability.log_client_ip,
            quotas={c.name: effective_quota(c, settings) for c in settings.consumers},
            entra_id=settings.entra_id,
            included_fragments=tuple(included_fragments),
            app_gateway_subnet=(
                str(settings.network.app_gateway_prefix)
                if settings.ingress.enabled and settings.network.app_gateway_prefix is not None
                else None
            ),
        )

    def consumer_policy(self, consumer: ConsumerSettings) -> ConsumerPolicy:
        return ConsumerPolicy(
            name=consumer.name,
            tier=consumer.tier,
            deployments=tuple(consumer.deployments),
            tokens_per_minute=consumer.tokens_per_minute,
            quota=self.quotas.get(consumer.name, TokenQuota(consumer.token_quota, consumer.token_quota_period)),
            entra_client_app_ids=tuple(consumer.entra_client_app_ids),
        )


@dataclass(frozen=True)
class ConsumerAccess:
    """What an app team needs: its product, what it may call, its limits, and its key (a secret)."""

    name: str
    product_id: str
    deployments: tuple[str, ...]
    tokens_per_minute: int
    token_quota: int | None
    token_quota_period: str | None
    # Tokens per month the consumer's currency budget buys (None without a budget).
    budget_token_quota: int | None
    primary_key: pulumi.Output[str]


class GatewayPolicies(pulumi.ComponentResource):
    api_id: pulumi.Output[str]
    v1_api_id: pulumi.Output[str]
    consumers: list[ConsumerAccess]
    documents: dict[str, str]

    def __init__(self, name: str, args: GatewayPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:policies:GatewayPolicies", name, None, opts)
        self._name, self._args = name, args
        # Rendered documents by name, for the policy lint and for review.
        self.documents = {}

        singles = self._single_backends()
        pools = self._pools(singles)
        named_value = apimanagement.NamedValue(
            f"{name}-identity-client-id",
            named_value_id=IDENTITY_CLIENT_ID_NAMED_VALUE,
            display_name=IDENTITY_CLIENT_ID_NAMED_VALUE,
            value=args.identity_client_id,
            secret=False,
            tags=["genai-gateway"],
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.apim]),
        )
        named_values: list[pulumi.Resource] = [named_value]
        if args.hash_client_ip:
            # The HMAC key of the client-IP hash: a bare SHA-256 of an IPv4 address is reversed by brute force.
            key = random.RandomPassword(
                f"{name}-ip-hash-key", length=48, special=False, opts=pulumi.ResourceOptions(parent=self)
            )
            key_value: pulumi.Output[str] = pulumi.Output.secret(key.result)
            named_values.append(
                apimanagement.NamedValue(
                    f"{name}-ip-hash-key-value",
                    named_value_id=IP_HASH_KEY_NAMED_VALUE,
                    display_name=IP_HASH_KEY_NAMED_VALUE,
                    value=key_value,
                    secret=True,
                    tags=["genai-gateway"],
                    resource_group_name=args.resource_group_name,
                    service_name=args.apim_name,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[args.apim]),
                )
            )
        fragments = self._fragments(depends_on=[*named_values, *pools, args.usage_logger])
        apis = self._apis(fragments)
        self.api_id = next(a.api.id for a in apis if a.spec == KEY_API)
        self.v1_api_id = next(a.api.id for a in apis if a.spec == KEY_V1_API)
        # Products link to the key APIs, dated and v1: subscriptions belong to key callers, and one key, allow-list
        # and budget cover both surfaces.
        keyed = [a for a in apis if not a.spec.entra_id]
        self.consumers = [self._consumer(c, keyed) for c in args.consumers]
        self.register_outputs({
            "apiId": self.api_id,
            "v1ApiId": self.v1_api_id,
            "backendIds": [account_backend_id(a.key) for a in args.accounts],
        })

    # -- backends ------------------------------------------------------------------------------------
    def _single_backends(self) -> dict[str, apimanagement.Backend]:
        backends = {}
        for account in self._args.accounts:
            backend_id = account_backend_id(account.key)
            backends[account.key] = apimanagement.Backend(
                f"{self._name}-{backend_id}",
                backend_id=backend_id,
                type="Single",
                url=account.backend_url,
                # "http" is the only protocol of REST backends, HTTPS URLs included.
                protocol="http",
                title=f"Azure OpenAI {account.key} ({account.tier}, {account.region})",
                description=f"Azure OpenAI account {account.key}: tier {account.tier}"
                + (" (simulated PTU)" if account.simulated else ""),
                tls=apimanagement.BackendTlsPropertiesArgs(
                    validate_certificate_chain=True, validate_certificate_name=True
                ),
                circuit_breaker=circuit_breaker(self._args.routing),
                resource_group_name=self._args.resource_group_name,
                service_name=self._args.apim_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self._args.apim]),
            )
        return backends

    def _pools(self, singles: dict[str, apimanagement.Backend]) -> list[apimanagement.Backend]:
        pools = []
        for pool in self._args.pools:
            pools.append(
                apimanagement.Backend(
                    f"{self._name}-{pool.backend_id}",
                    backend_id=pool.backend_id,
                    type="Pool",
                    title=f"{pool.deployment} ({pool.strategy})",
                    description=f"Deployment {pool.deployment} across {len(pool.members)} account(s), {pool.strategy}",
                    pool=apimanagement.BackendBaseParametersPoolArgs(
                        services=[
                            apimanagement.BackendPoolItemArgs(
                                id=singles[m.account].id, priority=m.priority, weight=m.weight
                            )
                            for m in pool.members
                        ]
                    ),
                    resource_group_name=self._args.resource_group_name,
                    service_name=self._args.apim_name,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return pools

    # -- policies -------------------------------------------------------------------------------------
    def _fragments(self, depends_on: Sequence[pulumi.Resource]) -> list[apimanagement.PolicyFragment]:
        args = self._args
        fragments = []
        for fragment_id, (value, description) in fragment_documents(args).items():
            if isinstance(value, str):
                self.documents[f"fragment:{fragment_id}"] = value
            fragments.append(
                apimanagement.PolicyFragment(
                    f"{self._name}-{fragment_id}",
                    id=fragment_id,
                    format="rawxml",
                    value=value,
                    description=description,
                    resource_group_name=args.resource_group_name,
                    service_name=args.apim_name,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
                )
            )
        return fragments

    def _apis(self, fragments: Sequence[pulumi.Resource]) -> list[DeclaredApi]:
        args = self._args
        included = list(args.included_fragments)
        declared = []
        for spec in api_specs(args.entra_id.enabled):
            policy = render(
                "api-policy",
                api=spec.surface,
                api_path=spec.path,
                fragments=FRAGMENTS,
                entra_id=spec.entra_id,
                inbound_extra=[f.fragment_id for f in included if f.section == "inbound"],
                outbound_extra=[f.fragment_id for f in included if f.section == "outbound"],
            )
            self.documents[f"api:{spec.api_id}:policy"] = policy
            declared.append(
                declare_api(
                    # The dated APIs keep their logical names.
                    f"{self._name}-{'entra-' if spec.entra_id else ''}api{'' if spec.surface == 'dated' else '-v1'}",
                    spec,
                    policy=policy,
                    resource_group_name=args.resource_group_name,
                    apim_name=args.apim_name,
                    apim=args.apim,
                    app_insights_logger_id=args.app_insights_logger_id,
                    log_client_ip=args.log_client_ip,
                    sampling_percentage=args.sampling_percentage,
                    policy_depends_on=[*fragments, *(f.resource for f in included)],
                    parent=self,
                )
            )
        # The service's azuremonitor logger: GatewayAlerts' diagnostic writes through it too.
        self.azure_monitor_logger = declare_llm_logging(
            self._name,
            declared,
            resource_group_name=args.resource_group_name,
            apim_name=args.apim_name,
            apim=args.apim,
            log_client_ip=args.log_client_ip,
            parent=self,
        )
        return declared

    # -- consumers --------------------------------------------------------------------------------------
    def _consumer(self, consumer: ConsumerSettings, apis: Sequence[DeclaredApi]) -> ConsumerAccess:
        name = f"{self._name}-{consumer.product_id}"
        product = apimanagement.Product(
            name,
            product_id=consumer.product_id,
            display_name=consumer.display_name or consumer.name,
            description=f"GenAI gateway consumer {consumer.name} ({consumer.tier} tier)",
            subscription_required=True,
            approval_required=False,
            subscriptions_limit=1,
            state=apimanagement.ProductState.PUBLISHED,
            resource_group_name=self._args.resource_group_name,
            service_name=self._args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._args.apim]),
        )
        for declared in apis:
            apimanagement.ProductApiLink(
                f"{name}-api" if declared.spec == KEY_API else f"{name}-api-{declared.spec.surface}",
                product_id=product.name,
                api_link_id=f"{consumer.product_id}-{declared.spec.api_id}",
                api_id=declared.api.id,
                resource_group_name=self._args.resource_group_name,
                service_name=self._args.apim_name,
                opts=pulumi.ResourceOptions(parent=product),
            )
        policy = render("product-policy", consumer=self._args.consumer_policy(consumer), headers=HEADERS)
        self.documents[f"product:{consumer.product_id}"] = policy
        apimanagement.ProductPolicy(
            f"{name}-policy",
            product_id=product.name,
            policy_id="policy",
            format="rawxml",
            value=policy,
            resource_group_name=self._args.resource_group_name,
            service_name=self._args.apim_name,
            opts=pulumi.ResourceOptions(parent=product),
        )
        sid = subscription_sid(consumer.name)
        subscription = apimanagement.Subscription(
            f"{name}-subscription",
            sid=sid,
            display_name=f"{consumer.display_name or consumer.name} key",
            scope=product.id,
            state=apimanagement.SubscriptionState.ACTIVE,
            allow_tracing=False,
            resource_group_name=self._args.resource_group_name,
            service_name=self._args.apim_name,
            opts=pulumi.ResourceOptions(parent=product),
        )
        secrets = apimanagement.list_subscription_secrets_output(
            sid=subscription.name,
            resource_group_name=self._args.resource_group_name,
            service_name=self._args.apim_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[subscription]),
        )
        quota = self._args.consumer_policy(consumer).quota
        return ConsumerAccess(
            name=consumer.name,
            product_id=consumer.product_id,
            deployments=tuple(consumer.deployments),
            tokens_per_minute=consumer.tokens_per_minute,
            token_quota=quota.tokens,
            token_quota_period=quota.period,
            budget_token_quota=quota.from_budget,
            primary_key=pulumi.Output.secret(secrets.primary_key),
        )
