"""The semantic cache: a repeated prompt is answered from the cache, without a model call."""

from __future__ import annotations

from openai.types.chat import ChatCompletionMessageParam

from .base import Target, scenario


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
