"""GatewayPolicies, routing: a request reaches its deployment's pool with the gateway's managed identity and never
the caller's key, an unknown deployment is a 404 before any consumer check, and a throttled request is resent
through the pool while responses stream.
"""

from __future__ import annotations

import re

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import API_POLICY, deployment_names, document, fragment_xml, pools, singles
from tools.azure_mocks import identity_client_id
from tools.harness import Recording


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
