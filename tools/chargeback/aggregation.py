"""Adding up priced usage: one `Row` per day, consumer, deployment and model, with PTU cost shared by usage.

A PTU costs its hourly price whether it is used or not. Each hour's cost of a PTU pool (the provisioned
deployments behind one deployment name) is shared among the rows that sent tokens through it in that hour,
in proportion to their tokens (prompt + completion; cache hits never reach it). Hours of the period in which
nobody used the pool become rows of the consumer `UNUSED_PTU`, so the statement adds up to what Azure bills.
Per-row state is small and the number of rows is bounded by days x consumers x deployments x models, so
memory does not grow with the number of records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .pricing import Catalogue, Pricer, ptu_hourly_cost, ptu_pools
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


SUMMED = tuple(f for f in Row.__dataclass_fields__ if f not in ("day", "consumer", "deployment", "model"))


@dataclass
class Statement:
    currency: str
    rows: list[Row]
    # PTU pool -> hourly cost, or None when no price is known (then its cost is not in the statement).
    ptu_pools: dict[str, float | None] = field(default_factory=dict)
    unpriced_models: set[str] = field(default_factory=set)
    # First and last hour of the records ("YYYY-MM-DDTHH").
    first: str | None = None
    last: str | None = None

    @property
    def total(self) -> float:
        return sum(r.cost for r in self.rows)


class Aggregator:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.rows: dict[Key, Row] = {}
        self.pricer = Pricer(catalogue)
        # (pool, hour "YYYY-MM-DDTHH") -> row key -> tokens sent through the pool in that hour.
        self.ptu_use: dict[tuple[str, str], dict[Key, int]] = {}
        self.unpriced_models: set[str] = set()
        # First and last hour seen ("YYYY-MM-DDTHH").
        self.first: str | None = None
        self.last: str | None = None

    def add(self, usage: Usage) -> None:
        priced = self.pricer.price(usage)
        key = (usage.day, usage.consumer, usage.deployment, priced.model)
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
                shares = self.ptu_use.setdefault((priced.ptu_pool, usage.hour), {})
                shares[key] = shares.get(key, 0) + tokens
        if self.first is None or usage.hour < self.first:
            self.first = usage.hour
        if self.last is None or usage.hour > self.last:
            self.last = usage.hour

    def add_all(self, usages: Iterable[Usage]) -> Aggregator:
        for usage in usages:
            self.add(usage)
        return self

    def merge(self, other: Aggregator) -> Aggregator:
        """Adds another aggregator's sums (one worker's files) into this one."""
        for key, theirs in other.rows.items():
            mine = self.rows.get(key)
            if mine is None:
                self.rows[key] = theirs
                continue
            for name in SUMMED:
                setattr(mine, name, getattr(mine, name) + getattr(theirs, name))
        for slot, shares in other.ptu_use.items():
            mine_shares = self.ptu_use.setdefault(slot, {})
            for key, tokens in shares.items():
                mine_shares[key] = mine_shares.get(key, 0) + tokens
        self.unpriced_models |= other.unpriced_models
        for hour in (other.first, other.last):
            if hour is not None:
                self.first = hour if self.first is None or hour < self.first else self.first
                self.last = hour if self.last is None or hour > self.last else self.last
        return self

    def __getstate__(self) -> dict[str, object]:
        # The pricer's memo is rebuilt where the aggregator is unpickled.
        return {k: v for k, v in self.__dict__.items() if k != "pricer"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.pricer = Pricer(self.catalogue)

    def statement(self, period: Period | None = None) -> Statement:
        period = period or Period()
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
            if (pool, hour.strftime("%Y-%m-%dT%H")) not in self.ptu_use:
                key = (hour.date().isoformat(), UNUSED_PTU, deployment, model)
                row = self.rows.get(key)
                if row is None:
                    row = self.rows[key] = Row(*key)
                row.ptu_cost += hourly
            hour += timedelta(hours=1)

    def _period_hours(self, period: Period) -> tuple[datetime, datetime] | None:
        """First and last hour the PTU is paid for: the period's days, or the span of the records."""
        seen_first = datetime.strptime(self.first, "%Y-%m-%dT%H") if self.first else None
        seen_last = datetime.strptime(self.last, "%Y-%m-%dT%H") if self.last else None
        start = datetime.combine(period.start, datetime.min.time()) if period.start else seen_first
        end = datetime.combine(period.end, datetime.min.time()) + timedelta(hours=23) if period.end else seen_last
        if start is None or end is None:
            return None
        return start, end
