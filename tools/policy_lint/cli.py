"""The command line: `python -m tools.policy_lint FILE.xml ...` lints and compiles single documents."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..policy_expressions import FoundExpression
from . import compilation
from .document import lint_document
from .model import Kind, LintError, References


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.policy_lint",
        description="Lint APIM policy documents (.xml files) offline. Exit 1 on any error.",
    )
    parser.add_argument("files", nargs="+", type=Path, help="policy documents or fragments (.xml)")
    parser.add_argument(
        "--kind",
        choices=["fragment", "api", "product", "operation", "global"],
        help="document kind (default: fragment when the root is <fragment>, else api)",
    )
    parser.add_argument("--backend", action="append", default=[], help="a declared backend id (repeatable)")
    parser.add_argument("--logger", action="append", default=[], help="a declared logger id (repeatable)")
    parser.add_argument("--fragment", action="append", default=[], help="a declared fragment id (repeatable)")
    parser.add_argument("--named-value", action="append", default=[], help="a declared named value (repeatable)")
    parser.add_argument("--cache", action="append", default=[], help="a declared external cache id (repeatable)")
    args = parser.parse_args(argv)

    given = any((args.backend, args.logger, args.fragment, args.named_value, args.cache))
    references = References(args.backend, args.logger, args.fragment, args.named_value, args.cache) if given else None
    if references is None:
        print("note: no --backend/--logger/--fragment/--named-value/--cache given: references are not resolved")
    errors: list[LintError] = []
    found: list[FoundExpression] | None = [] if compilation.mcs_available() else None
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        kind: Kind = args.kind or ("fragment" if re.match(r"\s*(<\?.*?\?>\s*)?<fragment[\s>/]", text, re.S) else "api")
        errors.extend(lint_document(str(path), text, kind, references, found=found))
    # Named values given on the command line have no value: placeholders stand in for them.
    errors.extend([compilation.not_compiled_note()] if found is None else compilation.compile_step(found, references))
    for error in errors:
        print(f"[{error.level}] {error}")
    failed = [e for e in errors if e.level == "error"]
    print(f"{len(args.files)} document(s): {len(failed)} error(s), {len(errors) - len(failed)} advisory")
    return 1 if failed else 0
