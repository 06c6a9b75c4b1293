"""GatewayPolicies: the GenAI gateway's behaviour as API Management resources.

One backend per OpenAI account (each with a circuit breaker that honours Retry-After), one pool per
deployment name (round-robin, weighted or PTU-first priority spill-over), the policy fragments rendered
from fragments/ (components/gateway_fragments.py), the OpenAI APIs for key and Entra ID callers with their
policies, diagnostics and LLM logging (components/openai_api.py), and a product with a token-limit policy and a
subscription for every consumer.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import apimanagement

from .circuit_breaker import circuit_breaker_args
from .gateway_fragments import (
    FRAGMENTS,
    HEADERS,
    IDENTITY_CLIENT_ID_NAMED_VALUE,
    IP_HASH_KEY_NAMED_VALUE,
    fragment_documents,
)
from .gateway_inputs import ConsumerPolicy, GatewayPoliciesArgs, gateway_model, subscription_sid
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
from .waits import waiting

API_ID = KEY_API.api_id
API_PATH = KEY_API.path
ENTRA_API_PATH = ENTRA_API.path
V1_API_ID = KEY_V1_API.api_id
V1_API_PATH = KEY_V1_API.path
ENTRA_V1_API_PATH = ENTRA_V1_API.path


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
    """Backends with circuit breakers, pools, policy fragments, the OpenAI APIs and a product per consumer."""

    api_id: pulumi.Output[str]
    v1_api_id: pulumi.Output[str]
    azure_monitor_logger_id: pulumi.Output[str]
    """The service's azuremonitor logger, which an alerts diagnostic writes through too."""
    backend_ids: pulumi.Output[list[str]]
    consumer_keys: pulumi.Output[dict[str, str]]
    """Consumer name -> the primary key of its subscription (a secret)."""

    def __init__(self, name: str, args: GatewayPoliciesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:policies:GatewayPolicies", name, None, opts)
        model = gateway_model(args)
        self._name, self._model = name, model
        self._resource_group_name = args["resource_group_name"]
        self._apim_name, self._apim_id = args["apim_name"], args["apim_id"]
        # The service name resolved together with the service id: what is declared on it first waits for it; the
        # rest waits for those (their names or ids are its inputs).
        self._service_name = waiting(args["apim_name"], args["apim_id"])
        # Rendered documents by name, for the policy lint and for review.
        self.documents: dict[str, str] = {}

        singles = self._single_backends()
        pools = self._pools(singles)
        named_value = apimanagement.NamedValue(
            f"{name}-identity-client-id",
            named_value_id=IDENTITY_CLIENT_ID_NAMED_VALUE,
            display_name=IDENTITY_CLIENT_ID_NAMED_VALUE,
            value=args["identity_client_id"],
            secret=False,
            tags=["genai-gateway"],
            resource_group_name=self._resource_group_name,
            service_name=self._service_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        named_values: list[pulumi.Resource] = [named_value]
        if model.hash_client_ip:
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
                    resource_group_name=self._resource_group_name,
                    service_name=self._service_name,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        # The fragments wait for the usage logger their log-to-eventhub names (its id).
        fragment_service = waiting(self._apim_name, args["usage_logger_id"])
        fragments = self._fragments(fragment_service, depends_on=[*named_values, *pools])
        apis, logger = self._apis(args, fragments)
        self.azure_monitor_logger_id = logger.id
        self.api_id = next(a.api.id for a in apis if a.spec == KEY_API)
        self.v1_api_id = next(a.api.id for a in apis if a.spec == KEY_V1_API)
        # Products link to the key APIs, dated and v1: subscriptions belong to key callers, and one key, allow-list
        # and budget cover both surfaces.
        keyed = [a for a in apis if not a.spec.entra_id]
        self.consumers = [self._consumer(c, keyed) for c in model.consumers]
        self.backend_ids = pulumi.Output.from_input([a.backend_id for a in model.accounts])
        self.consumer_keys = pulumi.Output.secret(
            pulumi.Output.all(*[c.primary_key for c in self.consumers]).apply(
                lambda keys: dict(zip([c.name for c in self.consumers], keys, strict=True))
            )
        )
        self.register_outputs({
            "apiId": self.api_id,
            "v1ApiId": self.v1_api_id,
            "azureMonitorLoggerId": self.azure_monitor_logger_id,
            "backendIds": self.backend_ids,
            "consumerKeys": self.consumer_keys,
        })

    # -- backends ------------------------------------------------------------------------------------
    def _single_backends(self) -> dict[str, apimanagement.Backend]:
        backends = {}
        for account in self._model.accounts:
            backends[account.key] = apimanagement.Backend(
                f"{self._name}-{account.backend_id}",
                backend_id=account.backend_id,
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
                circuit_breaker=circuit_breaker_args(self._model.breaker),
                resource_group_name=self._resource_group_name,
                service_name=self._service_name,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return backends

    def _pools(self, singles: dict[str, apimanagement.Backend]) -> list[apimanagement.Backend]:
        pools = []
        for pool in self._model.pools:
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
                    resource_group_name=self._resource_group_name,
                    service_name=self._apim_name,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return pools

    # -- policies -------------------------------------------------------------------------------------
    def _fragments(
        self, service_name: pulumi.Input[str], depends_on: Sequence[pulumi.Resource]
    ) -> list[apimanagement.PolicyFragment]:
        fragments = []
        for fragment_id, (value, description) in fragment_documents(self._model).items():
            if isinstance(value, str):
                self.documents[f"fragment:{fragment_id}"] = value
            fragments.append(
                apimanagement.PolicyFragment(
                    f"{self._name}-{fragment_id}",
                    id=fragment_id,
                    format="rawxml",
                    value=value,
                    description=description,
                    resource_group_name=self._resource_group_name,
                    service_name=service_name,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
                )
            )
        return fragments

    def _apis(
        self, args: GatewayPoliciesArgs, fragments: Sequence[pulumi.Resource]
    ) -> tuple[list[DeclaredApi], apimanagement.Logger]:
        """The APIs, and the service's azuremonitor logger their LLM logging writes through."""
        model = self._model
        included = model.included
        declared = []
        for spec in api_specs(model.entra_id is not None):
            policy = render(
                "api-policy",
                api=spec.surface,
                api_path=spec.path,
                fragments=FRAGMENTS,
                entra_id=spec.entra_id,
                inbound_extra=[f["fragment_id"] for f in included if f["section"] == "inbound"],
                outbound_extra=[f["fragment_id"] for f in included if f["section"] == "outbound"],
            )
            self.documents[f"api:{spec.api_id}:policy"] = policy
            declared.append(
                declare_api(
                    # The dated APIs keep their logical names.
                    f"{self._name}-{'entra-' if spec.entra_id else ''}api{'' if spec.surface == 'dated' else '-v1'}",
                    spec,
                    policy=policy,
                    resource_group_name=self._resource_group_name,
                    apim_name=self._apim_name,
                    apim_id=self._apim_id,
                    app_insights_logger_id=args["app_insights_logger_id"],
                    log_client_ip=model.log_client_ip,
                    sampling_percentage=model.sampling_percentage,
                    policy_depends_on=fragments,
                    policy_waits_for=[f["resource_id"] for f in included],
                    parent=self,
                )
            )
        logger = declare_llm_logging(
            self._name,
            declared,
            resource_group_name=self._resource_group_name,
            apim_name=self._apim_name,
            apim_id=self._apim_id,
            log_client_ip=model.log_client_ip,
            parent=self,
        )
        return declared, logger

    # -- consumers --------------------------------------------------------------------------------------
    def _consumer(self, consumer: ConsumerPolicy, apis: Sequence[DeclaredApi]) -> ConsumerAccess:
        name = f"{self._name}-{consumer.product_id}"
        product = apimanagement.Product(
            name,
            product_id=consumer.product_id,
            display_name=consumer.display_name,
            description=f"GenAI gateway consumer {consumer.name} ({consumer.tier} tier)",
            subscription_required=True,
            approval_required=False,
            subscriptions_limit=1,
            state=apimanagement.ProductState.PUBLISHED,
            resource_group_name=self._resource_group_name,
            service_name=self._service_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for declared in apis:
            apimanagement.ProductApiLink(
                f"{name}-api" if declared.spec == KEY_API else f"{name}-api-{declared.spec.surface}",
                product_id=product.name,
                api_link_id=f"{consumer.product_id}-{declared.spec.api_id}",
                api_id=declared.api.id,
                resource_group_name=self._resource_group_name,
                service_name=self._apim_name,
                opts=pulumi.ResourceOptions(parent=product),
            )
        policy = render("product-policy", consumer=consumer, headers=HEADERS)
        self.documents[f"product:{consumer.product_id}"] = policy
        apimanagement.ProductPolicy(
            f"{name}-policy",
            product_id=product.name,
            policy_id="policy",
            format="rawxml",
            value=policy,
            resource_group_name=self._resource_group_name,
            service_name=self._apim_name,
            opts=pulumi.ResourceOptions(parent=product),
        )
        sid = subscription_sid(consumer.name)
        subscription = apimanagement.Subscription(
            f"{name}-subscription",
            sid=sid,
            display_name=f"{consumer.display_name} key",
            scope=product.id,
            state=apimanagement.SubscriptionState.ACTIVE,
            allow_tracing=False,
            resource_group_name=self._resource_group_name,
            service_name=self._apim_name,
            opts=pulumi.ResourceOptions(parent=product),
        )
        secrets = apimanagement.list_subscription_secrets_output(
            sid=subscription.name,
            resource_group_name=self._resource_group_name,
            service_name=self._apim_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[subscription]),
        )
        return ConsumerAccess(
            name=consumer.name,
            product_id=consumer.product_id,
            deployments=consumer.deployments,
            tokens_per_minute=consumer.tokens_per_minute,
            token_quota=consumer.quota.tokens,
            token_quota_period=consumer.quota.period,
            budget_token_quota=consumer.quota.from_budget,
            primary_key=pulumi.Output.secret(secrets.primary_key),
        )
