"""Benchmark of the offline plan (not a test): `python -m tools.bench`.

Times the program under the mock engine for `prod` and for generated large stacks (up to 30 OpenAI
accounts and 200 consumers) and prints resources per second, to show how the plan scales.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from typing import Any

from components.settings import PROJECT

from .harness import run_program
from .stack_config import load_stack_config
from .violations import collect

TARGETS = {"prod": 5.0, "large": 20.0}


def large_config(accounts: int, consumers: int) -> tuple[dict[str, str], list[str]]:
    """prod's configuration with `accounts` OpenAI accounts and `consumers` consumers."""
    flat, secrets = load_stack_config("prod")
    config: dict[str, Any] = {k: json.loads(v) if v and v[0] in "{[" else v for k, v in flat.items()}
    template = config[f"{PROJECT}:openai"]["accounts"]
    ptu, paygo = copy.deepcopy(template[0]), copy.deepcopy(template[1])
    generated = [ptu] + [dict(copy.deepcopy(paygo), name=f"paygo-{i}") for i in range(1, accounts)]
    config[f"{PROJECT}:openai"] = {"accounts": generated}
    routing = config[f"{PROJECT}:routing"]
    routing["pools"] = []  # every deployment gets its default pool over all accounts that host it
    base = config[f"{PROJECT}:consumers"][1]
    config[f"{PROJECT}:consumers"] = [config[f"{PROJECT}:consumers"][0]] + [
        dict(copy.deepcopy(base), name=f"team-{i:03d}", displayName=f"Team {i:03d}") for i in range(1, consumers)
    ]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, secrets


def timed(label: str, config: dict[str, str], secrets: list[str]) -> tuple[int, float]:
    """The whole offline plan: the program under the mock engine, then the guardrails and the policy lint."""
    start = time.perf_counter()
    recording = run_program("prod", config, secrets)
    collect(recording)
    elapsed = time.perf_counter() - start
    count = len(recording.resources)
    print(f"{label:<34} {count:>6} resources {elapsed:>7.2f} s {count / elapsed:>8.0f} resources/s")
    return count, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    flat, secrets = load_stack_config("prod")
    timed("warm-up (imports, first run)", flat, secrets)
    _, prod_seconds = timed("prod", flat, secrets)
    results = []
    for accounts, consumers in ((10, 66), (20, 133), (30, 200)):
        config, secrets = large_config(accounts, consumers)
        results.append(timed(f"{accounts} accounts, {consumers} consumers", config, secrets))
    large_seconds = results[-1][1]
    per_resource = [seconds / count for count, seconds in results]
    print(f"\nseconds per resource across sizes: {', '.join(f'{p * 1000:.2f} ms' for p in per_resource)}")
    print(f"prod: {prod_seconds:.2f} s (target < {TARGETS['prod']} s); "
          f"large: {large_seconds:.2f} s (target < {TARGETS['large']} s)")
    return 0 if prod_seconds < TARGETS["prod"] and large_seconds < TARGETS["large"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
