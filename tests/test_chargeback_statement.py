"""Chargeback, the statement: one CSV row per day, consumer, deployment and model, to the token and the cent.

Pay-as-you-go tokens priced by type (cached input and reasoning at their own rates), cache hits free, v1 records
read, PTU hours shared by the tokens each consumer sent and the unused rest reported, and rows that add up.
"""

from __future__ import annotations

from pathlib import Path

from tests.chargeback_support import (
    DAY,
    SEARCH,
    SUPPORT,
    Result,
    catalogue,
    cents,
    parse,
    record,
    run_single,
    write_capture,
)
from tools.chargeback.aggregation import UNUSED_PTU
from tools.chargeback.cli import run
from tools.chargeback.reading import FolderSource, Period


def test_csv_has_one_row_per_day_consumer_deployment_and_model(result: Result) -> None:
    assert set(result.rows) == {
        (SUPPORT, "chat", "gpt-4.1-mini"), (SUPPORT, "reason", "o4-mini"), (SEARCH, "chat", "gpt-4.1-mini"),
        (UNUSED_PTU, "chat", "gpt-4.1-mini"),
    }
    assert {r["day"] for r in result.rows.values()} == {DAY}


def test_tokens_of_each_type_add_up_per_row(result: Result) -> None:
    row = result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]
    # the non-streamed call + the streamed call's estimate (prompt only) + the PTU call; the cache hit apart
    assert int(row["requests"]) == 4
    assert int(row["prompt_tokens"]) == 1_000_000 + 2_000_000 + 2000
    assert int(row["cached_prompt_tokens"]) == 200_000
    assert int(row["completion_tokens"]) == 500_000 + 0 + 1000
    assert int(row["total_tokens"]) == 3_503_000
    assert (int(row["cache_hits"]), int(row["cache_hit_tokens"])) == (1, 400)
    assert int(row["estimated_requests"]) == 1
    assert int(row["ptu_tokens"]) == 3000


def test_pay_as_you_go_cost_prices_cached_input_at_its_own_rate(result: Result) -> None:
    row = result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]
    # (800k x 0.40 + 200k x 0.10 + 500k x 1.60) / 1M = 1.14; the streamed call's 2M estimated prompt tokens 0.80
    assert cents(row["paygo_cost"]) == 1.94


def test_a_cache_hit_costs_nothing(result: Result) -> None:
    only_cache = run_single(record(tokenSource="cache", cacheHit=True, promptTokens=300, completionTokens=100,
                                   totalTokens=400))
    assert float(only_cache["paygo_cost"]) == 0 and float(only_cache["cost"]) == 0
    assert int(only_cache["cache_hit_tokens"]) == 400 and int(only_cache["total_tokens"]) == 0


def test_reasoning_tokens_are_part_of_completion_and_priced_once(result: Result) -> None:
    row = result.rows[(SUPPORT, "reason", "o4-mini")]
    assert (int(row["completion_tokens"]), int(row["reasoning_tokens"])) == (1_000_000, 600_000)
    # 1M x 1.10 + 400k x 4.40 + 600k x 5.00 = 1.10 + 1.76 + 3.00
    assert cents(row["cost"]) == 5.86


def test_a_v1_record_is_read_and_priced_as_pay_as_you_go(result: Result) -> None:
    row = result.rows[(SEARCH, "chat", "gpt-4.1-mini")]
    assert int(row["v1_records"]) == 1
    # 100k x 0.40 + 50k x 1.60 = 0.04 + 0.08
    assert cents(row["paygo_cost"]) == 0.12


def test_ptu_hour_is_shared_by_the_tokens_each_consumer_sent(result: Result) -> None:
    # 15 PTU x 1.00 an hour; support sent 3000 of the hour's 4000 PTU tokens, search 1000
    assert cents(result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]["ptu_cost"]) == 11.25
    assert cents(result.rows[(SEARCH, "chat", "gpt-4.1-mini")]["ptu_cost"]) == 3.75


def test_ptu_hours_nobody_used_are_reported_as_unused(tmp_path: Path) -> None:
    root = write_capture(tmp_path / "capture")
    statement, _ = run(FolderSource(root), catalogue(), Period(parse(DAY), parse(DAY)), tmp_path / "out")
    [unused] = [r for r in statement.rows if r.consumer == UNUSED_PTU]
    assert round(unused.ptu_cost, 2) == 23 * 15.0


def test_the_statement_adds_up_to_its_rows(result: Result) -> None:
    rows = result.rows.values()
    assert all(cents(r["cost"]) == round(float(r["paygo_cost"]) + float(r["ptu_cost"]), 2) for r in rows)
    assert {r["currency"] for r in rows} == {"USD"}
