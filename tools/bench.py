"""Benchmark of the offline plan (not a test): `python -m tools.bench`.

Times the program under the mock engine for `prod` and for generated large stacks (up to 30 OpenAI
accounts and 200 consumers) and prints resources per second, to show how the plan scales. Then times what the
policy lint's compile step adds to the prod plan: expressions only parsed (no compiler), compiled with an empty
cache (cold: one Mono compiler run), and compiled again (warm: the assembly is found by content hash).
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from components.settings import PROJECT

from .csharp import compiler
from .harness import run_program
from .policy_lint import compilation
from .stack_config import load_stack_config
from .violations import collect

TARGETS = {"prod": 5.0, "large": 20.0, "compile": 2.0}


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


@contextmanager
def compile_mode(mode: str) -> Iterator[None]:
    """`parsed`: as without Mono; `cold`: compile into an empty cache; `warm`: the normal cache."""
    available, cache_dir = compilation.mcs_available, compiler.CACHE_DIR
    with tempfile.TemporaryDirectory(prefix="bench-csharp-") as empty:
        if mode == "parsed":
            compilation.mcs_available = lambda: False
        elif mode == "cold":
            compiler.CACHE_DIR = Path(empty)
        try:
            yield
        finally:
            compilation.mcs_available, compiler.CACHE_DIR = available, cache_dir


def compile_step(flat: dict[str, str], secrets: list[str], repeat: int = 3) -> float:
    """Print the prod plan's checks (guardrails and lint) per compile mode, median of `repeat` runs, and the
    whole plan once per mode; returns the largest gain of the checks over `parsed`."""
    if not compiler.mcs_available():
        print(f"\ncompile step: not measured, {compiler.INSTALL_HINT}")
        return 0.0
    recording = run_program("prod", flat, secrets)
    modes = {"parsed": "only parsed (no compiler)", "cold": "compiled, cold cache", "warm": "compiled, warm cache"}
    print("\nprod plan, policy expressions (checks alone: median of 3; whole plan: once):")
    checks: dict[str, float] = {}
    for mode, label in modes.items():
        runs = []
        for _ in range(repeat):
            with compile_mode(mode):
                start = time.perf_counter()
                collect(recording)
                runs.append(time.perf_counter() - start)
        checks[mode] = sorted(runs)[len(runs) // 2]
        with compile_mode(mode):
            timed(f"  {label}", flat, secrets)
        print(f"  {'':<32} checks alone {checks[mode]:.3f} s")
    cold, warm = checks["cold"] - checks["parsed"], checks["warm"] - checks["parsed"]
    print(
        f"compile step adds {cold:+.2f} s cold, {warm:+.2f} s warm to the prod plan's checks "
        f"(target at most {TARGETS['compile']} s)"
    )
    return max(cold, warm)


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
    print(
        f"prod: {prod_seconds:.2f} s (target < {TARGETS['prod']} s); "
        f"large: {large_seconds:.2f} s (target < {TARGETS['large']} s)"
    )
    flat, secrets = load_stack_config("prod")
    gain = compile_step(flat, secrets)
    fast = prod_seconds < TARGETS["prod"] and large_seconds < TARGETS["large"]
    return 0 if fast and gain <= TARGETS["compile"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
