"""Content safety: a prompt the Content Safety service flags is refused with 403 before any model sees it."""

from __future__ import annotations

from .base import Target, chat_body, scenario


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
