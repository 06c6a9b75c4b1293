"""Checks of a document's shape: its root, the sections of a policy document and their order, `<base />`, and
every policy element known to the catalogue, placed in a section (and scope) where Azure allows it, with the
child elements its policy defines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .attributes import attributes
from .expressions import expression_value, named_values
from .model import SECTIONS, LintError
from .state import DocumentState, Placement


def run(lint: DocumentState, fragment_contexts: list[Placement] | None = None) -> list[LintError]:
    """Lint the document; `fragment_contexts` are where a fragment is included (None: not checked)."""
    root = lint.root
    if lint.kind == "fragment":
        if root.tag != "fragment":
            lint.add(root, root.tag, f"a policy fragment must have the root <fragment>, not <{root.tag}>")
            return lint.errors
        policies(lint, root, fragment_contexts, in_section=False)
    else:
        if root.tag != "policies":
            lint.add(root, root.tag, f"a {lint.kind} policy must have the root <policies>, not <{root.tag}>")
            return lint.errors
        sections(lint, root)
    named_values(lint)
    return lint.errors


def sections(lint: DocumentState, root: Any) -> None:
    seen: list[str] = []
    for section in lint.children(root):
        name = section.tag
        if name not in SECTIONS:
            lint.add(
                section,
                name,
                f"<policies> holds only the sections {', '.join(SECTIONS)}; <{name}> must be inside one of them",
            )
            continue
        if name in seen:
            lint.add(section, name, f"section <{name}> appears more than once")
            continue
        if seen and SECTIONS.index(name) < SECTIONS.index(seen[-1]):
            lint.add(section, name, f"section <{name}> comes after <{seen[-1]}>; the order is {', '.join(SECTIONS)}")
        seen.append(name)
        context = Placement(section=name, scope=lint.kind, via=None)
        policies(lint, section, [context], in_section=True, section=section)


def policies(
    lint: DocumentState,
    container: Any,
    contexts: list[Placement] | None,
    in_section: bool,
    section: Any = None,
    allowed: Sequence[str] | None = None,
) -> None:
    """Check the policy elements directly inside `container` (a section, a fragment or a policy body)."""
    catalogue = lint.catalogue
    is_fragment = lint.kind == "fragment"
    bases = 0
    for element in lint.children(container):
        name = element.tag
        label = name
        if name in SECTIONS:
            where = "a fragment holds no section elements" if is_fragment else "sections only go in <policies>"
            lint.add(element, name, f"section <{name}> is not allowed here: {where}")
            continue
        if name == "base":
            if is_fragment:
                lint.add(element, name, "a fragment cannot contain <base />")
            elif not in_section:
                lint.add(element, name, "<base /> must be a direct child of a section")
            else:
                bases += 1
                if bases == 2:
                    lint.add(element, name, "<base /> appears more than once in this section")
            continue
        spec = catalogue.policies.get(name)
        if spec is None:
            owners = lint.owners.get(name)
            hint = (
                f"; <{name}> is a child element of {', '.join(f'<{o}>' for o in owners)}, not a policy"
                if owners
                else "; if it is a real APIM policy, add it to tools/policy_catalogue.json with its source"
            )
            lint.add(element, name, f"unknown policy element <{name}>{hint}")
            continue
        if allowed is not None and name not in allowed:
            parent = container.tag
            lint.add(element, name, f"<{name}> is not allowed inside <{parent}> (allowed: {', '.join(allowed)})")
        if name == "include-fragment" and is_fragment:
            lint.add(element, name, "a fragment cannot include another fragment")
        placement(lint, element, name, spec, contexts)
        if spec.get("once_per_section") and section is not None:
            key = (id(section), name)
            lint.once[key] = lint.once.get(key, 0) + 1
            if lint.once[key] == 2:
                lint.add(element, name, f"<{name}> can only be used once in a policy section")
        policy_element(lint, element, spec, label, contexts, section)


def placement(
    lint: DocumentState, element: Any, name: str, spec: dict[str, Any], contexts: list[Placement] | None
) -> None:
    if contexts is None:
        return
    allowed_sections, scopes = spec.get("sections", list(SECTIONS)), spec.get("scopes")
    reported: set[tuple[str, str]] = set()
    for context in contexts:
        via = f" (this fragment is included there by {context.via})" if context.via else ""
        if context.section not in allowed_sections and ("section", context.section) not in reported:
            reported.add(("section", context.section))
            lint.add(
                element,
                name,
                f"<{name}> is not allowed in the {context.section} section{via}; "
                f"Azure allows it in: {', '.join(allowed_sections)} ({spec['url']})",
            )
        if scopes and context.scope not in scopes and ("scope", context.scope) not in reported:
            reported.add(("scope", context.scope))
            lint.add(
                element,
                name,
                f"<{name}> is not allowed at {context.scope} scope{via}; "
                f"Azure allows it at: {', '.join(scopes)} ({spec['url']})",
            )


def policy_element(
    lint: DocumentState,
    element: Any,
    spec: dict[str, Any],
    label: str,
    contexts: list[Placement] | None,
    section: Any,
) -> None:
    """One policy element, or a child element of one: its attributes, text and child elements."""
    attributes(lint, element, spec, label)
    text = element.text
    if text is not None and text.strip() and not (element.tag == "set-body" and element.get("template")):
        expression_value(lint, element, label, "text", text, spec.get("text_returns", "object"))
    content = spec.get("content")
    if content == "policies":
        allowed = spec.get("allowed_policies")
        policies(lint, element, contexts, in_section=False, section=section, allowed=allowed)
        return
    if content == "opaque":
        return
    child_specs: dict[str, Any] = spec.get("elements", {})
    present = set()
    for child in lint.children(element):
        child_label = f"{label}/{child.tag}"
        child_spec = child_specs.get(child.tag)
        if child_spec is None:
            allowed = ", ".join(f"<{c}>" for c in child_specs) or "no child elements"
            lint.add(child, child_label, f"unexpected <{child.tag}> inside <{element.tag}> (allowed: {allowed})")
            continue
        present.add(child.tag)
        if "policy" in child_spec:
            child_spec = lint.catalogue.policies[child_spec["policy"]]
        policy_element(lint, child, child_spec, child_label, contexts, section)
    for required in spec.get("required_elements", []):
        if required not in present:
            lint.add(element, label, f"missing required child element <{required}>")
