"""Helpers for the chargeback tests: a Capture of usage records with one of each case, the catalogue that prices it
(prices are overrides, so the expected amounts do not move with the price table), and a single-record run.

The `result` fixture (tests/conftest.py) is `run_capture`, run once for every module that reads the statement.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.settings.gateway import ModelPrice, PricingSettings
from tools.chargeback.aggregation import UNUSED_PTU
from tools.chargeback.cli import run
from tools.chargeback.pricing import Catalogue, ConsumerLimits, DeploymentOffer
from tools.chargeback.reading import FolderSource, Period, ReadStats, write_capture_file

DAY = "2026-11-03"
SUPPORT, SEARCH = "consumer-support", "consumer-search"


def record(**fields: Any) -> bytes:
    """A v2 usage record (schemas/usage-record.v2.json) of a non-streamed chat completion, with changes."""
    base: dict[str, Any] = {
        "schemaVersion": "2.0", "timestamp": f"{DAY}T10:15:00.1234567Z", "requestId": "r-1",
        "gatewayRegion": "Sweden Central", "consumerId": SUPPORT, "subscriptionId": "sub-1", "apiId": "azure-openai",
        "operationId": "ChatCompletions_Create", "api": "dated", "deploymentName": "chat", "backendId": "pool-chat",
        "backendTier": "paygo", "servedRegion": "Sweden Central", "model": "gpt-4.1-mini-2025-04-14",
        "promptTokens": 1_000_000, "cachedPromptTokens": 200_000, "completionTokens": 500_000,
        "reasoningTokens": 0, "totalTokens": 1_500_000, "tokenSource": "usage", "streamed": False,
        "cacheHit": False, "statusCode": 200, "clientIpHash": None,
    }
    base.update(fields)
    return json.dumps(base).encode()


V1 = json.dumps({
    "schemaVersion": "1.0", "timestamp": f"{DAY}T11:00:00Z", "requestId": "r-v1", "gatewayRegion": "Sweden Central",
    "consumerId": SEARCH, "subscriptionId": "sub-2", "apiId": "azure-openai", "operationId": "ChatCompletions_Create",
    "deploymentName": "chat", "backendId": "pool-chat", "promptTokens": 100_000, "completionTokens": 50_000,
    "totalTokens": 150_000, "tokenSource": "usage", "streamed": False, "statusCode": 200,
}).encode()

CAPTURE: dict[str, list[bytes | None]] = {
    # Partition 0, 10:15: a non-streamed call, a streamed one (estimate only), a cached answer, a malformed body.
    f"gw/token-usage/0/{DAY[:4]}/{DAY[5:7]}/{DAY[8:]}/10/15/00.avro": [
        record(),
        record(requestId="r-2", streamed=True, tokenSource="estimate", model=None, promptTokens=None,
               cachedPromptTokens=None, completionTokens=None, reasoningTokens=None, totalTokens=2_000_000),
        record(requestId="r-3", tokenSource="cache", cacheHit=True, backendTier=None, backendId=None,
               promptTokens=300, cachedPromptTokens=0, completionTokens=100, totalTokens=400),
        b'{"schemaVersion": "2.0", "timestamp": ',
    ],
    # Partition 1, 10:20: two PTU-served calls of two consumers in the same hour, a reasoning model, v1, v9.
    f"gw/token-usage/1/{DAY[:4]}/{DAY[5:7]}/{DAY[8:]}/10/20/00.avro": [
        record(requestId="r-4", backendTier="ptu", promptTokens=2000, cachedPromptTokens=0, completionTokens=1000,
               totalTokens=3000),
        record(requestId="r-5", consumerId=SEARCH, backendTier="ptu", promptTokens=800, cachedPromptTokens=0,
               completionTokens=200, totalTokens=1000),
        record(requestId="r-6", deploymentName="reason", model="o4-mini-2025-04-16", promptTokens=1_000_000,
               cachedPromptTokens=0, completionTokens=1_000_000, reasoningTokens=600_000, totalTokens=2_000_000),
        V1,
        record(requestId="r-7", schemaVersion="9.0"),
    ],
}


def catalogue() -> Catalogue:
    """Two deployments: `chat` on a Global PTU (15 PTUs) with Global pay-as-you-go spill-over, `reason` pay-as-you-go.

    Prices are stack overrides, so the expected amounts below do not move when the price table does."""
    pricing = PricingSettings(
        currency="USD",
        models={
            "gpt-4.1-mini": ModelPrice(input_per_million=0.40, cached_input_per_million=0.10, output_per_million=1.60),
            "o4-mini": ModelPrice(input_per_million=1.10, cached_input_per_million=0.275, output_per_million=4.40,
                                  reasoning_per_million=5.00),
        },
        provisioned_per_ptu_hour={"global": 1.0},
    )
    return Catalogue(
        currency="USD",
        pricing=pricing,
        deployments={
            "chat": [DeploymentOffer("ptu-1", "swedencentral", "ptu", "GlobalProvisionedManaged", "gpt-4.1-mini", 15),
                     DeploymentOffer("paygo-1", "swedencentral", "paygo", "GlobalStandard", "gpt-4.1-mini", 100)],
            "reason": [DeploymentOffer("paygo-1", "swedencentral", "paygo", "DataZoneStandard", "o4-mini", 50)],
        },
        consumers={SUPPORT: ConsumerLimits("support", budget=100.0, token_quota=10_000_000, quota_period="Monthly"),
                   SEARCH: ConsumerLimits("search", budget=None, token_quota=1_000_000, quota_period="Daily")},
        described_by="the test catalogue",
    )


def write_capture(root: Path) -> Path:
    for name, bodies in CAPTURE.items():
        write_capture_file(root / name, bodies, codec="deflate" if "/1/" in name else "null")
    return root


@dataclass
class Result:
    rows: dict[tuple[str, str, str], dict[str, str]]
    stats: ReadStats
    out: Path


def run_capture(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """The command run over CAPTURE with the test catalogue (the `result` fixture, once per session)."""
    root = write_capture(tmp_path_factory.mktemp("capture"))
    out = tmp_path_factory.mktemp("out")
    _, stats = run(FolderSource(root), catalogue(), Period(), out)
    with (out / "chargeback.csv").open(newline="") as f:
        rows = {(r["consumer"], r["deployment"], r["model"]): r for r in csv.DictReader(f)}
    return Result(rows, stats, out)


def cents(text: str) -> float:
    return round(float(text), 2)


def run_single(body: bytes) -> dict[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_capture_file(root / "c/gw/h/0/2026/11/03/10/00/00.avro", [body])
        run(FolderSource(root / "c"), catalogue(), Period(), root / "out")
        with (root / "out/chargeback.csv").open(newline="") as f:
            [row] = [r for r in csv.DictReader(f) if r["consumer"] != UNUSED_PTU]
        return row


def parse(text: str):  # type: ignore[no-untyped-def]
    from datetime import date

    return date.fromisoformat(text)
