"""Offline lint of API Management policy documents: `python -m tools.policy_lint [files...]`.

Checks every policy document (fragments, global, product, API and operation policies) against
tools/policy_catalogue.json, a catalogue of APIM policy elements sourced from the APIM policy reference:
- well-formed XML (as APIM reads `rawxml`: expressions may contain `<`, `>`, `&&` and quotes);
- fragment rules: `<fragment>` root, no section, no `<base />`, no nested `<include-fragment>`, size limit;
- other documents: `<policies>` root holding the sections inbound, backend, outbound, on-error in that order,
  each at most once, `<base />` only directly in a section;
- every policy element is known and placed in a section (and scope) where Azure allows it; for a fragment the
  sections are those where `include-fragment` includes it;
- required attributes present, fixed values (enums) and documented ranges respected, no expression where the
  reference says expressions aren't allowed;
- references resolve: backend ids, logger ids, fragment ids and `{{named values}}` name what the plan declares,
  and caching policies have an external cache;
- every `@(...)` / `@{...}` expression uses only types of the APIM allow-list (tree-sitter), and compiles with
  Mono's C# compiler against the typed model of APIM's context, returning the type its attribute needs
  (tools/policy_expressions.py, tools/csharp/); without Mono, its syntax is only parsed (tree-sitter).

How expressions are found (as APIM reads `rawxml`): see tools/rawxml.py.

Modules: `model` (kinds, references, findings), `catalogue`, `state` (one document under lint), the checks by
area (`structure`, `attributes`, `expressions`), `document` (lint one document), `references` (what a recorded
stack declares), `compilation` (the compile step), `recording` (a whole plan), `cli`.
"""

from .catalogue import CATALOGUE_PATH, Catalogue, load_catalogue
from .cli import main
from .compilation import compile_step, not_compiled_note
from .document import fragment_inclusions, lint_document
from .model import FRAGMENT_TYPE, POLICY_TYPES, SECTIONS, Inclusion, Kind, Level, LintError, References
from .recording import lint_recording
from .references import references_of

__all__ = [
    "CATALOGUE_PATH",
    "FRAGMENT_TYPE",
    "POLICY_TYPES",
    "SECTIONS",
    "Catalogue",
    "Inclusion",
    "Kind",
    "Level",
    "LintError",
    "References",
    "compile_step",
    "fragment_inclusions",
    "lint_document",
    "lint_recording",
    "load_catalogue",
    "main",
    "not_compiled_note",
    "references_of",
]
