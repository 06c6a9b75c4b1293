"""The inputs of GatewayPolicies: plain typed records any Pulumi program (in any language) can build.

`GatewayPoliciesArgs` holds ids, names and small records; no stack settings and no component objects. The
component reads it once through `gateway_model`, which checks what the policies rely on (a caller outside this
program has no settings validation in front of it) and gives the templates the values they render.
"""

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi

from .backend_ids import account_backend_id, pool_backend_id
from .circuit_breaker import DEFAULT_BREAKER, CircuitBreaker
from .gateway_checks import ACCOUNT_NAME_PATTERN, GatewayInputError, check_gateway_args, one_of
from .token_telemetry import USAGE_LOGGER_NAME

__all__ = ["GatewayInputError"]


class BackendAccount(TypedDict):
    """An Azure OpenAI account the gateway calls: one Single backend, with the circuit breaker."""

    key: str  # its logical name; the backend id is `openai-<key>`
    tier: str  # "ptu" or "paygo": the usage record's backendTier, the pools' default priorities
    region: str
    endpoint: pulumi.Input[str]  # https://<subdomain>.openai.azure.com/
    backend_url: pulumi.Input[str]  # the endpoint + "openai"
    # A pay-as-you-go account standing in for PTU (said in the backend's description).
    simulated: NotRequired[bool]


class PoolMember(TypedDict):
    account: str  # a BackendAccount key
    priority: int  # 0-100, lower first
    weight: int  # 0-100, among members of one priority


class BackendPool(TypedDict):
    """The pool of one deployment name across the accounts that host it."""

    deployment: str
    strategy: str  # "priority", "weighted" or "roundRobin": for titles; priorities and weights decide
    members: list[PoolMember]


class Routing(TypedDict, total=False):
    # Default: 3 failures (429, 5xx) within PT1M trip a backend for PT1M, longer per its Retry-After.
    circuit_breaker: CircuitBreaker
    # forward-request's timeout (30-240 s, default 240; Azure may drop idle connections beyond 240 s).
    backend_timeout_seconds: int
    # Names callers may use for a deployment (dated path or v1 body's model), alias -> deployment.
    aliases: dict[str, str]


class TierAllowance(TypedDict):
    base_tokens_per_minute: int
    share_of_unused: float  # 0-1 of the unused global budget, on top of the base


class TokenLimits(TypedDict):
    """The gateway-wide budget and the adaptive allowance of each consumer tier."""

    global_tokens_per_minute: int
    high: TierAllowance
    low: TierAllowance


class ConsumerQuota(TypedDict, total=False):
    tokens: int
    period: str  # "Hourly", "Daily", "Weekly", "Monthly" or "Yearly"
    # Tokens a month the consumer's currency budget buys, before an explicit quota caps it: reported in the
    # consumer's outputs, enforced through `tokens` (give both).
    from_budget: int


class Consumer(TypedDict):
    """An app team: its product and subscription, what it may call, its limits."""

    name: str  # letters, digits and dashes; the product is `consumer-<name>`, the subscription `<name>-key`
    tier: str  # "high" or "low"
    deployments: list[str]
    tokens_per_minute: int
    display_name: NotRequired[str]
    quota: NotRequired[ConsumerQuota]
    # Entra ID client applications that call as this consumer.
    entra_client_app_ids: NotRequired[list[str]]


class EntraIdCallers(TypedDict):
    """Callers with an Entra ID token instead of a key (given: the Entra ID APIs exist)."""

    tenant_id: str
    audiences: list[str]


class IncludedFragment(TypedDict):
    """A fragment another component owns (semantic cache, content safety) that the API policy includes."""

    fragment_id: str
    section: str  # "inbound" (after the Entra ID check) or "outbound" (before the usage record)
    # The fragment resource's id: the API policies wait for it.
    resource_id: pulumi.Input[str]


class GatewayPoliciesArgs(TypedDict):
    """Inputs of GatewayPolicies: plain values, no stack settings."""

    resource_group_name: pulumi.Input[str]
    # The API Management service; everything here waits for it (its id).
    apim_name: pulumi.Input[str]
    apim_id: pulumi.Input[str]
    # The gateway identity's client id, which authentication-managed-identity presents to Azure OpenAI.
    identity_client_id: pulumi.Input[str]
    app_insights_logger_id: pulumi.Input[str]
    # The Event Hubs logger of the usage records: its id makes the fragments wait for it; its name is a literal in
    # log-to-eventhub (no expressions there), TokenTelemetryHub's `usage-eventhub` unless given.
    usage_logger_id: pulumi.Input[str]
    accounts: list[BackendAccount]
    pools: list[BackendPool]
    token_limits: TokenLimits
    consumers: list[Consumer]
    usage_logger_name: NotRequired[str]
    routing: NotRequired[Routing]
    # HMAC the client IP in usage records (a bare SHA-256 of an IPv4 address is reversed by brute force).
    hash_client_ip: NotRequired[bool]
    sampling_percentage: NotRequired[float]
    # Client IPs are personal data: the API diagnostics log them only where the owner decides to.
    log_client_ip: NotRequired[bool]
    entra_id: NotRequired[EntraIdCallers]
    # In the order they run.
    included_fragments: NotRequired[list[IncludedFragment]]
    # With a WAF ingress: the App Gateway subnet (CIDR), whose connections carry the client in X-Forwarded-For.
    app_gateway_subnet: NotRequired[str]


# --- what the component and the templates read -----------------------------------------------------------

# As the settings check them (components/settings): names become ids, XML attribute values and KQL literals.
_ACCOUNT_NAME = re.compile(ACCOUNT_NAME_PATTERN)
TIERS = ("high", "low")
ACCOUNT_TIERS = ("ptu", "paygo")
SECTIONS = ("inbound", "outbound")
QUOTA_PERIODS = ("Hourly", "Daily", "Weekly", "Monthly", "Yearly")


@dataclass(frozen=True)
class Account:
    key: str
    tier: str
    region: str
    simulated: bool
    endpoint: pulumi.Input[str]
    backend_url: pulumi.Input[str]

    @property
    def backend_id(self) -> str:
        return account_backend_id(self.key)


@dataclass(frozen=True)
class Member:
    account: str
    priority: int
    weight: int


@dataclass(frozen=True)
class Pool:
    deployment: str
    strategy: str
    members: tuple[Member, ...]

    @property
    def backend_id(self) -> str:
        return pool_backend_id(self.deployment)


@dataclass(frozen=True)
class Quota:
    tokens: int | None
    period: str | None
    from_budget: int | None = None


@dataclass(frozen=True)
class ConsumerPolicy:
    """What the policy templates need of a consumer."""

    name: str
    display_name: str
    tier: str
    deployments: tuple[str, ...]
    tokens_per_minute: int
    quota: Quota
    entra_client_app_ids: tuple[str, ...]

    @property
    def product_id(self) -> str:
        return f"consumer-{self.name}"

    @property
    def subscription_id(self) -> str:
        return subscription_sid(self.name)


def subscription_sid(consumer: str) -> str:
    return f"{consumer}-key"


@dataclass(frozen=True)
class Allowance:
    base_tokens_per_minute: int
    share_of_unused: float


@dataclass(frozen=True)
class GatewayModel:
    accounts: tuple[Account, ...]
    pools: tuple[Pool, ...]
    breaker: CircuitBreaker
    backend_timeout_seconds: int
    aliases: dict[str, str]
    global_tokens_per_minute: int
    allowances: dict[str, Allowance]
    consumers: tuple[ConsumerPolicy, ...]
    entra_id: EntraIdCallers | None
    included: tuple[IncludedFragment, ...]
    hash_client_ip: bool
    sampling_percentage: float
    log_client_ip: bool
    usage_logger_name: str
    app_gateway_subnet: str | None


def _accounts(args: GatewayPoliciesArgs) -> tuple[Account, ...]:
    accounts = []
    for i, a in enumerate(args["accounts"]):
        if not _ACCOUNT_NAME.match(a["key"]):
            raise GatewayInputError(f"accounts[{i}].key", a["key"], "lower-case letters, digits and dashes")
        accounts.append(Account(
            a["key"], one_of(f"accounts[{i}].tier", a["tier"], ACCOUNT_TIERS), a["region"],
            a.get("simulated", False), a["endpoint"], a["backend_url"],
        ))
    if not accounts:
        raise GatewayInputError("accounts", [], "at least one account is required")
    return tuple(accounts)


def _pools(args: GatewayPoliciesArgs, accounts: tuple[Account, ...]) -> tuple[Pool, ...]:
    keys = {a.key for a in accounts}
    pools = []
    for i, p in enumerate(args["pools"]):
        members = []
        for j, m in enumerate(p["members"]):
            if m["account"] not in keys:
                raise GatewayInputError(f"pools[{i}].members[{j}].account", m["account"],
                                        f"must be one of the accounts: {', '.join(sorted(keys))}")
            for field, value in (("priority", m["priority"]), ("weight", m["weight"])):
                if not 0 <= value <= 100:
                    raise GatewayInputError(f"pools[{i}].members[{j}].{field}", value, "an integer from 0 to 100")
            members.append(Member(m["account"], m["priority"], m["weight"]))
        if not members:
            raise GatewayInputError(f"pools[{i}].members", [], "a pool needs at least one member")
        pools.append(Pool(p["deployment"], p["strategy"], tuple(members)))
    return tuple(pools)


def _quota(key: str, record: ConsumerQuota | None) -> Quota:
    if record is None:
        return Quota(None, None)
    tokens, period = record.get("tokens"), record.get("period")
    if (tokens is None) != (period is None):
        raise GatewayInputError(key, dict(record), "tokens and period go together")
    if period is not None:
        one_of(f"{key}.period", period, QUOTA_PERIODS)
    return Quota(tokens, period, record.get("from_budget"))


def _consumers(args: GatewayPoliciesArgs, deployments: set[str]) -> tuple[ConsumerPolicy, ...]:
    consumers = []
    for i, c in enumerate(args["consumers"]):
        unknown = sorted(set(c["deployments"]) - deployments)
        if unknown:
            raise GatewayInputError(f"consumers[{i}].deployments", unknown,
                                    f"every deployment needs a pool: {', '.join(sorted(deployments))}")
        consumers.append(ConsumerPolicy(
            name=c["name"],
            display_name=c.get("display_name") or c["name"],
            tier=one_of(f"consumers[{i}].tier", c["tier"], TIERS),
            deployments=tuple(c["deployments"]),
            tokens_per_minute=c["tokens_per_minute"],
            quota=_quota(f"consumers[{i}].quota", c.get("quota")),
            entra_client_app_ids=tuple(c.get("entra_client_app_ids", [])),
        ))
    return tuple(consumers)


def gateway_model(args: GatewayPoliciesArgs) -> GatewayModel:
    """The Args as the component and its templates read them; raises GatewayInputError on what cannot work."""
    check_gateway_args(args)
    accounts = _accounts(args)
    pools = _pools(args, accounts)
    routing, limits = args.get("routing", {}), args["token_limits"]
    included = tuple(args.get("included_fragments", []))
    for i, f in enumerate(included):
        one_of(f"included_fragments[{i}].section", f["section"], SECTIONS)
    timeout = routing.get("backend_timeout_seconds", 240)
    if not 30 <= timeout <= 240:
        raise GatewayInputError("routing.backend_timeout_seconds", timeout, "from 30 to 240 seconds")
    return GatewayModel(
        accounts=accounts,
        pools=pools,
        breaker=routing.get("circuit_breaker", DEFAULT_BREAKER),
        backend_timeout_seconds=timeout,
        aliases=dict(routing.get("aliases", {})),
        global_tokens_per_minute=limits["global_tokens_per_minute"],
        allowances={t: Allowance(a["base_tokens_per_minute"], a["share_of_unused"])
                    for t, a in (("high", limits["high"]), ("low", limits["low"]))},
        consumers=_consumers(args, {p.deployment for p in pools}),
        entra_id=args.get("entra_id"),
        included=included,
        hash_client_ip=args.get("hash_client_ip", False),
        sampling_percentage=args.get("sampling_percentage", 100.0),
        log_client_ip=args.get("log_client_ip", False),
        usage_logger_name=args.get("usage_logger_name", USAGE_LOGGER_NAME),
        app_gateway_subnet=args.get("app_gateway_subnet"),
    )
