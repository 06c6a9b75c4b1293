"""The Responses API of a simulated Azure OpenAI account.

Served on both paths Azure OpenAI serves it: the dated one `AzureOpenAI` calls (`/openai/responses?api-version=`,
https://learn.microsoft.com/azure/ai-foundry/openai/how-to/responses) and the v1 one (`/openai/v1/responses`,
https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle). Operations: create (plain and
streamed), retrieve, delete, list input items, cancel. The deployment is the body's "model".

Shapes follow the `openai` SDK's types (openai 3.x, openai/types/responses/):
- `Response` (response.py): id, object "response", created_at, model, output, status, usage, parallel_tool_calls,
  tool_choice, tools, store, ...;
- `ResponseOutputMessage` (response_output_message.py) with `ResponseOutputText` content (response_output_text.py);
- `ResponseUsage` (response_usage.py): input_tokens, input_tokens_details.cached_tokens, output_tokens,
  output_tokens_details.reasoning_tokens, total_tokens;
- stream events (response_created_event.py, response_in_progress_event.py, response_output_item_added_event.py,
  response_content_part_added_event.py, response_text_delta_event.py, response_text_done_event.py,
  response_content_part_done_event.py, response_output_item_done_event.py, response_completed_event.py), each
  with `type` and `sequence_number`, sent as server-sent events `event: <type>` / `data: <json>`;
- `ResponseItemList` (response_item_list.py): object "list", data, first_id, last_id, has_more, the items
  `ResponseInputMessageItem` (response_input_message_item.py: id, type "message", role, content, status).
A stored response (store defaults to true) lives on the account that created it: another account answers 404,
which is what the gateway's openai-stored-response fragment relies on when it asks each account in turn. The
404's error code ("ResponseNotFound" here) is the emulator's choice; only its status is asserted live.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import tokens
from .clock import Clock
from .model import Deployment

# /openai/responses[/{id}[/input_items|/cancel]] (dated, api-version in the query) and the same under /openai/v1.
PATH = re.compile(r"/openai(/v1)?/responses(?:/([^/]+)(/input_items|/cancel)?)?")


@dataclass
class Stored:
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    deployment: str


@dataclass
class ResponseStore:
    """The responses one account keeps (store: true), by id."""

    items: dict[str, Stored] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, stored: Stored) -> None:
        with self.lock:
            self.items[str(stored.response["id"])] = stored

    def get(self, response_id: str) -> Stored | None:
        with self.lock:
            return self.items.get(response_id)

    def delete(self, response_id: str) -> bool:
        with self.lock:
            return self.items.pop(response_id, None) is not None

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


def not_found(response_id: str) -> dict[str, Any]:
    return {"error": {"code": "ResponseNotFound", "type": "invalid_request_error", "param": None,
                      "message": f"Response with id '{response_id}' not found."}}  # fmt: skip


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's input as `ResponseInputMessageItem`s: a string is one user message."""
    value = body.get("input", "")
    messages = [{"role": "user", "content": value}] if isinstance(value, str) else value
    items = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content = message.get("content", "")
        parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
        items.append({
            "id": f"msg_{uuid.uuid4().hex}", "type": "message", "role": message.get("role", "user"),
            "status": "completed", "content": parts if isinstance(parts, list) else [],
        })  # fmt: skip
    return items


def prompt_tokens(body: dict[str, Any], items: list[dict[str, Any]]) -> int:
    """Exact input tokens of the simulated models: the instructions and every input text part."""
    text = [str(body.get("instructions") or "")]
    for item in items:
        text += [str(p.get("text", "")) for p in item["content"] if isinstance(p, dict)]
    return sum(tokens.count(t) for t in text) + 3 * len(items)


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def response_object(
    response_id: str, created: int, model: str, body: dict[str, Any], status: str,
    message: dict[str, Any] | None, used: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": [message] if message else [],
        "usage": used,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "store": body.get("store", True) is not False,
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "truncation": "disabled",
    }


def output_message(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if text else []
    return {"id": item_id, "type": "message", "role": "assistant", "status": status, "content": content}


def stream_events(response: dict[str, Any], words: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The events of a streamed create, in the order the service sends them, ending with response.completed."""
    message = response["output"][0]
    item_id = message["id"]
    text = message["content"][0]["text"]
    pending = {**response, "status": "in_progress", "output": [], "usage": None}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
        {"type": "response.output_item.added", "output_index": 0, "item": output_message(item_id, "", "in_progress")},
        {"type": "response.content_part.added", "item_id": item_id, "output_index": 0, "content_index": 0,
         "part": part},
    ]  # fmt: skip
    for i, word in enumerate(words):
        events.append({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                       "content_index": 0, "delta": word if i == 0 else " " + word, "logprobs": []})  # fmt: skip
    events += [
        {"type": "response.output_text.done", "item_id": item_id, "output_index": 0, "content_index": 0,
         "text": text, "logprobs": []},
        {"type": "response.content_part.done", "item_id": item_id, "output_index": 0, "content_index": 0,
         "part": {**part, "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed", "response": response},
    ]  # fmt: skip
    return [(e["type"], {**e, "sequence_number": n}) for n, e in enumerate(events)]


def sse(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


Send = Callable[[int, dict[str, Any]], None]


def stored_operation(store: ResponseStore, method: str, response_id: str, suffix: str | None, send: Send) -> None:
    """Retrieve, delete, input items, cancel of a response this account stores."""
    stored = store.get(response_id)
    if stored is None:
        send(404, not_found(response_id))
        return
    if method == "GET" and suffix is None:
        send(200, stored.response)
    elif method == "DELETE" and suffix is None:
        store.delete(response_id)
        send(200, {"id": response_id, "object": "response.deleted", "deleted": True})
    elif method == "GET" and suffix == "/input_items":
        data = stored.input_items
        send(200, {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                   "last_id": data[-1]["id"] if data else None, "has_more": False})  # fmt: skip
    elif method == "POST" and suffix == "/cancel":
        # Only a background response can be cancelled; the simulated ones complete before they are stored.
        send(400, {"error": {"code": "invalid_request_error", "type": "invalid_request_error", "param": None,
                             "message": "Only responses created with background=true can be cancelled."}})  # fmt: skip
    else:
        send(405, {"error": {"code": "MethodNotAllowed", "message": f"{method} is not served here."}})


class Account(Protocol):
    """What create needs of a simulated account (tools/emulator/openai_sim.py)."""

    responses: ResponseStore
    clock: Clock

    def admit(self, deployment: Deployment, cost: int) -> tuple[bool, float]: ...
    def settle(self, deployment: Deployment, reserved: int, actual: int) -> None: ...
    def remaining(self, deployment: Deployment) -> int: ...


class Reply(Protocol):
    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None: ...
    def _events(self, events: list[bytes], deployment: Deployment) -> None: ...
    def _throttled(self, wait: float) -> None: ...


def create(
    account: Account, deployment: Deployment, body: dict[str, Any], reply_words: list[str], reply: Reply
) -> None:
    """POST .../responses: admitted against the deployment's tokens per minute like chat, stored unless
    store is false, streamed when stream is true."""
    if "embedding" in deployment.model:
        reply._send(400, {"error": {"code": "OperationNotSupported", "message": "The responses operation does not "
                                    f"work with the specified model, {deployment.model}."}})  # fmt: skip
        return
    items = input_items(body)
    prompt = prompt_tokens(body, items)
    limit = int(body.get("max_output_tokens") or 4096)
    words = reply_words[: max(1, min(limit, len(reply_words)))]
    reserved = prompt + min(limit, 4096)
    ok, wait = account.admit(deployment, reserved)
    if not ok:
        reply._throttled(wait)
        return
    account.settle(deployment, reserved, prompt + len(words))
    model = f"{deployment.model}-{deployment.version}" if deployment.version else deployment.model
    response = response_object(
        f"resp_{uuid.uuid4().hex}", int(account.clock.now().timestamp()), model, body, "completed",
        output_message(f"msg_{uuid.uuid4().hex}", " ".join(words)), usage(prompt, len(words)),
    )  # fmt: skip
    if response["store"]:
        account.responses.put(Stored(response, items, deployment.name))
    if body.get("stream") is True:
        reply._events(sse(stream_events(response, words)), deployment)
        return
    reply._send(200, response, {"x-ratelimit-remaining-tokens": str(account.remaining(deployment))})
