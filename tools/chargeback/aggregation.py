"""Adding up priced usage: one `Row` per day, consumer, deployment and model, with PTU cost shared by usage.

A PTU costs its hourly price whether it is used or not. Each hour's cost of a PTU pool (the provisioned
deployments behind one deployment name) is shared among the rows that sent tokens through it in that hour,
in proportion to their tokens (prompt + completion; cache hits never reach it). Hours of the period in which
nobody used the pool become rows of the consumer `UNUSED_PTU`, so the statement adds up to what Azure bills.
Per-row state is small and the number of rows is bounded by days x consumers x deployments x models, so
memory does not grow with the number of records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .pricing import Catalogue, price, ptu_hourly_cost, ptu_pools
from .reading import Period, Usage

UNUSED_PTU = "(unused PTU)"
Key = tuple[str, str, str, str]  # day, consumer, deployment, model


@dataclass
class Row:
    day: str
    consumer: str
    deployment: str
    model: str
    requests: int = 0
    cache_hits: int = 0
    estimated: int = 0
    v1_records: int = 0
    unpriced: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cache_hit_tokens: int = 0
    ptu_tokens: int = 0
    paygo_cost: float = 0.0
    ptu_cost: float = 0.0

    @property
    def key(self) -> Key:
        return (self.day, self.consumer, self.deployment, self.model)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost(self) -> float:
        return self.paygo_cost + self.ptu_cost


@dataclass
class Statement:
    currency: str
    rows: list[Row]
    # PTU pool -> hourly cost, or None when no price is known (then its cost is not in the statement).
    ptu_pools: dict[str, float | None] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None

    @property
    def total(self) -> float:
        return sum(r.cost for r in self.rows)


class Aggregator:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.rows: dict[Key, Row] = {}
        # (pool, hour) -> row key -> tokens sent through the pool in that hour.
        self.ptu_use: dict[tuple[str, datetime], dict[Key, int]] = defaultdict(lambda: defaultdict(int))
        self.unpriced_models: set[str] = set()
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, usage: Usage) -> None:
        priced = price(usage, self.catalogue)
        key = (usage.timestamp.date().isoformat(), usage.consumer, usage.deployment, priced.model)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = Row(*key)
        row.requests += 1
        if usage.version == "1.0":
            row.v1_records += 1
        if usage.cache_hit:
            row.cache_hits += 1
            row.cache_hit_tokens += usage.prompt + usage.completion
        else:
            if usage.source == "estimate":
                row.estimated += 1
            row.prompt_tokens += usage.prompt
            row.cached_prompt_tokens += usage.cached
            row.completion_tokens += usage.completion
            row.reasoning_tokens += usage.reasoning
            row.paygo_cost += priced.cost
            if priced.unpriced:
                row.unpriced += 1
                self.unpriced_models.add(priced.model)
            if priced.ptu_pool is not None:
                tokens = usage.prompt + usage.completion
                row.ptu_tokens += tokens
                hour = usage.timestamp.replace(minute=0, second=0, microsecond=0)
                self.ptu_use[(priced.ptu_pool, hour)][key] += tokens
        if self.first is None or usage.timestamp < self.first:
            self.first = usage.timestamp
        if self.last is None or usage.timestamp > self.last:
            self.last = usage.timestamp

    def add_all(self, usages: Iterable[Usage]) -> Aggregator:
        for usage in usages:
            self.add(usage)
        return self

    def statement(self, period: Period = Period()) -> Statement:
        pools = {pool: ptu_hourly_cost(self.catalogue, pool) for pool in ptu_pools(self.catalogue)}
        for (pool, _hour), shares in self.ptu_use.items():
            hourly = pools.get(pool)
            if hourly is None:
                continue
            total = sum(shares.values())
            for key, tokens in shares.items():
                # An hour with only zero-token calls shares its cost evenly among them.
                self.rows[key].ptu_cost += hourly * (tokens / total if total else 1 / len(shares))
        for pool, hourly in pools.items():
            if hourly:
                self._unused_hours(pool, hourly, period)
        rows = sorted(self.rows.values(), key=lambda r: r.key)
        return Statement(self.catalogue.currency, rows, pools, self.unpriced_models, self.first, self.last)

    def _unused_hours(self, pool: str, hourly: float, period: Period) -> None:
        hours = self._period_hours(period)
        if not hours:
            return
        deployment = pool.split("@", 1)[0]
        offers = [o for o in self.catalogue.deployments.get(deployment, []) if o.provisioned]
        model = offers[0].model if offers else deployment
        start, end = hours
        hour = start
        while hour <= end:
            if (pool, hour) not in self.ptu_use:
                key = (hour.date().isoformat(), UNUSED_PTU, deployment, model)
                row = self.rows.get(key)
                if row is None:
                    row = self.rows[key] = Row(*key)
                row.ptu_cost += hourly
            hour += timedelta(hours=1)

    def _period_hours(self, period: Period) -> tuple[datetime, datetime] | None:
        """First and last hour the PTU is paid for: the period's days, or the span of the records."""
        start = datetime.combine(period.start, datetime.min.time()) if period.start else self.first
        end = datetime.combine(period.end, datetime.min.time()) + timedelta(hours=23) if period.end else self.last
        if start is None or end is None:
            return None
        return start.replace(minute=0, second=0, microsecond=0), end.replace(minute=0, second=0, microsecond=0)
