"""Benchmark of the emulator (not a test): `python -m tools.emulator.bench [--stack prod]`.

Sends chat completions through the emulated gateway with the stack's policies (prod: Entra ID check, content
safety, semantic cache lookup and store, adaptive limit, token metrics, spill-over retry, usage record), from
concurrent clients, non-streamed and streamed, each prompt distinct so the semantic cache never answers
(the count of cached answers is printed: it must be 0). Prints requests per second and the latency the
gateway adds per request (its time minus the time it waited for the simulated backends: Content Safety, the
cache's embeddings, the model), p50 and p95. Targets on 2 cores: at least 50 requests/s, p95 added latency
under 50 ms.

Before measuring, 20 requests of each mode warm up the one-off costs (Mono's JIT of each expression method on
its first call; some are reached only by streamed calls, some only by non-streamed ones). Nothing else carries
over: each mode starts from a reset gateway (empty semantic cache, fresh counters and breakers).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from typing import Any

import httpx2

from .gateway import Gateway
from .server import EmulatorServer

TARGET_RPS = 50.0
TARGET_P95_MS = 50.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _prompt(index: int) -> str:
    """Words of its own in every prompt: the cache's bag-of-words embedding never finds two prompts close."""
    return f"Question {index}: how do k{index}a, k{index}b, k{index}c and k{index}d relate?"


def _client(url: str, key: str, indexes: list[int], stream: bool, failures: Any, ready: Any, go: Any) -> None:
    """One load generator, in its own process so the emulator's measurement is not sharing its interpreter."""
    with httpx2.Client(timeout=30) as http:
        ready.release()
        go.wait()
        for index in indexes:
            body: dict[str, Any] = {
                "messages": [{"role": "user", "content": _prompt(index)}],
                "max_completion_tokens": 16,
            }
            if stream:
                body |= {"stream": True, "stream_options": {"include_usage": True}}
            if http.post(url, json=body, headers={"api-key": key}).status_code != 200:
                with failures.get_lock():
                    failures.value += 1


def run(server: EmulatorServer, *, requests: int, concurrency: int, stream: bool, offset: int = 0) -> dict[str, float]:
    gateway = server.gateway
    gateway.reset()
    key = next(iter(gateway.model.consumer_keys().values()))
    path = gateway.model.primary_api.path
    chat = next(d.name for a in gateway.model.accounts.values() for d in a.deployments if "embedding" not in d.model)
    url = f"{server.url}/{path}/deployments/{chat}/chat/completions?api-version=2024-10-21"
    context = multiprocessing.get_context("spawn")
    failures = context.Value("i", 0)
    ready, go = context.Semaphore(0), context.Event()
    indexes = list(range(offset, offset + requests))
    workers = [
        context.Process(target=_client, args=(url, key, indexes[i::concurrency], stream, failures, ready, go))
        for i in range(concurrency)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:  # every client has started its interpreter and imported its HTTP client
        ready.acquire()
    gateway.timings.clear()
    started = time.perf_counter()
    go.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    added = [total - backend for total, backend in gateway.timings]
    records = [json.loads(e["body"]) for events in gateway.eventhub.events.values() for e in events]
    return {
        "requests": requests,
        "errors": failures.value,
        "cacheHits": sum(1 for r in records if isinstance(r, dict) and r.get("cacheHit")),
        "rps": len(added) / elapsed,
        "p50": statistics.median(added),
        "p95": _percentile(added, 0.95),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.emulator.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--requests", type=int, default=300)
    # One client per core: the targets' operating point. More clients on 2 cores measure queueing as well
    # (latency = clients / throughput); the README gives the 4-client figures too.
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args(argv)
    server = EmulatorServer(Gateway.for_stack(args.stack)).start()
    try:
        # Warm-up, one-off costs only: Mono JIT-compiles each expression method on its first call, and a streamed
        # call reaches methods a non-streamed one does not (and the reverse); the connections to the simulated
        # accounts open. Each mode's measurement starts from an empty cache and fresh counters (run resets).
        for stream in (False, True):
            run(server, requests=20, concurrency=2, stream=stream, offset=10**6 + stream * 10**3)
        print(f"Emulated gateway of {args.stack}: {args.requests} requests, {args.concurrency} concurrent clients")
        print(f"{'mode':12} {'req/s':>8} {'added p50 ms':>13} {'added p95 ms':>13} {'errors':>7} {'cached':>7}  target")
        worst = True
        for stream in (False, True):
            result = run(
                server, requests=args.requests, concurrency=args.concurrency, stream=stream, offset=stream * 10**5
            )
            # A cache hit skips the backend section: the measurement would not be of the whole pipeline.
            ok = (
                result["rps"] >= TARGET_RPS
                and result["p95"] < TARGET_P95_MS
                and not result["errors"]
                and not result["cacheHits"]
            )
            worst = worst and ok
            print(
                f"{'streamed' if stream else 'non-streamed':12} {result['rps']:8.1f} {result['p50']:13.1f} "
                f"{result['p95']:13.1f} {int(result['errors']):7d} {int(result['cacheHits']):7d}  "
                f"{'met' if ok else 'MISSED'} "
                f"(>= {TARGET_RPS:.0f} req/s, p95 < {TARGET_P95_MS:.0f} ms)"
            )
    finally:
        server.stop()
    return 0 if worst else 1


if __name__ == "__main__":
    raise SystemExit(main())
