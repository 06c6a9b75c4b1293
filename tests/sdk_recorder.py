"""A loopback HTTP server that records what the official openai SDK sends and answers in OpenAI's shapes.

It proves the client side of the contract (URLs, query, auth headers the SDK builds); what the gateway does
with those requests is the emulator's and the live smoke test's business. Loopback only, bounded, stoppable.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 1024 * 1024
RESPONSE_ID = "resp_0123456789abcdef"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class SdkRecorder:
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> SdkRecorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                parts = urlsplit(self.path)
                recorder.requests.append(
                    Recorded(self.command, parts.path, parse_qs(parts.query),
                             {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if body and body.get("stream"):
                    self._stream(parts.path)
                else:
                    self._json(_answer(self.command, parts.path, body))

            do_GET = do_POST = do_DELETE = _handle

            def _json(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, path: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in _events(path):
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def _response() -> dict[str, Any]:
    return {
        "id": RESPONSE_ID, "object": "response", "created_at": 0, "status": "completed", "model": "gpt-5.4",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "7", "annotations": []}]}],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
    }


def _answer(method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
    if path.endswith("/chat/completions"):
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-5.4",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "Hello."}}], "usage": _usage()}
    if path.endswith("/embeddings"):
        return {"object": "list", "model": "text-embedding-3-small",
                "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                "usage": {"prompt_tokens": 3, "total_tokens": 3}}
    if path.endswith("/input_items"):
        return {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    if method == "DELETE":
        return {"id": RESPONSE_ID, "object": "response.deleted", "deleted": True}
    return _response()


def _events(path: str) -> list[dict[str, Any]]:
    if path.endswith("/chat/completions"):
        return [
            {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-5.4",
             "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]},
            {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-5.4",
             "choices": [], "usage": _usage()},
        ]
    # The Responses stream as OpenAI documents it: created, the item and its text deltas, completed.
    return [
        {"type": "response.created", "response": {**_response(), "status": "in_progress", "output": []},
         "sequence_number": 0},
        {"type": "response.output_item.added", "output_index": 0, "sequence_number": 1,
         "item": {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "part": {"type": "output_text", "text": "", "annotations": []}, "sequence_number": 2},
        {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0,
         "delta": "7", "sequence_number": 3, "logprobs": []},
        {"type": "response.completed", "response": _response(), "sequence_number": 4},
    ]
