"""The compile step of the policy lint: every expression of a plan, compiled as one C# unit.

The document lint (tools/policy_lint/) finds each `@(...)` / `@{...}` of each policy document, with the
C# type its attribute or element needs (`returns` in tools/policy_catalogue.json; `object` where the reference
fixes none). Here named values are substituted as APIM substitutes them, textually and before the expression is
compiled (https://learn.microsoft.com/azure/api-management/api-management-howto-properties#use-a-named-value):
the declared value where the plan knows it, a mask of the same form for a secret, a placeholder where it is a
Key Vault reference or known only after deployment.
Identical expressions are compiled once; the plan's expressions go to Mono's compiler in one run
(tools/csharp/compiler.py), and each compiler error becomes a lint error at the expression's document line and
the line of its `fragments/*.xml.j2` template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .csharp.compiler import CompileError, Expression, compile_expressions
from .template_lines import template_lines

_NAMED_VALUE = re.compile(r"\{\{([A-Za-z0-9._-]+)\}\}")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class FoundExpression:
    """One expression of one policy document, as the document lint found it."""

    document: str  # "fragment 'openai-errors'", "api policy 'policies-api-policy'"
    document_text: str  # the rendered document (for the template's line numbers)
    line: int  # document line of the `@`
    element: str  # element label, as lint errors name it
    where: str  # "attribute `condition`" or "text"
    code: str  # "@(...)" or "@{...}", XML entities decoded, named values as written
    returns: str  # C# type the attribute or element needs
    urn: str | None = None


@dataclass(frozen=True)
class CompileProblem:
    """A compile error of one expression occurrence, placed in its document and template."""

    found: FoundExpression
    document_line: int
    template: str | None  # "fragments/x.xml.j2 line 12", when the document was rendered in this process
    error: CompileError

    @property
    def message(self) -> str:
        where = f"; {self.template}" if self.template else ""
        return (
            f"{self.found.where}: the C# expression does not compile against APIM's context "
            f"(tools/csharp/ApimContext.cs, returning {self.found.returns}): {self.error.message} "
            f"(expression line {self.error.line}, column {self.error.column}; document line {self.document_line}"
            f"{where})"
        )


def placeholder(name: str) -> str:
    """What stands for a named value whose value the plan does not know (a secret, or known after deployment):
    letters, digits and underscores, so it is valid inside a C# string literal, and an unknown name elsewhere."""
    return "NAMED_VALUE_" + _NOT_IDENTIFIER.sub("_", name)


def mask(secret: str) -> str:
    """A stand-in of the same form as a secret value: each digit `0`, each letter `x`, other characters kept
    (quotes and backslashes act in C# as the real value's would). The compile step never sees the secret."""
    return "".join("0" if c.isdigit() else "x" if c.isalpha() else c for c in secret)


def substitute(code: str, named_values: Mapping[str, str | None]) -> str:
    """`{{name}}` replaced by the declared value, or by placeholder(name) when it is not known."""

    def one(match: re.Match[str]) -> str:
        value = named_values.get(match.group(1))
        return value if value is not None else placeholder(match.group(1))

    return _NAMED_VALUE.sub(one, code)


def compile_found(
    found: Sequence[FoundExpression], named_values: Mapping[str, str | None]
) -> tuple[list[CompileProblem], list[CompileError]]:
    """Compile every expression (one compiler run) and place each error at every occurrence it concerns; the
    second list holds errors outside every expression (a broken model or compiler installation)."""
    unique: dict[tuple[str, str], str] = {}
    occurrences: dict[str, list[FoundExpression]] = {}
    expressions: list[Expression] = []
    for item in found:
        code = substitute(item.code, named_values)
        key = unique.get((code, item.returns))
        if key is None:
            key = f"{item.document}#{len(expressions)}"
            unique[(code, item.returns)] = key
            expressions.append(Expression(key, code, item.returns))
            occurrences[key] = []
        occurrences[key].append(item)
    if not expressions:
        return [], []
    result = compile_expressions(expressions)
    problems: list[CompileProblem] = []
    unplaced: list[CompileError] = []
    for error in result.errors:
        if error.key is None:
            unplaced.append(error)
            continue
        for item in occurrences[error.key]:
            line = item.line + max(error.line, 1) - 1
            problems.append(CompileProblem(item, line, _template_line(item.document_text, line), error))
    return problems, unplaced


def _template_line(document_text: str, line: int) -> str | None:
    mapped = template_lines(document_text)
    if mapped is None:
        return None
    template, lines = mapped
    if 1 <= line <= len(lines) and lines[line - 1]:
        return f"{template} line {lines[line - 1]}"
    return template
