"""The semantic cache: llm-semantic-cache-lookup and llm-semantic-cache-store."""

from __future__ import annotations

import time
from datetime import timedelta

from lxml import etree

from ..context import Headers, RequestState, Response, as_text
from ..pipeline import Executor, ShortCircuit, policy
from ..services import CacheEntry
from .limits import request_json


def _prompt(state: RequestState, ignore_system: bool, max_messages: int) -> str:
    body = request_json(state)
    messages = body.get("messages", []) if isinstance(body, dict) else []
    kept = [m for m in messages if isinstance(m, dict) and not (ignore_system and m.get("role") == "system")]
    kept = kept[-max_messages:] if max_messages > 0 else kept
    return "\n".join(str(m.get("content", "")) for m in kept)


@policy("llm-semantic-cache-lookup", sections=("inbound",), children=("vary-by",))
def llm_semantic_cache_lookup(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/llm-semantic-cache-lookup-policy: embeds the prompt
    with the embeddings backend (`embeddings-backend-id`, the gateway's identity), looks for a stored answer in
    the partition the vary-by values name, and answers from the cache when its distance is at most
    score-threshold (smaller is more similar). A hit skips the rest of inbound and the backend; outbound runs
    (the emulator's reading; the usage-record fragment relies on it)."""
    threshold = float(ex.attr(element, "score-threshold", state))
    backend_id = as_text(ex.attr(element, "embeddings-backend-id", state))
    if as_text(ex.attr(element, "embeddings-backend-auth", state, "system-assigned")) != "system-assigned":
        raise ValueError("<llm-semantic-cache-lookup> embeddings-backend-auth must be system-assigned")
    ignore_system = str(ex.attr(element, "ignore-system-messages", state, "false")).lower() == "true"
    max_messages = int(ex.attr(element, "max-message-count", state, "0"))
    partition = "|".join(as_text(ex.text(v, state)) for v in element if isinstance(v.tag, str) and v.tag == "vary-by")
    waited = time.perf_counter()
    vector = ex.gateway.embed_for_cache(backend_id, _prompt(state, ignore_system, max_messages))
    state.backend_ms += (time.perf_counter() - waited) * 1000.0
    if vector is None:
        # The embeddings backend did not answer: the emulator treats the lookup as a miss that stores nothing.
        state.warnings.append("llm-semantic-cache-lookup: the embeddings backend did not answer; cache skipped")
        return
    found = ex.gateway.cache.nearest(partition, vector)
    if found is not None and found[0] <= threshold:
        entry = found[1]
        headers = Headers()
        for name, values in entry.headers.items():
            headers.set(name, values)
        state.response = Response(headers=headers, body=entry.body, status=200, reason="OK")
        state.cache_hit = True
        raise ShortCircuit()
    state.cache_pending = (partition, vector)


@policy("llm-semantic-cache-store", sections=("outbound",))
def llm_semantic_cache_store(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/llm-semantic-cache-store-policy: stores a successful
    response for `duration` seconds in the partition its lookup used."""
    duration = float(ex.attr(element, "duration", state))
    pending = state.cache_pending
    if pending is None or state.cache_hit or state.response is None or state.response.status != 200:
        return
    if state.response.body is None:
        return  # a streamed answer is not stored
    partition, vector = pending
    ex.gateway.cache.store(
        partition,
        CacheEntry(
            vector,
            state.response.body,
            {"Content-Type": state.response.headers.values("Content-Type")},
            ex.gateway.clock.now() + timedelta(seconds=duration),
        ),
    )
