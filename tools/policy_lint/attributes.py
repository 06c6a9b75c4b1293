"""Checks of a policy element's attributes against the catalogue: known names, required ones and groups,
fixed values and documented ranges, expressions only where allowed, and references to declared resources."""

from __future__ import annotations

from typing import Any

from .expressions import expression_value
from .state import DocumentState


def attributes(lint: DocumentState, element: Any, spec: dict[str, Any], label: str) -> None:
    specs: dict[str, dict[str, Any]] = spec.get("attributes", {})
    values: dict[str, str] = {str(k): str(v) for k, v in element.attrib.items()}
    for name, value in values.items():
        attribute = specs.get(name)
        returns = (attribute or {}).get("returns", "object")
        expression = expression_value(lint, element, label, f"attribute `{name}`", value, returns)
        if attribute is None:
            known = ", ".join(specs) or "none"
            lint.add(
                element,
                label,
                f"attribute `{name}` is not in the catalogue for <{element.tag}> (known: {known})",
                level="advisory",
            )
            continue
        if expression is not None:
            if attribute.get("expressions") is False:
                lint.add(element, label, f"policy expressions aren't allowed in attribute `{name}`")
            continue
        if "{{" in value:
            continue  # a named value: resolved by APIM at deployment
        attribute_value(lint, element, label, name, value, attribute)
    for name, attribute in specs.items():
        if attribute.get("required") and name not in values:
            lint.add(element, label, f"missing required attribute `{name}`")
    groups = spec.get("required_one_of")
    if groups and not any(all(a in values for a in group) for group in groups):
        options = " or ".join(" with ".join(f"`{a}`" for a in group) for group in groups)
        lint.add(element, label, f"needs {options}")
    for group in spec.get("exclusive", []):
        used = [a for a in group if a in values]
        if len(used) > 1:
            lint.add(element, label, f"use only one of {', '.join(f'`{a}`' for a in used)}")
    requires = spec.get("requires")
    if requires and lint.references is not None:
        when = requires.get("when", {})
        if all(values.get(k) == v for k, v in when.items()) and not lint.references.caches:
            lint.add(
                element,
                label,
                f"<{element.tag}> needs an external cache registered in API Management "
                "(apimanagement.Cache), and the plan declares none",
            )


def attribute_value(
    lint: DocumentState, element: Any, label: str, name: str, value: str, attribute: dict[str, Any]
) -> None:
    enum = attribute.get("enum")
    if enum and value not in enum:
        lint.add(element, label, f"attribute `{name}` is {value!r}; allowed values: {', '.join(enum)}")
    low, high = attribute.get("minimum"), attribute.get("maximum")
    if low is not None or high is not None:
        try:
            number = float(value)
        except ValueError:
            lint.add(element, label, f"attribute `{name}` is {value!r}; it must be a number")
        else:
            if (low is not None and number < low) or (high is not None and number > high):
                bounds = (
                    f"between {low} and {high}"
                    if low is not None and high is not None
                    else (f"at least {low}" if low is not None else f"at most {high}")
                )
                lint.add(element, label, f"attribute `{name}` is {value}; it must be {bounds}")
    reference = attribute.get("reference")
    if reference and lint.references is not None and not lint.references.has(reference, value.strip()):
        declared = sorted(
            {
                "backend": lint.references.backends,
                "logger": lint.references.loggers,
                "fragment": lint.references.fragments,
            }[reference]
        )
        what = {"backend": "Backend (backendId)", "logger": "Logger (loggerId)", "fragment": "PolicyFragment"}
        lint.add(
            element,
            label,
            f"attribute `{name}` names {reference} {value!r}, which the plan does not declare as an "
            f"apimanagement.{what[reference]}; declared: {', '.join(declared) or 'none'}",
        )
