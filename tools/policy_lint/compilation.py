"""The compile step: all expressions the document lint collected compile as one C# unit against APIM's
context model (tools/policy_expressions.py, tools/csharp/), when Mono's compiler is installed.

`mcs_available` is looked up here at call time (`compilation.mcs_available()`), so a test or the benchmark can
run the lint as on a machine without Mono by replacing this one attribute.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..csharp.compiler import INSTALL_HINT, mcs_available
from ..policy_expressions import FoundExpression, compile_found
from .model import LintError, References

__all__ = ["compile_step", "mcs_available", "not_compiled_note"]


def compile_step(found: Sequence[FoundExpression], references: References | None) -> list[LintError]:
    """Compile the expressions `lint_document` collected as one unit: a lint error per compile error and
    occurrence. Only call it when mcs_available()."""
    named_values = references.named_value_values if references is not None else {}
    problems, unplaced = compile_found(found, named_values)
    errors = [
        LintError(p.found.document, p.document_line, p.found.element, p.message, urn=p.found.urn) for p in problems
    ]
    errors += [
        LintError("policy expressions", e.line, "csharp", f"the C# compiler failed outside any expression: {e.message}")
        for e in unplaced
    ]
    return errors


def not_compiled_note() -> LintError:
    """The advisory that says expressions were only parsed, because Mono's compiler is not installed."""
    return LintError(
        "policy expressions",
        1,
        "csharp",
        f"policy expressions were only parsed (tree-sitter), not compiled: {INSTALL_HINT}",
        "advisory",
    )
