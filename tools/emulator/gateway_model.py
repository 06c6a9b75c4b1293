"""The gateway the emulator runs, as data: its APIs, products, subscriptions, backends (with their circuit-breaker
rules and pool members), Cognitive Services accounts and deployments, and loggers. tools/emulator/model.py reads
them from the offline plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class StatusRange:
    min: int
    max: int


@dataclass(frozen=True)
class BreakerRule:
    """One circuit-breaker rule of a backend (Microsoft.ApiManagement backends, 2024-05-01)."""

    name: str
    count: int
    interval_seconds: float
    status_ranges: tuple[StatusRange, ...]
    trip_seconds: float
    accept_retry_after: bool

    def counts(self, status: int) -> bool:
        return any(r.min <= status <= r.max for r in self.status_ranges)


@dataclass(frozen=True)
class PoolMember:
    backend_id: str
    priority: int
    weight: int


@dataclass(frozen=True)
class Backend:
    backend_id: str
    type: str  # "Single" | "Pool"
    url: str | None
    rule: BreakerRule | None
    members: tuple[PoolMember, ...] = ()
    credential_headers: dict[str, list[str]] = field(default_factory=dict)
    # credentials.managedIdentity: (resource, client id or None for the system-assigned identity)
    managed_identity: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class Deployment:
    name: str
    model: str
    version: str
    sku: str
    capacity: int


@dataclass(frozen=True)
class Account:
    """A Cognitive Services account the plan declares (OpenAI or Content Safety)."""

    name: str  # the stack's account key (tag openaiAccount), else the Azure account name
    azure_name: str
    kind: str
    host: str
    region: str
    tier: str | None
    deployments: tuple[Deployment, ...]


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    subscription_required: bool
    approval_required: bool
    subscriptions_limit: int | None
    api_ids: tuple[str, ...]
    policy: str | None


@dataclass(frozen=True)
class Subscription:
    sid: str
    display_name: str
    scope_kind: str  # "product" | "api" | "all"
    scope_id: str
    active: bool
    primary_key: str = field(repr=False)
    secondary_key: str = field(repr=False)


@dataclass(frozen=True)
class Api:
    api_id: str
    name: str
    path: str
    protocols: tuple[str, ...]
    subscription_required: bool
    key_header: str
    key_query: str
    spec_url: str
    policy: str | None
    # Operations the plan declares next to the imported specification (ApiOperation resources).
    operations: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Logger:
    logger_id: str
    type: str
    event_hub: str | None


@dataclass
class GatewayModel:
    stack: str
    service_name: str
    region: str
    apis: dict[str, Api]
    products: dict[str, Product]
    subscriptions: dict[str, Subscription]
    fragments: dict[str, str]
    backends: dict[str, Backend]
    named_values: dict[str, str]
    loggers: dict[str, Logger]
    accounts: dict[str, Account]
    service_policy: str | None = None  # the global policy (apimanagement:Policy), if the plan sets one
    # APIs whose diagnostic enables LLM logging (`largeLanguageModel.logs: enabled`): ApiManagementGatewayLlmLog
    llm_logging: frozenset[str] = frozenset()
    # The address prefix of the App Gateway's subnet, when an App Gateway (WAF) is the gateway's ingress.
    app_gateway_subnet: str | None = None
    # The plan composes on an existing service it does not declare (model.py: its region is not in the plan).
    existing_service: bool = False

    @property
    def primary_api(self) -> Api:
        """The API at the shortest path (the one key callers use, /openai)."""
        return min(self.apis.values(), key=lambda a: (len(a.path), a.api_id))

    def api_for(self, path: str) -> tuple[Api, str] | None:
        """The API whose path is the longest prefix of the request path, and the rest of the path."""
        for api in sorted(self.apis.values(), key=lambda a: -len(a.path)):
            prefix = "/" + api.path if api.path else ""
            if path == prefix or path.startswith(prefix + "/"):
                return api, path[len(prefix) :]
        return None

    def consumer_keys(self) -> dict[str, str]:
        """Consumer (product's subscription display name stem: the sid without `-key`) -> primary key."""
        return {s.sid.removesuffix("-key"): s.primary_key for s in self.subscriptions.values()}
