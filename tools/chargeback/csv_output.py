"""`chargeback.csv`: one row per day, consumer, deployment and model, costs in the stack's currency."""

from __future__ import annotations

import csv
from pathlib import Path

from .aggregation import Statement

COLUMNS = (
    "day", "consumer", "deployment", "model", "requests", "cache_hits", "estimated_requests", "v1_records",
    "prompt_tokens", "cached_prompt_tokens", "completion_tokens", "reasoning_tokens", "total_tokens",
    "cache_hit_tokens", "ptu_tokens", "paygo_cost", "ptu_cost", "cost", "currency",
)
# Costs keep six decimals: a single small call costs a fraction of a cent, and rounding every row to the cent
# would make the statement's total drift from the sum of its calls.
COST_DECIMALS = 6


def write_csv(statement: Statement, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for r in statement.rows:
            writer.writerow((
                r.day, r.consumer, r.deployment, r.model, r.requests, r.cache_hits, r.estimated, r.v1_records,
                r.prompt_tokens, r.cached_prompt_tokens, r.completion_tokens, r.reasoning_tokens,
                r.total_tokens, r.cache_hit_tokens, r.ptu_tokens,
                f"{r.paygo_cost:.{COST_DECIMALS}f}", f"{r.ptu_cost:.{COST_DECIMALS}f}",
                f"{r.cost:.{COST_DECIMALS}f}", statement.currency,
            ))
    return path
