"""The semantic cache: a repeated prompt is answered from the cache, without a model call."""

from __future__ import annotations

from openai.types.chat import ChatCompletionMessageParam

from .base import Skip, Target, chat_body, scenario


@scenario("cache")
def repeated_prompt_is_answered_from_the_cache(target: Target) -> None:
    target.need("semantic-cache")
    consumer, deployment = target.chat_consumer()
    client = target.client(consumer)
    question: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is the capital of Sweden?"}]
    first = client.chat.completions.create(model=deployment, messages=question, max_completion_tokens=16)
    if target.control is None:
        second = client.chat.completions.create(model=deployment, messages=question, max_completion_tokens=16)
        assert second.choices[0].message.content
        return
    before = target.control.backends()
    second = client.chat.completions.create(model=deployment, messages=question, max_completion_tokens=16)
    assert second.choices[0].message.content == first.choices[0].message.content
    after = target.control.backends()
    # The lookup's embeddings call is made; no chat backend (the pools' members) answers.
    chat = [b for b in after if b.startswith("openai-")]
    chat_calls = sum(after[b]["requests"] - before[b]["requests"] for b in chat)
    assert chat_calls == 0, f"{chat_calls} model calls for a cached answer"
    assert target.control.usage_records()[-1]["tokenSource"] == "cache"


@scenario("cache")
def an_error_answer_is_never_stored_in_the_cache(target: Target) -> None:
    """A model's 400 for a prompt is not replayed: the same prompt, asked properly, reaches a model."""
    target.need("semantic-cache")
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    prompt = "Which river flows through Vienna?"
    with target.http() as http:
        # Reasoning models (gpt-5 family, o-series) refuse max_tokens with a 400 invalid_request_error.
        refused = http.post(
            target.url(deployment),
            json={"messages": [{"role": "user", "content": prompt}], "max_tokens": 16},
            headers={"api-key": consumer.key},
        )
        if refused.status_code == 200:
            raise Skip(f"{deployment}'s model accepts max_tokens: no model error to provoke")
        assert refused.status_code == 400, (refused.status_code, refused.text[:200])
        before = control.backends()
        answered = http.post(target.url(deployment), json=chat_body(prompt), headers={"api-key": consumer.key})
    assert answered.status_code == 200, (answered.status_code, answered.text[:200])
    after = control.backends()
    chat_calls = sum(after[b]["requests"] - before[b]["requests"] for b in after if b.startswith("openai-"))
    assert chat_calls == 1, f"{chat_calls} model calls: the 400 was answered from the cache"
    assert control.usage_records()[-1]["tokenSource"] == "usage"
