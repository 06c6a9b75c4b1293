"""Streaming: a streamed chat completion reaches the caller as server-sent events, unbuffered by the policies."""

from __future__ import annotations

import json

from .base import Target, chat_body, scenario


@scenario("streaming")
def streamed_chat_completion_is_an_event_stream_ending_in_done(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    body = chat_body(stream=True, stream_options={"include_usage": True})
    events: list[str] = []
    with target.http() as http, http.stream("POST", target.url(deployment), json=body,
                                             headers={"api-key": consumer.key}) as response:  # fmt: skip
        assert response.status_code == 200, response.status_code
        content_type = response.headers.get("Content-Type", "")
        assert content_type.startswith("text/event-stream"), content_type
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    assert events and events[-1] == "[DONE]", events[-3:]
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(
        (c.get("choices") or [{}])[0].get("delta", {}).get("content") or "" for c in chunks if c.get("choices")
    )
    assert text, "the stream carried no content"
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert usage and usage[-1]["total_tokens"] > 0, "include_usage asked for a final usage chunk"
    if target.control is not None:
        # No policy read the streamed body (which would make the gateway buffer the whole answer).
        buffered = [e for e in target.control.errors() if "stream was buffered" in e.get("warnings", "")]
        assert not buffered, buffered
