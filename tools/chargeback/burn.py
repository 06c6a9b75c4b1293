"""Budget burn: each consumer's cumulative spend and tokens per calendar month, against its budget and quota.

Spend includes PTU shares (what the consumer's use of provisioned capacity cost). Tokens include cache hits,
because the gateway's `azure-openai-token-limit` counts them before the cache answers (README, "Semantic cache"), so the
token burn is what the quota sees. Only monthly quotas are compared: a budget is always monthly, and a daily or
hourly quota has no month to burn.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .aggregation import UNUSED_PTU, Statement
from .pricing import Catalogue, ConsumerLimits

THRESHOLDS = (0.8, 1.0)


@dataclass
class MonthBurn:
    month: str  # YYYY-MM
    days: list[str] = field(default_factory=list)
    spend: list[float] = field(default_factory=list)  # cumulative, per day
    tokens: list[int] = field(default_factory=list)  # cumulative, per day


@dataclass
class ConsumerBurn:
    consumer: str
    limits: ConsumerLimits | None
    months: list[MonthBurn]

    @property
    def budget(self) -> float | None:
        return self.limits.budget if self.limits else None

    @property
    def monthly_quota(self) -> int | None:
        if self.limits and self.limits.quota_period == "Monthly":
            return self.limits.token_quota
        return None

    def peak_share(self) -> tuple[float | None, float | None]:
        """Highest month's share of the budget and of the quota (1.0 = all used)."""
        spend = max((m.spend[-1] for m in self.months if m.spend), default=0.0)
        tokens = max((m.tokens[-1] for m in self.months if m.tokens), default=0)
        budget, quota = self.budget, self.monthly_quota
        return (spend / budget if budget else None, tokens / quota if quota else None)


def burn(statement: Statement, catalogue: Catalogue) -> dict[str, ConsumerBurn]:
    daily_spend: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    daily_tokens: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in statement.rows:
        if r.consumer == UNUSED_PTU:
            continue
        daily_spend[r.consumer][r.day] += r.cost
        daily_tokens[r.consumer][r.day] += r.total_tokens + r.cache_hit_tokens
    result = {}
    for consumer in sorted(daily_spend):
        months: dict[str, MonthBurn] = {}
        spend_total: dict[str, float] = defaultdict(float)
        token_total: dict[str, int] = defaultdict(int)
        for day in sorted(daily_spend[consumer]):
            month = day[:7]
            m = months.setdefault(month, MonthBurn(month))
            spend_total[month] += daily_spend[consumer][day]
            token_total[month] += daily_tokens[consumer][day]
            m.days.append(day)
            m.spend.append(spend_total[month])
            m.tokens.append(token_total[month])
        result[consumer] = ConsumerBurn(consumer, catalogue.consumers.get(consumer), list(months.values()))
    return result
