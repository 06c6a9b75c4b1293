"""UsageWorkbook: an Azure Monitor workbook that charts tokens, throttling, spill-over and cache hits."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from components.backend_ids import account_backend_id
from components.gateway_fragments import METRIC_NAMESPACE
from components.gateway_policies import API_ID
from components.policy_templates import render
from components.usage_workbook import (
    WORKBOOK_PATH,
    endpoint_host,
    load_workbook_template,
    render_workbook,
    workbook_name,
    workbook_parameters,
)
from tests.support import raw_config, with_value
from tools.harness import RecordedResource, Recording, run_stack

WORKBOOK = "azure-native:applicationinsights:Workbook"
WORKSPACE = "azure-native:operationalinsights:Workspace"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
COMPONENT = "genai-gateway:observability:UsageWorkbook"
WORKSPACE_RESOURCE_TYPE = "microsoft.operationalinsights/workspaces"
# What llm-emit-token-metric emits (learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy).
TOKEN_METRICS = ("Prompt Tokens", "Completion Tokens", "Total Tokens")


def workbook(r: Recording) -> RecordedResource:
    return r.one(WORKBOOK, "workbook-usage")


def document(r: Recording) -> dict[str, Any]:
    return json.loads(workbook(r).get("serializedData"))


def items_by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in doc["items"]}


def query(doc: dict[str, Any], name: str) -> str:
    return items_by_name(doc)[name]["content"]["query"]


def queries(doc: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["content"]["query"] for item in doc["items"] if item["type"] == 3}


def emitted_dimensions() -> set[str]:
    """Dimension names of the token metric as the rendered policy fragment emits them."""
    fragment = render("token-usage-metrics", metric_namespace=METRIC_NAMESPACE)
    return set(re.findall(r'<dimension name="([^"]+)"', fragment))


def unbalanced(kql: str) -> str | None:
    """The first bracket or quote problem of a KQL text (strings and verbatim @-strings skipped), or None."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    i = 0
    while i < len(kql):
        c = kql[i]
        if c in "\"'":
            verbatim = i > 0 and kql[i - 1] == "@"
            j = i + 1
            while j < len(kql) and kql[j] != c:
                j += 2 if (kql[j] == "\\" and not verbatim) else 1
            if j >= len(kql):
                return f"unterminated string at {i}"
            i = j + 1
            continue
        if c in "([{":
            stack.append(c)
        elif c in pairs:
            if not stack or stack.pop() != pairs[c]:
                return f"unmatched {c!r} at {i}"
        i += 1
    return f"unclosed {stack[-1]!r}" if stack else None


@pytest.fixture(scope="module")
def dev_without_workbook() -> Recording:
    observability = with_value(raw_config("dev"), "observability.usageWorkbook", False)["observability"]
    return run_stack("dev", overrides={"observability": observability})


# -- the workbook resource -----------------------------------------------------------------------------
def test_workbook_is_a_shared_workbook_child_of_the_component(stack: Recording) -> None:
    w = workbook(stack)
    assert (w.get("kind"), w.get("category"), w.get("version")) == ("shared", "workbook", "Notebook/1.0")
    assert stack.by_urn(w.parent).type == COMPONENT


def test_workbook_source_is_the_gateway_workspace(stack: Recording) -> None:
    workspace = stack.one(WORKSPACE)
    assert workbook(stack).get("sourceId") == workspace.id
    assert document(stack)["fallbackResourceIds"] == [workspace.id]


def test_workbook_name_is_a_guid_derived_from_the_resource_group(stack: Recording) -> None:
    name = workbook(stack).get("resourceName")
    group = stack.one(RESOURCE_GROUP).get("resourceGroupName")
    assert uuid.UUID(name).version == 5
    assert name == workbook_name(group)
    # Pinned: a changed derivation would create a second workbook in every deployed stack.
    assert workbook_name("rg-genai-dev") == "797da8b1-13ef-53fb-a8f8-f8d63367fdc1"


def test_workbook_names_differ_between_stacks(dev: Recording, prod: Recording) -> None:
    assert workbook(dev).get("resourceName") != workbook(prod).get("resourceName")


def test_workbook_lives_in_the_stack_resource_group_and_region_with_its_tags(stack: Recording) -> None:
    group = stack.one(RESOURCE_GROUP)
    w = workbook(stack)
    assert w.get("resourceGroupName") == group.get("resourceGroupName")
    assert w.get("location") == group.get("location")
    assert w.get("tags") == group.get("tags")


def test_workbook_id_is_exported(stack: Recording) -> None:
    assert stack.outputs["usageWorkbookId"] == workbook(stack).id


def test_switch_off_declares_no_workbook(dev_without_workbook: Recording) -> None:
    assert dev_without_workbook.of_type(WORKBOOK) == []
    assert dev_without_workbook.of_type(COMPONENT) == []
    assert "usageWorkbookId" not in dev_without_workbook.outputs


# -- the document ----------------------------------------------------------------------------------------
def test_template_file_is_a_notebook_document() -> None:
    doc = load_workbook_template()
    assert doc["version"] == "Notebook/1.0"
    assert WORKBOOK_PATH.name == "usage.workbook.json"


def test_serialized_data_is_a_notebook_with_kql_items_on_the_workspace(stack: Recording) -> None:
    doc = document(stack)
    assert doc["version"] == "Notebook/1.0"
    kql_items = [item for item in doc["items"] if item["type"] == 3]
    assert kql_items
    for item in kql_items:
        content = item["content"]
        assert content["version"] == "KqlItem/1.0", item["name"]
        assert content["queryType"] == 0, item["name"]
        assert content["resourceType"] == WORKSPACE_RESOURCE_TYPE, item["name"]
        assert content["timeContextFromParameter"] == "TimeRange", item["name"]


def test_item_names_are_unique(stack: Recording) -> None:
    names = [item["name"] for item in document(stack)["items"]]
    assert len(names) == len(set(names))


def test_time_range_is_a_required_time_parameter(stack: Recording) -> None:
    time_range = workbook_parameters(document(stack))["TimeRange"]
    assert time_range["type"] == 4
    assert time_range["isRequired"] is True
    assert time_range["value"]["durationMs"] > 0


def test_every_query_is_limited_to_the_time_range(stack: Recording) -> None:
    for name, kql in queries(document(stack)).items():
        assert "where TimeGenerated {TimeRange}" in kql, name


def test_every_placeholder_names_a_parameter(stack: Recording) -> None:
    doc = document(stack)
    known = set(workbook_parameters(doc))
    for name, kql in queries(doc).items():
        for placeholder in re.findall(r"\{(\w+)(?::\w+)?\}", kql):
            assert placeholder in known, f"{name}: {{{placeholder}}}"


def test_api_parameter_is_the_openai_api(stack: Recording) -> None:
    assert workbook_parameters(document(stack))["ApiId"]["value"] == API_ID


def test_backend_tiers_map_every_account_backend_and_host_to_its_tier(stack: Recording) -> None:
    tiers = json.loads(workbook_parameters(document(stack))["BackendTiers"]["value"])
    accounts = stack.outputs["openaiAccounts"]
    assert accounts
    for account in accounts:
        assert tiers[account_backend_id(account["name"])] == account["tier"]
        assert tiers[endpoint_host(account["endpoint"])] == account["tier"]


def test_stack_values_live_only_in_hidden_parameters(stack: Recording) -> None:
    parameters = workbook_parameters(document(stack))
    for name in ("ApiId", "BackendTiers"):
        assert parameters[name]["isHiddenWhenLocked"] is True, name
    raw = json.dumps(queries(document(stack)))
    assert "openai-ptu-1" not in raw and ".openai.azure.com" not in raw


def test_kql_queries_balance_brackets_and_quotes(stack: Recording) -> None:
    for name, kql in queries(document(stack)).items():
        assert unbalanced(kql) is None, f"{name}: {unbalanced(kql)}"


def test_bracket_check_catches_an_unbalanced_query() -> None:
    assert unbalanced('T | where A == "x" and (B > 1') is not None
    assert unbalanced("T | where A == 'x") is not None
    assert unbalanced('T | extend C = replace_regex(A, @"^a\\", "")') is None


# -- one query per chart, each on the right table, metric and dimension ----------------------------------
def test_tokens_by_consumer_sums_total_tokens_by_consumer_dimension(stack: Recording) -> None:
    kql = query(document(stack), "tokens-by-consumer")
    assert kql.startswith("AppMetrics")
    assert 'Name == "Total Tokens"' in kql
    assert 'Properties["Consumer"]' in kql
    assert "sum(Sum)" in kql and "render timechart" in kql


def test_tokens_by_deployment_sums_total_tokens_by_deployment(stack: Recording) -> None:
    kql = query(document(stack), "tokens-by-deployment")
    assert kql.startswith("AppMetrics")
    assert 'Name == "Total Tokens"' in kql
    assert 'Properties["Deployment"]' in kql
    assert "sum(Sum)" in kql and "render timechart" in kql


def test_token_table_splits_prompt_completion_and_total(stack: Recording) -> None:
    kql = query(document(stack), "tokens-by-consumer-and-deployment")
    for metric in TOKEN_METRICS:
        assert f'"{metric}"' in kql, metric
    assert "by Consumer, Deployment" in kql


def test_token_queries_read_only_dimensions_the_policy_emits(stack: Recording) -> None:
    emitted = emitted_dimensions()
    read = [
        (name, d) for name, kql in queries(document(stack)).items() for d in re.findall(r'Properties\["([^"]+)"\]', kql)
    ]
    assert read, "the token queries read no dimension at all"
    for name, dimension in read:
        assert dimension in emitted, f"{name}: {dimension}"


def test_token_queries_read_only_metrics_the_policy_emits(stack: Recording) -> None:
    read = [
        (name, metric)
        for name, kql in queries(document(stack)).items()
        if kql.startswith("AppMetrics")
        for metric in re.findall(r'"([A-Z][a-z]+ Tokens)"', kql)
    ]
    assert read, "no token query reads a token metric"
    for name, metric in read:
        assert metric in TOKEN_METRICS, f"{name}: {metric}"


def test_throttling_rate_is_the_share_of_429_and_503_per_5_minutes(stack: Recording) -> None:
    kql = query(document(stack), "throttling-rate")
    assert kql.startswith("ApiManagementGatewayLogs")
    assert 'ApiId startswith "{ApiId}"' in kql
    assert "countif(ResponseCode == 429)" in kql and "countif(ResponseCode == 503)" in kql
    assert "bin(TimeGenerated, 5m)" in kql
    assert "100.0 * Throttled / Requests" in kql and "100.0 * Unavailable / Requests" in kql


def test_throttling_by_consumer_counts_429_and_503_by_product(stack: Recording) -> None:
    kql = query(document(stack), "throttling-by-consumer")
    assert "ResponseCode in (429, 503)" in kql and "ProductId" in kql


def test_spillover_requests_share_uses_the_backend_tiers(stack: Recording) -> None:
    kql = query(document(stack), "spillover-requests")
    assert "let tiers = dynamic({BackendTiers});" in kql
    assert "ApiManagementGatewayLogs" in kql
    assert "tiers[BackendId]" in kql and "parse_url(BackendUrl).Host" in kql
    assert 'countif(Tier == "paygo")' in kql and "Deployment" in kql


def test_spillover_tokens_join_llm_logs_to_the_serving_backend(stack: Recording) -> None:
    kql = query(document(stack), "spillover-tokens")
    assert "ApiManagementGatewayLlmLog" in kql and "ApiManagementGatewayLogs" in kql
    assert "TotalTokens" in kql and "on CorrelationId" in kql
    # The table is real now (each API's LLM logging writes it): no empty stand-in hides a missing producer.
    assert kql.splitlines()[1] == "ApiManagementGatewayLlmLog" and "isfuzzy" not in kql


TABLES = ("AppMetrics", "ApiManagementGatewayLogs", "ApiManagementGatewayLlmLog")


def test_every_chart_queries_only_tables_the_stack_fills(stack: Recording) -> None:
    read = {t for kql in queries(document(stack)).values() for t in TABLES if re.search(rf"\b{t}\b", kql)}
    assert read == set(TABLES)
    for kql in queries(document(stack)).values():
        first = re.sub(r"^(let [^\n]*\n)+", "", kql).split("\n", 1)[0]
        assert first in TABLES, first
    # AppMetrics: the token metric policy, through API diagnostics with metrics on, into a workspace-based component.
    fragments = {f.get("id"): f.get("value") for f in stack.of_type("azure-native:apimanagement:PolicyFragment")}
    assert "<azure-openai-emit-token-metric" in fragments["token-usage-metrics"]
    assert all(d.get("metrics") is True for d in stack.of_type("azure-native:apimanagement:ApiDiagnostic"))
    component = stack.one("azure-native:applicationinsights:Component")
    assert component.get("workspaceResourceId") == stack.one(WORKSPACE).id
    # Both gateway tables: the service's resource logs, every category, resource-specific tables.
    apim = stack.one("azure-native:apimanagement:ApiManagementService")
    [setting] = [d for d in stack.of_type("azure-native:monitor:DiagnosticSetting") if d.get("resourceUri") == apim.id]
    assert setting.get("logAnalyticsDestinationType") == "Dedicated"
    assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]
    assert setting.get("workspaceId") == stack.one(WORKSPACE).id
    # ApiManagementGatewayLlmLog additionally needs each API's LLM logging.
    logging = stack.one("azure-native:resources:Deployment", "policies-llm-logging").get("properties.template")
    assert len(logging["resources"]) == len(stack.of_type("azure-native:apimanagement:Api"))


def test_queries_cover_every_openai_api_of_the_gateway(stack: Recording) -> None:
    prefix = workbook_parameters(document(stack))["ApiId"]["value"]
    for api in stack.of_type("azure-native:apimanagement:Api"):
        assert api.get("apiId").startswith(prefix)
    for name, kql in queries(document(stack)).items():
        if "ApiManagementGatewayLogs" in kql:
            assert 'ApiId startswith "{ApiId}"' in kql and 'ApiId == "{ApiId}"' not in kql, name


def test_cache_hit_ratio_counts_completions_answered_without_a_backend(stack: Recording) -> None:
    kql = query(document(stack), "cache-hit-ratio")
    assert kql.startswith("ApiManagementGatewayLogs")
    assert 'Url has "completions"' in kql
    assert 'Cache =~ "hit"' in kql and "isempty(BackendUrl)" in kql
    assert "100.0 * Hits / Completions" in kql


def test_cache_hits_by_consumer_uses_the_same_hit_rule(stack: Recording) -> None:
    doc = document(stack)

    def rule(kql: str) -> str:
        return next(line for line in kql.splitlines() if "FromCache =" in line)

    assert rule(query(doc, "cache-hits-by-consumer")) == rule(query(doc, "cache-hit-ratio"))


# -- rendering ---------------------------------------------------------------------------------------------
def test_render_rejects_a_backend_key_that_would_break_the_query() -> None:
    with pytest.raises(ValueError):
        render_workbook("/workspace", API_ID, {'x"); drop': "ptu"})


def test_render_rejects_an_unknown_tier() -> None:
    with pytest.raises(ValueError):
        render_workbook("/workspace", API_ID, {"openai-a": "spot"})


def test_render_is_deterministic() -> None:
    tiers = {"openai-b": "paygo", "openai-a": "ptu"}
    assert render_workbook("/w", API_ID, tiers) == render_workbook("/w", API_ID, dict(reversed(tiers.items())))


def test_spillover_share_takes_the_deployment_from_the_llm_log_for_both_apis(stack: Recording) -> None:
    # The v1 API names the deployment in the body, so the URL has none: the generative AI gateway log's
    # DeploymentName (https://learn.microsoft.com/azure/azure-monitor/reference/tables/apimanagementgatewayllmlog,
    # "Deployment name used by client") carries it for both APIs; the dated URL is the fallback for requests
    # without an LLM log row. The left outer join keeps those requests in the share.
    kql = query(document(stack), "spillover-requests")
    assert "summarize LlmDeployment = take_any(DeploymentName) by CorrelationId" in kql
    assert "join kind=leftouter deployments on CorrelationId" in kql
    assert 'Deployment = coalesce(LlmDeployment, extract(@"/deployments/([^/?]+)", 1, Url))' in kql
    # What fills the field: every OpenAI API of the stack, dated and v1, has LLM logging on.
    logging = stack.one("azure-native:resources:Deployment", "policies-llm-logging").get("properties.template")
    logged = {r["name"].split("/")[1] for r in logging["resources"]}
    apis = {a.get("apiId") for a in stack.of_type("azure-native:apimanagement:Api")}
    assert logged == apis and any(a.endswith("-v1") for a in apis), (logged, apis)
    assert all(r["properties"]["largeLanguageModel"]["logs"] == "enabled" for r in logging["resources"])
