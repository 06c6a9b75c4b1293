"""How the gateway routes and governs tokens: backend pools, circuit breaker, token budgets, consumers."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import Field, PositiveFloat

from ..gateway_checks import (
    ALIAS_NAME_PATTERN,
    CONSUMER_NAME_PATTERN,
    GUID_PATTERN,
    ISO_DURATION_PATTERN,
    MAX_POOL_MEMBERS,
)
from ..gateway_inputs import BackendPool, PoolMember
from .base import Model, Problem, item_key
from .forms import Form, matching
from .prices import SKU_TYPES, DeploymentType, TokenPrice, load_price_table, model_family

if TYPE_CHECKING:
    from . import GatewaySettings

Strategy = Literal["roundRobin", "weighted", "priority"]
Tier = Literal["high", "low"]
QuotaPeriod = Literal["Hourly", "Daily", "Weekly", "Monthly", "Yearly"]
GUID_FORM = Form(GUID_PATTERN, "a GUID such as '00000000-0000-0000-0000-000000000000'")
CURRENCY = Form(r"^[A-Z]{3}$", "a three-letter ISO 4217 currency code in capitals, such as 'USD' or 'EUR'")
ISO_DURATION = Form(
    ISO_DURATION_PATTERN,
    "an ISO 8601 duration of days, hours, minutes and seconds, such as 'PT1M', 'PT30S' or 'PT1H'",
)
# A consumer's name becomes its product id (`consumer-<name>`), its subscription id and a KQL literal.
CONSUMER_NAME = Form(
    CONSUMER_NAME_PATTERN,
    "2 to 40 lowercase letters, digits or dashes, starting with a letter and not ending with a dash, "
    "such as 'team-alpha'",
)
PRICE_TABLE_NAME = "components/pricing/prices.json"
# Priority spill-over: provisioned capacity first, pay-as-you-go below it (lower number = served first).
TIER_PRIORITY = {"ptu": 1, "paygo": 2}


class StatusCodeRange(Model):
    min: int = Field(ge=200, le=599)
    max: int = Field(ge=200, le=599)


class CircuitBreakerSettings(Model):
    failure_count: int = Field(3, ge=1, le=1000)
    interval: str = matching(ISO_DURATION, "PT1M")
    trip_duration: str = matching(ISO_DURATION, "PT1M")
    status_code_ranges: list[StatusCodeRange] = Field(
        default_factory=lambda: [StatusCodeRange(min=429, max=429), StatusCodeRange(min=500, max=599)],
        min_length=1,
        max_length=10,
    )

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        for i, r in enumerate(self.status_code_ranges):
            if r.min > r.max:
                yield Problem(f"{key}.statusCodeRanges[{i}]", f"{r.min}-{r.max}", "min must not exceed max")
        if not any(r.min <= 429 <= r.max for r in self.status_code_ranges):
            yield Problem(
                f"{key}.statusCodeRanges",
                str([f"{r.min}-{r.max}" for r in self.status_code_ranges]),
                "must cover 429, or a throttled backend keeps receiving traffic",
            )


class PoolMemberSettings(Model):
    account: str
    weight: int = Field(1, ge=0, le=100)
    priority: int | None = Field(None, ge=0, le=100)


class PoolSettings(Model):
    deployment: str
    strategy: Strategy = "priority"
    # Omitted: every account that hosts the deployment.
    members: list[PoolMemberSettings] | None = None


class RoutingSettings(Model):
    default_strategy: Strategy = "priority"
    pools: list[PoolSettings] = Field(default_factory=list)
    circuit_breaker: CircuitBreakerSettings = Field(default_factory=CircuitBreakerSettings)
    # forward-request waits for response headers; idle connections beyond 240 s may be dropped by Azure.
    backend_timeout_seconds: int = Field(240, ge=30, le=240)
    # Names app teams may use for a deployment (in the dated path or the v1 body's model), alias -> deployment.
    aliases: dict[str, str] = Field(default_factory=dict, max_length=100)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        yield from self.circuit_breaker.problems(f"{key}.circuitBreaker", whole)
        hosted = whole.deployments_by_account()
        all_deployments = {d for names in hosted.values() for d in names}
        yield from self._alias_problems(f"{key}.aliases", all_deployments)
        seen = Counter(p.deployment for p in self.pools)
        for i, pool in enumerate(self.pools):
            at = item_key(f"{key}.pools", self.pools, i)
            if pool.deployment not in all_deployments:
                yield Problem(f"{at}.deployment", repr(pool.deployment),
                              f"no account deploys it (deployments: {', '.join(sorted(all_deployments))})")
            if seen[pool.deployment] > 1:
                yield Problem(f"{at}.deployment", repr(pool.deployment), "one pool per deployment")
            members = pool.members or []
            if pool.members is not None and not members:
                yield Problem(f"{at}.members", "[]", "a pool needs at least one member")
            if len(members) > MAX_POOL_MEMBERS:
                yield Problem(f"{at}.members", f"{len(members)} members",
                              f"a backend pool holds at most {MAX_POOL_MEMBERS}")
            for j, m in enumerate(members):
                if m.account not in hosted:
                    yield Problem(f"{item_key(f'{at}.members', members, j)}.account", repr(m.account),
                                  f"unknown account (accounts: {', '.join(hosted)})")
                elif pool.deployment not in hosted[m.account]:
                    yield Problem(f"{item_key(f'{at}.members', members, j)}.account", repr(m.account),
                                  f"does not deploy {pool.deployment!r} (it deploys: {', '.join(hosted[m.account])})")
            for account, n in Counter(m.account for m in members).items():
                if n > 1:
                    yield Problem(f"{at}.members", repr(account), "each account at most once per pool")
            if pool.strategy == "weighted" and members and all(m.weight == 0 for m in members):
                yield Problem(f"{at}.members", "all weights 0", "a weighted pool needs a positive weight")
        for deployment in sorted(all_deployments):
            if deployment in seen:
                continue
            hosts = [a for a, names in hosted.items() if deployment in names]
            if len(hosts) > MAX_POOL_MEMBERS:
                yield Problem(f"{key}.pools", repr(deployment),
                              f"{len(hosts)} accounts deploy it; a pool holds at most {MAX_POOL_MEMBERS}")


    def _alias_problems(self, key: str, deployments: set[str]) -> Iterable[Problem]:
        known = ", ".join(sorted(deployments))
        for alias, target in self.aliases.items():
            if not re.match(ALIAS_NAME_PATTERN, alias):
                yield Problem(key, repr(alias),
                              "an alias is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
            if alias in deployments:
                yield Problem(f"{key}.{alias}", repr(target),
                              f"{alias!r} is already a deployment name; an alias must not shadow a deployment")
            if target not in deployments:
                yield Problem(f"{key}.{alias}", repr(target), f"unknown deployment (deployments: {known})")


class TierSettings(Model):
    base_tokens_per_minute: int = Field(ge=1)
    # Fraction of the gateway's unused global budget a consumer of this tier may use on top of its base.
    share_of_unused: float = Field(ge=0, le=1)


class TokenLimitSettings(Model):
    global_tokens_per_minute: int = Field(ge=1000)
    high: TierSettings
    low: TierSettings

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        for tier in ("high", "low"):
            base = getattr(self, tier).base_tokens_per_minute
            if base > self.global_tokens_per_minute:
                yield Problem(f"{key}.{tier}.baseTokensPerMinute", str(base),
                              f"must not exceed globalTokensPerMinute ({self.global_tokens_per_minute})")
        if self.low.share_of_unused > self.high.share_of_unused:
            yield Problem(f"{key}.low.shareOfUnused", str(self.low.share_of_unused),
                          f"the low tier gets a smaller share than high ({self.high.share_of_unused})")


class ModelPrice(Model):
    """A stack's own price of a model (per million tokens), for every deployment type; overrides the table."""

    input_per_million: float = Field(gt=0)
    # None for embeddings, which bill input tokens only.
    output_per_million: float | None = Field(None, gt=0)
    cached_input_per_million: float | None = Field(None, ge=0)
    reasoning_per_million: float | None = Field(None, ge=0)

    @property
    def price(self) -> TokenPrice:
        return TokenPrice(self.input_per_million, self.output_per_million, self.cached_input_per_million,
                          self.reasoning_per_million)


class PricingSettings(Model):
    """The stack's currency and its departures from the price table (`pricing/prices.json`).

    Prices come from the table unless `models` names the model (a negotiated price, or a currency other than
    the table's); the table is used only when its currency is the stack's, since no exchange rates are applied.
    """

    currency: str = matching(CURRENCY)
    # Share of prompt (input) tokens in a consumer's traffic, to blend input and output prices.
    prompt_share: float = Field(0.75, ge=0, le=1)
    models: dict[str, ModelPrice] = Field(default_factory=dict)
    # Effective price of one PTU for one hour by deployment type (e.g. with a monthly or yearly reservation).
    provisioned_per_ptu_hour: dict[DeploymentType, PositiveFloat] = Field(default_factory=dict)

    def token_price(self, model: str, sku: str, region: str | None) -> TokenPrice | None:
        """Price of `model` (any version) as deployed with `sku` in `region`; None if neither source has one.

        A provisioned SKU gets the pay-as-you-go price of its deployment type: what its tokens would cost if
        they spilled over (the PTU itself is paid by the hour, see `ptu_per_hour`); where the table has no such
        offer, the model's dearest pay-as-you-go price, so a budget never buys more than it pays for.
        """
        override = self.models.get(model) or self.models.get(model_family(model))
        if override is not None:
            return override.price
        table = load_price_table()
        if table.currency != self.currency:
            return None
        kind, provisioned = SKU_TYPES[sku]
        found = table.token_price(model, kind, region)
        if found is None and provisioned:
            # No pay-as-you-go offer of that type there (gpt-5.4 has no regional one): the model's dearest.
            found = table.dearest_price(model, self.prompt_share)
        return found

    def ptu_per_hour(self, sku: str, region: str | None) -> float | None:
        kind = SKU_TYPES[sku][0]
        if kind in self.provisioned_per_ptu_hour:
            return self.provisioned_per_ptu_hour[kind]
        table = load_price_table()
        return table.ptu_per_hour(kind, region) if table.currency == self.currency else None


class BudgetSettings(Model):
    amount: float = Field(gt=0)
    currency: str = matching(CURRENCY)


class EntraIdSettings(Model):
    """Callers may present an Entra ID token instead of a subscription key."""

    enabled: bool = False
    tenant_id: str | None = matching(GUID_FORM, None)
    # What tokens must be issued for: v1 tokens carry the gateway app's ID URI (api://...), v2 tokens its
    # client id, so list both unless the app registration pins one token version.
    audiences: list[str] = Field(default_factory=list)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        uses = [c.name for c in whole.consumers if c.entra_client_app_ids]
        if not self.enabled:
            if uses:
                yield Problem(
                    f"{key}.enabled", "false", f"must be true: consumers {', '.join(uses)} list entraClientAppIds"
                )
            return
        if self.tenant_id is None:
            yield Problem(f"{key}.tenantId", "(missing)", "required when entraId.enabled is true")
        if not self.audiences:
            yield Problem(f"{key}.audiences", "[]", "at least one audience is required when entraId.enabled is true")
        if not uses:
            yield Problem(f"{key}.enabled", "true", "no consumer lists entraClientAppIds; disable it or map callers")


class KeyVaultReaderSettings(Model):
    """The app team's Entra principal that may read this consumer's key from the platform Key Vault."""

    # Object id of the team's group, service principal (e.g. its app's managed identity) or user.
    principal_id: str = matching(GUID_FORM)
    principal_type: Literal["Group", "ServicePrincipal", "User"]


class ConsumerSettings(Model):
    name: str = matching(CONSUMER_NAME)
    display_name: str | None = Field(None, max_length=100)
    tier: Tier
    tokens_per_minute: int = Field(ge=1)
    token_quota: int | None = Field(None, ge=1)
    token_quota_period: QuotaPeriod | None = None
    deployments: list[str] = Field(min_length=1)
    # A monthly spend limit; converted into a monthly token quota with the pricing table.
    monthly_budget: BudgetSettings | None = None
    # Entra ID client applications that call as this consumer (instead of with its subscription key).
    entra_client_app_ids: list[str] = Field(default_factory=list)
    # Set: the key is also written to a secret of the platform Key Vault that only this principal may read.
    key_vault_reader: KeyVaultReaderSettings | None = None

    @property
    def product_id(self) -> str:
        return f"consumer-{self.name}"


def consumer_problems(consumers: list[ConsumerSettings], key: str, whole: GatewaySettings) -> Iterable[Problem]:
    known = {d for names in whole.deployments_by_account().values() for d in names}
    app_ids: Counter[str] = Counter(a.lower() for c in consumers for a in c.entra_client_app_ids)
    for name, n in Counter(c.name for c in consumers).items():
        if n > 1:
            yield Problem(key, repr(name), "consumer names must be unique")
    for i, c in enumerate(consumers):
        at = item_key(key, consumers, i)
        if (c.token_quota is None) != (c.token_quota_period is None):
            yield Problem(f"{at}.tokenQuota", str(c.token_quota),
                          "tokenQuota and tokenQuotaPeriod are set together or not at all")
        for j, d in enumerate(c.deployments):
            if d not in known:
                yield Problem(f"{at}.deployments[{j}]", repr(d),
                              f"unknown deployment (deployments: {', '.join(sorted(known))})")
        for j, app_id in enumerate(c.entra_client_app_ids):
            if not re.match(GUID_PATTERN, app_id):
                yield Problem(f"{at}.entraClientAppIds[{j}]", repr(app_id), "must be an application (client) id GUID")
            elif app_ids[app_id.lower()] > 1:
                yield Problem(f"{at}.entraClientAppIds[{j}]", repr(app_id), "an application calls as one consumer only")
        yield from _budget_problems(c, at, whole)
        if c.tokens_per_minute > whole.token_limits.global_tokens_per_minute:
            yield Problem(f"{at}.tokensPerMinute", str(c.tokens_per_minute),
                          f"must not exceed tokenLimits.globalTokensPerMinute "
                          f"({whole.token_limits.global_tokens_per_minute})")


def _budget_problems(c: ConsumerSettings, at: str, whole: GatewaySettings) -> Iterable[Problem]:
    if c.monthly_budget is None:
        return
    pricing = whole.pricing
    if pricing is None:
        yield Problem(f"{at}.monthlyBudget", str(c.monthly_budget.amount),
                      "needs genai-gateway:pricing (prices per million tokens by model)")
        return
    if c.monthly_budget.currency != pricing.currency:
        yield Problem(f"{at}.monthlyBudget.currency", repr(c.monthly_budget.currency),
                      f"must be the pricing currency {pricing.currency!r} (no exchange rates are applied)")
    table = load_price_table()
    for model, sku, region in sorted(priced_deployments(c, whole)):
        if pricing.token_price(model, sku, region) is None:
            why = (f"the price table is in {table.currency}" if table.currency != pricing.currency
                   else f"the price table ({PRICE_TABLE_NAME}) has no {SKU_TYPES[sku][0]} price in {region}")
            yield Problem(f"{at}.monthlyBudget", str(c.monthly_budget.amount),
                          f"no price for model {model!r} ({sku} in {region}): {why}; "
                          f"set genai-gateway:pricing.models.{model}")
    if c.token_quota_period not in (None, "Monthly"):
        yield Problem(f"{at}.tokenQuotaPeriod", repr(c.token_quota_period),
                      "a monthly budget needs tokenQuotaPeriod Monthly or none")


def models_of(c: ConsumerSettings, whole: GatewaySettings) -> set[str]:
    """Model names behind the deployments a consumer may call."""
    return {model for model, _, _ in priced_deployments(c, whole)}


def priced_deployments(c: ConsumerSettings, whole: GatewaySettings) -> set[tuple[str, str, str]]:
    """(model, SKU, region) of every account deployment a consumer may call: what its tokens are priced by."""
    return {
        (d.model.name, d.sku, a.location)
        for a in whole.openai.accounts for d in a.deployments if d.name in c.deployments
    }


@dataclass(frozen=True)
class TokenQuota:
    tokens: int | None
    period: str | None
    # Tokens the budget buys, before the explicit quota (if any) caps it.
    from_budget: int | None = None


def effective_quota(c: ConsumerSettings, whole: GatewaySettings) -> TokenQuota:
    """The consumer's token quota: the explicit one, the budget's, or the smaller of both (monthly).

    Budget quota = floor(amount / max over the consumer's deployments of the blended price per token), where
    blended price = promptShare * input price + (1 - promptShare) * output price (per million / 1e6), each
    deployment priced by its model, deployment type and region (`PricingSettings.token_price`: the stack's
    override, else the price table). The most expensive one keeps the spend within budget whatever mix the
    consumer calls; cached input is priced as plain input here, so the quota never overestimates.
    """
    if c.monthly_budget is None or whole.pricing is None:
        return TokenQuota(c.token_quota, c.token_quota_period)
    pricing = whole.pricing
    prices = [pricing.token_price(m, sku, region) for m, sku, region in priced_deployments(c, whole)]
    price = max(p.blended_per_token(pricing.prompt_share) for p in prices if p is not None)
    from_budget = math.floor(c.monthly_budget.amount / price)
    tokens = min(from_budget, c.token_quota) if c.token_quota else from_budget
    return TokenQuota(tokens, "Monthly", from_budget)


def resolve_pools(whole: GatewaySettings) -> list[BackendPool]:
    """One pool per deployment name, with each member's priority and weight as the strategy decides (GatewayPolicies'
    `pools` input)."""
    hosted = whole.deployments_by_account()
    tiers = {a.name: a.tier for a in whole.openai.accounts}
    explicit = {p.deployment: p for p in whole.routing.pools}
    names = sorted({d for ds in hosted.values() for d in ds})
    pools: list[BackendPool] = []
    for deployment in names:
        pool = explicit.get(deployment) or PoolSettings(deployment=deployment, strategy=whole.routing.default_strategy)
        members = pool.members or [PoolMemberSettings(account=a) for a, ds in hosted.items() if deployment in ds]
        resolved: list[PoolMember] = []
        for m in members:
            if pool.strategy == "roundRobin":
                priority, weight = 1, 1
            elif pool.strategy == "weighted":
                priority, weight = 1, m.weight
            else:
                priority, weight = (m.priority if m.priority is not None else TIER_PRIORITY[tiers[m.account]]), m.weight
            resolved.append({"account": m.account, "priority": priority, "weight": weight})
        pools.append({"deployment": deployment, "strategy": pool.strategy, "members": resolved})
    return pools
