"""Simulated Azure OpenAI accounts (and Content Safety), one HTTP server per account on 127.0.0.1.

Each serves its own deployments at `/openai/deployments/<name>/{chat/completions,embeddings,completions}` (and,
the v1 API, `/openai/v1/{chat/completions,embeddings}` with the deployment in the body's model) as the
2024-10-21 inference API describes them, and the Responses API on both paths (tools/emulator/responses.py);
anything else answers 404 like the service. Behaviour that matters to the gateway:
- keyless: the account has `disableLocalAuth: true`, so a request with an `api-key` (header or query) is
  refused 401, and a request needs the gateway identity's bearer token for https://cognitiveservices.azure.com;
- capacity: tokens per minute per deployment from its SKU and capacity (standard SKUs: 1,000 TPM per unit,
  https://learn.microsoft.com/azure/ai-services/openai/how-to/quota; provisioned: an approximation of 2,500
  TPM per PTU, the real figure depends on the model and the prompt/completion mix); a request whose prompt plus
  max_tokens does not fit the minute's remainder gets 429 with Retry-After and retry-after-ms;
- usage in the OpenAI shape, exact (tools/emulator/tokens.py); streaming as server-sent events, with the final
  usage chunk only when stream_options.include_usage is true;
- modes set by the control API: ok, throttle (429 with the given Retry-After), error (the given status).
This module is the account and its HTTP surface; the operations' answers are tools/emulator/openai_answers.py.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import openai_answers as answers
from . import responses
from .clock import Clock
from .model import Account, Deployment
from .services import ContentSafety, TokenIssuer

COGNITIVE_AUDIENCE = "https://cognitiveservices.azure.com"
REGION_NAMES = {
    "swedencentral": "Sweden Central",
    "francecentral": "France Central",
    "westeurope": "West Europe",
    "eastus": "East US",
    "eastus2": "East US 2",
    "northeurope": "North Europe",
}
REAL_LATENCY_CAP_MS = 20.0


@dataclass
class Mode:
    mode: str = "ok"  # ok | throttle | error
    retry_after: float = 10.0
    status: int = 500
    latency_ms: float = 0.0


@dataclass
class AccountState:
    mode: Mode = field(default_factory=Mode)
    requests: int = 0
    api_key_requests: int = 0
    unauthenticated: int = 0
    window: dict[str, tuple[datetime, int]] = field(default_factory=dict)  # deployment -> (start, used tokens)
    header_names: set[str] = field(default_factory=set)


class SimulatedAccount:
    def __init__(
        self,
        account: Account,
        clock: Clock,
        issuer: TokenIssuer,
        identity_ids: set[str],
        safety: ContentSafety | None = None,
        safety_key: str | None = None,
    ) -> None:
        self.account = account
        self.clock = clock
        self.issuer = issuer
        self.identity_ids = identity_ids
        self.safety = safety
        self.safety_key = safety_key
        self.state = AccountState()
        self.lock = threading.Lock()
        self.responses = responses.ResponseStore()
        self.deployments = {d.name: d for d in account.deployments}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"sim-{account.name}", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def reset(self) -> None:
        with self.lock:
            self.state = AccountState()
        self.responses.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- behaviour ------------------------------------------------------------------------------------
    def authenticate(self, headers: dict[str, str], query: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        if "api-key" in headers or "api-key" in query:
            self.state.api_key_requests += 1
            return 401, _error("AuthenticationTypeDisabled", "Key based authentication is disabled for this resource.")
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            self.state.unauthenticated += 1
            return 401, _error("PermissionDenied", "Access token is missing or invalid.")
        claims = self.issuer.verify(auth[7:])
        if (
            claims is None
            or not self.issuer.lifetime_ok(claims)
            or claims.get("aud") not in (COGNITIVE_AUDIENCE, COGNITIVE_AUDIENCE + "/")
            or claims.get("appid", claims.get("azp")) not in self.identity_ids
        ):
            self.state.unauthenticated += 1
            return 401, _error("PermissionDenied", "The access token is invalid for this resource.")
        return None

    def admit(self, deployment: Deployment, cost: int) -> tuple[bool, float]:
        """Reserves `cost` tokens in the deployment's minute; (False, seconds to wait) when they do not fit."""
        now = self.clock.now()
        limit = answers.tokens_per_minute(deployment)
        with self.lock:
            start, used = self.state.window.get(deployment.name, (now, 0))
            elapsed = (now - start).total_seconds()
            if elapsed >= 60:
                start, used, elapsed = now, 0, 0.0
            if used + cost > limit:
                return False, max(1.0, 60.0 - elapsed)
            self.state.window[deployment.name] = (start, used + cost)
            return True, 0.0

    def settle(self, deployment: Deployment, reserved: int, actual: int) -> None:
        with self.lock:
            start, used = self.state.window.get(deployment.name, (self.clock.now(), 0))
            self.state.window[deployment.name] = (start, max(0, used - reserved + actual))

    def remaining(self, deployment: Deployment) -> int:
        with self.lock:
            _, used = self.state.window.get(deployment.name, (self.clock.now(), 0))
        return max(0, answers.tokens_per_minute(deployment) - used)


_error = answers.error


def _handler(sim: SimulatedAccount) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # keep-alive: headers and body in separate writes must not wait for ACKs

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("apim-request-id", str(uuid.uuid4()))
            self.send_header("x-ms-region", REGION_NAMES.get(sim.account.region, sim.account.region))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length) if length else b""
            with sim.lock:
                sim.state.requests += 1
                sim.state.header_names.update(headers)
                mode = sim.state.mode
            if mode.latency_ms:
                # The answer takes latencyMs of emulated time (the gateway's forward-request timeout reads the
                # same clock); real time only for a few milliseconds, so no scenario waits for a slow backend.
                sim.clock.advance(mode.latency_ms / 1000.0)
                time.sleep(min(mode.latency_ms, REAL_LATENCY_CAP_MS) / 1000.0)
            if sim.account.kind == "ContentSafety":
                answers.content_safety(sim, self, parts.path, headers, raw)
                return
            denied = sim.authenticate(headers, query)
            if denied:
                self._send(*denied)
                return
            responses_path = responses.PATH.fullmatch(parts.path)
            if responses_path is not None:
                self._responses(method, responses_path, query, raw, mode)
                return
            if method != "POST":
                self._send(404, _error("404", "Resource not found"))
                return
            match = re.fullmatch(r"/openai/deployments/([^/]+)/(chat/completions|embeddings|completions)", parts.path)
            # The v1 API (learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle): /openai/v1/..., no
            # api-version, the deployment named in the body's "model".
            v1 = re.fullmatch(r"/openai/v1/(chat/completions|embeddings)", parts.path)
            if v1 is not None:
                try:
                    named = json.loads(raw or b"{}").get("model")
                except (ValueError, AttributeError):
                    named = None
                named_ok = isinstance(named, str) and "/" not in named
                operation_path = f"{named}/{v1.group(1)}"
                match = re.fullmatch(r"([^/]+)/(chat/completions|embeddings)", operation_path) if named_ok else None
            if match is None or match.group(1) not in sim.deployments:
                self._send(404, _error("DeploymentNotFound", "The API deployment for this resource does not exist."))
                return
            if v1 is None and "api-version" not in query:
                self._send(400, _error("BadRequest", "Missing required query parameter: api-version"))
                return
            if self._unavailable(mode):
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, _error("BadRequest", "The request body is not valid JSON."))
                return
            deployment = sim.deployments[match.group(1)]
            operation = match.group(2)
            embedding_model = "embedding" in deployment.model
            if (operation == "embeddings") != embedding_model or operation == "completions":
                self._send(
                    400,
                    _error(
                        "OperationNotSupported",
                        f"The {operation} operation does not work with the specified model, {deployment.model}.",
                    ),
                )
                return
            if operation == "embeddings":
                answers.embeddings(sim, self, deployment, body)
            else:
                answers.chat(sim, self, deployment, body)

        def _unavailable(self, mode: Mode) -> bool:
            """Answers for the control API's throttle and error modes; True when it did."""
            if mode.mode == "throttle":
                wait = mode.retry_after
                self._send(
                    429,
                    _error("429", "Requests to the deployment have exceeded the rate limit (simulated)."),
                    {"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))},
                )
                return True
            if mode.mode == "error":
                self._send(mode.status, _error("InternalServerError", "The server had an error (simulated)."))
                return True
            return False

        def _responses(self, method: str, path: re.Match[str], query: dict[str, str], raw: bytes, mode: Mode) -> None:
            if path.group(1) is None and "api-version" not in query:
                self._send(400, _error("BadRequest", "Missing required query parameter: api-version"))
                return
            if path.group(2) is not None:
                if not self._unavailable(mode):
                    responses.stored_operation(sim.responses, method, path.group(2), path.group(3), self._send)
                return
            if method != "POST":
                self._send(405, _error("MethodNotAllowed", f"{method} is not served here."))
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send(400, _error("BadRequest", "The request body is not valid JSON."))
                return
            named = body.get("model")
            deployment = sim.deployments.get(named) if isinstance(named, str) else None
            if deployment is None:
                self._send(404, _error("DeploymentNotFound", "The API deployment for this resource does not exist."))
                return
            if not self._unavailable(mode):
                responses.create(sim, deployment, body, answers.REPLY.split(" "), self)

        def _events(self, events: list[bytes], deployment: Deployment) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("x-ms-region", REGION_NAMES.get(sim.account.region, sim.account.region))
            self.send_header("x-ratelimit-remaining-tokens", str(sim.remaining(deployment)))
            self.end_headers()
            for data in events:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def _throttled(self, wait: float) -> None:
            answers.throttled(self, wait)

    return Handler
