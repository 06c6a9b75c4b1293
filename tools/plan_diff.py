"""Compare two plan documents (build/plan/<stack>.json) resource by resource.

`python -m tools.plan_diff before.json after.json [--rename OLD=NEW ...]`: prints every URN only one side has,
and for URNs both have, which of inputs, parent, dependencies, protect and custom differ, then the outputs and
violations that differ. `--rename` rewrites a URN substring in the first document before comparing (the one
normalisation of a change chosen on purpose, e.g. a component's type token). Exit code 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _renamed(value: Any, renames: list[tuple[str, str]]) -> Any:
    text = json.dumps(value, sort_keys=True)
    for old, new in renames:
        text = text.replace(old, new)
    return json.loads(text)


def differences(before: dict[str, Any], after: dict[str, Any], renames: list[tuple[str, str]]) -> list[str]:
    before = _renamed(before, renames)
    old = {r["urn"]: r for r in before["resources"]}
    new = {r["urn"]: r for r in after["resources"]}
    lines = [f"- {urn}" for urn in sorted(set(old) - set(new))]
    lines += [f"+ {urn}" for urn in sorted(set(new) - set(old))]
    for urn in sorted(set(old) & set(new)):
        for key in ("type", "parent", "custom", "protect", "inputs"):
            if old[urn].get(key) != new[urn].get(key):
                lines.append(f"~ {urn}: {key}: {old[urn].get(key)!r} -> {new[urn].get(key)!r}")
        if sorted(old[urn].get("dependencies", [])) != sorted(new[urn].get("dependencies", [])):
            lines.append(f"~ {urn}: dependencies differ")
    for key in ("outputs", "violations"):
        if before.get(key) != after.get(key):
            lines.append(f"~ {key} differ")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan_diff", description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    args = parser.parse_args(argv)
    renames = [tuple(r.split("=", 1)) for r in args.rename]
    lines = differences(
        json.loads(args.before.read_text()), json.loads(args.after.read_text()), renames  # type: ignore[arg-type]
    )
    print("\n".join(lines) if lines else "no differences")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
