"""The usage record (v2) and how its token counts are obtained: the schema, what the policy emits, and the
LLM logging that gives streamed calls their exact count."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from lxml import etree

from components.gateway_fragments import FRAGMENTS
from components.openai_api import AZURE_MONITOR_LOGGER, LLM_LOGGING_API_VERSION
from components.usage_record import (
    ALL_FIELDS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    SCHEMA_PATH,
    V1_SCHEMA_PATH,
    load_schema,
)
from tools.harness import RecordedResource, Recording
from tools.rawxml import to_wellformed

FRAGMENT = "azure-native:apimanagement:PolicyFragment"
DEPLOYMENT = "azure-native:resources:Deployment"

# The contract of docs "Usage record v2" (issue 17 reads records of this shape).
V2_FIELDS = {
    "schemaVersion", "timestamp", "requestId", "gatewayRegion", "consumerId", "subscriptionId", "apiId",
    "operationId", "api", "deploymentName", "backendId", "backendTier", "servedRegion", "model", "promptTokens",
    "cachedPromptTokens", "completionTokens", "reasoningTokens", "totalTokens", "tokenSource", "streamed",
    "cacheHit", "statusCode", "clientIpHash",
}  # fmt: skip

VALID_RECORD: dict[str, Any] = {
    "schemaVersion": "2.0",
    "timestamp": "2026-12-01T12:00:00.000Z",
    "requestId": "0f9b2c1e-7d1a-4c1e-9a55-2b1f0c3d4e5f",
    "gatewayRegion": "Sweden Central",
    "consumerId": "consumer-team-search",
    "subscriptionId": "team-search-key",
    "apiId": "azure-openai",
    "operationId": "ChatCompletions_Create",
    "api": "dated",
    "deploymentName": "gpt-4o-mini",
    "backendId": "pool-gpt-4o-mini",
    "backendTier": "ptu",
    "servedRegion": "swedencentral",
    "model": "gpt-4.1-mini-2025-04-14",
    "promptTokens": 120,
    "cachedPromptTokens": 64,
    "completionTokens": 80,
    "reasoningTokens": 0,
    "totalTokens": 200,
    "tokenSource": "usage",
    "streamed": False,
    "cacheHit": False,
    "statusCode": 200,
    "clientIpHash": None,
}

_TYPES = {"string": str, "integer": int, "boolean": bool, "null": type(None), "object": dict}


def violations(record: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """A structural check of the keywords the usage record schemas use (no jsonschema dependency)."""
    found = [f"missing {k}" for k in schema["required"] if k not in record]
    for key, value in record.items():
        spec = schema["properties"].get(key)
        if spec is None:
            found.append(f"unexpected {key}")
            continue
        types = spec.get("type")
        if types is not None:
            allowed = [types] if isinstance(types, str) else types
            ok = any(isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool)) for t in allowed)
            if not ok:
                found.append(f"{key}: {value!r} is not {allowed}")
                continue
        if "const" in spec and value != spec["const"]:
            found.append(f"{key}: {value!r} != {spec['const']!r}")
        if "enum" in spec and value not in spec["enum"]:
            found.append(f"{key}: {value!r} not in {spec['enum']}")
        if isinstance(value, int) and not isinstance(value, bool):
            if value < spec.get("minimum", value) or value > spec.get("maximum", value):
                found.append(f"{key}: {value} out of range")
        if isinstance(value, str) and "pattern" in spec and not re.search(spec["pattern"], value):
            found.append(f"{key}: {value!r} does not match {spec['pattern']}")
    return found


def fragment(recording: Recording, fragment_id: str) -> RecordedResource:
    [found] = [f for f in recording.of_type(FRAGMENT) if f.get("id") == fragment_id]
    return found


def record_code(recording: Recording) -> str:
    xml = etree.fromstring(to_wellformed(fragment(recording, FRAGMENTS.usage_record).get("value")).encode())
    return xml.find("log-to-eventhub").text


# -- the schema --------------------------------------------------------------------------------------------


def test_schema_v2_is_a_draft_2020_12_document_of_version_2() -> None:
    schema = load_schema()
    assert SCHEMA_PATH.name == "usage-record.v2.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/usage-record.v2.json")
    assert schema["properties"]["schemaVersion"]["const"] == "2.0"


def test_schema_v2_has_exactly_the_agreed_fields_all_required_and_no_others() -> None:
    schema = load_schema()
    assert set(ALL_FIELDS) == V2_FIELDS
    assert set(REQUIRED_FIELDS) == V2_FIELDS and not OPTIONAL_FIELDS
    assert schema["additionalProperties"] is False


def test_every_v2_field_is_documented() -> None:
    assert all(spec.get("description") for spec in load_schema()["properties"].values())


def test_version_1_schema_stays_for_records_already_written() -> None:
    v1 = load_schema(V1_SCHEMA_PATH)
    assert v1["properties"]["schemaVersion"]["const"] == "1.0"
    assert violations({**VALID_RECORD, "schemaVersion": "1.0"}, v1)  # a v2 record is not a v1 record


def test_a_complete_record_conforms() -> None:
    assert violations(VALID_RECORD, load_schema()) == []


def test_a_streamed_record_with_estimated_tokens_and_unknowns_conforms() -> None:
    unknown = dict.fromkeys(("model", "promptTokens", "cachedPromptTokens", "completionTokens", "reasoningTokens"))
    record = {**VALID_RECORD, **unknown, "streamed": True, "tokenSource": "estimate", "backendTier": None}
    assert violations(record, load_schema()) == []


def test_a_cached_answer_conforms() -> None:
    record = {**VALID_RECORD, "tokenSource": "cache", "cacheHit": True, "backendId": None, "backendTier": None}
    assert violations(record, load_schema()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("promptTokens", -1), ("statusCode", 99), ("statusCode", 600), ("tokenSource", "body"),
        ("schemaVersion", "1.0"), ("api", "v2"), ("backendTier", "standard"), ("clientIpHash", "10.0.0.1"),
    ],
)  # fmt: skip
def test_out_of_range_values_do_not_conform(field: str, value: Any) -> None:
    assert violations({**VALID_RECORD, field: value}, load_schema())


@pytest.mark.parametrize("field", ["prompt", "messages", "content", "completion", "choices", "input", "clientIp"])
def test_schema_rejects_prompt_and_completion_text_and_raw_client_ip(field: str) -> None:
    assert violations({**VALID_RECORD, field: "anything"}, load_schema()) == [f"unexpected {field}"]


@pytest.mark.parametrize("field", sorted(V2_FIELDS))
def test_a_record_without_a_field_does_not_conform(field: str) -> None:
    record = {k: v for k, v in VALID_RECORD.items() if k != field}
    assert violations(record, load_schema()) == [f"missing {field}"]


# -- what the rendered policy emits --------------------------------------------------------------------------


def test_policy_emits_exactly_the_v2_schema_fields(stack: Recording) -> None:
    emitted = re.findall(r'new JProperty\("(\w+)"', record_code(stack))
    assert sorted(emitted) == sorted(ALL_FIELDS)
    assert 'new JProperty("schemaVersion", "2.0")' in record_code(stack)


def test_policy_names_the_api_surface(stack: Recording) -> None:
    assert 'GetValueOrDefault("openai-api", "dated")' in record_code(stack)
    # Each API's policy names its surface before any fragment runs: "dated" or "v1".
    for policy in stack.of_type("azure-native:apimanagement:ApiPolicy"):
        surface = "v1" if policy.name.endswith("-v1-policy") else "dated"
        assert f'<set-variable name="openai-api" value="{surface}" />' in policy.get("value"), policy.name


def test_streamed_calls_are_never_read_and_say_their_counts_are_estimates(stack: Recording) -> None:
    code = record_code(stack)
    assert code.count("Body.As") == 1
    guard = code.index("if (!streamed && textOperation && context.Response.StatusCode == 200")
    assert code.index("Body.As") > guard
    # A streamed call's total is the token-limit policy's count, labelled as such.
    assert 'source = cacheHit ? "cache" : "estimate";' in code


def test_embeddings_bodies_are_never_parsed_and_their_count_comes_from_the_token_limit(stack: Recording) -> None:
    code = record_code(stack)
    text_operations = 'operation == "chat.completions" || operation == "completions" || operation == "responses"'
    assert f"bool textOperation = {text_operations};" in code
    embeddings = code[code.index('operation == "embeddings"') :]
    assert "Body.As" not in embeddings.split("} else {")[0]
    assert "prompt = consumedTokens;" in embeddings and "total = consumedTokens;" in embeddings
    # tokens-consumed is the global budget's variable, which every request passes.
    limit = fragment(stack, FRAGMENTS.adaptive_token_limit).get("value")
    assert 'counter-key="gateway-global-budget"' in limit and 'tokens-consumed-variable-name="tokens-consumed"' in limit


def test_the_token_split_comes_from_the_response_usage(stack: Recording) -> None:
    code = record_code(stack)
    for path in ('usage["prompt_tokens_details"]', '["cached_tokens"]', 'usage["completion_tokens_details"]',
                 '["reasoning_tokens"]', 'usage["input_tokens"]', 'usage["output_tokens"]'):  # fmt: skip
        assert path in code


def test_cache_hits_are_marked(stack: Recording) -> None:
    code = record_code(stack)
    assert 'bool cacheHit = !context.Variables.ContainsKey("backend-id");' in code
    assert 'new JProperty("cacheHit", cacheHit)' in code


def test_backend_tier_and_region_come_from_the_response_fragment(stack: Recording) -> None:
    code = record_code(stack)
    assert 'GetValueOrDefault("backend-tier", "")' in code and 'GetValueOrDefault("served-region", "")' in code


def test_behind_the_app_gateway_the_client_is_the_right_most_forwarded_entry(prod: Recording) -> None:
    code = record_code(prod)
    assert 'GetValueOrDefault("X-Forwarded-For", "")' in code
    assert "forwarded.Split(',').Last().Trim()" in code
    # Only for connections from the App Gateway subnet (prod: 10.20.3.0/24 or as configured).
    assert re.search(r"\(address & \d+u\) == \d+u", code)
    assert "ComputeHash(Encoding.UTF8.GetBytes(clientIp))" in code


def test_without_the_app_gateway_the_connection_address_is_hashed() -> None:
    from components.policy_templates import render

    text = render(
        "usage-record", logger_id="usage-eventhub", schema_version="2.0", api="dated", hash_client_ip=True,
        ip_hash_key_named_value="usage-ip-hash-key", app_gateway_subnet=None,
    )  # fmt: skip
    assert "X-Forwarded-For" not in text
    assert "string clientIp = context.Request.IpAddress;" in text
    assert "ComputeHash(Encoding.UTF8.GetBytes(clientIp))" in text


def test_without_hashing_the_record_carries_a_null_hash(dev: Recording) -> None:
    code = record_code(dev)
    assert "string clientIpHash = null;" in code and "IpAddress" not in code


# -- exact counts of streamed calls: the API's LLM logging -----------------------------------------------------


def llm_logging(recording: Recording) -> RecordedResource:
    return recording.one(DEPLOYMENT, "policies-llm-logging")


def test_every_api_logs_llm_token_counts_at_an_api_version_that_has_them(stack: Recording) -> None:
    template = llm_logging(stack).get("properties.template")
    apis = {a.get("apiId") for a in stack.of_type("azure-native:apimanagement:Api")}
    declared = template["resources"]
    assert {r["type"] for r in declared} == {"Microsoft.ApiManagement/service/apis/diagnostics"}
    assert {r["apiVersion"] for r in declared} == {LLM_LOGGING_API_VERSION} == {"2025-09-01-preview"}
    assert {re.search(r"/([^/]+)/azuremonitor'", r["name"]).group(1) for r in declared} == apis
    for resource in declared:
        llm = resource["properties"]["largeLanguageModel"]
        assert llm["logs"] == "enabled"
        # Token counts only: no prompt or completion bytes.
        assert llm["requests"] == {"maxSizeInBytes": 0} and llm["responses"] == {"maxSizeInBytes": 0}
        assert AZURE_MONITOR_LOGGER in resource["properties"]["loggerId"]


def test_llm_logging_is_an_incremental_deployment_after_its_logger_and_apis(stack: Recording) -> None:
    deployment = llm_logging(stack)
    assert deployment.get("properties.mode") == "Incremental"
    logger = stack.one("azure-native:apimanagement:Logger", "policies-azuremonitor-logger")
    assert logger.get("loggerType") == "azureMonitor" and logger.get("loggerId") == AZURE_MONITOR_LOGGER
    assert stack.depends_on(deployment, logger)
    for api in stack.of_type("azure-native:apimanagement:Api"):
        assert stack.depends_on(deployment, api)
    parameters = deployment.get("properties.parameters")
    assert parameters["serviceName"]["value"] == stack.one("azure-native:apimanagement:ApiManagementService").get(
        "serviceName"
    )


def test_the_service_sends_every_resource_log_category_to_dedicated_tables(stack: Recording) -> None:
    # ApiManagementGatewayLlmLog is filled through the service's diagnostic setting (category GatewayLlmLogs,
    # part of allLogs), learn.microsoft.com/azure/api-management/api-management-howto-llm-logs.
    apim = stack.one("azure-native:apimanagement:ApiManagementService")
    [setting] = [s for s in stack.of_type("azure-native:monitor:DiagnosticSetting") if s.get("resourceUri") == apim.id]
    assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]
    assert setting.get("logAnalyticsDestinationType") == "Dedicated"


def test_the_template_is_plain_json(stack: Recording) -> None:
    json.dumps(llm_logging(stack).get("properties.template"))
