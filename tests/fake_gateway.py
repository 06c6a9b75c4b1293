"""A local, OpenAI-compatible stand-in for the deployed gateway, for testing `tools.smoke` offline.

Imitates what the gateway's policies answer, in the same order: 401 without a valid api-key (APIM's own
body), 403 `DeploymentNotAllowed` for a deployment outside the consumer's allow-list (product policy),
429 `TokenRateLimitExceeded` with Retry-After once a key's tokens per minute are spent (llm-token-limit, prompt
tokens estimated before forwarding), 404 `DeploymentNotFound` for a deployment no pool serves (routing),
then a chat completion with usage and the token headers, or an SSE stream with a usage chunk and
`data: [DONE]`. `Behaviour` switches each part off to imitate a misbehaving gateway.

Loopback only (127.0.0.1, a free port), bounded (requests, body size, lifetime) and self-stopping.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "2024-10-21"
COMPLETION_TOKENS = 5
MAX_BODY = 1024 * 1024


@dataclass
class FakeConsumer:
    key: str
    deployments: list[str]
    tokens_per_minute: int


@dataclass
class Behaviour:
    """How the fake behaves; each field off imitates one way the real gateway could be wrong."""

    require_key: bool = True  # False: requests without (or with a wrong) key are served
    enforce_allow_list: bool = True  # False: any consumer may call any deployment (unknown ones: 404)
    throttle: bool = True  # False: never answers 429
    retry_after: bool = True  # False: 429 without Retry-After
    error_code_429: str = "TokenRateLimitExceeded"
    token_headers: bool = True  # False: no x-gateway-remaining-tokens / x-gateway-tokens-consumed
    stream_content_type: str = "text/event-stream"
    stream_done: bool = True  # False: the stream ends without data: [DONE]
    stream_usage: bool = True  # False: no usage chunk even when asked for
    echo_key: bool = False  # True: error messages quote the api-key the caller sent


def default_consumers() -> dict[str, FakeConsumer]:
    """Like the dev stack: alpha may call both, beta only embeddings (smallest limit), gamma only chat."""
    return {
        "team-alpha": FakeConsumer(
            "alpha-key-3f9c1e7a5b2d4c6e8f0a1b2c3d4e5f60", ["gpt-5.4", "text-embedding-3-small"], 100_000
        ),
        "team-beta": FakeConsumer("beta-key-0a1b2c3d4e5f60718293a4b5c6d7e8f9", ["text-embedding-3-small"], 300),
        "team-gamma": FakeConsumer("gamma-key-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b", ["gpt-5.4"], 600),
    }


@dataclass
class FakeGateway:
    consumers: dict[str, FakeConsumer] = field(default_factory=default_consumers)
    deployments: dict[str, str] = field(
        default_factory=lambda: {"gpt-5.4": "gpt-5.4", "text-embedding-3-small": "text-embedding-3-small"}
    )
    behaviour: Behaviour = field(default_factory=Behaviour)
    max_requests: int = 500
    lifetime: float = 30.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._used: dict[str, list[tuple[float, int]]] = {}
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._timer: threading.Timer | None = None

    # --- lifecycle ---

    def __enter__(self) -> FakeGateway:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        gateway = self

        class Handler(_Handler):
            fake = gateway

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/openai"

    def outputs(self) -> dict[str, Any]:
        """The stack outputs of a stack deployed behind this fake, as `pulumi stack output --json` prints them."""
        return {
            "gatewayUrl": self.base_url.removesuffix("/openai"),
            "openaiBaseUrl": self.base_url,
            "deployments": sorted(self.deployments),
            "openaiAccounts": [
                {"name": "fake", "deployments": [{"name": n, "model": m} for n, m in self.deployments.items()]}
            ],
            "consumers": {
                name: {
                    "productId": f"product-{name}",
                    "deployments": c.deployments,
                    "tokensPerMinute": c.tokens_per_minute,
                    "tokenQuota": None,
                    "tokenQuotaPeriod": None,
                }
                for name, c in self.consumers.items()
            },
            "consumerKeys": {name: c.key for name, c in self.consumers.items()},
        }

    # --- token accounting (per key, sliding minute) ---

    def remaining(self, key: str, tokens_per_minute: int) -> tuple[int, float]:
        """Tokens left this minute and the seconds until the oldest spend leaves the window."""
        now = time.monotonic()
        with self._lock:
            spent = [(t, n) for t, n in self._used.get(key, []) if now - t < 60]
            self._used[key] = spent
            left = tokens_per_minute - sum(n for _, n in spent)
            wait = 60 - (now - spent[0][0]) if spent else 0.0
        return left, wait

    def spend(self, key: str, tokens: int) -> None:
        with self._lock:
            self._used.setdefault(key, []).append((time.monotonic(), tokens))

    def count_request(self) -> bool:
        with self._lock:
            self.requests += 1
            over = self.requests > self.max_requests
        if over:
            threading.Thread(target=self.stop, daemon=True).start()
        return not over


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGateway
    timeout = 5  # seconds a connection may idle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests

    def do_POST(self) -> None:
        fake, behaviour = self.fake, self.fake.behaviour
        if not fake.count_request():
            self._json(503, {"error": {"code": "CapacityExhausted", "message": "fake gateway request bound reached"}})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": {"code": "GatewayError", "message": "body too large"}})
            return
        raw = self.rfile.read(length)
        parts = urlsplit(self.path)
        segments = parts.path.strip("/").split("/")
        if (
            len(segments) != 5
            or segments[:2] != ["openai", "deployments"]
            or segments[3:] != ["chat", "completions"]
            or parse_qs(parts.query).get("api-version") != [API_VERSION]
        ):
            self._json(404, {"statusCode": 404, "message": "Resource not found"})
            return
        deployment = segments[2]

        key = self.headers.get("api-key")
        consumer = next((c for c in fake.consumers.values() if c.key == key), None)
        echo = f" (api-key {key})" if behaviour.echo_key and key else ""
        if consumer is None:
            if behaviour.require_key:
                message = "Access denied due to missing subscription key." if key is None else (
                    "Access denied due to invalid subscription key."
                )
                self._json(401, {"statusCode": 401, "message": message + echo})
                return
            consumer = next(iter(fake.consumers.values()))

        if behaviour.enforce_allow_list and deployment not in consumer.deployments:
            self._json(403, {"error": {"code": "DeploymentNotAllowed",
                                       "message": "This consumer may not call this deployment." + echo}})
            return

        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"error": {"code": "BadRequest", "message": "body is not JSON"}})
            return
        prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages") or [])
        left, wait = fake.remaining(consumer.key, consumer.tokens_per_minute)
        if behaviour.throttle and prompt > left:
            headers = {"x-gateway-remaining-tokens": str(max(left, 0))}
            if behaviour.retry_after:
                headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            self._json(429, {"error": {"code": behaviour.error_code_429,
                                       "message": "Token rate limit exceeded." + echo}}, headers)
            return

        if deployment not in fake.deployments:
            self._json(404, {"error": {"code": "DeploymentNotFound",
                                       "message": f"The gateway serves no deployment named '{deployment}'."}})
            return

        completion = min(COMPLETION_TOKENS, int(request.get("max_tokens") or COMPLETION_TOKENS))
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        fake.spend(consumer.key, usage["total_tokens"])
        headers = {}
        if behaviour.token_headers:
            headers = {
                "x-gateway-remaining-tokens": str(max(left - usage["total_tokens"], 0)),
                "x-gateway-tokens-consumed": str(usage["total_tokens"]),
            }
        model = fake.deployments[deployment]
        if request.get("stream"):
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            self._stream(model, usage if include_usage and behaviour.stream_usage else None, headers)
        else:
            self._json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "pong"}}],
                "usage": usage,
            }, headers)

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, usage: dict[str, int] | None, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", self.fake.behaviour.stream_content_type)
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes

        def chunk(choices: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
            body = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model, "choices": choices,
                    **(extra or {})}
            self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
            self.wfile.flush()

        chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for piece in ("po", "ng"):
            chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if usage is not None:
            chunk([], {"usage": usage})
        if self.fake.behaviour.stream_done:
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
