"""The answers of a simulated Azure OpenAI account's inference operations (chat completions, plain and
streamed; embeddings) and of Content Safety, with the token counts and the capacity they are admitted against.

The HTTP surface that routes requests to them is tools/emulator/openai_sim.py.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from typing import Any, Protocol

from . import responses, tokens
from .model import Deployment
from .services import ContentSafety

REPLY = "This is a simulated answer from the emulated Azure OpenAI deployment , useful for testing the gateway ."
EMBEDDING_DIMENSIONS = 64
REASONING_MODELS = ("o1", "o3", "o4", "gpt-5")


def tokens_per_minute(deployment: Deployment) -> int:
    if "Provisioned" in deployment.sku:
        return deployment.capacity * 2500
    return deployment.capacity * 1000


def embed(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words are close, the same text is identical."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dimensions] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


class Capacity(responses.Account, Protocol):
    """What the answers need of a simulated account (openai_sim.SimulatedAccount)."""


class Safety(Protocol):
    safety: ContentSafety | None
    safety_key: str | None

    def authenticate(self, headers: dict[str, str], query: dict[str, str]) -> tuple[int, dict[str, Any]] | None: ...


def error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def throttled(reply: responses.Reply, wait: float) -> None:
    """429 with Retry-After and retry-after-ms: the tokens do not fit the deployment's minute."""
    reply._send(
        429,
        error("429", "Requests to the deployment have exceeded the token rate limit of your current pricing tier."),
        {"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))},
    )


def embeddings(sim: Capacity, reply: responses.Reply, deployment: Deployment, body: dict[str, Any]) -> None:
    """POST .../embeddings: the deterministic vectors of embed, admitted against the minute's tokens."""
    inputs = body.get("input", "")
    items = inputs if isinstance(inputs, list) else [inputs]
    prompt = sum(tokens.count(str(i)) for i in items)
    ok, wait = sim.admit(deployment, prompt)
    if not ok:
        reply._throttled(wait)
        return
    dimensions = int(body.get("dimensions") or EMBEDDING_DIMENSIONS)
    data = [{"object": "embedding", "index": i, "embedding": embed(str(t), dimensions)} for i, t in enumerate(items)]
    reply._send(
        200,
        {
            "object": "list",
            "data": data,
            "model": deployment.model,
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        },
        {"x-ratelimit-remaining-tokens": str(sim.remaining(deployment))},
    )


def chat(sim: Capacity, reply: responses.Reply, deployment: Deployment, body: dict[str, Any]) -> None:
    """POST .../chat/completions: REPLY cut at the completion limit, plain or streamed, with exact usage."""
    if deployment.model.startswith(REASONING_MODELS) and "max_tokens" in body:
        # Reasoning models (o-series, gpt-5 family) take max_completion_tokens only.
        reply._send(400, {"error": {
            "code": "unsupported_parameter", "param": "max_tokens", "type": "invalid_request_error",
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
        }})  # fmt: skip
        return
    prompt = tokens.chat_prompt_tokens(body)
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or 4096
    words = REPLY.split(" ")
    reply_words = words[: max(1, min(int(limit), len(words)))]
    completion = len(reply_words)
    reserved = prompt + min(int(limit), 4096)
    ok, wait = sim.admit(deployment, reserved)
    if not ok:
        reply._throttled(wait)
        return
    sim.settle(deployment, reserved, prompt + completion)
    model = f"{deployment.model}-{deployment.version}" if deployment.version else deployment.model
    created = int(sim.clock.now().timestamp())
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    if body.get("stream") is True:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        _stream(reply, completion_id, created, model, reply_words, usage if include_usage else None, deployment)
        return
    reply._send(
        200,
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_emulator",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop" if completion < int(limit) else "length",
                    "message": {"role": "assistant", "content": " ".join(reply_words)},
                }
            ],
            "usage": usage,
        },
        {"x-ratelimit-remaining-tokens": str(sim.remaining(deployment))},
    )


def _stream(
    reply: responses.Reply,
    completion_id: str,
    created: int,
    model: str,
    words: list[str],
    usage: dict[str, Any] | None,
    deployment: Deployment,
) -> None:
    events: list[bytes] = []

    def event(payload: Any) -> None:
        events.append(f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode())

    base = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_emulator",
    }
    event({"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": []})
    event(
        {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
    )
    for i, word in enumerate(words):
        event(
            {
                **base,
                "choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word}, "finish_reason": None}],
            }
        )
    event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        event({**base, "choices": [], "usage": usage})
    event("[DONE]")
    reply._events(events, deployment)


def content_safety(sim: Safety, reply: responses.Reply, path: str, headers: dict[str, str], raw: bytes) -> None:
    """Content Safety's text:analyze and text:shieldPrompt, with the verdicts the control API sets."""
    keyed = sim.safety_key is not None and headers.get("ocp-apim-subscription-key") == sim.safety_key
    # Keyless (disableLocalAuth): the gateway identity's token; or the key where the account keeps one.
    if sim.safety is None or not (keyed or sim.authenticate(headers, {}) is None):
        reply._send(401, error("Unauthorized", "Access denied: no valid key or token."))
        return
    body = json.loads(raw or b"{}")
    if path == "/contentsafety/text:analyze":
        severities, _ = sim.safety.analyze(str(body.get("text", "")))
        reply._send(
            200,
            {
                "blocklistsMatch": [],
                "categoriesAnalysis": [{"category": c, "severity": s} for c, s in severities.items()],
            },
        )
    elif path == "/contentsafety/text:shieldPrompt":
        _, attack = sim.safety.analyze(str(body.get("userPrompt", "")))
        reply._send(200, {"userPromptAnalysis": {"attackDetected": attack}, "documentsAnalysis": []})
    else:
        reply._send(404, error("NotFound", "Resource not found."))
