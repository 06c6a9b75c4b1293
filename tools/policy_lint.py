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
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from lxml import etree

from .csharp.allow_list import allowed_types
from .csharp.compiler import INSTALL_HINT, mcs_available
from .csharp_expressions import TypeAllowList, check_expression
from .harness import Secret
from .policy_expressions import FoundExpression, compile_found, mask
from .rawxml import PLACEHOLDER, Prepared, RawExpression, prepare

Kind = Literal["fragment", "api", "product", "operation", "global"]
Level = Literal["error", "advisory"]

SECTIONS = ("inbound", "backend", "outbound", "on-error")
CATALOGUE_PATH = Path(__file__).with_name("policy_catalogue.json")

FRAGMENT_TYPE = "azure-native:apimanagement:PolicyFragment"
POLICY_TYPES: dict[str, Kind] = {
    "azure-native:apimanagement:Policy": "global",
    "azure-native:apimanagement:ProductPolicy": "product",
    "azure-native:apimanagement:ApiPolicy": "api",
    "azure-native:apimanagement:ApiOperationPolicy": "operation",
}

_NAMED_VALUE = re.compile(r"\{\{([A-Za-z0-9._-]+)\}\}")
_NAMED_VALUE_STAND_IN = "__apim_named_value__"


# -- public data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """Names the plan declares, which policies may refer to.

    backends: `backendId` of Backend resources; loggers: `loggerId` of Logger resources; fragments: ids of
    PolicyFragment resources; named_values: `displayName` of NamedValue resources (policies write
    `{{displayName}}`); caches: `cacheId` of Cache resources (external caches).
    """

    backends: AbstractSet[str] = frozenset()
    loggers: AbstractSet[str] = frozenset()
    fragments: AbstractSet[str] = frozenset()
    named_values: AbstractSet[str] = frozenset()
    caches: AbstractSet[str] = frozenset()
    # displayName -> what the compile step substitutes for `{{displayName}}` (see references_of); None where the
    # plan does not know the value (a Key Vault reference, or known only after deployment).
    named_value_values: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "named_value_values":
                object.__setattr__(self, f.name, frozenset(getattr(self, f.name)))
        object.__setattr__(self, "named_value_values", dict(self.named_value_values))

    def has(self, kind: str, name: str) -> bool:
        names = {"backend": self.backends, "logger": self.loggers, "fragment": self.fragments}[kind]
        # Azure resource names (backend, logger, fragment ids) are case-insensitive.
        return name.casefold() in {n.casefold() for n in names}


@dataclass(frozen=True)
class Inclusion:
    """Where a fragment is included: the section, the scope of the including document, and its name."""

    section: str
    scope: str
    document: str


@dataclass(frozen=True)
class LintError:
    document: str
    line: int
    element: str
    message: str
    level: Level = "error"
    urn: str | None = None

    def __str__(self) -> str:
        return f"{self.document}, line {self.line}, <{self.element}>: {self.message}"


# -- catalogue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    data: dict[str, Any]
    types: TypeAllowList

    @property
    def policies(self) -> dict[str, dict[str, Any]]:
        return self.data["policies"]  # type: ignore[no-any-return]

    @property
    def fragment_max_bytes(self) -> int:
        return int(self.data["fragment"]["max_bytes"])

    def child_owners(self) -> dict[str, list[str]]:
        """Child element name -> policies it belongs to (for a helpful 'not a policy' message)."""
        owners: dict[str, list[str]] = {}

        def visit(policy: str, spec: dict[str, Any]) -> None:
            for child, child_spec in spec.get("elements", {}).items():
                owners.setdefault(child, [])
                if policy not in owners[child]:
                    owners[child].append(policy)
                visit(policy, child_spec)

        for name, spec in self.policies.items():
            visit(name, spec)
        return owners


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    data = json.loads(path.read_text())
    expressions = data["expressions"]
    # The .NET allow-list lives once, in tools/csharp/ApimContext.cs (the reference's table, row by row).
    types = TypeAllowList.from_names([*allowed_types(), *expressions["context_types"]])
    return Catalogue(data, types)


# -- the lint --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    section: str
    scope: str
    via: str | None  # the including document, for fragments


class _DocumentLint:
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
        self._once: dict[tuple[int, str], int] = {}
        self._owners = catalogue.child_owners()

    # -- helpers
    def line(self, element: Any) -> int:
        return self._lines.get(element, element.sourceline or 1)

    def add(self, element: Any, label: str, message: str, level: Level = "error") -> None:
        line = self.line(element) if element is not None else 1
        self.errors.append(LintError(self.document, line, label, message, level))

    @staticmethod
    def children(element: Any) -> list[Any]:
        return [c for c in element if isinstance(c.tag, str)]

    # -- document structure
    def run(self, fragment_contexts: list[_Context] | None = None) -> list[LintError]:
        """Lint the document; `fragment_contexts` are where a fragment is included (None: not checked)."""
        root = self.root
        if self.kind == "fragment":
            if root.tag != "fragment":
                self.add(root, root.tag, f"a policy fragment must have the root <fragment>, not <{root.tag}>")
                return self.errors
            self.policies(root, fragment_contexts, in_section=False)
        else:
            if root.tag != "policies":
                self.add(root, root.tag, f"a {self.kind} policy must have the root <policies>, not <{root.tag}>")
                return self.errors
            self.sections(root)
        self.named_values()
        return self.errors

    def sections(self, root: Any) -> None:
        seen: list[str] = []
        for section in self.children(root):
            name = section.tag
            if name not in SECTIONS:
                self.add(
                    section,
                    name,
                    f"<policies> holds only the sections {', '.join(SECTIONS)}; <{name}> must be inside one of them",
                )
                continue
            if name in seen:
                self.add(section, name, f"section <{name}> appears more than once")
                continue
            if seen and SECTIONS.index(name) < SECTIONS.index(seen[-1]):
                self.add(
                    section, name, f"section <{name}> comes after <{seen[-1]}>; the order is {', '.join(SECTIONS)}"
                )
            seen.append(name)
            context = _Context(section=name, scope=self.kind, via=None)
            self.policies(section, [context], in_section=True, section=section)

    def policies(
        self,
        container: Any,
        contexts: list[_Context] | None,
        in_section: bool,
        section: Any = None,
        allowed: Sequence[str] | None = None,
    ) -> None:
        """Check the policy elements directly inside `container` (a section, a fragment or a policy body)."""
        catalogue = self.catalogue
        is_fragment = self.kind == "fragment"
        bases = 0
        for element in self.children(container):
            name = element.tag
            label = name
            if name in SECTIONS:
                where = "a fragment holds no section elements" if is_fragment else "sections only go in <policies>"
                self.add(element, name, f"section <{name}> is not allowed here: {where}")
                continue
            if name == "base":
                if is_fragment:
                    self.add(element, name, "a fragment cannot contain <base />")
                elif not in_section:
                    self.add(element, name, "<base /> must be a direct child of a section")
                else:
                    bases += 1
                    if bases == 2:
                        self.add(element, name, "<base /> appears more than once in this section")
                continue
            spec = catalogue.policies.get(name)
            if spec is None:
                owners = self._owners.get(name)
                hint = (
                    f"; <{name}> is a child element of {', '.join(f'<{o}>' for o in owners)}, not a policy"
                    if owners
                    else "; if it is a real APIM policy, add it to tools/policy_catalogue.json with its source"
                )
                self.add(element, name, f"unknown policy element <{name}>{hint}")
                continue
            if allowed is not None and name not in allowed:
                parent = container.tag
                self.add(element, name, f"<{name}> is not allowed inside <{parent}> (allowed: {', '.join(allowed)})")
            if name == "include-fragment" and is_fragment:
                self.add(element, name, "a fragment cannot include another fragment")
            self.placement(element, name, spec, contexts)
            if spec.get("once_per_section") and section is not None:
                key = (id(section), name)
                self._once[key] = self._once.get(key, 0) + 1
                if self._once[key] == 2:
                    self.add(element, name, f"<{name}> can only be used once in a policy section")
            self.element(element, spec, label, contexts, section)

    def placement(self, element: Any, name: str, spec: dict[str, Any], contexts: list[_Context] | None) -> None:
        if contexts is None:
            return
        sections, scopes = spec.get("sections", list(SECTIONS)), spec.get("scopes")
        reported: set[tuple[str, str]] = set()
        for context in contexts:
            via = f" (this fragment is included there by {context.via})" if context.via else ""
            if context.section not in sections and ("section", context.section) not in reported:
                reported.add(("section", context.section))
                self.add(
                    element,
                    name,
                    f"<{name}> is not allowed in the {context.section} section{via}; "
                    f"Azure allows it in: {', '.join(sections)} ({spec['url']})",
                )
            if scopes and context.scope not in scopes and ("scope", context.scope) not in reported:
                reported.add(("scope", context.scope))
                self.add(
                    element,
                    name,
                    f"<{name}> is not allowed at {context.scope} scope{via}; "
                    f"Azure allows it at: {', '.join(scopes)} ({spec['url']})",
                )

    def element(
        self, element: Any, spec: dict[str, Any], label: str, contexts: list[_Context] | None, section: Any
    ) -> None:
        self.attributes(element, spec, label)
        text = element.text
        if text is not None and text.strip() and not (element.tag == "set-body" and element.get("template")):
            self.expression_value(element, label, "text", text, spec.get("text_returns", "object"))
        content = spec.get("content")
        if content == "policies":
            allowed = spec.get("allowed_policies")
            self.policies(element, contexts, in_section=False, section=section, allowed=allowed)
            return
        if content == "opaque":
            return
        child_specs: dict[str, Any] = spec.get("elements", {})
        present = set()
        for child in self.children(element):
            child_label = f"{label}/{child.tag}"
            child_spec = child_specs.get(child.tag)
            if child_spec is None:
                allowed = ", ".join(f"<{c}>" for c in child_specs) or "no child elements"
                self.add(child, child_label, f"unexpected <{child.tag}> inside <{element.tag}> (allowed: {allowed})")
                continue
            present.add(child.tag)
            if "policy" in child_spec:
                child_spec = self.catalogue.policies[child_spec["policy"]]
            self.element(child, child_spec, child_label, contexts, section)
        for required in spec.get("required_elements", []):
            if required not in present:
                self.add(element, label, f"missing required child element <{required}>")

    def attributes(self, element: Any, spec: dict[str, Any], label: str) -> None:
        specs: dict[str, dict[str, Any]] = spec.get("attributes", {})
        values: dict[str, str] = {str(k): str(v) for k, v in element.attrib.items()}
        for name, value in values.items():
            attribute = specs.get(name)
            returns = (attribute or {}).get("returns", "object")
            expression = self.expression_value(element, label, f"attribute `{name}`", value, returns)
            if attribute is None:
                known = ", ".join(specs) or "none"
                self.add(
                    element,
                    label,
                    f"attribute `{name}` is not in the catalogue for <{element.tag}> (known: {known})",
                    level="advisory",
                )
                continue
            if expression is not None:
                if attribute.get("expressions") is False:
                    self.add(element, label, f"policy expressions aren't allowed in attribute `{name}`")
                continue
            if "{{" in value:
                continue  # a named value: resolved by APIM at deployment
            self.attribute_value(element, label, name, value, attribute)
        for name, attribute in specs.items():
            if attribute.get("required") and name not in values:
                self.add(element, label, f"missing required attribute `{name}`")
        groups = spec.get("required_one_of")
        if groups and not any(all(a in values for a in group) for group in groups):
            options = " or ".join(" with ".join(f"`{a}`" for a in group) for group in groups)
            self.add(element, label, f"needs {options}")
        for group in spec.get("exclusive", []):
            used = [a for a in group if a in values]
            if len(used) > 1:
                self.add(element, label, f"use only one of {', '.join(f'`{a}`' for a in used)}")
        requires = spec.get("requires")
        if requires and self.references is not None:
            when = requires.get("when", {})
            if all(values.get(k) == v for k, v in when.items()) and not self.references.caches:
                self.add(
                    element,
                    label,
                    f"<{element.tag}> needs an external cache registered in API Management "
                    "(apimanagement.Cache), and the plan declares none",
                )

    def attribute_value(self, element: Any, label: str, name: str, value: str, attribute: dict[str, Any]) -> None:
        enum = attribute.get("enum")
        if enum and value not in enum:
            self.add(element, label, f"attribute `{name}` is {value!r}; allowed values: {', '.join(enum)}")
        low, high = attribute.get("minimum"), attribute.get("maximum")
        if low is not None or high is not None:
            try:
                number = float(value)
            except ValueError:
                self.add(element, label, f"attribute `{name}` is {value!r}; it must be a number")
            else:
                if (low is not None and number < low) or (high is not None and number > high):
                    bounds = (
                        f"between {low} and {high}"
                        if low is not None and high is not None
                        else (f"at least {low}" if low is not None else f"at most {high}")
                    )
                    self.add(element, label, f"attribute `{name}` is {value}; it must be {bounds}")
        reference = attribute.get("reference")
        if reference and self.references is not None and not self.references.has(reference, value.strip()):
            declared = sorted(
                {
                    "backend": self.references.backends,
                    "logger": self.references.loggers,
                    "fragment": self.references.fragments,
                }[reference]
            )
            what = {"backend": "Backend (backendId)", "logger": "Logger (loggerId)", "fragment": "PolicyFragment"}
            self.add(
                element,
                label,
                f"attribute `{name}` names {reference} {value!r}, which the plan does not declare as an "
                f"apimanagement.{what[reference]}; declared: {', '.join(declared) or 'none'}",
            )

    def expression_value(
        self, element: Any, label: str, where: str, value: str, returns: str = "object"
    ) -> RawExpression | None:
        """The expression that `value` is (checking its C#), or None for a literal value. `returns`: the C# type
        the attribute or element needs (for the compile step)."""
        match = PLACEHOLDER.search(value)
        if match:
            expression = self.prepared.expressions[int(match.group(1))]
            if value.strip() != match.group(0):
                self.add(element, label, f"{where}: a policy expression must be the whole value")
        else:
            stripped = value.strip()
            if not stripped.startswith(("@(", "@{")):
                return None
            closer = ")" if stripped[1] == "(" else "}"
            code = stripped[2:-1] if stripped.endswith(closer) else stripped[2:]
            expression = RawExpression(code, stripped[1] == "{", self.line(element))
        if self.found is not None:
            brackets = "{}" if expression.multi_statement else "()"
            self.found.append(
                FoundExpression(
                    document=self.document,
                    document_text=self.text,
                    line=expression.line,
                    element=label,
                    where=where,
                    code=f"@{brackets[0]}{expression.code}{brackets[1]}",
                    returns=returns,
                )
            )
        code = _NAMED_VALUE.sub(_NAMED_VALUE_STAND_IN, expression.code)
        syntax = self.found is None  # with the compiler, mcs reports syntax errors (with its message)
        for problem in check_expression(code, expression.multi_statement, self.catalogue.types, syntax=syntax):
            at = expression.line + problem.line - 1
            self.add(element, label, f"{where}: {problem.message} (expression at document line {at})")
        return expression

    def named_values(self) -> None:
        if self.references is None:
            return
        declared = self.references.named_values
        reported: set[str] = set()

        def check(element: Any, label: str, text: str) -> None:
            for match in _NAMED_VALUE.finditer(text):
                name = match.group(1)
                if name not in declared and name not in reported:
                    reported.add(name)
                    self.add(
                        element,
                        label,
                        f"named value {{{{{name}}}}} is not declared (no apimanagement.NamedValue with displayName "
                        f"{name!r}); declared: {', '.join(sorted(declared)) or 'none'}",
                    )

        def check_value(element: Any, value: str) -> None:
            check(element, element.tag, value)
            for match in PLACEHOLDER.finditer(value):  # named values inside expressions too
                check(element, element.tag, self.prepared.expressions[int(match.group(1))].code)

        def visit(element: Any) -> None:
            for value in element.attrib.values():
                check_value(element, str(value))
            if element.tag == "set-body" and element.get("template") == "liquid":
                return  # liquid templates use {{ }} for their own variables
            if element.text:
                check_value(element, element.text)
            for child in self.children(element):
                visit(child)
                if child.tail:
                    check_value(element, child.tail)

        visit(self.root)


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
    lint = _DocumentLint(document_name, kind, references, catalogue, prepared, root, found, xml_text)
    contexts = None if included_in is None else [_Context(i.section, i.scope, i.document) for i in included_in]
    return errors + lint.run(contexts)


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


# -- recordings (the offline plan) -----------------------------------------------------------------


def _names(resources: Iterable[Any], key: str, fallback: str | None = None) -> frozenset[str]:
    names = set()
    for resource in resources:
        value = resource.get(key)
        if not isinstance(value, str) and fallback:
            value = resource.get(fallback)
        if isinstance(value, str):
            names.add(value)
    return frozenset(names)


# A backend declared inside an ARM deployment's template (properties the typed SDK cannot send), named
# `[format('{0}/<backend id>', parameters('serviceName'))]` or `<service>/<backend id>`.
_ARM_BACKEND_TYPE = "microsoft.apimanagement/service/backends"
_ARM_CHILD_NAME = re.compile(r"^(?:\[format\('\{0\}/(?P<formatted>[^'/]+)'.*\]|[^/\[]+/(?P<plain>[^/]+))$")


def _arm_backend_ids(deployments: Iterable[Any]) -> frozenset[str]:
    names = set()
    for deployment in deployments:
        declared = deployment.get("properties.template.resources") or []
        for resource in declared if isinstance(declared, list) else []:
            if not isinstance(resource, dict) or str(resource.get("type", "")).lower() != _ARM_BACKEND_TYPE:
                continue
            match = _ARM_CHILD_NAME.match(str(resource.get("name", "")))
            if match:
                names.add(match.group("formatted") or match.group("plain"))
    return frozenset(names)


def references_of(recording: Any) -> References:
    """The names a recorded stack declares, for reference checks."""
    of = recording.of_type
    return References(
        backends=_names(of("azure-native:apimanagement:Backend"), "backendId")
        | _arm_backend_ids(of("azure-native:resources:Deployment")),
        loggers=_names(of("azure-native:apimanagement:Logger"), "loggerId"),
        fragments=frozenset(_fragment_id(r) for r in of(FRAGMENT_TYPE)),
        named_values=_names(of("azure-native:apimanagement:NamedValue"), "displayName", "namedValueId"),
        caches=_names(of("azure-native:apimanagement:Cache"), "cacheId"),
        named_value_values=_named_value_values(of("azure-native:apimanagement:NamedValue")),
    )


def _named_value_values(resources: Iterable[Any]) -> dict[str, str | None]:
    """displayName -> what the compile step puts for `{{displayName}}`: the declared value; for a secret the
    plan holds, a mask of the same form (tools.policy_expressions.mask: never the secret itself); None for a
    Key Vault reference or a value known only after deployment (the compile step puts a placeholder there)."""
    values: dict[str, str | None] = {}
    for resource in resources:
        name = resource.get("displayName") or resource.get("namedValueId")
        if not isinstance(name, str):
            continue
        value = resource.get("value")
        if not isinstance(value, str) or resource.get("keyVault") is not None:
            values[name] = None
        else:
            secret = bool(resource.get("secret")) or isinstance(resource.inputs.get("value"), Secret)
            values[name] = mask(value) if secret else value
    return values


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


def _fragment_id(resource: Any) -> str:
    value = resource.get("id")  # the SDK's `id` argument is the fragment's name (policyFragments/{id})
    return value if isinstance(value, str) else str(resource.name)


def _document_name(resource: Any, kind: Kind) -> str:
    if kind == "fragment":
        return f"fragment '{_fragment_id(resource)}'"
    return f"{kind} policy '{resource.name}'"


def lint_recording(recording: Any) -> list[LintError]:
    """Lint every policy document of a recorded stack (tools.harness.Recording), then compile all their
    expressions as one C# unit (when Mono's compiler is installed; otherwise an advisory says so)."""
    references = references_of(recording)
    found: list[FoundExpression] | None = [] if mcs_available() else None
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
        for fragment_id, inclusion in fragment_inclusions(name, value, kind):
            inclusions.setdefault(fragment_id.casefold(), []).append(inclusion)

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
            included = inclusions.get(_fragment_id(resource).casefold())
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
        errors.append(not_compiled_note())
    else:
        errors.extend(compile_step(found, references))
    return errors


# -- command line ----------------------------------------------------------------------------------


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
    found: list[FoundExpression] | None = [] if mcs_available() else None
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        kind: Kind = args.kind or ("fragment" if re.match(r"\s*(<\?.*?\?>\s*)?<fragment[\s>/]", text, re.S) else "api")
        errors.extend(lint_document(str(path), text, kind, references, found=found))
    # Named values given on the command line have no value: placeholders stand in for them.
    errors.extend([not_compiled_note()] if found is None else compile_step(found, references))
    for error in errors:
        print(f"[{error.level}] {error}")
    failed = [e for e in errors if e.level == "error"]
    print(f"{len(args.files)} document(s): {len(failed)} error(s), {len(errors) - len(failed)} advisory")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
