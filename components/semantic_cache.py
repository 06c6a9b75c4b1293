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

from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, redisenterprise

from .circuit_breaker import CircuitBreaker, circuit_breaker_args
from .diagnostics import DiagnosticSetting, DiagnosticSettingSpec, diagnostic_setting_spec, send_logs
from .naming import Naming
from .policy_templates import render
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id
from .waits import waiting

REDIS_PORT = 10000
CACHE_ID = "semantic-cache"
LOOKUP_FRAGMENT_ID = "semantic-cache-lookup"
STORE_FRAGMENT_ID = "semantic-cache-store"
# The tag the guardrails read to state why this resource keeps key authentication.
LOCAL_AUTH_EXCEPTION = "apim-external-cache-connection-string"


REDIS_DNS_ZONE = "privatelink.redis.azure.net"


class EmbeddingsBackend(TypedDict):
    """The embeddings deployment llm-semantic-cache-lookup vectorises prompts with, and its account."""

    account: str  # logical account name; the backend id is `embeddings-<account>`
    deployment: str  # e.g. "text-embedding-3-small"
    # The account's backend URL (`https://<subdomain>.openai.azure.com/openai`).
    backend_url: pulumi.Input[str]


class CacheBehaviour(TypedDict, total=False):
    """How the cache matches and keeps answers."""

    score_threshold: float  # distance, 0 is identical (default 0.05)
    duration_seconds: int  # default 3600
    max_message_count: int  # default 10
    ignore_system_messages: bool  # default true


class SemanticCacheArgs(TypedDict):
    """Inputs of SemanticCache: plain values, no stack settings."""

    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    location: str
    resource_group_name: pulumi.Input[str]
    # The API Management service the external cache, backend and fragments belong to; they wait for it (its id).
    apim_name: pulumi.Input[str]
    apim_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    embeddings: EmbeddingsBackend
    circuit_breaker: CircuitBreaker
    behaviour: NotRequired[CacheBehaviour]
    redis_sku: NotRequired[str]  # default "Balanced_B1"
    high_availability: NotRequired[bool]  # default true
    # An existing privatelink.redis.azure.net zone, or the VNet to link a zone created here to.
    private_dns_zone_id: NotRequired[pulumi.Input[str]]
    vnet_id: NotRequired[pulumi.Input[str]]
    diagnostic_settings: NotRequired[list[DiagnosticSetting]]
    tags: NotRequired[dict[str, str]]


def embeddings_backend_id(account: str) -> str:
    return f"embeddings-{account}"


class SemanticCache(pulumi.ComponentResource):
    """Azure Managed Redis with RediSearch as API Management's external cache, the embeddings backend, the fragments."""

    lookup_fragment_id = LOOKUP_FRAGMENT_ID
    store_fragment_id = STORE_FRAGMENT_ID
    redis_host_name: pulumi.Output[str]
    lookup_policy_fragment_id: pulumi.Output[str]
    """Resource id of the lookup fragment (`semantic-cache-lookup`), which GatewayPolicies includes inbound."""
    store_policy_fragment_id: pulumi.Output[str]
    """Resource id of the store fragment (`semantic-cache-store`), which GatewayPolicies includes outbound."""

    def __init__(self, name: str, args: SemanticCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:cache:SemanticCache", name, None, opts)
        tags = dict(args.get("tags", {}))
        behaviour: CacheBehaviour = {
            "score_threshold": 0.05, "duration_seconds": 3600, "max_message_count": 10,
            "ignore_system_messages": True, **args.get("behaviour", {}),
        }
        naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        resource_group_name, location = args["resource_group_name"], args["location"]
        # The service name resolved together with the service id: its children wait for the service.
        self._service_name = waiting(args["apim_name"], args["apim_id"])
        child = pulumi.ResourceOptions(parent=self)
        self.documents: dict[str, str] = {}

        cluster = redisenterprise.RedisEnterprise(
            f"{name}-redis",
            cluster_name=naming.unique("redis", max_length=60),
            resource_group_name=resource_group_name,
            location=location,
            sku=redisenterprise.SkuArgs(name=args.get("redis_sku", "Balanced_B1")),
            minimum_tls_version="1.2",
            public_network_access="Disabled",
            high_availability="Enabled" if args.get("high_availability", True) else "Disabled",
            tags={**tags, "localAuthException": LOCAL_AUTH_EXCEPTION},
            opts=child,
        )
        database = redisenterprise.Database(
            f"{name}-redis-db",
            cluster_name=cluster.name,
            database_name="default",
            resource_group_name=resource_group_name,
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
            f"{name}-redis-dns", REDIS_DNS_ZONE, args.get("private_dns_zone_id"), resource_group_name,
            args.get("vnet_id"), tags, self,
        )
        endpoint = private_endpoint(
            f"{name}-redis-pe",
            azure_name=naming.regional("pe", "redis"),
            target_id=cluster.id,
            group_id="redisEnterprise",
            spec=PrivateEndpointSpec(args["private_endpoint_subnet_id"], zone),
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            parent=self,
        )
        for i, record in enumerate(args.get("diagnostic_settings", [])):
            spec = diagnostic_setting_spec(record)
            suffix = f"-{i}" if i else ""
            # The cluster has metrics only; its connection logs belong to the database.
            metrics_only = DiagnosticSettingSpec(spec.workspace_id, spec.dedicated_tables, False, spec.metrics)
            logs_only = DiagnosticSettingSpec(spec.workspace_id, spec.dedicated_tables, spec.logs, False)
            send_logs(f"{name}-redis-metrics{suffix}", cluster.id, metrics_only, self)
            send_logs(f"{name}-redis-logs{suffix}", database.id, logs_only, self)

        keys = redisenterprise.list_database_keys_output(
            cluster_name=cluster.name,
            database_name=database.name,
            resource_group_name=resource_group_name,
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
            resource_group_name=resource_group_name,
            service_name=self._service_name,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[endpoint.zone_group]),
        )

        embeddings = self._embeddings_backend(name, args)
        lookup = render(
            "semantic-cache-lookup",
            score_threshold=behaviour["score_threshold"],
            embeddings_backend_id=embeddings_backend_id(args["embeddings"]["account"]),
            ignore_system_messages=behaviour["ignore_system_messages"],
            max_message_count=behaviour["max_message_count"],
        )
        store = render("semantic-cache-store", duration_seconds=behaviour["duration_seconds"])
        self.documents = {f"fragment:{LOOKUP_FRAGMENT_ID}": lookup, f"fragment:{STORE_FRAGMENT_ID}": store}
        self.lookup_fragment = apimanagement.PolicyFragment(
            f"{name}-{LOOKUP_FRAGMENT_ID}",
            id=LOOKUP_FRAGMENT_ID,
            format="rawxml",
            value=lookup,
            description="Semantic cache lookup, partitioned by consumer",
            resource_group_name=resource_group_name,
            # After the cache (and the backend), which already wait for the service.
            service_name=args["apim_name"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cache, embeddings]),
        )
        self.store_fragment = apimanagement.PolicyFragment(
            f"{name}-{STORE_FRAGMENT_ID}",
            id=STORE_FRAGMENT_ID,
            format="rawxml",
            value=store,
            description="Semantic cache store",
            resource_group_name=resource_group_name,
            # After the cache (and the backend), which already wait for the service.
            service_name=args["apim_name"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cache]),
        )
        self.redis_host_name = cluster.host_name
        self.lookup_policy_fragment_id = self.lookup_fragment.id
        self.store_policy_fragment_id = self.store_fragment.id
        self.register_outputs({
            "cacheId": CACHE_ID,
            "redisHostName": self.redis_host_name,
            "lookupPolicyFragmentId": self.lookup_policy_fragment_id,
            "storePolicyFragmentId": self.store_policy_fragment_id,
        })

    def _embeddings_backend(self, name: str, args: SemanticCacheArgs) -> apimanagement.Backend:
        """The lookup calls the embeddings deployment itself: the backend points at the full embeddings URL."""
        embeddings = args["embeddings"]
        account, deployment = embeddings["account"], embeddings["deployment"]
        return apimanagement.Backend(
            f"{name}-{embeddings_backend_id(account)}",
            backend_id=embeddings_backend_id(account),
            type="Single",
            url=pulumi.Output.from_input(embeddings["backend_url"]).apply(
                lambda u: f"{u}/deployments/{deployment}/embeddings"
            ),
            protocol="http",
            title=f"Embeddings {deployment} on {account} for the semantic cache",
            tls=apimanagement.BackendTlsPropertiesArgs(validate_certificate_chain=True, validate_certificate_name=True),
            circuit_breaker=circuit_breaker_args(args["circuit_breaker"]),
            resource_group_name=args["resource_group_name"],
            service_name=self._service_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
