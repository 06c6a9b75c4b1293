"""GatewayPolicies: backends, pools, fragments, the OpenAI API and consumers, as API Management receives them."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from components.gateway_fragments import FRAGMENTS
from components.openai_api import OPENAI_SPEC_URL, V1_SPEC_URL
from components.settings.gateway import MAX_POOL_MEMBERS
from tests.support import problems, with_value
from tools.azure_mocks import identity_client_id
from tools.harness import RecordedResource, Recording, Secret
from tools.rawxml import to_wellformed

BACKEND = "azure-native:apimanagement:Backend"
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
PRODUCT = "azure-native:apimanagement:Product"
API = "azure-native:apimanagement:Api"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
# The key callers' APIs by surface; the dated one keeps its logical names.
KEY_APIS = {"dated": "policies-api", "v1": "policies-api-v1"}
ACCOUNT = "azure-native:cognitiveservices:Account"


def document(resource: RecordedResource) -> etree._Element:
    return etree.fromstring(to_wellformed(resource.get("value")).encode())


def fragment(recording: Recording, fragment_id: str) -> RecordedResource:
    [found] = [f for f in recording.of_type(FRAGMENT) if f.get("id") == fragment_id]
    return found


def fragment_xml(recording: Recording, fragment_id: str) -> etree._Element:
    return document(fragment(recording, fragment_id))


def singles(recording: Recording) -> list[RecordedResource]:
    """The chat/completions backends of the OpenAI accounts (not the embeddings or content-safety ones)."""
    return [
        b for b in recording.of_type(BACKEND) if b.get("type") == "Single" and b.get("backendId").startswith("openai-")
    ]


def pools(recording: Recording) -> dict[str, RecordedResource]:
    return {
        b.get("backendId"): b
        for b in recording.of_type(BACKEND)
        if b.get("type") == "Pool" and b.get("backendId").startswith("pool-")
    }


def backend_of_account(recording: Recording, account: str) -> RecordedResource:
    [found] = [b for b in singles(recording) if b.get("backendId") == f"openai-{account}"]
    return found


def members(recording: Recording, pool_id: str) -> dict[str, tuple[int, int]]:
    """Pool members as account -> (priority, weight)."""
    by_id = {b.id: b.get("backendId").removeprefix("openai-") for b in singles(recording)}
    return {by_id[s["id"]]: (s["priority"], s["weight"]) for s in pools(recording)[pool_id].get("pool.services")}


def deployment_names(recording: Recording) -> set[str]:
    return {d.get("deploymentName") for d in recording.of_type("azure-native:cognitiveservices:Deployment")}


# -- backends and circuit breakers -------------------------------------------------------------------


def test_every_openai_account_has_a_single_backend_at_its_endpoint(stack: Recording) -> None:
    accounts = [a for a in stack.of_type(ACCOUNT) if a.get("kind") == "OpenAI"]
    assert len(singles(stack)) == len(accounts)
    for account in accounts:
        subdomain = account.get("properties.customSubDomainName")
        backend = backend_of_account(stack, account.name.removeprefix("openai-").removesuffix("-account"))
        assert backend.get("url") == f"https://{subdomain}.openai.azure.com/openai"
        assert backend.get("protocol") == "http"


def test_every_openai_backend_has_exactly_one_breaker_rule_honouring_retry_after(stack: Recording) -> None:
    for backend in singles(stack):
        [rule] = backend.get("circuitBreaker.rules")
        assert rule["acceptRetryAfter"] is True
        ranges = rule["failureCondition"]["statusCodeRanges"]
        assert {"min": 429, "max": 429} in ranges and {"min": 500, "max": 599} in ranges
        assert rule["failureCondition"]["interval"] == "PT1M"
        assert rule["tripDuration"] == "PT1M"


def test_breaker_trips_on_the_configured_failure_count(dev: Recording, prod: Recording) -> None:
    assert {b.get("circuitBreaker.rules.0.failureCondition.count") for b in singles(dev)} == {1}
    assert {b.get("circuitBreaker.rules.0.failureCondition.count") for b in singles(prod)} == {3}


def test_backends_validate_the_tls_certificate(stack: Recording) -> None:
    for backend in singles(stack):
        assert backend.get("tls") == {"validateCertificateChain": True, "validateCertificateName": True}


# -- pools ---------------------------------------------------------------------------------------------


def test_every_deployment_name_has_one_pool(stack: Recording) -> None:
    assert set(pools(stack)) == {f"pool-{d}" for d in deployment_names(stack)}


def test_pools_carry_no_url_or_protocol_and_at_most_30_members(stack: Recording) -> None:
    for pool in pools(stack).values():
        assert pool.get("url") is None and pool.get("protocol") is None
        assert 1 <= len(pool.get("pool.services")) <= MAX_POOL_MEMBERS


def test_pool_members_are_full_arm_ids_of_single_backends(stack: Recording) -> None:
    ids = {b.id for b in singles(stack)}
    for pool in pools(stack).values():
        for service in pool.get("pool.services"):
            assert service["id"] in ids
            assert "/providers/Microsoft.ApiManagement/service/" in service["id"]


def test_priority_pool_serves_ptu_first_and_spills_to_paygo(dev: Recording) -> None:
    assert members(dev, "pool-gpt-5.4") == {"ptu-1": (1, 1), "paygo-1": (2, 1), "paygo-2": (2, 1)}


def test_priority_pool_weights_paygo_accounts_among_themselves(prod: Recording) -> None:
    assert members(prod, "pool-gpt-5.4") == {"ptu-1": (1, 100), "paygo-1": (2, 70), "paygo-2": (2, 30)}


def test_round_robin_pool_has_one_priority_and_equal_weights(dev: Recording) -> None:
    assert set(members(dev, "pool-text-embedding-3-small").values()) == {(1, 1)}


def test_weighted_pool_has_one_priority_and_the_given_weights(prod: Recording) -> None:
    assert members(prod, "pool-text-embedding-3-small") == {"paygo-1": (1, 50), "paygo-2": (1, 50)}


# -- fragments and the API policy ------------------------------------------------------------------------


def test_every_fragment_is_raw_xml_with_a_fragment_root(stack: Recording) -> None:
    fragments = stack.of_type(FRAGMENT)
    expected = set(vars(FRAGMENTS).values()) - ({FRAGMENTS.entra_consumers} if stack.stack == "dev" else set())
    assert {f.get("id") for f in fragments} >= expected
    for f in fragments:
        assert f.get("format") == "rawxml"
        assert document(f).tag == "fragment"


@pytest.mark.parametrize(
    ("section", "fragment_ids"),
    [
        (
            "inbound",
            [
                FRAGMENTS.request,
                FRAGMENTS.consumer_required,
                FRAGMENTS.adaptive_token_limit,
                FRAGMENTS.token_usage_metrics,
                FRAGMENTS.load_balancing,
            ],
        ),
        ("backend", [FRAGMENTS.stored_response, FRAGMENTS.spillover_retry]),
        ("outbound", [FRAGMENTS.response, FRAGMENTS.usage_record]),
        ("on-error", [FRAGMENTS.errors]),
    ],
)
@pytest.mark.parametrize("surface", sorted(KEY_APIS))
def test_api_policy_includes_each_fragment_in_its_section(
    dev: Recording, section: str, fragment_ids: list, surface: str
) -> None:
    policy = document(dev.one(API_POLICY, f"{KEY_APIS[surface]}-policy"))
    included = [e.get("fragment-id") for e in policy.find(section).iter("include-fragment")]
    assert included == fragment_ids


def test_every_api_carries_the_same_policy_but_for_its_surface_and_path(stack: Recording) -> None:
    dated, v1 = (stack.one(API_POLICY, f"{KEY_APIS[s]}-policy").get("value") for s in ("dated", "v1"))
    assert '<set-variable name="openai-api" value="dated" />' in dated
    assert v1 == dated.replace('value="dated"', 'value="v1"').replace('value="/openai"', 'value="/openai/v1"')


def test_api_policy_resolves_the_request_before_the_product_policy_runs(stack: Recording) -> None:
    for resource in stack.of_type(API_POLICY):
        api = next(a for a in stack.of_type(API) if a.urn == resource.parent)
        inbound = document(resource).find("inbound")
        assert [e.tag for e in inbound][:4] == ["set-variable", "set-variable", "include-fragment", "base"]
        assert inbound[0].get("name") == "openai-api"
        assert (inbound[1].get("name"), inbound[1].get("value")) == ("openai-api-path", "/" + api.get("path"))
        assert inbound[2].get("fragment-id") == FRAGMENTS.request


def test_api_policy_inherits_the_parent_scopes_except_in_backend(stack: Recording) -> None:
    for resource in stack.of_type(API_POLICY):
        policy = document(resource)
        assert policy.find("inbound").find("base") is not None
        for section in ("outbound", "on-error"):
            assert policy.find(section)[0].tag == "base"
        # The spill-over fragment forwards the request; <base /> would forward it a second time.
        assert policy.find("backend").find("base") is None


def test_api_policy_waits_for_its_fragments(stack: Recording) -> None:
    for policy in stack.of_type("azure-native:apimanagement:ApiPolicy"):
        for f in stack.of_type(FRAGMENT):
            if f.get("id") != FRAGMENTS.entra_consumers or "entra" in policy.name:
                assert stack.depends_on(policy, f)


def test_backend_calls_use_the_gateway_managed_identity(stack: Recording) -> None:
    auth = fragment_xml(stack, FRAGMENTS.load_balancing).find("authentication-managed-identity")
    assert auth.get("resource") == "https://cognitiveservices.azure.com"
    assert auth.get("client-id") == "{{gateway-identity-client-id}}"
    named_value = stack.one("azure-native:apimanagement:NamedValue", "policies-identity-client-id")
    assert named_value.get("displayName") == "gateway-identity-client-id"
    assert named_value.get("value") == identity_client_id(stack.stack, "gateway-identity")


def test_callers_api_key_is_never_forwarded(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.load_balancing)
    deletes = [h.get("name") for h in xml.iter("set-header") if h.get("exists-action") == "delete"]
    assert "api-key" in deletes
    query = [q.get("name") for q in xml.iter("set-query-parameter") if q.get("exists-action") == "delete"]
    assert "api-key" in query


def test_requests_without_a_consumer_are_refused(stack: Recording) -> None:
    when = fragment_xml(stack, FRAGMENTS.consumer_required).find("choose/when")
    # The all-access and API-scoped subscriptions skip product policies, which set consumer-id.
    assert when.get("condition") == '@(!context.Variables.ContainsKey("consumer-id"))'
    assert when.find("return-response/set-status").get("code") == "403"


def test_adaptive_allowance_is_counted_per_consumer_by_a_token_limit_policy(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.adaptive_token_limit)
    # A token-limit policy counts a streamed request's completion itself; rate-limit-by-key's increment-count is
    # evaluated when outbound ends, before a stream's completion is known.
    assert not list(xml.iter("rate-limit-by-key"))
    limits = list(xml.iterfind("choose/when/azure-openai-token-limit"))
    assert len(limits) == 2
    for limit in limits:
        assert limit.get("counter-key") == '@("adaptive-" + (string)context.Variables["consumer-id"])'
        assert limit.get("remaining-tokens-variable-name") == "adaptive-remaining-tokens"


def test_routing_sends_every_deployment_to_its_pool(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.load_balancing)
    routes = {}
    for when in xml.find("choose").iter("when"):
        # The deployment comes from the request fragment's variable, not from the path: fragments serve any API.
        assert 'GetValueOrDefault("deployment-name", "")' in when.get("condition")
        [name] = re.findall(r'== "([^"]+)"', when.get("condition"))
        routes[name] = when.find("set-backend-service").get("backend-id")
    assert routes == {d: f"pool-{d}" for d in deployment_names(stack)}
    assert set(routes.values()) == set(pools(stack))


def test_unknown_deployment_or_model_gets_a_404_json_error(stack: Recording) -> None:
    when = fragment_xml(stack, FRAGMENTS.request).find("choose/when")
    assert when.find("return-response/set-status").get("code") == "404"
    assert when.find("return-response/set-header/value").text == "application/json"
    body = when.find("return-response/set-body").text
    # The dated API's code as before; the v1 API's as OpenAI names it, with the OpenAI error fields.
    assert '"DeploymentNotFound"' in body and '"model_not_found"' in body
    assert all(f'"{field}"' in body for field in ("type", "param", "message"))
    [served] = re.findall(r"new string\[\] \{([^}]*)\}", when.get("condition"))
    assert set(re.findall(r'"([^"]+)"', served)) == set(deployment_names(stack))


def test_every_api_resolves_the_deployment_before_the_product_policy_so_an_unknown_name_is_404_not_403(
    stack: Recording,
) -> None:
    """APIM runs an API policy's statements before its <base /> ahead of the product policy's: the 404 for a name
    no pool serves comes first, and the product's 403 only meets deployments the gateway serves."""
    policies = stack.of_type(API_POLICY)
    assert policies
    for policy in policies:
        inbound = [e for e in document(policy).find("inbound") if isinstance(e.tag, str)]
        tags = [(e.tag, e.get("fragment-id")) for e in inbound]
        assert tags.index(("include-fragment", FRAGMENTS.request)) < tags.index(("base", None)), tags
    for product in stack.of_type("azure-native:apimanagement:ProductPolicy"):
        condition = document(product).find("inbound/choose/when").get("condition")
        assert 'GetValueOrDefault("deployment-name", "")' in condition, condition


def test_throttled_request_is_resent_through_the_pool(stack: Recording) -> None:
    retry = fragment_xml(stack, FRAGMENTS.spillover_retry).find("retry")
    assert retry.get("condition") == "@(context.Response.StatusCode == 429 || context.Response.StatusCode == 503)"
    forward = retry.find("forward-request")
    assert forward.get("buffer-request-body") == "true"
    largest = max(len(p.get("pool.services")) for p in pools(stack).values())
    failures = singles(stack)[0].get("circuitBreaker.rules.0.failureCondition.count")
    # Enough retries to trip every member of the largest pool but the last: dev 1 x 2, prod 3 x 2.
    assert int(retry.get("count")) == failures * (largest - 1) == {"dev": 2, "prod": 6}[stack.stack]


def test_the_pool_is_selected_again_before_every_forward(stack: Recording) -> None:
    # Without it the retried request stayed on the tripped backend (Azure-Samples/AI-Gateway PR #225).
    retry = fragment_xml(stack, FRAGMENTS.spillover_retry).find("retry")
    assert [e.tag for e in retry] == ["choose", "forward-request"]
    selected = {}
    for when in retry.find("choose").iter("when"):
        [pool_id] = re.findall(r'== "([^"]+)"', when.get("condition"))
        assert 'GetValueOrDefault("backend-id", "")' in when.get("condition")
        selected[pool_id] = when.find("set-backend-service").get("backend-id")
    assert selected == {p: p for p in pools(stack)}
    # Backend errors stay responses, for the openai-response fragment to rewrite in outbound.
    assert retry.find("forward-request").get("fail-on-error-status-code") == "false"


def test_responses_stream_through_the_gateway(stack: Recording) -> None:
    forward = fragment_xml(stack, FRAGMENTS.spillover_retry).find("retry/forward-request")
    assert forward.get("buffer-response") == "false"


def test_consumer_token_limit_is_keyed_on_the_subscription(stack: Recording) -> None:
    for policy in stack.of_type("azure-native:apimanagement:ProductPolicy"):
        # azure-openai-token-limit: documented for chat completions, embeddings and responses alike.
        limit = document(policy).find("inbound/azure-openai-token-limit")
        assert limit.get("counter-key") == "@(context.Subscription.Id)"
        assert limit.get("estimate-prompt-tokens") == "true"
        assert limit.get("retry-after-variable-name") == "token-limit-retry-after"


def test_gateway_headers_never_reuse_azure_openai_rate_limit_names(stack: Recording) -> None:
    documents = [document(p) for p in stack.of_type("azure-native:apimanagement:ProductPolicy")]
    if stack.stack == "prod":
        documents.append(fragment_xml(stack, FRAGMENTS.entra_consumers))
    for xml in documents:
        for limit in xml.iter("azure-openai-token-limit"):
            assert limit.get("remaining-tokens-header-name") == "x-gateway-remaining-tokens"
            assert limit.get("tokens-consumed-header-name") == "x-gateway-tokens-consumed"
            assert limit.get("remaining-quota-tokens-header-name") in (None, "x-gateway-remaining-quota-tokens")
            assert not [v for k, v in limit.attrib.items() if k.endswith("header-name") and "x-ratelimit" in v]


def test_backend_headers_that_describe_the_backend_are_removed(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.response)
    deleted = {h.get("name") for h in xml.findall("set-header") if h.get("exists-action") == "delete"}
    assert {
        "x-ms-region", "x-ratelimit-remaining-tokens", "x-ratelimit-remaining-requests", "x-ratelimit-limit-tokens",
        "x-ratelimit-limit-requests", "x-ratelimit-reset-tokens", "x-ratelimit-reset-requests",
        "azure-openai-deployment-utilization",
    } <= deleted  # fmt: skip
    # The record still learns the region: it is kept in a variable before the header goes.
    names = [e.get("name") for e in xml]
    assert names.index("served-region") < names.index("x-ms-region")
    request_id = xml.find("set-header[@name='x-gateway-request-id']/value")
    assert request_id.text == "@(context.RequestId.ToString())"


def test_consumer_limits_and_quotas_come_from_settings(dev: Recording) -> None:
    limits = {
        p.get("productId"): document(p).find("inbound/azure-openai-token-limit")
        for p in dev.of_type("azure-native:apimanagement:ProductPolicy")
    }
    alpha, beta = limits["consumer-team-alpha"], limits["consumer-team-beta"]
    assert alpha is not None and beta is not None
    assert (alpha.get("tokens-per-minute"), alpha.get("token-quota"), alpha.get("token-quota-period")) == (
        "20000",
        "5000000",
        "Monthly",
    )
    assert alpha.get("remaining-quota-tokens-header-name") == "x-gateway-remaining-quota-tokens"
    assert beta.get("tokens-per-minute") == "5000" and beta.get("token-quota") is None


def test_deployment_allow_list_answers_403_for_others(dev: Recording) -> None:
    policy = {p.get("productId"): p for p in dev.of_type("azure-native:apimanagement:ProductPolicy")}
    when = document(policy["consumer-team-beta"]).find("inbound/choose/when")
    assert '"text-embedding-3-small"' in when.get("condition") and "gpt-5.4" not in when.get("condition")
    assert when.find("return-response/set-status").get("code") == "403"


def test_adaptive_limit_has_a_global_budget_and_tier_shares(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    budget = xml.find("azure-openai-token-limit")
    assert (budget.get("counter-key"), budget.get("tokens-per-minute")) == ("gateway-global-budget", "30000")
    assert budget.get("remaining-tokens-variable-name") == "global-remaining-tokens"
    tiers = {}
    for when in xml.find("choose").iter("when"):
        [tier] = re.findall(r'== "(\w+)"\)', when.get("condition"))
        allowance = when.find("set-variable[@name='adaptive-token-allowance']")
        tiers[tier] = (when.find("azure-openai-token-limit"), allowance)
    assert set(tiers) == {"high", "low"}
    # dev: global 30000; high base 8000 share 0.5, low base 2000 share 0.1. The counter's ceiling is the largest
    # allowance a tier can reach, a literal: the reference does not say tokens-per-minute takes an expression.
    assert tiers["high"][0].get("tokens-per-minute") == str(8000 + 15000)
    assert tiers["low"][0].get("tokens-per-minute") == str(2000 + 3000)
    assert "8000 + (long)(unused * 0.5)" in tiers["high"][1].get("value")
    assert "2000 + (long)(unused * 0.1)" in tiers["low"][1].get("value")


def test_adaptive_allowance_is_clamped(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    for when in xml.find("choose").iter("when"):
        allowance = when.find("set-variable[@name='adaptive-token-allowance']").get("value")
        # The unused global budget never counts below zero, and the allowance stays within [base, ceiling].
        unused = 'Math.Max(0, (context.Variables.ContainsKey("global-remaining-tokens") ? Convert.ToInt32('
        assert unused in allowance
        ceiling = when.find("azure-openai-token-limit").get("tokens-per-minute")
        assert re.search(rf"Math\.Max\(\d+, Math\.Min\({ceiling}, allowance\)\)", allowance)


def test_adaptive_numbers_never_go_through_a_typed_get_value_or_default(stack: Recording) -> None:
    # A literal set-variable holds a string and a policy's variable may hold another numeric type, so a typed
    # GetValueOrDefault would throw: every number is read with ContainsKey and Convert.
    text = fragment(stack, FRAGMENTS.adaptive_token_limit).get("value")
    assert not re.search(r'GetValueOrDefault\("(global-remaining|adaptive-)[^"]*", (0|ceiling|int\.MaxValue)\)', text)
    assert 'Convert.ToInt32(context.Variables["adaptive-token-ceiling"])' in text


def test_consumer_over_its_adaptive_allowance_gets_429_with_retry_after(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    [check] = [w for w in xml.iterfind("choose/when") if "adaptive-tokens-used" in w.get("condition")]
    response = check.find("return-response")
    assert response.find("set-status").get("code") == "429"
    assert 0 <= int(response.find("set-header[@name='Retry-After']/value").text) <= 60
    assert "AdaptiveTokenLimitExceeded" in response.find("set-body").text


def test_consumer_tier_reaches_the_adaptive_limit(dev: Recording) -> None:
    tiers = {
        p.get("productId"): document(p).find("inbound/set-variable[@name='consumer-tier']").get("value")
        for p in dev.of_type("azure-native:apimanagement:ProductPolicy")
    }
    assert tiers == {
        "consumer-team-alpha": "high",
        "consumer-team-beta": "low",
        "consumer-team-gamma": "low",
        "consumer-smoke": "low",
    }


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


def test_on_error_builds_the_response_inside_return_response(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.errors)
    # The error-handling reference does not list set-body for on-error; return-response takes it as a child.
    assert not xml.findall("set-body") and not xml.findall("set-status")
    responses = list(xml.iter("return-response"))
    assert len(responses) == 2
    for response in responses:
        assert response.find("set-header[@name='Content-Type']/value").text == "application/json"
        assert response.find("set-header[@name='x-gateway-request-id']") is not None
        assert response.find("set-body") is not None


def test_on_error_keeps_retry_after_within_what_the_sdks_honour(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.errors)
    retry_after = xml.find("set-variable[@name='gateway-error-retry-after']").get("value")
    # From the token-limit policies' retry-after variable, else the failed response's header, clamped to 1-60 s.
    assert 'context.Variables["token-limit-retry-after"]' in retry_after
    assert 'Headers.GetValueOrDefault("Retry-After", "")' in retry_after
    assert "Math.Max(1, Math.Min(60, seconds))" in retry_after
    [with_header] = [w for w in xml.iterfind("choose/when")]
    assert with_header.find("return-response/set-header[@name='Retry-After']/value").text == (
        '@((string)context.Variables["gateway-error-retry-after"])'
    )


def test_on_error_maps_timeouts_unavailable_pools_and_blocks_to_distinct_answers(stack: Recording) -> None:
    code = fragment_xml(stack, FRAGMENTS.errors).find("set-variable[@name='gateway-error']").get("value")
    timeout = re.search(r'source == "forward-request" && \(text.Contains\("timeout"\).*?\{(.*?)\}', code, re.S)
    assert timeout and "status = 504" in timeout.group(1) and "BackendTimeout" in timeout.group(1)
    assert 'status = 503; code = "ServiceUnavailable"' in code
    assert 'code = "ContentSafetyBlocked"' in code and 'type = "content_filter"' in code
    assert 'code = "TokenRateLimitExceeded"' in code and 'code = "TokenQuotaExceeded"' in code
    # A 404 says what was not found.
    assert '"This API has no operation for " + context.Request.Method + " " + context.Request.OriginalUrl.Path' in code


def test_errors_never_carry_internal_messages_or_backend_urls(stack: Recording) -> None:
    code = fragment_xml(stack, FRAGMENTS.errors).find("set-variable[@name='gateway-error']").get("value")
    # The internal message is read only to classify the error, never returned.
    assert code.count("LastError.Message") == 1 and re.search(r"string text = \(reason .*LastError\.Message", code)
    assert 'new JProperty("message", message)' in code
    assert "Request.Url" not in code.replace("OriginalUrl", "")
    assert 'new JProperty("requestId", context.RequestId.ToString())' in code


def test_backend_errors_keep_the_openai_error_contract_and_content_filter_details(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.response)
    [errors] = [w for w in xml.iterfind("choose/when") if "StatusCode >= 400" in w.get("condition")]
    # Only a backend's answer is rewritten (routing set backend-id); the gateway's own answers are already shaped.
    assert 'context.Variables.ContainsKey("backend-id")' in errors.get("condition")
    body = errors.find("set-body").text
    assert 'error.Add("innererror", original["innererror"])' in body and 'error.Add("param", original["param"])' in body
    assert 'error.Add("requestId", context.RequestId.ToString())' in body
    # Messages of throttling and server errors name the pricing tier or the backend: replaced by fixed ones.
    for code in ("CapacityExhausted", "ServiceUnavailable", "BackendError", "BackendTimeout", "DeploymentNotFound"):
        assert f'error.Add("code", "{code}")' in body
    assert 'Regex.Replace(message, @"https?://\\S+", "[url]")' in body
    status = errors.find("set-variable[@name='gateway-error-status']").get("value")
    assert "if (status == 401 || status == 403) { return 502; }" in status
    assert "if (status == 408 || status == 504) { return 504; }" in status


def test_throttled_or_unavailable_backends_answer_with_a_bounded_retry_after(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.response)
    [errors] = [w for w in xml.iterfind("choose/when") if "StatusCode >= 400" in w.get("condition")]
    [retry] = errors.iterfind("choose/when")
    assert "== 429" in retry.get("condition") and "== 503" in retry.get("condition")
    value = retry.find("set-header[@name='Retry-After']/value").text
    assert "Math.Max(1, Math.Min(60, seconds))" in value and 'context.Variables["backend-retry-after"]' in value


def test_backend_tier_is_known_from_the_host_that_answered(stack: Recording) -> None:
    code = fragment_xml(stack, FRAGMENTS.response).find("set-variable[@name='backend-tier']").get("value")
    for account in stack.outputs["openaiAccounts"]:
        host = account["endpoint"].removeprefix("https://").rstrip("/")
        assert f'if (host == "{host}") {{ return "{account["tier"]}"; }}' in code
    # A provisioned deployment's own header says so when the host is not one the plan knows.
    assert 'ContainsKey("azure-openai-deployment-utilization") ? "ptu" : ""' in code


# -- the OpenAI API ----------------------------------------------------------------------------------------


def test_api_is_imported_from_a_pinned_ga_spec(stack: Recording) -> None:
    for api in stack.of_type(API):
        assert api.get("format") == "openapi+json-link"
        # The v1 APIs from the v1 specification, the dated ones from the dated one.
        assert api.get("value") == (V1_SPEC_URL if api.get("path").endswith("/v1") else OPENAI_SPEC_URL)
    assert re.search(r"/azure-rest-api-specs/[0-9a-f]{40}/", OPENAI_SPEC_URL)
    assert "/inference/stable/2024-10-21/" in OPENAI_SPEC_URL


@pytest.mark.parametrize(("surface", "path"), [("dated", "openai"), ("v1", "openai/v1")])
def test_api_accepts_the_subscription_key_in_the_api_key_header(stack: Recording, surface: str, path: str) -> None:
    api = stack.one(API, KEY_APIS[surface])
    assert (api.get("path"), api.get("protocols")) == (path, ["https"])
    assert api.get("subscriptionKeyParameterNames.header") == "api-key"
    assert api.get("subscriptionKeyParameterNames.query") == "api-key"


@pytest.mark.parametrize("surface", sorted(KEY_APIS))
def test_key_callers_have_an_api_that_always_requires_a_key(stack: Recording, surface: str) -> None:
    # Whatever a key sent to a subscription-optional API means, key callers never call one.
    assert stack.one(API, KEY_APIS[surface]).get("subscriptionRequired") is True
    policy = document(stack.one(API_POLICY, f"{KEY_APIS[surface]}-policy"))
    included = [e.get("fragment-id") for e in policy.iter("include-fragment")]
    assert FRAGMENTS.entra_consumers not in included


@pytest.mark.parametrize(("entra", "key", "path"), [
    ("policies-entra-api", "policies-api", "entra/openai"),
    ("policies-entra-api-v1", "policies-api-v1", "entra/openai/v1"),
])
def test_entra_callers_have_their_own_api_that_never_requires_a_key(
    dev: Recording, prod: Recording, entra: str, key: str, path: str
) -> None:
    assert {a.name for a in dev.of_type(API)} == set(KEY_APIS.values())
    api = prod.one(API, entra)
    assert (api.get("path"), api.get("subscriptionRequired")) == (path, False)
    policy = document(prod.one(API_POLICY, f"{entra}-policy"))
    key_policy = document(prod.one(API_POLICY, f"{key}-policy"))
    included = [e.get("fragment-id") for e in policy.iter("include-fragment")]
    key_included = [e.get("fragment-id") for e in key_policy.iter("include-fragment")]
    # The same fragments (and so the same counters) as the key API, plus the token check right after the request.
    assert [f for f in included if f != FRAGMENTS.entra_consumers] == key_included
    assert included.index(FRAGMENTS.entra_consumers) == included.index(FRAGMENTS.request) + 1
    # Products (and so subscriptions) belong to the key APIs only.
    links = {lk.get("apiId") for lk in prod.of_type("azure-native:apimanagement:ProductApiLink")}
    assert links == {prod.one(API, name).id for name in KEY_APIS.values()}


def test_api_diagnostic_sends_metrics_to_application_insights(stack: Recording) -> None:
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    for diagnostic in stack.of_type("azure-native:apimanagement:ApiDiagnostic"):
        assert diagnostic.get("loggerId") == logger.id
        assert diagnostic.get("metrics") is True
        assert diagnostic.get("frontend.request.body.bytes") == 0


# -- consumers -------------------------------------------------------------------------------------------


def test_every_consumer_has_a_published_product_requiring_a_subscription(stack: Recording) -> None:
    consumers = stack.outputs["consumers"]
    products = {p.get("productId"): p for p in stack.of_type(PRODUCT)}
    assert set(products) == {c["productId"] for c in consumers.values()}
    for product in products.values():
        assert product.get("subscriptionRequired") is True
        assert product.get("approvalRequired") is False
        assert product.get("state") == "published"


def test_every_product_is_linked_to_both_key_apis_and_has_a_subscription(stack: Recording) -> None:
    apis = sorted(stack.one(API, name).id for name in KEY_APIS.values())
    for product in stack.of_type(PRODUCT):
        links = [lk for lk in stack.of_type("azure-native:apimanagement:ProductApiLink") if lk.parent == product.urn]
        assert sorted(lk.get("apiId") for lk in links) == apis
        subscriptions = stack.of_type("azure-native:apimanagement:Subscription")
        [subscription] = [s for s in subscriptions if s.parent == product.urn]
        assert subscription.get("scope") == product.id
        assert subscription.get("state") == "active"


def test_dev_has_three_team_consumers_and_prod_two_and_each_a_smoke_consumer(dev: Recording, prod: Recording) -> None:
    assert len(dev.of_type(PRODUCT)) == 3 + 1 and len(prod.of_type(PRODUCT)) == 2 + 1
    assert "consumer-smoke" in {p.get("productId") for p in dev.of_type(PRODUCT) + prod.of_type(PRODUCT)}


def test_subscription_keys_are_exported_only_as_secrets(stack: Recording) -> None:
    keys = {k: v for k, v in stack.outputs.items() if k.startswith("consumerKey-")}
    assert all(isinstance(v, Secret) for v in keys.values())
    assert set(keys) == {f"consumerKey-{name}" for name in stack.outputs["consumers"]}
    plain = repr({k: v for k, v in stack.outputs.items() if k not in keys})
    for key in keys.values():
        assert key.value not in plain


def test_app_teams_get_the_openai_base_url_and_deployments(dev: Recording, prod: Recording) -> None:
    assert dev.outputs["openaiBaseUrl"] == dev.outputs["gatewayUrl"] + "/openai"
    assert prod.outputs["openaiBaseUrl"] == "https://genai.contoso.example/openai"
    # The v1 base URL as OpenAI(base_url=...) takes it: the SDK appends "chat/completions" and the like.
    assert dev.outputs["openaiV1BaseUrl"] == dev.outputs["gatewayUrl"] + "/openai/v1/"
    assert prod.outputs["openaiV1BaseUrl"] == "https://genai.contoso.example/openai/v1/"
    assert dev.outputs["deployments"] == ["gpt-5.4", "text-embedding-3-small"]


# -- settings validation -------------------------------------------------------------------------------------


def test_pool_member_naming_an_unknown_account_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "routing.pools.0.members.1.account", "paygo-9"))
    assert line.startswith(
        "genai-gateway:routing.pools['gpt-5.4'].members['paygo-9'"
        "].account: 'paygo-9': unknown account"
    )


def test_pool_member_lacking_the_deployment_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "routing.pools.1.members.0.account", "ptu-1"))
    assert "'ptu-1': does not deploy 'text-embedding-3-small'" in line


@pytest.mark.parametrize(("field", "value"), [("weight", 101), ("weight", -1), ("priority", 101), ("priority", -1)])
def test_weights_and_priorities_outside_0_to_100_are_rejected(prod_config: dict, field: str, value: int) -> None:
    [line] = problems(with_value(prod_config, f"routing.pools.0.members.0.{field}", value))
    assert line.startswith(f"genai-gateway:routing.pools['gpt-5.4'].members['ptu-1'].{field}: {value}: ")


def test_more_than_30_pool_members_are_rejected(prod_config: dict) -> None:
    many = [{"account": "paygo-1"}] * 31
    lines = problems(with_value(prod_config, "routing.pools.1.members", many))
    assert (
        "genai-gateway:routing.pools['text-embedding-3-small'].members: "
        "31 members: a backend pool holds at most 30"
    ) in lines


def test_consumer_allowed_an_unknown_deployment_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "consumers.1.deployments.0", "gpt-5"))
    assert line.startswith("genai-gateway:consumers['knowledge-search'].deployments[0]: 'gpt-5': unknown deployment")


def test_token_quota_without_a_period_is_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.1.tokenQuotaPeriod", None)
    [line] = problems(config)
    assert "tokenQuota and tokenQuotaPeriod are set together" in line


def test_consumer_without_a_token_limit_is_rejected(prod_config: dict) -> None:
    from tests.support import DELETE

    [line] = problems(with_value(prod_config, "consumers.0.tokensPerMinute", DELETE))
    assert line == "genai-gateway:consumers['customer-support'].tokensPerMinute: (missing): required key"


def test_duplicate_consumer_names_are_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.1.name", "customer-support")
    assert "genai-gateway:consumers: 'customer-support': consumer names must be unique" in problems(config)


def test_breaker_that_ignores_429_is_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "routing.circuitBreaker.statusCodeRanges", [{"min": 500, "max": 599}])
    [line] = problems(config)
    assert line.startswith("genai-gateway:routing.circuitBreaker.statusCodeRanges: ") and "must cover 429" in line


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


def test_entra_callers_get_their_own_base_url(dev: Recording, prod: Recording) -> None:
    assert prod.outputs["entraOpenaiBaseUrl"] == "https://genai.contoso.example/entra/openai"
    assert prod.outputs["entraOpenaiV1BaseUrl"] == "https://genai.contoso.example/entra/openai/v1/"
    assert "entraOpenaiBaseUrl" not in dev.outputs and "entraOpenaiV1BaseUrl" not in dev.outputs
