"""What a scenario gets: a Target (the gateway's URL, consumers with their keys, and a Control client that is None
against a live gateway), and the registry of scenarios by area.

A scenario is a function `(target) -> None` that raises AssertionError when the gateway misbehaves and Skip when
the target cannot show the behaviour (a live gateway without control, a stack without the feature). Scenarios
talk to the gateway only over HTTP with the official `openai` package (or plain HTTP for what the SDK hides),
so the same code checks the emulator in the tests and a deployed gateway through `python -m tools.smoke`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from openai import AzureOpenAI

API_VERSION = "2024-10-21"


class Skip(Exception):
    """The target cannot show this behaviour."""


@dataclass(frozen=True)
class Consumer:
    name: str
    key: str = field(repr=False)
    deployments: tuple[str, ...]
    tokens_per_minute: int | None = None
    token_quota: int | None = None
    token_quota_period: str | None = None
    entra_app_ids: tuple[str, ...] = ()
    tier: str | None = None


class Control:
    """The emulator's control API (/_emulator/...)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_emulator{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("POST", "/reset", {})

    def backend(self, account: str, mode: str = "ok", **options: Any) -> None:
        self._call("POST", f"/backends/{account}", {"mode": mode, **options})

    def backends(self) -> dict[str, Any]:
        """Per backend id: requests, statuses, breaker ("closed", "tripped", "none") and trippedUntil."""
        result: dict[str, Any] = self._call("GET", "/backends")
        return result

    def accounts(self) -> dict[str, Any]:
        """Per simulated account: requests, apiKeyRequests, unauthenticated."""
        result: dict[str, Any] = self._call("GET", "/accounts")
        return result

    def now(self) -> str:
        return str(self._call("GET", "/clock")["now"])

    def usage_records(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/usage-records")
        return result

    def metrics(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/metrics")
        return result

    def through_app_gateway(self, on: bool = True) -> bool:
        """Requests arrive through the stack's App Gateway; False when the stack has none."""
        try:
            self._call("POST", "/ingress", {"appGateway": on})
        except urllib.error.HTTPError as error:
            if error.code == 409:
                return False
            raise
        return True

    def llm_logs(self) -> list[dict[str, Any]]:
        """ApiManagementGatewayLlmLog rows (one per forwarded LLM request of an API with LLM logging)."""
        result: list[dict[str, Any]] = self._call("GET", "/llm-logs")
        return result

    def errors(self) -> list[dict[str, str]]:
        """Recent policy errors (context.LastError) and warnings of the emulator, newest last."""
        result: list[dict[str, str]] = self._call("GET", "/errors")
        return result

    def advance(self, seconds: float) -> str:
        return str(self._call("POST", "/clock", {"advance": seconds})["now"])

    def entra_token(self, app_id: str, **options: Any) -> str:
        return str(self._call("POST", "/entra-token", {"appId": app_id, **options})["token"])

    def block(self, phrases: list[str]) -> None:
        self._call("POST", "/content-safety", {"block": phrases})


@dataclass
class Target:
    """A gateway to check: `base_url` is the gateway's root (the API path comes after it)."""

    base_url: str
    api_path: str
    consumers: dict[str, Consumer]
    deployments: tuple[str, ...]
    chat_deployments: tuple[str, ...]
    embedding_deployments: tuple[str, ...]
    accounts: dict[str, str] = field(default_factory=dict)  # account name -> tier (ptu | paygo)
    pools: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # deployment -> [(account, priority)]
    features: frozenset[str] = frozenset()  # "entra", "content-safety", "semantic-cache"
    backend_hosts: tuple[str, ...] = ()  # host names that must never reach a caller
    entra_api_path: str | None = None  # the API Entra ID callers use, when it is not api_path
    # tokenLimits: "global" -> tokens per minute, "<tier>" -> (base, share of unused)
    token_limits: dict[str, object] = field(default_factory=dict)
    control: Control | None = None
    timeout: float = 30.0

    def client(
        self, consumer: Consumer | None = None, *, token: str | None = None, key: str | None = None
    ) -> AzureOpenAI:
        """An SDK client exactly as an app team builds one (no retries: scenarios see every answer)."""
        path = self.entra_api_path if token is not None and self.entra_api_path else self.api_path
        endpoint = self.base_url if path == "openai" else f"{self.base_url}/{path.removesuffix('/openai')}"
        if token is not None:
            return AzureOpenAI(
                azure_endpoint=endpoint,
                azure_ad_token=token,
                api_version=API_VERSION,
                max_retries=0,
                timeout=self.timeout,
            )
        return AzureOpenAI(
            azure_endpoint=endpoint,
            api_key=key if key is not None else (consumer.key if consumer else ""),
            api_version=API_VERSION,
            max_retries=0,
            timeout=self.timeout,
        )

    def http(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.base_url, timeout=self.timeout)

    def url(self, deployment: str, operation: str = "chat/completions", *, entra: bool = False) -> str:
        path = self.entra_api_path if entra and self.entra_api_path else self.api_path
        return f"/{path}/deployments/{deployment}/{operation}?api-version={API_VERSION}"

    def need_control(self) -> Control:
        if self.control is None:
            raise Skip("needs the emulator's control API")
        return self.control

    def need(self, feature: str) -> None:
        if feature not in self.features:
            raise Skip(f"the stack does not enable {feature}")

    def chat_consumer(self) -> tuple[Consumer, str]:
        """A consumer allowed a chat deployment, and that deployment."""
        for consumer in self.consumers.values():
            for deployment in consumer.deployments:
                if deployment in self.chat_deployments:
                    return consumer, deployment
        raise Skip("no consumer may call a chat deployment")


@dataclass(frozen=True)
class Scenario:
    name: str
    area: str
    run: Callable[[Target], None]
    # A behaviour the README claims that the current policies do not deliver: the tests expect it to fail
    # (strictly) until the named issue fixes it; smoke reports it as a known failure.
    known_issue: str | None = None
    stacks: tuple[str, ...] | None = None  # None: every stack


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    area: str, *, known_issue: str | None = None, stacks: tuple[str, ...] | None = None
) -> Callable[[Callable[[Target], None]], Callable[[Target], None]]:
    def register(function: Callable[[Target], None]) -> Callable[[Target], None]:
        name = f"{area}.{function.__name__}"
        SCENARIOS[name] = Scenario(name, area, function, known_issue, stacks)
        return function

    return register


def error_code(response: httpx2.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def chat_body(
    text: str = "Reply with the single word: pong", max_completion_tokens: int = 16, **extra: Any
) -> dict[str, Any]:
    """A chat request; `max_completion_tokens`, which every current model accepts (reasoning models such as the
    gpt-5 family refuse the older `max_tokens`)."""
    return {"messages": [{"role": "user", "content": text}], "max_completion_tokens": max_completion_tokens, **extra}
