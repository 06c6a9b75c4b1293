"""One document under lint: its parsed tree, source lines, what it may refer to, and the findings so far.

The checks (structure, attributes, expressions) are functions over this state, so each area lives in its own
module and they add their findings in document order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy_expressions import FoundExpression
from ..rawxml import Prepared
from .catalogue import Catalogue
from .model import Kind, Level, LintError, References


@dataclass(frozen=True)
class Placement:
    """A section and scope a policy element sits in; `via` names the including document, for fragments."""

    section: str
    scope: str
    via: str | None


class DocumentState:
    def __init__(
        self,
        document: str,
        kind: Kind,
        references: References | None,
        catalogue: Catalogue,
        prepared: Prepared,
        root: Any,
        found: list[FoundExpression] | None = None,
        text: str = "",
    ) -> None:
        self.document = document
        # Expressions for the compile step; None: no compiler, so the C# syntax is checked here by tree-sitter.
        self.found = found
        self.text = text
        self.kind = kind
        self.references = references
        self.catalogue = catalogue
        self.prepared = prepared
        self.root = root
        self.errors: list[LintError] = []
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        self._elements = elements  # keeps the lxml proxies alive so they can key a dict
        if len(elements) == len(prepared.tag_lines):
            self._lines = dict(zip(elements, prepared.tag_lines, strict=True))
        else:
            self._lines = {e: e.sourceline or 1 for e in elements}
        # (id of a section, policy name) -> how often the policy appears in it, for `once_per_section`.
        self.once: dict[tuple[int, str], int] = {}
        self.owners = catalogue.child_owners()

    def line(self, element: Any) -> int:
        return self._lines.get(element, element.sourceline or 1)

    def add(self, element: Any, label: str, message: str, level: Level = "error") -> None:
        line = self.line(element) if element is not None else 1
        self.errors.append(LintError(self.document, line, label, message, level))

    @staticmethod
    def children(element: Any) -> list[Any]:
        return [c for c in element if isinstance(c.tag, str)]
