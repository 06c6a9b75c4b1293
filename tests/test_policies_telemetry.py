"""GatewayPolicies, telemetry: token metrics within Azure Monitor's dimension limit, and the usage record sent to
the Event Hub logger with the backend tier that answered, a keyed client-IP hash and cache hits marked.
"""

from __future__ import annotations

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import fragment, fragment_xml
from tools.harness import Recording, Secret


def test_token_metrics_use_at_most_five_dimensions(stack: Recording) -> None:
    # azure-openai-emit-token-metric: documented for embeddings as well as chat completions.
    metric = fragment_xml(stack, FRAGMENTS.token_usage_metrics).find("azure-openai-emit-token-metric")
    names = [d.get("name") for d in metric.iter("dimension")]
    assert len(names) <= 5
    assert {"Consumer", "Deployment", "Backend ID"} <= set(names)


def test_usage_record_goes_to_the_event_hub_logger(stack: Recording) -> None:
    log = fragment_xml(stack, FRAGMENTS.usage_record).find("log-to-eventhub")
    loggers = {lg.get("loggerId") for lg in stack.of_type("azure-native:apimanagement:Logger")}
    assert log.get("logger-id") == "usage-eventhub" and "usage-eventhub" in loggers
    assert stack.depends_on(
        fragment(stack, FRAGMENTS.usage_record), stack.one("azure-native:apimanagement:Logger", "telemetry-logger")
    )


def test_backend_tier_is_known_from_the_host_that_answered(stack: Recording) -> None:
    code = fragment_xml(stack, FRAGMENTS.response).find("set-variable[@name='backend-tier']").get("value")
    for account in stack.outputs["openaiAccounts"]:
        host = account["endpoint"].removeprefix("https://").rstrip("/")
        assert f'if (host == "{host}") {{ return "{account["tier"]}"; }}' in code
    # A provisioned deployment's own header says so when the host is not one the plan knows.
    assert 'ContainsKey("azure-openai-deployment-utilization") ? "ptu" : ""' in code


def test_client_ip_hash_is_keyed_with_a_secret_named_value(prod: Recording, dev: Recording) -> None:
    code = fragment_xml(prod, FRAGMENTS.usage_record).find("log-to-eventhub").text
    assert 'new System.Security.Cryptography.HMACSHA256(Encoding.UTF8.GetBytes("{{usage-ip-hash-key}}"))' in code
    assert "ComputeHash(Encoding.UTF8.GetBytes(clientIp))" in code
    key = prod.one("azure-native:apimanagement:NamedValue", "policies-ip-hash-key-value")
    assert key.get("displayName") == "usage-ip-hash-key" and key.get("secret") is True
    assert isinstance(key.inputs["value"], Secret)
    # dev does not hash client IPs, so it has no key either: its records carry a null hash.
    assert "HMACSHA256" not in fragment_xml(dev, FRAGMENTS.usage_record).find("log-to-eventhub").text
    assert not [n for n in dev.of_type("azure-native:apimanagement:NamedValue") if n.name.endswith("ip-hash-key-value")]


def test_usage_record_marks_answers_from_the_semantic_cache(stack: Recording) -> None:
    code = fragment_xml(stack, FRAGMENTS.usage_record).find("log-to-eventhub").text
    # Routing sets backend-id; a request that reaches outbound without it was answered from the cache.
    assert 'bool cacheHit = !context.Variables.ContainsKey("backend-id");' in code
    routing = fragment_xml(stack, FRAGMENTS.load_balancing)
    assert all(w.find("set-variable[@name='backend-id']") is not None for w in routing.find("choose").iter("when"))
