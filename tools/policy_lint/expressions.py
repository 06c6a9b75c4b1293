"""Checks of what a document computes: each `@(...)` / `@{...}` expression (allowed .NET types, and its C#
syntax when the compile step cannot run) and each `{{named value}}` it names."""

from __future__ import annotations

import re
from typing import Any

from ..csharp_expressions import check_expression
from ..policy_expressions import FoundExpression
from ..rawxml import PLACEHOLDER, RawExpression
from .state import DocumentState

_NAMED_VALUE = re.compile(r"\{\{([A-Za-z0-9._-]+)\}\}")
_NAMED_VALUE_STAND_IN = "__apim_named_value__"


def expression_value(
    lint: DocumentState, element: Any, label: str, where: str, value: str, returns: str = "object"
) -> RawExpression | None:
    """The expression that `value` is (checking its C#), or None for a literal value. `returns`: the C# type
    the attribute or element needs (for the compile step)."""
    match = PLACEHOLDER.search(value)
    if match:
        expression = lint.prepared.expressions[int(match.group(1))]
        if value.strip() != match.group(0):
            lint.add(element, label, f"{where}: a policy expression must be the whole value")
    else:
        stripped = value.strip()
        if not stripped.startswith(("@(", "@{")):
            return None
        closer = ")" if stripped[1] == "(" else "}"
        code = stripped[2:-1] if stripped.endswith(closer) else stripped[2:]
        expression = RawExpression(code, stripped[1] == "{", lint.line(element))
    if lint.found is not None:
        brackets = "{}" if expression.multi_statement else "()"
        lint.found.append(
            FoundExpression(
                document=lint.document,
                document_text=lint.text,
                line=expression.line,
                element=label,
                where=where,
                code=f"@{brackets[0]}{expression.code}{brackets[1]}",
                returns=returns,
            )
        )
    code = _NAMED_VALUE.sub(_NAMED_VALUE_STAND_IN, expression.code)
    syntax = lint.found is None  # with the compiler, mcs reports syntax errors (with its message)
    for problem in check_expression(code, expression.multi_statement, lint.catalogue.types, syntax=syntax):
        at = expression.line + problem.line - 1
        lint.add(element, label, f"{where}: {problem.message} (expression at document line {at})")
    return expression


def named_values(lint: DocumentState) -> None:
    if lint.references is None:
        return
    declared = lint.references.named_values
    reported: set[str] = set()

    def check(element: Any, label: str, text: str) -> None:
        for match in _NAMED_VALUE.finditer(text):
            name = match.group(1)
            if name not in declared and name not in reported:
                reported.add(name)
                lint.add(
                    element,
                    label,
                    f"named value {{{{{name}}}}} is not declared (no apimanagement.NamedValue with displayName "
                    f"{name!r}); declared: {', '.join(sorted(declared)) or 'none'}",
                )

    def check_value(element: Any, value: str) -> None:
        check(element, element.tag, value)
        for match in PLACEHOLDER.finditer(value):  # named values inside expressions too
            check(element, element.tag, lint.prepared.expressions[int(match.group(1))].code)

    def visit(element: Any) -> None:
        for value in element.attrib.values():
            check_value(element, str(value))
        if element.tag == "set-body" and element.get("template") == "liquid":
            return  # liquid templates use {{ }} for their own variables
        if element.text:
            check_value(element, element.text)
        for child in lint.children(element):
            visit(child)
            if child.tail:
                check_value(element, child.tail)

    visit(lint.root)
