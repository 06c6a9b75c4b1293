"""Benchmark (not a test): `python -m tools.chargeback.bench [--records 1000000] [--keep DIR]`.

Generates a capture of usage records (4 partitions, a file per partition and 5 minutes, deflate as Capture
writes it, a mix of pay-as-you-go, PTU, streamed, cached and v1 records of 20 consumers), then times the whole
chargeback run on it (read, price, aggregate, CSV, HTML) and reports records per second and the peak resident
memory of the run, which stays flat because files are streamed one block at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from components.settings.gateway import PricingSettings

from .cli import run
from .pricing import Catalogue, ConsumerLimits, DeploymentOffer
from .reading import FolderSource, Period, write_capture_file

PARTITIONS = 4
PER_FILE = 25_000


def bodies(n: int, start: datetime, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for i in range(n):
        consumer = f"consumer-team-{rng.randrange(20):02d}"
        kind = rng.random()
        prompt, completion = rng.randrange(50, 4000), rng.randrange(10, 1000)
        record = {
            "schemaVersion": "2.0", "timestamp": (start + timedelta(milliseconds=i * 40)).isoformat() + "Z",
            "requestId": f"r-{seed}-{i}", "gatewayRegion": "Sweden Central", "consumerId": consumer,
            "subscriptionId": "s", "apiId": "azure-openai", "operationId": "ChatCompletions_Create", "api": "dated",
            "deploymentName": "chat", "backendId": "pool-chat", "backendTier": "ptu" if kind < 0.5 else "paygo",
            "servedRegion": "Sweden Central", "model": "gpt-4.1-mini-2025-04-14", "promptTokens": prompt,
            "cachedPromptTokens": prompt // 4, "completionTokens": completion, "reasoningTokens": 0,
            "totalTokens": prompt + completion, "tokenSource": "usage", "streamed": False, "cacheHit": False,
            "statusCode": 200, "clientIpHash": None,
        }
        if 0.85 <= kind < 0.92:
            record.update(streamed=True, tokenSource="estimate", model=None, promptTokens=None,
                          completionTokens=None, cachedPromptTokens=None)
        elif kind >= 0.97:
            record.update(tokenSource="cache", cacheHit=True, backendTier=None)
        elif 0.92 <= kind < 0.97:
            record = {k: v for k, v in record.items() if k not in ("api", "backendTier", "cachedPromptTokens",
                                                                      "reasoningTokens", "cacheHit")}
            record["schemaVersion"] = "1.0"
        yield json.dumps(record, separators=(",", ":")).encode()


def generate(root: Path, records: int) -> int:
    start = datetime(2026, 11, 1)
    files = 0
    per_partition = records // PARTITIONS
    for partition in range(PARTITIONS):
        written = 0
        window = start
        while written < per_partition:
            n = min(PER_FILE, per_partition - written)
            name = f"gw/token-usage/{partition}/{window:%Y/%m/%d/%H/%M/%S}.avro"
            write_capture_file(root / name, bodies(n, window, partition * 10_000_000 + written), codec="deflate")
            written += n
            window += timedelta(minutes=5)
            files += 1
    return files


def catalogue() -> Catalogue:
    return Catalogue(
        "USD", PricingSettings(currency="USD"),
        {"chat": [DeploymentOffer("ptu-1", "swedencentral", "ptu", "GlobalProvisionedManaged", "gpt-4.1-mini", 50),
                  DeploymentOffer("paygo-1", "swedencentral", "paygo", "GlobalStandard", "gpt-4.1-mini", 300)]},
        {f"consumer-team-{i:02d}": ConsumerLimits(f"team-{i:02d}", 500.0, 500_000_000, "Monthly") for i in range(20)},
        "benchmark catalogue (price table)",
    )


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.chargeback.bench")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument("--workers", type=int, default=2, help="reading processes (the CLI's default is 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        began = time.perf_counter()
        files = generate(root / "capture", args.records)
        generated = time.perf_counter() - began
        size = sum(p.stat().st_size for p in (root / "capture").rglob("*.avro"))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu_before = _cpu_seconds()
        began = time.perf_counter()
        statement, stats = run(FolderSource(root / "capture"), catalogue(), Period(), root / "out",
                               workers=args.workers)
        elapsed = time.perf_counter() - began
        cpu = _cpu_seconds() - cpu_before
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"capture: {stats.records:,} records in {files} files, {size / 1e6:.0f} MB (generated in {generated:.1f} s)")
    print(f"chargeback: {elapsed:.1f} s, {stats.records / elapsed:,.0f} records/s, {len(statement.rows)} rows, "
          f"total {statement.total:,.2f} {statement.currency}")
    # The machine may be shared: CPU time says what the run itself needed.
    print(f"cpu: {cpu:.1f} s over {args.workers} process(es), {stats.records / cpu:,.0f} records per CPU-second")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak RSS: {rss_before / 1024:.0f} MB before the run, {rss_after / 1024:.0f} MB after; "
          f"largest worker {children / 1024:.0f} MB ({args.workers} worker(s)); load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
