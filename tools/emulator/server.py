"""The emulated gateway over HTTP on 127.0.0.1, and its control API under /_emulator/ on the same port.

Control API (JSON):
- GET  /_emulator/subscriptions        -> {"<consumer>": "<primary key>", ...}
- POST /_emulator/backends/<account>   {"mode": "ok"|"throttle"|"error", "retryAfter": s, "status": code,
                                         "latencyMs": ms} -> how that account's simulated deployments answer
- GET  /_emulator/backends             -> per backend id: requests, statuses, breaker state, until when
- GET  /_emulator/accounts             -> per simulated account: requests, and those that carried an api-key or
                                         no valid token
- GET  /_emulator/usage-records        -> records sent to the usage event hub, oldest first
- GET  /_emulator/metrics              -> token metrics emitted (name, value, dimensions)
- POST /_emulator/ingress {"appGateway": bool} -> requests arrive through the App Gateway (its address,
                                         X-Forwarded-For appended); 409 for a stack without one
- GET  /_emulator/llm-logs             -> ApiManagementGatewayLlmLog rows (APIs whose diagnostic enables LLM logs)
- GET  /_emulator/errors               -> recent policy errors (context.LastError) and warnings, newest last
- POST /_emulator/clock                {"advance": s}; GET /_emulator/clock -> {"now": ...}
- POST /_emulator/reset                counters, breakers, sinks, cache and backend modes back to the start
- POST /_emulator/entra-token          {"appId": "<client app id>", "audience"?, "tenant"?, "version"?} -> {"token"}
- POST /_emulator/content-safety       {"block": ["<phrase>", ...]}
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .gateway import Gateway
from .openai_sim import Mode

CONTROL = "/_emulator"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def control(gateway: Gateway, method: str, path: str, body: Any) -> Any:
    """One control API call: the JSON answer, or ControlError."""
    route = path[len(CONTROL) :].rstrip("/")
    if method == "GET" and route == "/subscriptions":
        return gateway.model.consumer_keys()
    if method == "GET" and route == "/backends":
        return gateway.backends.report()
    if method == "GET" and route == "/accounts":
        return {
            sim.account.name: {
                "host": sim.account.host,
                "mode": sim.state.mode.mode,
                "requests": sim.state.requests,
                "apiKeyRequests": sim.state.api_key_requests,
                "unauthenticated": sim.state.unauthenticated,
            }
            for sim in gateway.sims.values()
        }
    if method == "GET" and route == "/clock":
        return {"now": gateway.clock.now().isoformat()}
    if method == "POST" and route.startswith("/backends/"):
        sim = gateway.account(route[len("/backends/") :])
        if sim is None:
            raise ControlError(
                404,
                f"no account {route[len('/backends/') :]!r}; "
                f"accounts: {sorted(s.account.name for s in gateway.sims.values())}",
            )
        mode = str(body.get("mode", "ok"))
        if mode not in ("ok", "throttle", "error"):
            raise ControlError(400, "mode must be ok, throttle or error")
        sim.state.mode = Mode(
            mode, float(body.get("retryAfter", 10)), int(body.get("status", 500)), float(body.get("latencyMs", 0))
        )
        return {"account": sim.account.name, "mode": mode}
    if method == "GET" and route == "/usage-records":
        records = []
        for events in gateway.eventhub.events.values():
            for event in events:
                records.append(json.loads(event["body"]) if event["body"].startswith("{") else event["body"])
        return records
    if method == "GET" and route == "/events":
        return gateway.eventhub.events
    if method == "GET" and route == "/errors":
        return list(gateway.errors)
    if method == "GET" and route == "/metrics":
        return gateway.metrics.metrics
    if method == "POST" and route == "/ingress":
        if gateway.app_gateway_address() is None:
            raise ControlError(409, "this stack has no App Gateway in front of the gateway")
        gateway.via_app_gateway = bool(body.get("appGateway", True))
        return {"appGateway": gateway.via_app_gateway, "address": gateway.app_gateway_address()}
    if method == "GET" and route == "/llm-logs":
        with gateway.llm_log.lock:
            return list(gateway.llm_log.rows)
    if method == "POST" and route == "/clock":
        return {"now": gateway.clock.advance(float(body.get("advance", 0))).isoformat()}
    if method == "POST" and route == "/reset":
        gateway.reset()
        return {"reset": True}
    if method == "POST" and route == "/entra-token":
        if not gateway.tenants:
            raise ControlError(409, "this stack's policies validate no Entra ID tokens")
        token = gateway.issuer.issue(
            tenant=str(body.get("tenant", gateway.tenants[0])),
            audience=str(body.get("audience", gateway.audiences[0] if gateway.audiences else "")),
            app_id=str(body["appId"]),
            version=int(body.get("version", 2)),
            lifetime=float(body.get("lifetime", 3600)),
        )
        return {"token": token}
    if method == "POST" and route == "/content-safety":
        gateway.safety.blocked = [str(p) for p in body.get("block", [])]
        return {"block": gateway.safety.blocked}
    raise ControlError(404, f"no control route {method} {path}")


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # keep-alive: headers and body in separate writes must not wait for ACKs
        server_version = "genai-gateway-emulator"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length", "0") or 0)
            return self.rfile.read(length) if length else b""

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            body = self._body()
            if self.path.startswith(CONTROL + "/"):
                try:
                    payload = json.loads(body or b"{}")
                    self._json(200, control(gateway, method, self.path.split("?")[0], payload))
                except ControlError as error:
                    self._json(error.status, {"error": str(error)})
                except (ValueError, KeyError, TypeError) as error:
                    self._json(400, {"error": f"bad control request: {error}"})
                return
            host = (self.headers.get("Host") or "127.0.0.1").split(":")[0]
            answer = gateway.handle(
                method,
                self.path,
                list(self.headers.items()),
                body,
                str(self.client_address[0]),
                host,
                self.server.server_port,  # type: ignore[attr-defined]
                int(self.client_address[1]),
            )
            self.send_response(answer.status, answer.reason)
            for name, value in answer.headers:
                self.send_header(name, value)
            if answer.chunks is not None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in answer.chunks:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


class EmulatorServer:
    """The gateway on host:port (port 0: an ephemeral one), served from a background thread."""

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator serves on loopback only")
        self.gateway = gateway
        self.httpd = ThreadingHTTPServer((host, port), _handler(gateway))
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="emulator", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.gateway.close()
