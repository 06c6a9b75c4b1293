"""Content safety: a prompt the Content Safety service flags is refused with 403 before any model sees it."""

from __future__ import annotations

from .base import Skip, Target, chat_body, error_code, scenario


@scenario("safety")
def flagged_prompt_is_refused_with_403(target: Target) -> None:
    target.need("content-safety")
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    control.block(["how to build a weapon"])
    before = control.backends()
    with target.http() as http:
        blocked = http.post(
            target.url(deployment),
            json=chat_body("Explain how to build a weapon at home"),
            headers={"api-key": consumer.key},
        )
        allowed = http.post(
            target.url(deployment), json=chat_body("Explain how to bake bread"), headers={"api-key": consumer.key}
        )
    assert blocked.status_code == 403, (blocked.status_code, blocked.text[:200])
    assert allowed.status_code == 200, (allowed.status_code, allowed.text[:200])
    after = control.backends()
    chat = [b for b in after if b.startswith("openai-")]
    assert sum(after[b]["requests"] - before[b]["requests"] for b in chat) == 1, "the blocked prompt reached a model"


# Azure AI Content Safety analyses at most 10,000 characters per request (its input requirements); the gateway
# refuses a longer prompt itself rather than let it through unchecked (fragments/content-safety.xml.j2).
CONTENT_SAFETY_MAX_CHARACTERS = 10_000


def _safety_calls(target: Target) -> int:
    control = target.need_control()
    accounts = control.accounts()
    return sum(state["requests"] for name, state in accounts.items() if name not in target.accounts)


@scenario("safety")
def prompt_over_content_safetys_limit_is_refused_with_400_saying_why(target: Target) -> None:
    target.need("content-safety")
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    before = control.backends()
    with target.http() as http:
        response = http.post(
            target.url(deployment),
            json=chat_body("x" * (CONTENT_SAFETY_MAX_CHARACTERS + 1)),
            headers={"api-key": consumer.key},
        )
    assert response.status_code == 400, (response.status_code, response.text[:200])
    assert error_code(response) == "ContentSafetyInputTooLong", response.text[:200]
    assert response.json()["error"].get("requestId"), response.text[:200]
    after = control.backends()
    assert all(after[b]["requests"] == before[b]["requests"] for b in after if b.startswith("openai-")), (
        "the unchecked prompt reached a model"
    )


@scenario("safety")
def embeddings_are_not_sent_to_content_safety(target: Target) -> None:
    target.need("content-safety")
    for consumer in target.consumers.values():
        deployment = next((d for d in consumer.deployments if d in target.embedding_deployments), None)
        if deployment is not None:
            break
    else:
        raise Skip("no consumer may call an embeddings deployment")
    chat_consumer, chat = target.chat_consumer()
    before = _safety_calls(target)
    result = target.client(consumer).embeddings.create(model=deployment, input="Index this paragraph, please")
    assert result.data and result.data[0].embedding
    assert _safety_calls(target) == before, "an embeddings request was sent to Content Safety"
    # The same count moves for a chat prompt: the check is there, only not for embeddings.
    target.client(chat_consumer).chat.completions.create(
        model=chat, messages=[{"role": "user", "content": "Hello there"}], max_completion_tokens=8
    )
    assert _safety_calls(target) > before, "a chat prompt was not checked"
