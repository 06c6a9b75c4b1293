"""SemanticCache: Azure Managed Redis as the external cache, the embeddings pool, and per-consumer lookups."""

from __future__ import annotations

import pytest
from lxml import etree

from components.access import ROLE_DEFINITIONS
from tests.support import problems, with_value
from tools.harness import RecordedResource, Recording, Secret
from tools.rawxml import to_wellformed

REDIS = "azure-native:redisenterprise:RedisEnterprise"
DATABASE = "azure-native:redisenterprise:Database"
BACKEND = "azure-native:apimanagement:Backend"


def fragment(recording: Recording, fragment_id: str) -> RecordedResource:
    [found] = [f for f in recording.of_type("azure-native:apimanagement:PolicyFragment") if f.get("id") == fragment_id]
    return found


def xml(resource: RecordedResource) -> etree._Element:
    return etree.fromstring(to_wellformed(resource.get("value")).encode())


def test_redis_is_private_with_tls_1_2_and_high_availability(prod: Recording) -> None:
    redis = prod.one(REDIS)
    assert redis.get("publicNetworkAccess") == "Disabled"
    assert redis.get("minimumTlsVersion") == "1.2"
    assert redis.get("highAvailability") == "Enabled"
    assert redis.get("sku.name") == "Balanced_B1"


def test_redis_states_why_it_keeps_access_keys(prod: Recording) -> None:
    assert prod.one(REDIS).get("tags.localAuthException") == "apim-external-cache-connection-string"


def test_redis_database_runs_redisearch_as_the_semantic_cache_requires(prod: Recording) -> None:
    db = prod.one(DATABASE)
    assert db.get("modules") == [{"name": "RediSearch"}]
    assert db.get("clusteringPolicy") == "EnterpriseCluster"
    assert db.get("evictionPolicy") == "NoEviction"
    assert (db.get("clientProtocol"), db.get("port")) == ("Encrypted", 10000)


def test_redis_is_reached_through_a_private_endpoint(prod: Recording) -> None:
    redis = prod.one(REDIS)
    endpoint = prod.one("azure-native:network:PrivateEndpoint", "cache-redis-pe")
    connection = endpoint.get("privateLinkServiceConnections.0")
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (redis.id, ["redisEnterprise"])
    zone_group = prod.one("azure-native:network:PrivateDnsZoneGroup", "cache-redis-pe-dns")
    zone = prod.by_id(zone_group.get("privateDnsZoneConfigs.0.privateDnsZoneId"))
    assert zone.get("privateZoneName") == "privatelink.redis.azure.net"


def test_apim_external_cache_holds_the_connection_string_as_a_secret(prod: Recording) -> None:
    cache = prod.one("azure-native:apimanagement:Cache")
    assert isinstance(cache.inputs["connectionString"], Secret)
    host, rest = cache.get("connectionString").split(",", 1)
    assert host.endswith(".redis.azure.net:10000") and "ssl=True" in rest
    assert cache.get("useFromLocation") == "default"


def test_the_embeddings_backend_is_one_single_backend_at_the_deployment_url(prod: Recording) -> None:
    # The lookup reference documents a backend at the embeddings deployment's URL; a Pool there is not described.
    embeddings = [b for b in prod.of_type(BACKEND) if b.get("backendId").startswith("embeddings-")]
    assert [(b.get("backendId"), b.get("type")) for b in embeddings] == [("embeddings-paygo-1", "Single")]
    [backend] = embeddings
    paygo_1 = prod.outputs["openaiAccounts"][1]
    assert backend.get("url") == f"{paygo_1['backendUrl']}/deployments/text-embedding-3-small/embeddings"
    assert backend.get("circuitBreaker.rules.0.acceptRetryAfter") is True


def test_the_embeddings_account_may_be_chosen_among_those_that_host_it(prod_config: dict) -> None:
    from tests.support import only

    assert problems(with_value(prod_config, "semanticCache.embeddingsAccount", "paygo-2")) == []
    line = only(problems(with_value(prod_config, "semanticCache.embeddingsAccount", "ptu-1")))
    assert line == (
        "genai-gateway:semanticCache.embeddingsAccount: 'ptu-1': does not deploy 'text-embedding-3-small' "
        "(accounts that do: paygo-1, paygo-2)"
    )


def lookup_of(recording: Recording) -> etree._Element:
    return xml(fragment(recording, "semantic-cache-lookup")).find("choose/when/llm-semantic-cache-lookup")


def test_lookup_is_partitioned_by_consumer_and_deployment(prod: Recording) -> None:
    assert [v.text for v in lookup_of(prod).findall("vary-by")] == [
        '@((string)context.Variables["consumer-id"])',
        '@((string)context.Variables.GetValueOrDefault("deployment-name", ""))',
    ]
    # Every consumer path sets consumer-id before the lookup: key callers in their product policy.
    for policy in prod.of_type("azure-native:apimanagement:ProductPolicy"):
        assert xml(policy).find("inbound/set-variable[@name='consumer-id']") is not None


def test_lookup_uses_the_threshold_and_the_embeddings_backend_with_the_system_identity(prod: Recording) -> None:
    lookup = lookup_of(prod)
    assert lookup.get("score-threshold") == "0.05"
    assert lookup.get("embeddings-backend-id") == "embeddings-paygo-1"
    assert lookup.get("embeddings-backend-auth") == "system-assigned"


def test_store_keeps_answers_for_the_configured_duration(prod: Recording) -> None:
    store = xml(fragment(prod, "semantic-cache-store")).find("choose/when/llm-semantic-cache-store")
    assert store.get("duration") == "3600"


def test_only_non_streamed_chat_completions_are_cached(prod: Recording) -> None:
    document = xml(fragment(prod, "semantic-cache-lookup"))
    eligible = document.find("set-variable[@name='semantic-cache-eligible']").get("value")
    assert '"openai-operation", "") != "chat.completions"' in eligible and 'body["stream"]' in eligible
    assert document.find("choose/when").get("condition") == '@((bool)context.Variables["semantic-cache-eligible"])'
    store_when = xml(fragment(prod, "semantic-cache-store")).find("choose/when")
    assert "semantic-cache-eligible" in store_when.get("condition")


def test_only_successful_completions_are_stored(prod: Recording) -> None:
    condition = xml(fragment(prod, "semantic-cache-store")).find("choose/when").get("condition")
    assert condition.startswith("@(context.Response.StatusCode == 200 && ")


def test_api_policy_looks_up_before_routing_and_stores_before_the_usage_record(prod: Recording) -> None:
    for resource in prod.of_type("azure-native:apimanagement:ApiPolicy"):
        policy = xml(resource)
        inbound = [e.get("fragment-id") for e in policy.find("inbound").iter("include-fragment")]
        outbound = [e.get("fragment-id") for e in policy.find("outbound").iter("include-fragment")]
        assert inbound.index("semantic-cache-lookup") < inbound.index("openai-load-balancing")
        assert outbound == ["semantic-cache-store", "openai-response", "usage-record"]


def test_apim_system_identity_may_call_the_embeddings_deployments(prod: Recording) -> None:
    roles = [
        r
        for r in prod.of_type("azure-native:authorization:RoleAssignment")
        if r.name.startswith("openai-") and r.name.endswith("-apim-system")
    ]
    accounts = {a.id for a in prod.of_type("azure-native:cognitiveservices:Account") if a.get("kind") == "OpenAI"}
    assert {r.get("scope") for r in roles} == accounts
    for role in roles:
        assert role.get("roleDefinitionId").endswith(ROLE_DEFINITIONS["Cognitive Services OpenAI User"])


def test_dev_has_no_semantic_cache(dev: Recording) -> None:
    assert not dev.of_type(REDIS) and not dev.of_type("azure-native:apimanagement:Cache")
    for policy in dev.of_type("azure-native:apimanagement:ApiPolicy"):
        assert "semantic-cache" not in policy.get("value")


def test_cache_needs_a_deployed_embeddings_model(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "semanticCache.embeddingsDeployment", "ada-002"))
    assert line.startswith("genai-gateway:semanticCache.embeddingsDeployment: 'ada-002': no account deploys it")


@pytest.mark.parametrize("threshold", [0, 1.5])
def test_score_threshold_must_be_a_distance_in_0_to_1(prod_config: dict, threshold: float) -> None:
    [line] = problems(with_value(prod_config, "semanticCache.scoreThreshold", threshold))
    assert line.startswith(f"genai-gateway:semanticCache.scoreThreshold: {threshold}: ")


def test_prod_cache_must_be_highly_available(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "semanticCache.highAvailability", False))
    assert line == "genai-gateway:semanticCache.highAvailability: false: must be true in production"


def test_redis_metrics_come_from_the_cluster_and_logs_from_the_database(prod: Recording) -> None:
    metrics = prod.one("azure-native:monitor:DiagnosticSetting", "cache-redis-metrics")
    logs = prod.one("azure-native:monitor:DiagnosticSetting", "cache-redis-logs")
    assert metrics.get("resourceUri") == prod.one(REDIS).id and metrics.get("logs") == []
    assert logs.get("resourceUri") == prod.one(DATABASE).id and logs.get("metrics") == []
    assert logs.get("logs.0.categoryGroup") == "allLogs"
