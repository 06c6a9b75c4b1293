"""Offline plan of a stack: `python -m tools.plan <stack>`.

Runs the program under Pulumi's mock engine with the stack's configuration, evaluates the checks, prints
a `pulumi preview`-like tree with a summary, and writes `build/plan/<stack>.json`.
Exit codes: 0 clean, 1 mandatory guardrail violation or lint error, 2 invalid settings or stack file,
3 the program itself failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from components.settings import SettingsError

from .guardrails import levels_used
from .harness import RecordedResource, Recording, run_stack
from .stack_config import PROJECT_DIR, StackFileError, esc_environments, known_stacks
from .violations import Violation, collect

LIMITS = (
    "Offline plan: the mock engine stands in for Azure. No provider validation (Azure may still reject a "
    "value), no diff against deployed state (every resource shows as a create), and values Azure computes "
    "at deployment show as [computed]."
)


def masked_message(recording: Recording, message: str) -> str:
    """A rule may quote a value; a secret in it is never printed."""
    for secret in recording.secrets:
        message = message.replace(secret, "[secret]")
    return message


def plan_document(recording: Recording, violations: list[Violation]) -> dict[str, Any]:
    stack_urn = recording.stack_urn
    return {
        "project": recording.project,
        "stack": recording.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "inputs": recording.masked(r.inputs),
                "dependencies": [d for d in r.dependencies if d != stack_urn],
                "protect": r.protect,
            }
            for r in sorted(recording.resources, key=lambda r: r.urn)
        ],
        "outputs": recording.masked(recording.outputs),
        "violations": [{**v.as_json(), "message": masked_message(recording, v.message)} for v in violations],
    }


def render_tree(recording: Recording) -> list[str]:
    by_parent: dict[str | None, list[RecordedResource]] = {}
    for r in recording.resources:
        by_parent.setdefault(r.parent, []).append(r)
    for children in by_parent.values():
        children.sort(key=lambda r: (r.custom, r.type, r.name))
    rows: list[tuple[str, str, str]] = [("", "pulumi:pulumi:Stack", f"{recording.project}-{recording.stack}")]

    def walk(parent: str | None, prefix: str) -> None:
        children = by_parent.get(parent, [])
        for i, r in enumerate(children):
            last = i == len(children) - 1
            flag = " [protect]" if r.protect else ""
            rows.append((prefix + ("└─ " if last else "├─ "), r.type, r.name + flag))
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    width = max(len(p) + len(t) for p, t, _ in rows) + 2
    lines = ["     Type".ljust(width + 5) + "Name"]
    for prefix, typ, name in rows:
        lines.append(" +   " + (prefix + typ).ljust(width) + name)
    return lines


def summary(recording: Recording) -> list[str]:
    counts = Counter(r.type for r in recording.resources if r.custom)
    components = sum(1 for r in recording.resources if not r.custom)
    lines = ["Resources:", f"    + {sum(counts.values())} to create ({components} components)"]
    for typ, n in sorted(counts.items()):
        lines.append(f"      {n:>3}  {typ}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"one of: {', '.join(known_stacks())}")
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build" / "plan", help="output folder")
    parser.add_argument("--quiet", action="store_true", help="print only a summary line and the violations")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="folder of Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)

    imports = esc_environments(args.stack, args.project_dir)
    try:
        recording = run_stack(args.stack, project_dir=args.project_dir)
    except SettingsError as error:
        if imports:
            print(esc_message(args.stack, imports, error), file=sys.stderr)
        else:
            print(f"error: stack {args.stack}: {error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, StackFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(f"error: the program failed under the mock engine for stack {args.stack} (see above)", file=sys.stderr)
        return 3
    violations = collect(recording)
    mandatory = [v for v in violations if v.level == "mandatory"]
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"{args.stack}.json"
    target.write_text(json.dumps(plan_document(recording, violations), indent=2) + "\n")
    shown = target.relative_to(PROJECT_DIR) if target.is_relative_to(PROJECT_DIR) else target

    esc_note = (
        f"note: imports Pulumi ESC environment(s) {', '.join(imports)}, which the offline plan cannot resolve: "
        "this plan uses only the stack file's own values"
        if imports
        else ""
    )
    if args.quiet:
        # Only what a CI log needs: one summary line and the violations.
        resources = sum(1 for r in recording.resources if r.custom)
        print(
            f"{args.stack}: {resources} resources, {len(mandatory)} mandatory violation(s), "
            f"{len(violations) - len(mandatory)} advisory; {levels_used(recording)}; plan {shown}"
        )
        if esc_note:
            print(f"    {esc_note}")
        print_violations(recording, violations)
        return 1 if mandatory else 0

    print(f"Previewing update ({args.stack}) offline, under the mock engine:\n")
    if esc_note:
        print(f"{esc_note}\n")
    print("\n".join(render_tree(recording)))
    print()
    print("\n".join(summary(recording)))
    print("\nOutputs:")
    print("\n".join(render_outputs(recording.masked(recording.outputs))))
    print(f"\nChecks: {len(mandatory)} mandatory violation(s), {len(violations) - len(mandatory)} advisory")
    print(f"    {levels_used(recording)}")
    print_violations(recording, violations)
    print(f"\n{LIMITS}\nPlan written to {shown}")
    return 1 if mandatory else 0


def esc_message(stack: str, imports: list[str], error: SettingsError) -> str:
    """Settings that fail because they live in an ESC environment: say so, instead of "missing" errors."""
    missing = [p.key for p in error.problems if p.value == "(missing)"]
    invalid = [p for p in error.problems if p.value != "(missing)"]
    lines = [
        f"error: stack {stack}: Pulumi.{stack}.yaml imports Pulumi ESC environment(s) {', '.join(imports)} "
        "(`environment:`), which the offline plan cannot resolve (only Pulumi Cloud does): it sees only the "
        "stack file's own values."
    ]
    if missing:
        lines.append(f"  not in the stack file, so expected from ESC: {', '.join(missing)}")
    if invalid:
        lines.append("  invalid in the stack file itself:")
        lines += [f"    {p}" for p in invalid]
    lines.append(
        "  To plan offline, keep a stack file with every setting (secrets may stay `secure:`), e.g. one the ESC "
        "environment's pulumiConfig is generated from; with Pulumi Cloud, `pulumi preview` resolves ESC."
    )
    return "\n".join(lines)


def print_violations(recording: Recording, violations: list[Violation]) -> None:
    for v in violations:
        message = masked_message(recording, v.message)
        print(f"    [{v.level}] {v.policy}: {message}" + (f"\n        at {v.urn}" if v.urn else ""))


def render_outputs(outputs: dict[str, Any], indent: str = "    ") -> list[str]:
    """Stack outputs as readable, indented YAML (one key a line, nested values below their key)."""
    text = yaml.safe_dump(outputs, sort_keys=True, default_flow_style=False, allow_unicode=True, width=200)
    return [indent + line for line in text.splitlines()]


if __name__ == "__main__":
    sys.exit(main())
