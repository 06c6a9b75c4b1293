"""Keyless backends: the caller's api-key (header or query) never reaches Azure OpenAI."""

from __future__ import annotations

from .base import Target, chat_body, scenario


@scenario("security")
def callers_api_key_never_reaches_a_backend(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    before = target.control.accounts() if target.control else None
    with target.http() as http:
        by_header = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key})
        by_query = http.post(target.url(deployment) + f"&api-key={consumer.key}", json=chat_body())
    assert by_header.status_code == 200, (by_header.status_code, by_header.text[:200])
    assert by_query.status_code == 200, (by_query.status_code, by_query.text[:200])
    if target.control is not None and before is not None:
        after = target.control.accounts()
        assert sum(a["requests"] for a in after.values()) >= sum(a["requests"] for a in before.values()) + 2
        assert all(a["apiKeyRequests"] == 0 for a in after.values()), after
        assert all(a["unauthenticated"] == 0 for a in after.values()), after
