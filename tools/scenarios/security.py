"""Keyless backends: the caller's api-key (header or query) never reaches Azure OpenAI."""

from __future__ import annotations

from .base import Skip, Target, chat_body, scenario


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


@scenario("security")
def client_ip_hash_behind_the_app_gateway_is_the_callers_and_ignores_client_supplied_entries(target: Target) -> None:
    """Behind the App Gateway every connection comes from its address: the hash is of the right-most
    X-Forwarded-For entry (the one the App Gateway appends), never of the App Gateway or a client's entry."""
    control = target.need_control()
    consumer, deployment = target.chat_consumer()

    def hashed(headers: dict[str, str]) -> str | None:
        with target.http() as http:
            response = http.post(target.url(deployment), json=chat_body(), headers={"api-key": consumer.key, **headers})
        assert response.status_code == 200, (response.status_code, response.text[:200])
        record = control.usage_records()[-1]
        return record["clientIpHash"]  # type: ignore[no-any-return]

    direct = hashed({})
    if direct is None:
        raise Skip("the stack's usage records carry no client IP hash")
    if not control.through_app_gateway():
        raise Skip("the stack has no App Gateway in front of the gateway")
    try:
        behind = hashed({})
        spoofed = hashed({"X-Forwarded-For": "203.0.113.7"})
    finally:
        control.through_app_gateway(False)
    assert len(behind or "") == 64, behind
    assert behind == direct, "behind the App Gateway the hash is not the caller's address"
    assert spoofed == direct, "a client-supplied X-Forwarded-For entry changed the hash"
