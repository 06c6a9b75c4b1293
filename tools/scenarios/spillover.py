"""Spill-over and circuit breakers: a throttled PTU deployment never fails the caller, the breaker rests for the
backend's Retry-After, and a gateway whose every member is throttled answers with its own 429/503."""

from __future__ import annotations

from datetime import datetime

from .base import Skip, Target, chat_body, scenario


def _ptu_pool(target: Target) -> tuple[str, list[str], list[str]]:
    """A chat deployment whose pool has PTU members before pay-as-you-go ones: (deployment, ptu, paygo)."""
    for deployment, members in target.pools.items():
        if deployment not in target.chat_deployments:
            continue
        ptu = [a for a, _ in members if target.accounts.get(a) == "ptu"]
        paygo = [a for a, _ in members if target.accounts.get(a) == "paygo"]
        if ptu and paygo:
            return deployment, ptu, paygo
    raise Skip("no chat pool spans PTU and pay-as-you-go accounts")


def _consumer_for(target: Target, deployment: str):  # type: ignore[no-untyped-def]
    for consumer in target.consumers.values():
        if deployment in consumer.deployments:
            return consumer
    raise Skip(f"no consumer may call {deployment}")


def _backend_of(account: str) -> str:
    return f"openai-{account}"


@scenario("spillover")
def throttled_ptu_spills_over_and_rests_for_retry_after(target: Target) -> None:
    control = target.need_control()
    deployment, ptu, paygo = _ptu_pool(target)
    consumer = _consumer_for(target, deployment)
    for account in ptu:
        control.backend(account, "throttle", retryAfter=30)
    raw = target.client(consumer).chat.completions.with_raw_response.create(
        model=deployment, messages=[{"role": "user", "content": "Hello"}], max_completion_tokens=8
    )
    assert raw.status_code == 200, raw.status_code
    report, accounts = control.backends(), control.accounts()
    now = datetime.fromisoformat(control.now())
    assert sum(accounts[a]["requests"] for a in paygo) >= 1, "pay-as-you-go did not answer"
    for account in ptu:
        state = report[_backend_of(account)]
        assert state["breaker"] == "tripped", state
        rest = (datetime.fromisoformat(state["trippedUntil"]) - now).total_seconds()
        assert rest == 30, f"the breaker rests {rest} s, the backend asked for 30"
    # After the Retry-After the PTU deployment serves again.
    for account in ptu:
        control.backend(account, "ok")
    control.advance(31)
    before = sum(control.accounts()[a]["requests"] for a in ptu)
    target.client(consumer).chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "Hi"}], max_completion_tokens=8
    )
    after = sum(control.accounts()[a]["requests"] for a in ptu)
    assert after == before + 1, "PTU did not serve after its rest"


@scenario("spillover")
def all_members_throttled_gets_the_gateways_429_or_503_without_backend_details(target: Target) -> None:
    control = target.need_control()
    deployment, _, _ = _ptu_pool(target)
    consumer = _consumer_for(target, deployment)
    for account in target.accounts:
        control.backend(account, "throttle", retryAfter=20)
    with target.http() as http:
        response = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
    assert response.status_code in (429, 503), response.status_code
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None and 0 < int(retry_after) <= 60, f"Retry-After {retry_after!r}"
    assert "x-ms-region" not in response.headers, "a backend header reached the caller"
    text = response.text + response.reason_phrase
    for host in target.backend_hosts:
        assert host not in text, f"{host} reached the caller"
    assert "openai.azure.com" not in text and "pool-" not in text and "openai-" not in text, text[:200]
    assert response.json()["error"]["code"] in ("CapacityExhausted", "ServiceUnavailable"), response.text[:200]


@scenario("spillover")
def backend_errors_reach_the_caller_as_the_gateways_json_without_host_names(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    for account in target.accounts:
        control.backend(account, "error", status=500)
    with target.http() as http:
        response = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
    assert response.status_code == 502, response.status_code
    body = response.json()
    for host in target.backend_hosts:
        assert host not in response.text, f"{host} reached the caller"
    assert "x-ms-region" not in response.headers
    assert body["error"]["code"] == "BackendError", body
    assert body["error"].get("requestId"), body
