"""SemanticCache: Azure Managed Redis (RediSearch) as the gateway's external cache, the embeddings backend,
and the lookup and store fragments of the semantic cache.

The lookup's embeddings backend is one Single backend whose URL is the embeddings deployment's full
`.../deployments/<name>/embeddings` URL, the form the llm-semantic-cache-lookup reference documents
(learn.microsoft.com/azure/api-management/llm-semantic-cache-lookup-policy, prerequisites); a Pool there is not
described. The account is `semanticCache.embeddingsAccount`, or the first account that hosts the deployment.

API Management reaches an external cache only with a connection string, so the Redis database keeps
access keys on; the key lives only in the APIM cache entity (a secret), and Redis is reachable only
through its private endpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import apimanagement, redisenterprise

from .diagnostics import DiagnosticSettingSpec, send_logs
from .gateway_policies import circuit_breaker
from .naming import Naming
from .policy_templates import render
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id
from .private_openai import OpenAIAccountEndpoint
from .settings import GatewaySettings, RoutingSettings, SemanticCacheSettings

REDIS_PORT = 10000
CACHE_ID = "semantic-cache"
LOOKUP_FRAGMENT_ID = "semantic-cache-lookup"
STORE_FRAGMENT_ID = "semantic-cache-store"
# The tag the guardrails read to state why this resource keeps key authentication.
LOCAL_AUTH_EXCEPTION = "apim-external-cache-connection-string"


REDIS_DNS_ZONE = "privatelink.redis.azure.net"


@dataclass(frozen=True)
class SemanticCacheArgs:
    settings: SemanticCacheSettings
    routing: RoutingSettings
    naming: Naming
    location: str
    resource_group_name: pulumi.Input[str]
    apim_name: pulumi.Input[str]
    apim: pulumi.Resource
    vnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    accounts: Sequence[OpenAIAccountEndpoint]
    diagnostic_settings: Sequence[DiagnosticSettingSpec] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # An existing privatelink.redis.azure.net zone (landing zone) instead of one created and linked to vnet_id.
    private_dns_zone_id: pulumi.Input[str] | None = None

    @classmethod
    def from_settings(cls, settings: GatewaySettings, baseline: Any, openai: Any) -> SemanticCacheArgs:
        return cls(
            settings=settings.semantic_cache,
            routing=settings.routing,
            naming=baseline.naming,
            location=settings.location,
            resource_group_name=baseline.resource_group_name,
            apim_name=baseline.apim_name,
            apim=baseline.apim,
            vnet_id=baseline.vnet_id,
            private_endpoint_subnet_id=baseline.private_endpoint_subnet_id,
            accounts=openai.accounts,
            diagnostic_settings=(DiagnosticSettingSpec(baseline.workspace_id, dedicated_tables=False),),
            tags=baseline.tags,
            private_dns_zone_id=settings.network.private_dns_zones.get(REDIS_DNS_ZONE),
        )


def embeddings_backend_id(account: str) -> str:
    return f"embeddings-{account}"


class SemanticCache(pulumi.ComponentResource):
    lookup_fragment_id = LOOKUP_FRAGMENT_ID
    store_fragment_id = STORE_FRAGMENT_ID
    lookup_fragment: apimanagement.PolicyFragment
    store_fragment: apimanagement.PolicyFragment
    documents: dict[str, str]

    def __init__(self, name: str, args: SemanticCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:cache:SemanticCache", name, None, opts)
        s, tags = args.settings, dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        self.documents = {}

        cluster = redisenterprise.RedisEnterprise(
            f"{name}-redis",
            cluster_name=args.naming.unique("redis", max_length=60),
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=redisenterprise.SkuArgs(name=s.redis_sku),
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            high_availability="Enabled" if s.high_availability else "Disabled",
            tags={**tags, "localAuthException": LOCAL_AUTH_EXCEPTION},
            opts=child,
        )
        database = redisenterprise.Database(
            f"{name}-redis-db",
            cluster_name=cluster.name,
            database_name="default",
            resource_group_name=args.resource_group_name,
            client_protocol="Encrypted",
            port=REDIS_PORT,
            # RediSearch needs the Enterprise clustering policy and no eviction.
            clustering_policy="EnterpriseCluster",
            eviction_policy="NoEviction",
            modules=[redisenterprise.ModuleArgs(name="RediSearch")],
            access_keys_authentication="Enabled",
            opts=pulumi.ResourceOptions(parent=cluster),
        )
        zone = zone_id(
            f"{name}-redis-dns", REDIS_DNS_ZONE, args.private_dns_zone_id, args.resource_group_name, args.vnet_id,
            tags, self,
        )
        endpoint = private_endpoint(
            f"{name}-redis-pe",
            azure_name=args.naming.regional("pe", "redis"),
            target_id=cluster.id,
            group_id="redisEnterprise",
            spec=PrivateEndpointSpec(args.private_endpoint_subnet_id, zone),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            parent=self,
        )
        for i, spec in enumerate(args.diagnostic_settings):
            suffix = f"-{i}" if i else ""
            # The cluster has metrics only; its connection logs belong to the database.
            send_logs(f"{name}-redis-metrics{suffix}", cluster.id, dataclasses.replace(spec, logs=False), self)
            send_logs(f"{name}-redis-logs{suffix}", database.id, dataclasses.replace(spec, metrics=False), self)

        keys = redisenterprise.list_database_keys_output(
            cluster_name=cluster.name,
            database_name=database.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[database]),
        )
        connection_string: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(cluster.host_name, keys.primary_key).apply(
                lambda v: f"{v[0]}:{REDIS_PORT},password={v[1]},ssl=True,abortConnect=False"
            )
        )
        cache = apimanagement.Cache(
            f"{name}-apim-cache",
            cache_id=CACHE_ID,
            description="Azure Managed Redis with RediSearch for the semantic cache",
            connection_string=connection_string,
            use_from_location="default",
            resource_id=cluster.id.apply(lambda i: f"https://management.azure.com{i}"),
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.apim, endpoint.zone_group]),
        )

        embeddings = self._embeddings_backend(name, args)
        lookup = render(
            "semantic-cache-lookup",
            score_threshold=s.score_threshold,
            embeddings_backend_id=embeddings_backend_id(
                embeddings_account(args.accounts, s.embeddings_deployment, s.embeddings_account).key
            ),
            ignore_system_messages=s.ignore_system_messages,
            max_message_count=s.max_message_count,
        )
        store = render("semantic-cache-store", duration_seconds=s.duration_seconds)
        self.documents = {f"fragment:{LOOKUP_FRAGMENT_ID}": lookup, f"fragment:{STORE_FRAGMENT_ID}": store}
        self.lookup_fragment = apimanagement.PolicyFragment(
            f"{name}-{LOOKUP_FRAGMENT_ID}",
            id=LOOKUP_FRAGMENT_ID,
            format="rawxml",
            value=lookup,
            description="Semantic cache lookup, partitioned by consumer",
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cache, embeddings]),
        )
        self.store_fragment = apimanagement.PolicyFragment(
            f"{name}-{STORE_FRAGMENT_ID}",
            id=STORE_FRAGMENT_ID,
            format="rawxml",
            value=store,
            description="Semantic cache store",
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cache]),
        )
        self.register_outputs({"cacheId": CACHE_ID, "redisHostName": cluster.host_name})

    def _embeddings_backend(self, name: str, args: SemanticCacheArgs) -> apimanagement.Backend:
        """The lookup calls the embeddings deployment itself: the backend points at the full embeddings URL."""
        deployment = args.settings.embeddings_deployment
        account = embeddings_account(args.accounts, deployment, args.settings.embeddings_account)
        return apimanagement.Backend(
            f"{name}-{embeddings_backend_id(account.key)}",
            backend_id=embeddings_backend_id(account.key),
            type="Single",
            url=account.backend_url.apply(lambda u: f"{u}/deployments/{deployment}/embeddings"),
            protocol="http",
            title=f"Embeddings {deployment} on {account.key} for the semantic cache",
            tls=apimanagement.BackendTlsPropertiesArgs(validate_certificate_chain=True, validate_certificate_name=True),
            circuit_breaker=circuit_breaker(args.routing),
            resource_group_name=args.resource_group_name,
            service_name=args.apim_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.apim]),
        )


def embeddings_account(
    accounts: Sequence[OpenAIAccountEndpoint], deployment: str, chosen: str | None
) -> OpenAIAccountEndpoint:
    """The account whose embeddings deployment vectorises prompts: the chosen one, or the first hosting it."""
    hosts = [a for a in accounts if any(d.name == deployment for d in a.deployments)]
    for account in hosts:
        if chosen is None or account.key == chosen:
            return account
    raise ValueError(f"no account {chosen or ''} hosts the embeddings deployment {deployment!r}")
