"""Live check of a deployed stack: `python -m tools.smoke <stack>` runs the scenario suite against it.

The same scenarios (tools/scenarios, one module per area) run against the emulator in the tests; here they run
against the real gateway, with the official `openai` package, from the stack outputs
(`pulumi stack output --json --show-secrets`, or `--outputs FILE.json` with the same shape). Scenarios that need
the emulator's control API (throttling a backend, moving the clock, reading the usage event hub, minting Entra ID
tokens, setting content-safety verdicts) are skipped live; the rest check routing, the allow-list, keys,
streaming, keyless backends, the token limit and the cache on Azure itself.

Prints a table of scenario and PASS / FAIL / SKIP / KNOWN (a failure the scenario marks as a known issue of the
policies). Keys are never printed: every message is masked. Only the stack's `smoke` consumer's key is used
unless `--consumer` or `--all-consumers` says otherwise, so a run spends at most that consumer's tiny limits
(the token-limit scenario uses up its minute budget). Exit codes: 0 no scenario failed, 1 a scenario failed, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.settings import SettingsError
from tools.scenarios import SCENARIOS, Skip, Target
from tools.scenarios.base import API_VERSION
from tools.scenarios.target import build_target

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MASK = "***"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class SmokeConfigError(Exception):
    """Usage or configuration problem: exit code 2."""


class Redactor:
    """Masks every known secret in a text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*values)

    def add(self, *values: str) -> None:
        self._secrets.update(v for v in values if isinstance(v, str) and v)

    def __call__(self, text: object) -> str:
        result = str(text)
        for value in sorted(self._secrets, key=len, reverse=True):
            result = result.replace(value, MASK)
        return result

    def body(self, data: bytes) -> bytes:
        """A response body with the secrets masked, before anything is parsed, shortened or printed."""
        for value in sorted(self._secrets, key=len, reverse=True):
            data = data.replace(value.encode(), MASK.encode())
        return data


@dataclass
class Result:
    scenario: str
    result: str  # PASS, FAIL, SKIP or KNOWN
    detail: str


# --- stack outputs ----------------------------------------------------------------------------------


def outputs_from_pulumi(stack: str, timeout: float = 120.0) -> dict[str, Any]:
    cli = shutil.which("pulumi")
    if cli is None:
        raise SmokeConfigError(
            "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) and run "
            "`pulumi login`, or pass --outputs FILE.json"
        )
    command = [cli, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise SmokeConfigError("the Pulumi CLI could not be started; install it or pass --outputs FILE.json") from None
    except subprocess.TimeoutExpired:
        raise SmokeConfigError(f"`pulumi stack output` did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        # stderr only: stdout may hold secrets. The outputs are not parsed yet, so nothing to mask with.
        detail = " ".join((done.stderr or "").split())[-400:]
        hint = ""
        if "login" in detail.lower() or "access token" in detail.lower():
            hint = " (not logged in? run `pulumi login`)"
        elif "no stack named" in detail.lower() or "not found" in detail.lower():
            hint = " (does the stack exist? `pulumi stack ls`)"
        raise SmokeConfigError(f"`pulumi stack output --stack {stack}` failed{hint}: {detail or 'no message'}")
    try:
        document = json.loads(done.stdout)
    except ValueError:
        raise SmokeConfigError("`pulumi stack output --json` did not print JSON") from None
    if not isinstance(document, dict):
        raise SmokeConfigError("`pulumi stack output --json` did not print a JSON object")
    return document


def outputs_from_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise SmokeConfigError(f"cannot read outputs file {path}: {error.strerror or error}") from None
    except ValueError:
        raise SmokeConfigError(f"outputs file {path} is not valid JSON") from None
    if not isinstance(document, dict):
        raise SmokeConfigError(f"outputs file {path} must hold a JSON object (the stack outputs)")
    return document


# One secret output per consumer (the program never exports a map of every team's key).
KEY_OUTPUT_PREFIX = "consumerKey-"


# The stack's own smoke consumer (tiny limits, one chat deployment): the only key used unless told otherwise.
SMOKE_CONSUMER = "smoke"


def consumer_keys(outputs: dict[str, Any]) -> dict[str, Any]:
    """Consumer name -> its key, from the `consumerKey-<name>` outputs."""
    return {k[len(KEY_OUTPUT_PREFIX) :]: v for k, v in outputs.items() if k.startswith(KEY_OUTPUT_PREFIX)}


def only_consumers(outputs: dict[str, Any], names: list[str] | None, every: bool = False) -> dict[str, Any]:
    """The outputs with the keys of `names` only (default: the smoke consumer), so no team's budget is spent."""
    keys = consumer_keys(outputs)
    if every:
        return outputs
    chosen = names or [SMOKE_CONSUMER]
    unknown = [n for n in chosen if n not in keys]
    if unknown == [SMOKE_CONSUMER] and not names:
        raise SmokeConfigError(
            f"the stack has no {SMOKE_CONSUMER!r} consumer (README, *Live smoke check*): add one with tiny limits, or "
            "pass --consumer NAME (that consumer's limits are spent) or --all-consumers"
        )
    if unknown:
        raise SmokeConfigError(f"unknown consumer(s) {', '.join(unknown)} (with a key: {', '.join(sorted(keys))})")
    dropped = {f"{KEY_OUTPUT_PREFIX}{name}" for name in keys if name not in chosen}
    return {k: v for k, v in outputs.items() if k not in dropped}


def target_from_outputs(stack: str, outputs: dict[str, Any], timeout: float = 30.0) -> Target:
    base_url = outputs.get("openaiBaseUrl")
    if not base_url and outputs.get("gatewayUrl"):
        base_url = f"{str(outputs['gatewayUrl']).rstrip('/')}/openai"
    if not isinstance(base_url, str) or not base_url:
        raise SmokeConfigError("the stack outputs lack openaiBaseUrl (and gatewayUrl)")
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SmokeConfigError(f"openaiBaseUrl is not an http(s) URL: {base_url}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise SmokeConfigError("openaiBaseUrl uses plain http: keys are only sent over https (or to loopback)")

    keys = consumer_keys(outputs)
    if not keys:
        raise SmokeConfigError(
            f"the stack outputs lack {KEY_OUTPUT_PREFIX}<name> (secrets): read them with --show-secrets, or add "
            "them to the --outputs file"
        )
    if not all(isinstance(v, str) for v in keys.values()):
        raise SmokeConfigError(f"each {KEY_OUTPUT_PREFIX}<name> output must be that consumer's subscription key")
    if any(v in ("[secret]", "[secret-value]", "") for v in keys.values()):
        raise SmokeConfigError(f"{KEY_OUTPUT_PREFIX}<name> holds masked values: read the outputs with --show-secrets")

    described = outputs.get("consumers")
    if not isinstance(described, dict) or not described:
        raise SmokeConfigError("the stack outputs lack consumers (name -> deployments, tokensPerMinute)")
    deployments = outputs.get("deployments")
    if not isinstance(deployments, list) or not all(isinstance(d, str) for d in deployments):
        raise SmokeConfigError("the stack outputs lack deployments (a list of names)")

    root, _, api_path = base_url.rstrip("/").rpartition("/")
    if not root or urlsplit(root).hostname is None:
        raise SmokeConfigError(f"openaiBaseUrl must end with the API path: {base_url}")
    try:
        target = build_target(stack, outputs, keys, root, api_path)
    except (FileNotFoundError, ValueError, SettingsError) as error:
        raise SmokeConfigError(f"cannot read the settings of stack {stack}: {error}") from None
    if not target.consumers:
        raise SmokeConfigError(f"no consumer in the stack outputs has a {KEY_OUTPUT_PREFIX}<name> output")
    target.timeout = timeout
    return target


# --- running the scenarios ----------------------------------------------------------------------------


def run_scenarios(
    target: Target, redact: Redactor, areas: set[str] | None = None, skipped_areas: set[str] | None = None
) -> list[Result]:
    results = []
    # The limits scenarios use up the consumer's budget for the minute (live, no clock to move): they run last,
    # so the others do not depend on what budget is left after them.
    for name, scenario in sorted(SCENARIOS.items(), key=lambda item: (item[1].area == "limits", item[0])):
        if (areas and scenario.area not in areas) or (skipped_areas and scenario.area in skipped_areas):
            continue
        started = time.monotonic()
        try:
            scenario.run(target)
            result, detail = "PASS", ""
        except Skip as skip:
            result, detail = "SKIP", str(skip)
        except Exception as error:  # a scenario's failure, whatever raised it, is reported (masked), never raised
            detail = f"{type(error).__name__}: {error}"
            result = "KNOWN" if scenario.known_issue else "FAIL"
            if scenario.known_issue:
                detail = f"{scenario.known_issue} ({detail})"
        detail = " ".join(redact(detail).split())
        results.append(Result(name, result, f"{detail[:160]} [{time.monotonic() - started:.1f} s]".strip()))
    return results


def render_table(results: list[Result]) -> str:
    width = max([len("SCENARIO"), *(len(r.scenario) for r in results)])
    lines = [f"{'SCENARIO'.ljust(width)}  RESULT  DETAIL", f"{'-' * width}  ------  ------"]
    lines += [f"{r.scenario.ljust(width)}  {r.result.ljust(6)}  {r.detail}".rstrip() for r in results]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description="Run the scenario suite against a deployed gateway and report what it answered. "
        "Spends real tokens. Exit codes: 0 no scenario failed, 1 a scenario failed, 2 usage or configuration error.",
    )
    parser.add_argument("stack", help="Pulumi stack name (dev, prod, ...)")
    parser.add_argument("--outputs", type=Path, help="stack outputs as JSON instead of `pulumi stack output`")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    areas = sorted({s.area for s in SCENARIOS.values()})
    parser.add_argument("--area", action="append", choices=areas, help="run only these areas (repeatable)")
    parser.add_argument("--skip", action="append", choices=areas, help="do not run these areas (repeatable)")
    parser.add_argument(
        "--consumer", action="append", help=f"use only this consumer's key (repeatable; default {SMOKE_CONSUMER!r})"
    )
    parser.add_argument("--all-consumers", action="store_true", help="use every consumer's key (spends their limits)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    redact = Redactor()
    try:
        outputs = outputs_from_file(args.outputs) if args.outputs else outputs_from_pulumi(args.stack)
        redact.add(*(v for v in consumer_keys(outputs).values() if isinstance(v, str)))
        outputs = only_consumers(outputs, args.consumer, args.all_consumers)
        target = target_from_outputs(args.stack, outputs, args.timeout)
    except SmokeConfigError as error:
        print(f"smoke: {redact(error)}", file=sys.stderr)
        return EXIT_USAGE

    print(f"Smoke check of stack {args.stack!r}: {target.base_url}/{target.api_path} (API {API_VERSION})")
    print(
        f"{len(SCENARIOS)} scenarios, as consumer(s) {', '.join(sorted(target.consumers))}. "
        "Real requests: this spends tokens."
    )
    try:
        results = run_scenarios(target, redact, set(args.area or ()), set(args.skip or ()))
    except Exception as error:  # never let a traceback carry a key
        print(f"smoke: unexpected error: {type(error).__name__}: {redact(error)}", file=sys.stderr)
        return EXIT_FAILED
    print()
    print(render_table(results))
    counts = {k: sum(r.result == k for r in results) for k in ("PASS", "FAIL", "SKIP", "KNOWN")}
    print(
        f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped, {counts['KNOWN']} known issues"
    )
    return EXIT_FAILED if counts["FAIL"] else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
