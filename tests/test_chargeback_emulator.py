"""Chargeback end to end: calls through the emulated prod gateway, its usage records as Event Hubs Capture
files, `python -m tools.chargeback` over them, and the statement's rows to the token."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator_support import fresh_target
from tests.support import stack_plan
from tools.chargeback.cli import main
from tools.chargeback.reading import write_capture_file
from tools.scenarios import Target

STACK = "prod"


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    yield from fresh_target(STACK)


@pytest.fixture(scope="module")
def statement(target: Target, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Drives a non-streamed call, a streamed call, a cache hit and an embeddings call, then charges them."""
    assert target.control is not None
    chat = target.consumers["customer-support"]
    client = target.client(chat)
    deployment = next(d for d in chat.deployments if d in target.chat_deployments)
    embeddings = next(d for d in chat.deployments if d in target.embedding_deployments)
    question = [{"role": "user", "content": "Name the largest moon of Saturn"}]
    first = client.chat.completions.create(model=deployment, messages=question, max_completion_tokens=16)  # type: ignore[arg-type]
    cached = client.chat.completions.create(model=deployment, messages=question, max_completion_tokens=16)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model=deployment,
        messages=[{"role": "user", "content": "Stream a haiku about autumn"}],
        max_completion_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    streamed_usage = [c.usage for c in stream if c.usage is not None][-1]
    vectors = client.embeddings.create(model=embeddings, input="Meter these words for chargeback")
    records = target.control.usage_records()
    assert [r["tokenSource"] for r in records] == ["usage", "cache", "estimate", "usage"], records
    root = tmp_path_factory.mktemp("capture")
    # Capture's layout: <namespace>/<hub>/<partition>/<yyyy>/<mm>/<dd>/<hh>/<mm>/<ss>.avro
    write_capture_file(
        root / "evhns/token-usage/0/2026/12/01/09/00/00.avro", [json.dumps(r).encode() for r in records]
    )
    plan = tmp_path_factory.mktemp("plan") / f"{STACK}.json"
    plan.write_text(json.dumps(stack_plan(STACK)))
    out = tmp_path_factory.mktemp("out")
    assert main([str(root), "--plan", str(plan), "--out", str(out), "--no-progress", "--strict"]) == 0
    with (out / "chargeback.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "rows": rows,
        "records": records,
        "first": first,
        "cached": cached,
        "streamed": streamed_usage,
        "embeddings": vectors,
        "deployment": deployment,
        "embeddings_deployment": embeddings,
    }


def _rows(statement: dict[str, Any], deployment: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = statement["rows"]
    return [r for r in rows if r["consumer"] == "consumer-customer-support" and r["deployment"] == deployment]


def test_the_chat_row_charges_the_exact_usage_and_the_stream_at_its_prompt_estimate(statement: dict[str, Any]) -> None:
    (row,) = _rows(statement, statement["deployment"])
    first, streamed = statement["first"].usage, statement["records"][2]
    assert (row["requests"], row["cache_hits"], row["estimated_requests"]) == ("3", "1", "1")
    assert int(row["prompt_tokens"]) == first.prompt_tokens + streamed["totalTokens"]
    assert int(row["completion_tokens"]) == first.completion_tokens
    assert int(row["total_tokens"]) == first.total_tokens + streamed["totalTokens"]
    # The stream's exact count is the LLM log's, above the estimate the record carries (a lower bound).
    assert streamed["totalTokens"] < statement["streamed"].total_tokens


def test_a_cache_hit_is_shown_apart_and_costs_nothing(statement: dict[str, Any]) -> None:
    (row,) = _rows(statement, statement["deployment"])
    assert int(row["cache_hit_tokens"]) == statement["cached"].usage.total_tokens


def test_the_chat_tokens_served_by_the_ptu_carry_its_cost(statement: dict[str, Any]) -> None:
    (row,) = _rows(statement, statement["deployment"])
    assert int(row["ptu_tokens"]) == int(row["total_tokens"])
    assert float(row["ptu_cost"]) > 0 and float(row["paygo_cost"]) == 0
    assert row["day"] == "2026-12-01" and row["consumer"] == "consumer-customer-support"


def test_the_embeddings_row_charges_the_reported_prompt_tokens_outside_the_ptu(statement: dict[str, Any]) -> None:
    (row,) = _rows(statement, statement["embeddings_deployment"])
    usage = statement["embeddings"].usage
    assert (int(row["requests"]), int(row["prompt_tokens"]), int(row["completion_tokens"])) == (
        1,
        usage.prompt_tokens,
        0,
    )
    assert int(row["total_tokens"]) == usage.total_tokens
    # Served by pay-as-you-go (its cost, six tokens at cents per million, rounds to 0.000000).
    assert int(row["ptu_tokens"]) == 0 and float(row["ptu_cost"]) == 0
