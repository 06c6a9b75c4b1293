"""Token limits: a consumer over its tokens per minute gets 429 with Retry-After, over its quota 403, and the
adaptive allowance shrinks as the global budget is used."""

from __future__ import annotations

import time

from .base import Consumer, Skip, Target, chat_body, error_code, scenario

MAX_REQUESTS = 40


def _smallest_chat_consumer(target: Target) -> tuple[Consumer, str]:
    candidates = [
        (c.tokens_per_minute or 0, c.name, c, d)
        for c in target.consumers.values()
        for d in c.deployments
        if d in target.chat_deployments
    ]
    if not candidates:
        raise Skip("no consumer may call a chat deployment")
    _, _, consumer, deployment = min(candidates, key=lambda x: (x[0], x[1]))
    return consumer, deployment


def _prompt(tokens: int) -> str:
    return " ".join(["word"] * max(1, tokens))


@scenario("limits")
def consumer_over_its_tokens_per_minute_gets_429_with_retry_after(target: Target) -> None:
    consumer, deployment = _smallest_chat_consumer(target)
    budget = consumer.tokens_per_minute or 1000
    started = time.monotonic()
    with target.http() as http:
        for _ in range(MAX_REQUESTS):
            response = http.post(
                target.url(deployment),
                json=chat_body(_prompt(budget // 4), max_tokens=16),
                headers={"api-key": consumer.key},
            )
            if response.status_code == 429:
                break
            assert response.status_code == 200, (response.status_code, response.text[:200])
            if time.monotonic() - started > 60:
                break
        else:
            raise AssertionError(f"no 429 after {MAX_REQUESTS} requests of a quarter of {budget} tokens")
    assert response.status_code == 429, response.status_code
    retry_after = response.headers.get("Retry-After")
    assert retry_after is not None and 0 < int(retry_after) <= 60, f"Retry-After {retry_after!r}"
    assert error_code(response) == "TooManyTokens", response.text[:200]
    assert response.json()["error"].get("requestId"), "the gateway's error JSON names the request"
    for host in target.backend_hosts:
        assert host not in response.text
    if target.control is not None:
        target.control.advance(int(retry_after) + 1)
        with target.http() as http:
            again = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
        assert again.status_code == 200, (
            f"the limit did not reset after Retry-After: {again.status_code} {again.text[:200]}"
        )


@scenario("limits")
def consumer_over_its_quota_gets_403(target: Target) -> None:
    control = target.need_control()
    quota = [
        (c.token_quota // max(1, c.tokens_per_minute or 1), c)
        for c in target.consumers.values()
        if c.token_quota and any(d in target.chat_deployments for d in c.deployments)
    ]
    if not quota or min(quota, key=lambda x: x[0])[0] > 200:
        raise Skip("no chat consumer's quota can be used up within 200 emulated minutes")
    _, consumer = min(quota, key=lambda x: x[0])
    deployment = next(d for d in consumer.deployments if d in target.chat_deployments)
    # As large as the minute allows (the gateway's estimate of a prompt of n words is about 1.25 n), so the
    # quota runs out in as few emulated minutes as possible.
    size = (consumer.tokens_per_minute or 1000) * 3 // 4
    with target.http() as http:
        for _ in range(1000):
            response = http.post(
                target.url(deployment), json=chat_body(_prompt(size), max_tokens=16), headers={"api-key": consumer.key}
            )
            if response.status_code == 403:
                break
            assert response.status_code in (200, 429), (response.status_code, response.text[:200])
            control.advance(61)
        else:
            raise AssertionError("the quota never ran out")
    assert error_code(response) == "QuotaExceededOrForbidden", response.text[:200]
    assert "Retry-After" not in response.headers or int(response.headers["Retry-After"]) > 60


@scenario("limits")
def adaptive_allowance_shrinks_as_the_global_budget_is_used(target: Target) -> None:
    control = target.need_control()
    consumers = [c for c in target.consumers.values() if any(d in target.chat_deployments for d in c.deployments)]
    others = [c for c in target.consumers.values() if c not in consumers[:1]]
    if not consumers or not others:
        raise Skip("needs a chat consumer and another consumer")
    watcher = consumers[0]
    deployment = next(d for d in watcher.deployments if d in target.chat_deployments)
    control.reset()
    with target.http() as http:
        # Different prompts: a semantic cache must not answer the second call.
        first = http.post(target.url(deployment), json=chat_body("First question"), headers={"api-key": watcher.key})
        assert first.status_code == 200, first.text[:200]
        remaining_1 = int(first.headers["x-adaptive-remaining-tokens"])
        # Another consumer spends a large part of the global budget.
        spender = others[0]
        spend = spender.deployments[0]
        operation = "embeddings" if spend in target.embedding_deployments else "chat/completions"
        size = (spender.tokens_per_minute or 1000) * 3 // 5
        body = {"input": _prompt(size)} if operation == "embeddings" else chat_body(_prompt(size))
        spent = http.post(target.url(spend, operation), json=body, headers={"api-key": spender.key})
        assert spent.status_code == 200, spent.text[:200]
        second = http.post(
            target.url(deployment), json=chat_body("A different second question"), headers={"api-key": watcher.key}
        )
        assert second.status_code == 200, second.text[:200]
    remaining_2 = int(second.headers["x-adaptive-remaining-tokens"])
    own = int(second.headers.get("x-tokens-consumed", "0"))
    assert remaining_1 - remaining_2 > own, (
        f"the allowance did not shrink: remaining {remaining_1} -> {remaining_2} for {own} own tokens"
    )
