"""The state of one request as it moves through the pipeline, and its parts for the C# host.

The parts' shapes are read by ApimSession.cs (Session.Apply); variables keep their .NET type across
expressions through the typed encoding `{"t": ..., "v": ...}` (values.py, ApimHost.cs).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from .values import INT32, GuidValue, JsonValue, JwtValue, Variables, as_text, decode, encode

# The values policies hand to expressions live in values.py; they are named here too, where callers find them.
__all__ = [
    "INT32",
    "GuidValue",
    "Headers",
    "JsonValue",
    "JwtValue",
    "LastError",
    "Message",
    "RequestState",
    "Response",
    "Url",
    "Variables",
    "as_text",
    "decode",
    "encode",
]


class Headers:
    """Case-insensitive multi-valued headers that keep the name as first written."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, list[str]]] = {}
        self.version = 0  # counts changes: RequestState.parts rebuilds a part only when its inputs changed
        for name, value in items:
            self.append(name, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        found = self._items.get(name.lower())
        return ",".join(found[1]) if found else default

    def values(self, name: str) -> list[str]:
        found = self._items.get(name.lower())
        return list(found[1]) if found else []

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def set(self, name: str, values: list[str]) -> None:
        self._items[name.lower()] = (name, list(values))
        self.version += 1

    def append(self, name: str, value: str) -> None:
        key = name.lower()
        if key in self._items:
            self._items[key][1].append(value)
        else:
            self._items[key] = (name, [value])
        self.version += 1

    def delete(self, name: str) -> None:
        if self._items.pop(name.lower(), None) is not None:
            self.version += 1

    def items(self) -> Iterator[tuple[str, str]]:
        for name, values in self._items.values():
            for value in values:
                yield name, value

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self._items.values()}

    def copy(self) -> Headers:
        copy = Headers()
        for name, values in self._items.values():
            copy.set(name, values)
        return copy


@dataclass
class Url:
    scheme: str
    host: str
    port: int
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse_target(cls, scheme: str, host: str, port: int, target: str) -> Url:
        path, _, query = target.partition("?")
        return cls(scheme, host, port, path, parse_qsl(query, keep_blank_values=True))

    def query_string(self) -> str:
        return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in self.query)

    def target(self) -> str:
        query = self.query_string()
        return self.path + (f"?{query}" if query else "")

    def snapshot(self) -> dict[str, Any]:
        query: dict[str, list[str]] = {}
        for k, v in self.query:
            query.setdefault(k, []).append(v)
        return {"scheme": self.scheme, "host": self.host, "port": self.port, "path": self.path, "query": query}


@dataclass
class Message:
    """A request or response as policies see it. `chunks` holds a streamed body still to be relayed."""

    headers: Headers
    body: str | None = None
    chunks: list[bytes] | None = None
    consumed: bool = False


@dataclass
class Response(Message):
    status: int = 200
    reason: str = "OK"


@dataclass
class LastError:
    source: str
    reason: str
    message: str
    section: str
    scope: str = ""
    path: str = ""
    policy_id: str = ""


@dataclass
class RequestState:
    """Everything the policies read and write for one request."""

    method: str
    url: Url
    original_url: Url
    request: Message
    ip_address: str
    timestamp: datetime
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    matched: dict[str, str] = field(default_factory=dict)
    api: Any = None  # model.Api the request's path selected
    api_path: str = ""  # the request path after the API's path (what the operation's URL template matched)
    operation: Any = None  # specs.Operation
    subscription: Any = None  # model.Subscription (with the key used)
    subscription_key: str | None = None
    product: Any = None  # model.Product
    response: Response | None = None
    variables: dict[str, Any] = field(default_factory=Variables)
    last_error: LastError | None = None
    backend_id: str | None = None
    backend_url: str | None = None
    section: str = "inbound"
    # Work a policy leaves for the end of the request (token accounting, metrics, cache store), in order.
    finishers: list[Any] = field(default_factory=list)
    # Work a policy does when a buffered response arrives, before outbound (token counts from its usage).
    on_response: list[Any] = field(default_factory=list)
    served_by: str | None = None  # the Single backend that answered
    forwarded: bool = False  # a backend answered forward-request (what the LLM log records)
    streamed: bool = False
    warnings: list[str] = field(default_factory=list)
    cache_hit: bool = False
    backend_ms: float = 0.0  # time spent waiting for backends (forward-request, cache, content safety)
    cache_pending: Any = None  # (partition, vector) of a cache miss, for llm-semantic-cache-store
    chain: list[Any] = field(default_factory=list)  # the scopes' policy roots, innermost first
    _constants: tuple[Any, dict[str, Any]] | None = field(default=None, repr=False)  # parts()'s "c", by its inputs
    _parts: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict, repr=False)  # "q", "p" by inputs

    def __post_init__(self) -> None:
        if not isinstance(self.variables, Variables):
            self.variables = Variables(self.variables)

    def parts(self, model: Any) -> dict[str, Any]:
        """The request's context for the C# host, in the parts ApimSession.cs reads ("c" constants, "q" the
        request and "qb" its body, "p" the response and "pb" its body, "e" the last error); variables go
        separately (ExpressionHost.evaluate)."""
        key = (id(self.api), id(self.operation), id(self.product), id(self.subscription), self.subscription_key)
        if self._constants is None or self._constants[0] != key:
            self._constants = (key, self._constants_part(model))
        request, response = self.request, self.response
        return {
            "c": self._constants[1],
            "q": self._request_part(),
            # The bodies apart from the rest, so that a changed header does not send them again.
            "qb": None if request.consumed else request.body,
            "p": self._response_part(),
            "pb": None
            if response is None or response.consumed
            else self._cached(
                "pb",
                (response, response.body, response.chunks, None if response.chunks is None else len(response.chunks)),
                lambda: _response_text(response),
            ),
            "e": self._error_part(),
        }

    def _cached(self, slot: str, inputs: tuple[Any, ...], build: Any) -> Any:
        """The part built from `inputs`, rebuilt only when they changed (the same dict otherwise, so the host's
        comparison is by identity). `inputs` holds the objects themselves, never their ids."""
        cached = self._parts.get(slot)
        if cached is None or cached[0] != inputs:
            cached = self._parts[slot] = (inputs, build())
        return cached[1]

    def _request_part(self) -> dict[str, Any]:
        url, original, request = self.url, self.original_url, self.request
        inputs = (
            self.method,
            url.scheme, url.host, url.port, url.path, tuple(url.query),
            original.scheme, original.host, original.port, original.path, tuple(original.query),
            request.headers, request.headers.version,
            self.ip_address,
            tuple(self.matched.items()),
        )  # fmt: skip
        return self._cached(
            "q",
            inputs,
            lambda: {
                "method": self.method,
                "url": url.snapshot(),
                "originalUrl": original.snapshot(),
                "headers": request.headers.as_dict(),
                "ipAddress": self.ip_address,
                "matchedParameters": dict(self.matched),
            },
        )

    def _response_part(self) -> dict[str, Any] | None:
        response = self.response
        if response is None:
            return None
        inputs = (
            response,
            response.status,
            response.reason,
            response.headers,
            response.headers.version,
        )
        return self._cached(
            "p",
            inputs,
            lambda: {
                "statusCode": response.status,
                "statusReason": response.reason,
                "headers": response.headers.as_dict(),
            },
        )

    def _error_part(self) -> dict[str, Any] | None:
        error = self.last_error
        if error is None:
            return None
        return {
            "source": error.source,
            "reason": error.reason,
            "message": error.message,
            "scope": error.scope,
            "section": error.section,
            "path": error.path,
            "policyId": error.policy_id,
        }

    def _constants_part(self, model: Any) -> dict[str, Any]:
        api = self.api
        op = self.operation
        sub = self.subscription
        product = self.product
        return {
            "api": {
                "id": api.api_id,
                "name": api.name,
                "path": api.path,
                "protocols": list(api.protocols),
                "serviceUrl": None,
                "subscriptionKeyHeader": api.key_header,
                "subscriptionKeyQuery": api.key_query,
            },
            "deployment": {"region": model.region, "serviceName": model.service_name},
            "requestId": self.request_id,
            "timestamp": self.timestamp.isoformat(),
            "operation": None
            if op is None
            else {"id": op.operation_id, "method": op.method, "name": op.operation_id, "urlTemplate": op.url_template},
            "product": None
            if product is None
            else {
                "id": product.product_id,
                "name": product.name,
                "approvalRequired": product.approval_required,
                "subscriptionRequired": product.subscription_required,
                "subscriptionLimit": product.subscriptions_limit,
            },
            "subscription": None
            if sub is None
            else {
                "id": sub.sid,
                "name": sub.display_name,
                "key": self.subscription_key,
                "primaryKey": sub.primary_key,
                "secondaryKey": sub.secondary_key,
                "createdDate": self.timestamp.isoformat(),
            },
        }


def _response_text(response: Response) -> str | None:
    if response.body is not None:
        return response.body
    if response.chunks is not None:
        return b"".join(response.chunks).decode("utf-8", "replace")
    return None
