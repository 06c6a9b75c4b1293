"""Token limits: a consumer over its tokens per minute gets 429 with Retry-After, over its quota 403, and the
adaptive allowance shrinks as the global budget is used."""

from __future__ import annotations

import time

import httpx2

from .base import Consumer, Skip, Target, chat_body, error_code, scenario

MAX_REQUESTS = 250
# Prompts stay under Azure AI Content Safety's 10,000 characters per check ("word " is 5 characters).
MAX_PROMPT_WORDS = 1800
RATE_CODES = ("TokenRateLimitExceeded", "AdaptiveTokenLimitExceeded")


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
    return " ".join(["word"] * max(1, min(tokens, MAX_PROMPT_WORDS)))


def _until_refused(target: Target, consumer: Consumer, deployment: str, words: int) -> tuple[int, object]:
    """Requests of `words` words until the gateway refuses one: (requests admitted, the refusal)."""
    operation = "embeddings" if deployment in target.embedding_deployments else "chat/completions"
    admitted = 0
    with target.http() as http:
        for index in range(MAX_REQUESTS):
            # Each prompt differs (a semantic cache must not answer it).
            text = f"{index} " + _prompt(words)
            body = {"input": text} if operation == "embeddings" else chat_body(text, max_completion_tokens=16)
            response = http.post(target.url(deployment, operation), json=body, headers={"api-key": consumer.key})
            if response.status_code != 200:
                return admitted, response
            admitted += 1
    raise AssertionError(f"{consumer.name}: no refusal after {MAX_REQUESTS} requests of {words} words")


@scenario("limits")
def consumer_over_its_tokens_per_minute_gets_429_with_retry_after(target: Target) -> None:
    consumer, deployment = _smallest_chat_consumer(target)
    budget = consumer.tokens_per_minute or 1000
    started = time.monotonic()
    with target.http() as http:
        for _ in range(MAX_REQUESTS):
            response = http.post(
                target.url(deployment),
                json=chat_body(f"{_} " + _prompt(budget // 4), max_completion_tokens=16),
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
    assert error_code(response) in RATE_CODES, response.text[:200]
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
    # Requests needed: the quota over the largest prompt a request may carry (the minute's budget, and Content
    # Safety's length limit).
    quota = [
        (c.token_quota // max(1, min((c.tokens_per_minute or 1000) * 3 // 4, MAX_PROMPT_WORDS)), c)
        for c in target.consumers.values()
        if c.token_quota and any(d in target.chat_deployments for d in c.deployments)
    ]
    if not quota or min(quota, key=lambda x: x[0])[0] > 300:
        raise Skip("no chat consumer's quota can be used up within 300 requests")
    _, consumer = min(quota, key=lambda x: x[0])
    deployment = next(d for d in consumer.deployments if d in target.chat_deployments)
    # One-letter words: the gateway's estimate (4 characters a token) admits the prompt within the minute, and
    # the model's usage (one token a word), which the quota counts, is twice that: the quota runs out in as few
    # emulated minutes as possible. Under Content Safety's 10,000 characters.
    words = min(4500, (consumer.tokens_per_minute or 1000) * 9 // 5)
    with target.http() as http:
        for index in range(1000):
            response = http.post(
                target.url(deployment),
                json=chat_body(f"{index} " + "a " * words, max_completion_tokens=16),
                headers={"api-key": consumer.key},
            )
            if response.status_code == 403:
                break
            assert response.status_code in (200, 429), (response.status_code, response.text[:200])
            control.advance(61)
        else:
            raise AssertionError("the quota never ran out")
    assert error_code(response) == "TokenQuotaExceeded", response.text[:200]
    assert "Retry-After" not in response.headers or int(response.headers["Retry-After"]) > 60


@scenario("limits")
def adaptive_allowance_shrinks_as_the_global_budget_is_used(target: Target) -> None:
    """A consumer admitted n requests on an idle gateway is refused sooner, with AdaptiveTokenLimitExceeded,
    once other consumers have used part of the global budget."""
    control = target.need_control()
    chat = [c for c in target.consumers.values() if any(d in target.chat_deployments for d in c.deployments)]
    if not chat:
        raise Skip("no consumer may call a chat deployment")
    watcher = max(chat, key=lambda c: (c.tokens_per_minute or 0, c.name))
    others = [c for c in target.consumers.values() if c is not watcher]
    if not others:
        raise Skip("needs another consumer to use the global budget")
    deployment = next(d for d in watcher.deployments if d in target.chat_deployments)
    tier = target.token_limits.get(watcher.tier or "")
    budget = target.token_limits.get("global")
    if isinstance(tier, tuple) and isinstance(budget, int) and watcher.tokens_per_minute:
        # allowance = base + share x unused: can the others use enough of the budget to bring it under the
        # consumer's own limit? (Otherwise that limit binds either way and nothing shrinks visibly.)
        base, share = tier
        spend = min(budget, sum(c.tokens_per_minute or 0 for c in others))
        if base + share * (budget - spend) >= watcher.tokens_per_minute:
            raise Skip("the consumer's own limit binds before its adaptive allowance at this stack's budget")
    words = min(MAX_PROMPT_WORDS, max(1, (watcher.tokens_per_minute or 1000) // 12))
    idle, first = _until_refused(target, watcher, deployment, words)
    control.advance(61)
    for spender in others:
        _until_refused(
            target, spender, spender.deployments[0], min(MAX_PROMPT_WORDS, (spender.tokens_per_minute or 1000) // 5)
        )
    busy, second = _until_refused(target, watcher, deployment, words)
    assert isinstance(first, httpx2.Response) and isinstance(second, httpx2.Response)
    if error_code(first) == error_code(second) == "TokenRateLimitExceeded" and busy == idle:
        raise Skip("the consumer's own limit binds before its adaptive allowance at this stack's budget")
    assert busy < idle, f"admitted {idle} requests on an idle gateway and {busy} on a busy one"
    assert error_code(second) == "AdaptiveTokenLimitExceeded", second.text[:200]
    assert 0 < int(second.headers.get("Retry-After", "0")) <= 60


@scenario("limits")
def embeddings_only_consumer_over_its_tokens_per_minute_gets_429(target: Target) -> None:
    """Embeddings are metered by the consumer's token limit (azure-openai-token-limit covers embeddings)."""
    only = [
        c
        for c in target.consumers.values()
        if c.deployments and all(d in target.embedding_deployments for d in c.deployments)
    ]
    if not only:
        raise Skip("no consumer may call embeddings deployments only")
    consumer = min(only, key=lambda c: (c.tokens_per_minute or 0, c.name))
    budget = consumer.tokens_per_minute or 1000
    admitted, refused = _until_refused(target, consumer, consumer.deployments[0], min(MAX_PROMPT_WORDS, budget // 4))
    assert isinstance(refused, httpx2.Response)
    assert refused.status_code == 429, (refused.status_code, refused.text[:200])
    assert error_code(refused) in RATE_CODES, refused.text[:200]
    assert 0 < int(refused.headers.get("Retry-After", "0")) <= 60, refused.headers
    assert admitted >= 1, "the first embeddings request was refused"
