"""Lint one policy document: read it as APIM reads `rawxml`, then run the checks; and find where a document
includes fragments."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from lxml import etree

from ..policy_expressions import FoundExpression
from ..rawxml import prepare
from .catalogue import Catalogue, load_catalogue
from .model import SECTIONS, Inclusion, Kind, LintError, References
from .state import DocumentState, Placement
from .structure import run


def lint_document(
    document_name: str,
    xml_text: str,
    kind: Kind,
    references: References | None,
    *,
    included_in: Sequence[Inclusion] | None = None,
    catalogue: Catalogue | None = None,
    found: list[FoundExpression] | None = None,
) -> list[LintError]:
    """Lint one policy document. `references` None skips reference resolution (backend, logger, fragment ids,
    named values, caches). For a fragment, `included_in` lists where it is included; None checks no placement.
    `found`: collects the document's expressions for compile_found (then the C# syntax is left to the compiler);
    None checks the syntax with tree-sitter instead.
    """
    catalogue = catalogue or load_catalogue()
    errors: list[LintError] = []
    if kind == "fragment":
        size = len(xml_text.encode("utf-8"))
        if size > catalogue.fragment_max_bytes:
            errors.append(
                LintError(
                    document_name,
                    1,
                    "fragment",
                    f"the fragment is {size} bytes; a policy fragment may be at most "
                    f"{catalogue.fragment_max_bytes} bytes ({catalogue.fragment_max_bytes // 1024} KB)",
                )
            )
    prepared = prepare(xml_text)
    try:
        root = etree.fromstring(prepared.text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        hint = ""
        if prepared.unclosed:
            hint = (
                f" (the expression starting at line {prepared.unclosed[0]} is not closed: unbalanced brackets or "
                "an unterminated string)"
            )
        errors.append(LintError(document_name, line, "xml", f"not well-formed XML: {error.msg}{hint}"))
        return errors
    lint = DocumentState(document_name, kind, references, catalogue, prepared, root, found, xml_text)
    contexts = None if included_in is None else [Placement(i.section, i.scope, i.document) for i in included_in]
    return errors + run(lint, contexts)


@cache
def _parser() -> Any:
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False, huge_tree=False)


def fragment_inclusions(document_name: str, xml_text: str, kind: Kind) -> list[tuple[str, Inclusion]]:
    """(fragment id, where) of every `include-fragment` in a policy document's sections."""
    if kind == "fragment":
        return []
    try:
        root = etree.fromstring(prepare(xml_text).text.encode("utf-8"), _parser())
    except etree.XMLSyntaxError:
        return []
    found = []
    if root.tag != "policies":
        return []
    for section in root:
        if section.tag not in SECTIONS:
            continue
        for include in section.iter("include-fragment"):
            fragment_id = include.get("fragment-id")
            if fragment_id:
                found.append((fragment_id, Inclusion(section.tag, kind, document_name)))
    return found
