"""The emulated gateway: the plan's model, its documents and expressions, the backends and the side services,
and the handling of one caller request from subscription key to the answer."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import uuid
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import policies as _policies  # noqa: F401 - registers the policy implementations
from . import specs, tokens
from .backends import Backends, Unavailable
from .clock import Clock
from .connections import Connections
from .context import Headers, Message, RequestState, Response, Url
from .expressions import HostPool, compile_all
from .keys import Answer, check_subscription, error_body
from .model import MASKED, GatewayModel, load_plan, read_model
from .openai_sim import COGNITIVE_AUDIENCE, SimulatedAccount
from .pipeline import Documents, EmulatorError, Executor, PolicyFailure
from .policies.limits import Counters
from .services import ContentSafety, EventHubSink, LlmLog, MetricSink, TokenIssuer, VectorStore

HOP_BY_HOP = {
    "connection",
    "date",
    "server",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "host",
    "proxy-authorization",
    "proxy-authenticate",
}
# The tenant of the gateway's own managed identity (any GUID: only the simulated accounts check its tokens).
IDENTITY_TENANT = "00000000-0000-4000-8000-00000000e12a"
SYSTEM_IDENTITY = str(uuid.uuid5(uuid.NAMESPACE_URL, "genai-gateway-emulator:system-assigned"))


class Gateway:
    def __init__(self, model: GatewayModel, plan: dict[str, Any]) -> None:
        self.model = model
        self.plan = plan
        self.clock = Clock()
        self.operations = {
            a.api_id: specs.operations_for(a.spec_url) + specs.declared(a.operations) for a in model.apis.values()
        }
        masked = {
            r["inputs"]["namedValueId"]
            for r in plan["resources"]
            if r["type"].endswith("apimanagement:NamedValue") and r["inputs"].get("value") in MASKED
        }
        # User-assigned identities of the gateway are only known after deployment: their client ids are the
        # named values the plan computes (stand-ins here); the system-assigned one has a fixed stand-in.
        # On an existing service (model.existing_service) the program brings its identity by client id: the named
        # value holds the known client id itself.
        clients = {n for n in model.named_values if "client-id" in n and (model.existing_service or n in masked)}
        self.identity_ids = {model.named_values[n] for n in clients} | {SYSTEM_IDENTITY}
        self.documents = Documents.load(
            model.service_policy,
            {a.api_id: a.policy for a in model.apis.values()},
            {p.product_id: p.policy for p in model.products.values()},
            model.fragments,
            model.named_values,
        )
        self.documents.check()
        self.host = HostPool(compile_all(self.documents.code))
        self.executor = Executor(self, self.documents, self.host)
        self.backends = Backends(model, self.clock)
        self.issuer = TokenIssuer(self.clock)
        self.eventhub = EventHubSink()
        self.metrics = MetricSink()
        self.llm_log = LlmLog()
        self.safety = ContentSafety()
        self.cache = VectorStore(self.clock)
        self.token_counters = Counters()
        self.rate_counters = Counters()
        self.tenants = sorted(
            {e.get("tenant-id", "") for d in self.documents.all() for e in d.root.iter("validate-azure-ad-token")}
        )
        self.audiences = sorted({(a.text or "").strip() for d in self.documents.all() for a in d.root.iter("audience")})
        safety_key = model.named_values.get("content-safety-key")
        self.sims: dict[str, SimulatedAccount] = {}
        for account in model.accounts.values():
            self.sims[account.host] = SimulatedAccount(
                account,
                self.clock,
                self.issuer,
                self.identity_ids,
                self.safety if account.kind == "ContentSafety" else None,
                safety_key,
            )
        self.lock = threading.Lock()
        self.connections = Connections()
        self._tokens: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.requests = 0
        # Requests arrive through the App Gateway (POST /_emulator/ingress): see _through_app_gateway.
        self.via_app_gateway = False
        # The policy errors of recent requests (LastError), newest last: what APIM's trace would show.
        self.errors: deque[dict[str, str]] = deque(maxlen=100)
        # (total ms, ms spent waiting for backends) per request, for the benchmark's added latency.
        self.timings: deque[tuple[float, float]] = deque(maxlen=100_000)

    @classmethod
    def for_stack(cls, stack: str, *, plan_file: Path | None = None) -> Gateway:
        """The stack's gateway, planned now (or from `plan_file`): see model.load_plan."""
        plan = load_plan(stack, plan_file=plan_file)
        return cls(read_model(plan), plan)

    def close(self) -> None:
        for sim in self.sims.values():
            sim.stop()
        self.host.close()

    def reset(self) -> None:
        self.clock.reset()
        self.backends.reset()
        self.eventhub.reset()
        self.metrics.reset()
        self.llm_log.reset()
        self.safety.reset()
        self.cache.reset()
        self.token_counters.reset()
        self.rate_counters.reset()
        self.errors.clear()
        self.via_app_gateway = False
        with self.lock:
            self._tokens.clear()
        for sim in self.sims.values():
            sim.reset()

    def account(self, name: str) -> SimulatedAccount | None:
        for sim in self.sims.values():
            if name in (sim.account.name, sim.account.azure_name):
                return sim
        return None

    # -- services the policies call ---------------------------------------------------------------------
    def managed_identity_token(self, resource: str, client_id: str | None) -> str | None:
        """A token of the gateway's identity for `resource`, reused until 5 minutes before it expires (APIM
        caches managed-identity tokens the same way rather than asking Entra ID on every request)."""
        app_id = SYSTEM_IDENTITY if client_id is None else client_id
        if app_id not in self.identity_ids:
            return None
        now = self.clock.now()
        with self.lock:
            cached = self._tokens.get((resource, app_id))
            if cached is not None and cached[1] - now > timedelta(minutes=5):
                return cached[0]
        token = self.issuer.issue(tenant=IDENTITY_TENANT, audience=resource, app_id=app_id, version=1)
        with self.lock:
            self._tokens[(resource, app_id)] = (token, now + timedelta(hours=1))
        return token

    def default_dimension(self, name: str, state: RequestState) -> str:
        values = {
            "API ID": state.api.api_id if state.api else "",
            "Operation ID": state.operation.operation_id if state.operation else "",
            "Product ID": state.product.product_id if state.product else "",
            "User ID": "",
            "Subscription ID": state.subscription.sid if state.subscription else "",
            "Location": self.model.region,
            "Gateway ID": "managed",
            "Backend ID": state.served_by or "",
        }
        return values[name]

    def _call_backend(
        self, backend_id: str, path_suffix: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        backend = self.backends.select(backend_id)
        assert backend.url is not None
        parts = urlsplit(backend.url)
        sim = self.sims.get(parts.hostname or "")
        if sim is None:
            raise EmulatorError(
                f"backend {backend.backend_id} points at {parts.hostname}, which no account of the plan serves"
            )
        status, _, reply_headers, data = self.connections.exchange(
            sim.port, "POST", parts.path + path_suffix, parts.hostname or "",
            [("Content-Type", "application/json"), *headers.items()], json.dumps(body).encode(), 30.0,
        )
        self.backends.record(backend.backend_id, status, dict(reply_headers))
        return status, json.loads(data or b"{}")

    def embed_for_cache(self, backend_id: str, text: str) -> list[float] | None:
        token = self.managed_identity_token(COGNITIVE_AUDIENCE, None)
        if token is None:
            return None
        try:
            status, body = self._call_backend(
                backend_id, "?api-version=2024-10-21", {"input": text}, {"Authorization": f"Bearer {token}"}
            )
        except Unavailable:
            return None
        if status != 200:
            return None
        vector: list[float] = body["data"][0]["embedding"]
        return vector

    def content_safety_call(self, backend_id: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        backend = self.model.backends[backend_id]
        headers = {k: ",".join(v) for k, v in backend.credential_headers.items()}
        resolved = {
            k: self.model.named_values.get(v.strip("{}"), v) if v.startswith("{{") else v for k, v in headers.items()
        }
        if backend.managed_identity is not None:
            # credentials.managedIdentity: the gateway attaches its identity's token for the resource. A client
            # id only known after deployment ([computed]) is the gateway's user-assigned identity.
            resource, client = backend.managed_identity
            if client in MASKED:
                client = next(iter(sorted(self.identity_ids - {SYSTEM_IDENTITY})), None)
            token = self.managed_identity_token(resource, client)
            if token is None:
                raise ValueError(f"backend {backend_id}: the gateway has no identity {client}")
            resolved["Authorization"] = f"Bearer {token}"
        status, answer = self._call_backend(backend_id, path + "?api-version=2024-09-01", body, resolved)
        if status != 200:
            raise ValueError(f"Content Safety answered {status}")
        return answer

    # -- forward-request ------------------------------------------------------------------------------------
    def forward(self, state: RequestState, *, timeout: float, buffer_response: bool) -> None:
        if state.backend_id is None and state.backend_url is None:
            raise ValueError("forward-request: no backend (the API has no service URL and no set-backend-service ran)")
        if state.backend_id is not None:
            try:
                backend = self.backends.select(state.backend_id)
            except Unavailable as unavailable:
                state.response = Response(headers=Headers(), body="", status=503, reason=unavailable.reason)
                return
            base, served = backend.url or "", backend.backend_id
        else:
            base, served = state.backend_url or "", None
        parts = urlsplit(base)
        sim = self.sims.get(parts.hostname or "")
        if sim is None:
            raise PolicyFailure("forward-request", "BackendConnectionFailure", f"no route to {parts.hostname}", 500)
        target_path = parts.path.rstrip("/") + state.api_path
        target = target_path + (f"?{state.url.query_string()}" if state.url.query else "")
        # From here on context.Request.Url is the backend's URL (OriginalUrl stays the caller's).
        state.url = Url(parts.scheme or "https", parts.hostname or "", parts.port or 443, target_path, state.url.query)
        headers = [(k, v) for k, v in state.request.headers.items() if k.lower() not in HOP_BY_HOP]
        body = (state.request.body or "").encode() if not state.request.consumed else b""
        waited, sent_at = time.perf_counter(), self.clock.now()
        try:
            status, reason, raw_headers, data = self.connections.exchange(
                sim.port, state.method, target, parts.hostname or "", headers, body, timeout
            )
        except TimeoutError:
            raise PolicyFailure("forward-request", "Timeout", "the backend did not answer in time", 504) from None
        finally:
            state.backend_ms += (time.perf_counter() - waited) * 1000.0
        # A simulated backend's latency passes on the emulator clock: an answer later than forward-request's
        # timeout is one the gateway stopped waiting for.
        if (self.clock.now() - sent_at).total_seconds() > timeout:
            raise PolicyFailure("forward-request", "Timeout", "the backend did not answer in time", 504)
        reply_headers = Headers((k, v) for k, v in raw_headers if k.lower() not in HOP_BY_HOP)
        content_type = reply_headers.get("Content-Type") or ""
        if served is not None:
            self.backends.record(served, status, dict(raw_headers))
        state.served_by = served
        state.forwarded = True
        streamed = content_type.startswith("text/event-stream")
        if streamed and not buffer_response:
            state.streamed = True
            events = [e + b"\n\n" for e in data.split(b"\n\n") if e]
            state.response = Response(
                headers=reply_headers, body=None, chunks=events, status=status, reason=reason
            )
        else:
            state.streamed = False
            state.response = Response(
                headers=reply_headers, body=data.decode("utf-8", "replace"), status=status, reason=reason
            )

    # -- a caller request -------------------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        client_ip: str,
        host: str,
        port: int,
        client_port: int = 0,
    ) -> Answer:
        with self.lock:
            self.requests += 1
        if self.via_app_gateway:
            client_ip, headers = self._through_app_gateway(client_ip, client_port, headers)
        url = Url.parse_target("https", host, port, target)
        selected = self.model.api_for(url.path)
        found = None
        if selected is not None:
            api, rest = selected
            found = specs.match(self.operations[api.api_id], method, rest)
        if found is None:
            return Answer(
                404, "Not Found", [("Content-Type", "application/json")], error_body(404, "Resource not found"), None
            )
        operation, matched = found
        started = time.perf_counter()
        request = Message(headers=Headers(headers), body=body.decode("utf-8", "replace") if body else None)
        state = RequestState(
            method=method,
            url=url,
            original_url=Url(url.scheme, url.host, url.port, url.path, list(url.query)),
            request=request,
            ip_address=client_ip,
            timestamp=self.clock.now(),
            matched=matched,
            operation=operation,
            api=api,
            api_path=rest,
        )
        refused = check_subscription(self.model, state)
        if refused is not None:
            return refused
        try:
            response = self.executor.run(state)
            self._finish(state)
        finally:
            self.host.finish(state.request_id)  # the C# hosts drop the request's context
        self.timings.append(((time.perf_counter() - started) * 1000.0, state.backend_ms))
        if state.last_error is not None or state.warnings:
            error = state.last_error
            self.errors.append(
                {
                    "requestId": state.request_id,
                    "source": error.source if error else "",
                    "reason": error.reason if error else "",
                    "message": error.message if error else "",
                    "warnings": "; ".join(state.warnings),
                }
            )
        return self._answer(response)

    def app_gateway_address(self) -> str | None:
        """The App Gateway instance's private address: the first its subnet can give (Azure reserves the first
        four addresses of every subnet)."""
        if self.model.app_gateway_subnet is None:
            return None
        return str(ipaddress.ip_network(self.model.app_gateway_subnet, strict=False)[4])

    def _through_app_gateway(
        self, client_ip: str, client_port: int, headers: list[tuple[str, str]]
    ) -> tuple[str, list[tuple[str, str]]]:
        """The request as APIM receives it behind the App Gateway: from the App Gateway's own address, with the
        client's address and port appended to X-Forwarded-For as the right-most entry (and entries the client
        sent kept to its left), learn.microsoft.com/azure/application-gateway/how-application-gateway-works."""
        address = self.app_gateway_address()
        assert address is not None
        sent = [v for k, v in headers if k.lower() == "x-forwarded-for"]
        appended = ", ".join([*sent, f"{client_ip}:{client_port}"])
        rest = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        return address, [*rest, ("X-Forwarded-For", appended)]

    def _finish(self, state: RequestState) -> None:
        """End-of-request work of the policies (token accounting, metrics), with the response's token counts."""
        counts = tokens.response_counts(state.request.body, state.response)
        for _, finish in state.finishers:
            finish(counts)
        if state.api is not None and state.api.api_id in self.model.llm_logging and state.forwarded:
            row = tokens.llm_log_row(state, self.model.region)
            if row is not None:
                self.llm_log.write(row)

    def _answer(self, response: Response) -> Answer:
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
        if response.chunks is not None:
            return Answer(response.status, response.reason, headers, b"", list(response.chunks))
        return Answer(response.status, response.reason, headers, (response.body or "").encode(), None)
