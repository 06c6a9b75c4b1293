"""Token counts: exact for the simulated models, approximate for the gateway's prompt estimate.

- Simulated usage (what a simulated deployment reports in `usage`) is exact by construction: a token is a run
  of word characters or one punctuation mark, each chat message costs 4 tokens of framing and the reply 3,
  roughly OpenAI's chat accounting. Scenarios can compute the expected count with `chat_prompt_tokens`.
- The gateway's estimate (`estimate-prompt-tokens="true"` of llm-token-limit) is not public. The emulator
  estimates one token per 4 characters of message content, rounded up, plus 3 per message: close to the
  model's count for English text, never equal by design, so a scenario cannot mistake an estimate for usage.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count(text: str) -> int:
    return len(_TOKEN.findall(text))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def messages_of(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        return [m for m in body["messages"] if isinstance(m, dict)]
    return []


def prompt_text(body: Any) -> str:
    """The text a prompt carries: chat messages, or the `input` of embeddings, or a completion's `prompt`."""
    if not isinstance(body, dict):
        return ""
    if "messages" in body:
        return "\n".join(_content_text(m.get("content")) for m in messages_of(body))
    value = body.get("input", body.get("prompt", ""))
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def chat_prompt_tokens(body: Any) -> int:
    """Exact prompt tokens of the simulated models for a chat request."""
    return sum(4 + count(_content_text(m.get("content"))) for m in messages_of(body)) + 3


def input_tokens(body: Any) -> int:
    """Exact prompt tokens of the simulated models for embeddings or completions."""
    return count(prompt_text(body))


def estimate_prompt_tokens(body: Any) -> int:
    """The gateway's approximate prompt estimate (see the module docstring)."""
    messages = messages_of(body)
    if messages:
        return sum(3 + math.ceil(len(_content_text(m.get("content"))) / 4) for m in messages)
    return math.ceil(len(prompt_text(body)) / 4)


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def response_counts(request_body: str | None, response: Any) -> dict[str, int] | None:
    """The tokens a successful response cost, as the token policies count them: a buffered response's usage,
    or, for a stream, the prompt estimate plus the streamed text's estimate (streams are always estimated)."""
    if response is None or response.status != 200:
        return None
    try:
        body = json.loads(request_body) if request_body else None
    except ValueError:
        body = None
    if response.chunks is not None:
        # Streams are always estimated: the prompt estimate plus the streamed text's.
        text = ""
        for chunk in response.chunks:
            payload = chunk.decode(errors="replace").removeprefix("data: ").strip()
            if payload and payload != "[DONE]":
                try:
                    for choice in json.loads(payload).get("choices", []):
                        text += (choice.get("delta") or {}).get("content") or ""
                except ValueError:
                    continue
        prompt = estimate_prompt_tokens(body)
        completion = estimate_text_tokens(text)
        return {"prompt": prompt, "completion": completion, "total": prompt + completion}
    try:
        usage = json.loads(response.body or "null").get("usage")
    except (ValueError, AttributeError):
        usage = None
    if not isinstance(usage, dict):
        return None
    prompt = int(usage.get("prompt_tokens", 0))
    completion = int(usage.get("completion_tokens", 0))
    return {
        "prompt": prompt,
        "completion": completion,
        "total": int(usage.get("total_tokens", prompt + completion)),
    }


# The operations LLM logging covers (the Azure OpenAI inference operations that report usage).
LLM_OPERATIONS = ("chat/completions", "completions", "embeddings", "responses")


def llm_log_row(state: Any, region: str) -> dict[str, Any] | None:
    """The ApiManagementGatewayLlmLog row of a forwarded LLM request (services.LlmLog): the exact counts the
    model's answer reports, from its `usage` or, for a stream, its final usage chunk (null when the stream
    carried none: the gateway cannot know them then)."""
    response = state.response
    if response is None or not any(state.api_path.endswith("/" + op) for op in LLM_OPERATIONS):
        return None
    usage: Any = None
    model = llm_id = None
    if response.chunks is not None:
        for chunk in response.chunks:
            payload = chunk.decode(errors="replace").removeprefix("data: ").strip()
            if not payload or payload == "[DONE]":
                continue
            try:
                event = json.loads(payload)
            except ValueError:
                continue
            model = event.get("model") or model
            llm_id = event.get("id") or llm_id
            usage = event.get("usage") or usage
    else:
        try:
            answer = json.loads(response.body or "null")
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            usage, model, llm_id = answer.get("usage"), answer.get("model"), answer.get("id")
    usage = usage if isinstance(usage, dict) else {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if completion is None and prompt is not None and "embeddings" in state.api_path:
        completion = 0
    return {
        "TimeGenerated": state.timestamp.isoformat(),
        "CorrelationId": state.request_id,
        "RequestId": llm_id,
        "ApiVersion": next((v for k, v in state.original_url.query if k == "api-version"), None),
        "DeploymentName": state.matched.get("deployment-id"),
        "ModelName": model,
        "OperationName": state.operation.operation_id if state.operation else None,
        "IsStreamCompletion": response.chunks is not None,
        "PromptTokens": prompt,
        "CompletionTokens": completion,
        "TotalTokens": usage.get("total_tokens"),
        "Region": region,
        "SequenceNumber": 0,
    }
