"""GatewayPolicies, responses and errors: what a caller gets back. Headers that describe the backend are removed;
errors keep the OpenAI error contract, map to distinct answers, carry no internal message or backend URL, and say
when to retry within what the SDKs honour.
"""

from __future__ import annotations

import re

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import fragment_xml
from tools.harness import Recording


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
