"""Lint every policy document of a recorded stack (the offline plan), each where the plan includes it, then
compile all their expressions as one unit."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..policy_expressions import FoundExpression
from . import compilation
from .document import fragment_inclusions, lint_document
from .model import FRAGMENT_TYPE, POLICY_TYPES, Inclusion, Kind, LintError
from .references import fragment_id, references_of


def lint_recording(recording: Any) -> list[LintError]:
    """Lint every policy document of a recorded stack (tools.harness.Recording), then compile all their
    expressions as one C# unit (when Mono's compiler is installed; otherwise an advisory says so)."""
    references = references_of(recording)
    found: list[FoundExpression] | None = [] if compilation.mcs_available() else None
    documents: list[tuple[Any, Kind]] = [(r, "fragment") for r in recording.of_type(FRAGMENT_TYPE)]
    for token, kind in POLICY_TYPES.items():
        documents.extend((r, kind) for r in recording.of_type(token))

    errors: list[LintError] = []
    texts: dict[str, str] = {}
    inclusions: dict[str, list[Inclusion]] = {}
    for resource, kind in documents:
        name = _document_name(resource, kind)
        value = resource.get("value")
        if not isinstance(value, str):
            errors.append(
                LintError(
                    name, 1, kind, "the document is only known after deployment; not linted", "advisory", resource.urn
                )
            )
            continue
        texts[resource.urn] = value
        for included_id, inclusion in fragment_inclusions(name, value, kind):
            inclusions.setdefault(included_id.casefold(), []).append(inclusion)

    for resource, kind in documents:
        if resource.urn not in texts:
            continue
        name = _document_name(resource, kind)
        value = texts[resource.urn]
        found_errors: list[LintError] = []
        expressions: list[FoundExpression] | None = None if found is None else []
        document_format = resource.get("format")
        if document_format != "rawxml":
            found_errors.append(
                LintError(
                    name,
                    1,
                    "fragment" if kind == "fragment" else "policies",
                    f"format is {document_format!r}; the project sends policy documents as 'rawxml' (as written, "
                    "expressions with < and quotes unescaped); set format='rawxml'",
                )
            )
        if kind == "fragment":
            included = inclusions.get(fragment_id(resource).casefold())
            if not included:
                found_errors.append(
                    LintError(
                        name,
                        1,
                        "fragment",
                        "the fragment is not included by any policy document of the plan "
                        "(unused); only its structure is checked",
                        "advisory",
                    )
                )
            found_errors.extend(
                lint_document(name, value, kind, references, included_in=included or None, found=expressions)
            )
        else:
            found_errors.extend(lint_document(name, value, kind, references, found=expressions))
        errors.extend(dataclasses.replace(e, urn=resource.urn) for e in found_errors)
        if found is not None:
            found.extend(dataclasses.replace(f, urn=resource.urn) for f in expressions or [])
    if found is None:
        errors.append(compilation.not_compiled_note())
    else:
        errors.extend(compilation.compile_step(found, references))
    return errors


def _document_name(resource: Any, kind: Kind) -> str:
    if kind == "fragment":
        return f"fragment '{fragment_id(resource)}'"
    return f"{kind} policy '{resource.name}'"
