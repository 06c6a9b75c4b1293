"""What a request cost: the stack's deployments and consumers (`Catalogue`) and the rules that price a `Usage`.

Pricing rules (README, "Chargeback"):
- **Pay-as-you-go** tokens are priced per million by the model, deployment type (from the deployment's SKU) and
  region of the account that served them: `(prompt - cached) * input + cached * cachedInput +
  (completion - reasoning) * output + reasoning * reasoningPrice`. Cached prompt tokens are part of the prompt
  and reasoning tokens part of the completion (as in OpenAI's `usage`), so no token is charged twice.
- **Cache hits** (`tokenSource: cache`) called no model: they cost nothing; their tokens are reported apart.
- **Streamed calls** priced from the token-limit policy's estimate (`tokenSource: estimate`) carry the prompt
  estimate only; their cost is a lower bound and the report counts them.
- **PTU-served** calls (v2 `backendTier: ptu` on a provisioned deployment) cost no per-token price: the PTU's
  hourly cost (PTUs x price per PTU-hour) is shared in each hour by the tokens each consumer sent through it
  (aggregation.py); hours in which nobody used it are reported as unallocated PTU cost.
- A **v1 record** has no backend tier: it is priced as pay-as-you-go where the deployment has any pay-as-you-go
  capacity (which overstates what PTU-served v1 calls cost) and shares the PTU otherwise; the report counts
  v1 records.
- When several accounts could have served a request (a pool), the one in the record's `servedRegion` is
  chosen; if that leaves more than one, the dearest, so a statement never understates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from components.settings.gateway import PricingSettings, effective_quota
from components.settings.prices import SKU_TYPES, TokenPrice, load_price_table, model_family

from .reading import Usage


@dataclass(frozen=True)
class DeploymentOffer:
    """One deployment on one account: what serves a deployment name there, and at what price."""

    account: str
    region: str
    tier: str
    sku: str
    model: str
    capacity: int

    @property
    def provisioned(self) -> bool:
        return SKU_TYPES[self.sku][1]


@dataclass(frozen=True)
class ConsumerLimits:
    """A consumer's monthly money budget and token quota, for budget burn."""

    name: str
    budget: float | None = None
    token_quota: int | None = None
    quota_period: str | None = None


@dataclass
class Catalogue:
    currency: str
    pricing: PricingSettings
    # Deployment name -> its deployments on every account.
    deployments: dict[str, list[DeploymentOffer]] = field(default_factory=dict)
    # Consumer id as records carry it (`consumer-<name>`) -> limits.
    consumers: dict[str, ConsumerLimits] = field(default_factory=dict)
    described_by: str = "the price table only (no stack: Global Standard prices, model from the record)"

    def offers_for(self, usage: Usage) -> list[DeploymentOffer]:
        offers = self.deployments.get(usage.deployment, [])
        if usage.tier is not None:
            offers = [o for o in offers if o.tier == usage.tier] or offers
        else:
            # v1: no tier; price as pay-as-you-go (see the module docstring).
            offers = [o for o in offers if not o.provisioned] or offers
        if usage.served_region is not None:
            offers = [o for o in offers if o.region == _region(usage.served_region)] or offers
        return offers


def _region(served: str) -> str:
    # x-ms-region carries the display name ("Sweden Central"); the settings use the programmatic name.
    return served.replace(" ", "").lower()


class Priced(NamedTuple):
    """How one request is charged: per token (`cost`) or as a share of a PTU pool (`ptu_pool`).
    A tuple, not a frozen dataclass: one is made per record, and tuples are several times cheaper."""

    model: str
    cost: float
    ptu_pool: str | None = None
    unpriced: str | None = None


def price(usage: Usage, catalogue: Catalogue) -> Priced:
    """The model and the per-token cost of one request, or the PTU pool that shares its cost."""
    return Pricer(catalogue).price(usage)


class Pricer:
    """`price` with the lookups memoised: what a request is charged by depends only on its deployment, tier,
    served region, model and whether it was a cache hit, of which a capture has few combinations."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.rules: dict[tuple[str, str | None, str | None, str | None, bool],
                         tuple[str, list[TokenPrice], str | None, str | None]] = {}

    def price(self, usage: Usage) -> Priced:
        key = (usage.deployment, usage.tier, usage.served_region, usage.model, usage.cache_hit)
        rule = self.rules.get(key)
        if rule is None:
            rule = self.rules[key] = self._rule(usage)
        model, prices, pool, unpriced = rule
        if not prices:
            return Priced(model, 0.0, pool, unpriced)
        args = (usage.prompt, usage.cached, usage.completion, usage.reasoning)
        cost = prices[0].cost(*args) if len(prices) == 1 else max(p.cost(*args) for p in prices)
        return Priced(model, cost)

    def _rule(self, usage: Usage) -> tuple[str, list[TokenPrice], str | None, str | None]:
        catalogue = self.catalogue
        offers = catalogue.offers_for(usage)
        model = model_family(usage.model) if usage.model else (offers[0].model if offers else usage.deployment)
        if usage.cache_hit:
            return model, [], None, None
        if offers and all(o.provisioned for o in offers):
            return model, [], ptu_pool_key(usage.deployment, offers), None
        pairs: list[tuple[str, str | None]] = [(o.sku, o.region) for o in offers] or [("GlobalStandard", None)]
        prices = [p for sku, region in pairs if (p := catalogue.pricing.token_price(model, sku, region)) is not None]
        return model, prices, None, (None if prices else f"no price for {model}")


def ptu_pool_key(deployment: str, offers: list[DeploymentOffer]) -> str:
    return f"{deployment}@" + "+".join(sorted(o.account for o in offers))


def ptu_hourly_cost(catalogue: Catalogue, pool: str) -> float | None:
    """PTUs x price per PTU-hour, summed over the provisioned deployments of a pool."""
    deployment, accounts = pool.split("@", 1)
    total = 0.0
    for o in catalogue.deployments.get(deployment, []):
        if o.account in accounts.split("+"):
            hourly = catalogue.pricing.ptu_per_hour(o.sku, o.region)
            if hourly is None:
                return None
            total += o.capacity * hourly
    return total


def ptu_pools(catalogue: Catalogue) -> list[str]:
    """Every PTU pool of the stack: the provisioned deployments of each deployment name."""
    pools = []
    for name, offers in sorted(catalogue.deployments.items()):
        provisioned = [o for o in offers if o.provisioned]
        if provisioned:
            pools.append(ptu_pool_key(name, provisioned))
    return pools


def catalogue_from_stack(stack: str, project_dir: Path | None = None) -> Catalogue:
    """Deployments, prices (the stack's overrides on the table) and consumers' limits of `Pulumi.<stack>.yaml`."""
    from components.settings import load_settings
    from tools.stack_config import PROJECT_DIR, load_stack_config

    config, secret_keys = load_stack_config(stack, project_dir or PROJECT_DIR)
    settings = load_settings(config, secret_keys)
    table = load_price_table()
    pricing = settings.pricing or PricingSettings(currency=table.currency)
    deployments: dict[str, list[DeploymentOffer]] = {}
    for a in settings.openai.accounts:
        for d in a.deployments:
            # A simulated PTU is a Standard deployment: priced per token by its SKU, whatever its tier.
            deployments.setdefault(d.name, []).append(
                DeploymentOffer(a.name, a.location, a.tier, d.sku, d.model.name, d.capacity)
            )
    consumers = {}
    for c in settings.consumers:
        quota = effective_quota(c, settings)
        consumers[c.product_id] = ConsumerLimits(
            c.name, c.monthly_budget.amount if c.monthly_budget else None, quota.tokens, quota.period
        )
    return Catalogue(pricing.currency, pricing, deployments, consumers, f"stack {stack} (Pulumi.{stack}.yaml)")


def catalogue_from_plan(path: Path) -> Catalogue:
    """The same from an offline plan (`build/plan/<stack>.json`): its `openaiAccounts` and `consumers` outputs.

    A plan carries no price overrides: prices are the table's, in its currency."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    outputs = document.get("outputs") or {}
    accounts = outputs.get("openaiAccounts")
    if not isinstance(accounts, list):
        raise ValueError(f"{path}: no openaiAccounts output; is it a plan of this project?")
    table = load_price_table()
    pricing = PricingSettings(currency=table.currency)
    deployments: dict[str, list[DeploymentOffer]] = {}
    for a in accounts:
        for d in a.get("deployments", []):
            deployments.setdefault(d["name"], []).append(
                DeploymentOffer(a["name"], a["region"], a["tier"], d["sku"], d["model"], int(d["capacity"]))
            )
    consumers = {}
    for name, c in (outputs.get("consumers") or {}).items():
        budget = c.get("monthlyBudget") or {}
        amount = budget.get("amount") if budget.get("currency") == table.currency else None
        quota = c.get("tokenQuota")
        consumers[c.get("productId", f"consumer-{name}")] = ConsumerLimits(
            name, amount, int(quota) if isinstance(quota, (int, float)) else None, c.get("tokenQuotaPeriod")
        )
    return Catalogue(pricing.currency, pricing, deployments, consumers, f"plan {path.name} (table prices)")


def catalogue_without_stack() -> Catalogue:
    table = load_price_table()
    return Catalogue(table.currency, PricingSettings(currency=table.currency))
