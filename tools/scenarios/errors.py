"""The gateway's own contract on every answer: its header names (never Azure OpenAI's), no backend headers, and
errors in the OpenAI error shape with the gateway's request id, a backend that does not answer in time included."""

from __future__ import annotations

from .base import Target, chat_body, error_code, scenario

# Headers of Azure OpenAI's answers that describe a backend (its region, its deployment's capacity, its ids).
BACKEND_HEADERS = (
    "x-ms-region",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-limit-requests",
    "apim-request-id",
    "azure-openai-deployment-utilization",
)
# The gateway's own headers (README, Headers): the consumer's remaining tokens and what the call consumed.
GATEWAY_HEADERS = ("x-gateway-remaining-tokens", "x-gateway-tokens-consumed")
# The longest forward-request timeout a stack may set (components/settings/gateway.py: at most 240 s).
LONGEST_BACKEND_TIMEOUT_SECONDS = 240


@scenario("errors")
def answers_carry_the_gateways_headers_and_no_backend_headers(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    with target.http() as http:
        response = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
    assert response.status_code == 200, (response.status_code, response.text[:200])
    for name in GATEWAY_HEADERS:
        assert name in response.headers, f"{name} missing: {sorted(response.headers)}"
    assert int(response.headers["x-gateway-remaining-tokens"]) >= 0
    leaked = [name for name in BACKEND_HEADERS if name in response.headers]
    assert not leaked, f"backend headers reached the caller: {leaked}"


@scenario("errors")
def a_backend_slower_than_the_timeout_is_a_504_in_the_openai_error_shape(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    for account in target.accounts:
        # Emulated time: the answer comes after the longest timeout any stack may set, without a real wait.
        control.backend(account, "ok", latencyMs=(LONGEST_BACKEND_TIMEOUT_SECONDS + 5) * 1000)
    with target.http() as http:
        response = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
    assert response.status_code == 504, (response.status_code, response.text[:200])
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    assert error_code(response) == "BackendTimeout", response.text[:200]
    error = response.json()["error"]
    assert error.get("requestId") and error.get("message"), error
    for host in target.backend_hosts:
        assert host not in response.text, f"{host} reached the caller"
    assert not [name for name in BACKEND_HEADERS if name in response.headers]
