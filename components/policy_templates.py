"""Renders the policy documents kept as Jinja2 templates in fragments/ (the only place policy XML lives)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

# Package data: shipped inside the package (components/pyproject.toml), found next to this module.
FRAGMENTS_DIR = Path(__file__).resolve().parent / "fragments"
# How messages name a template: its path in the repository.
TEMPLATE_LABEL = "components/fragments"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(FRAGMENTS_DIR),
    undefined=jinja2.StrictUndefined,
    # The templates are XML whose values are validated settings; escaping would corrupt C# expressions.
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=False,
)


# Rendered document -> (template, values): lets the offline lint point at the template line of a problem.
_sources: dict[str, tuple[str, dict[str, Any]]] = {}


def render(template: str, **values: Any) -> str:
    """The document of `fragments/<template>.xml.j2`, rendered with `values`."""
    document = _environment.get_template(f"{template}.xml.j2").render(**values).strip() + "\n"
    _sources.setdefault(document, (template, values))
    return document


def source_of(document: str) -> tuple[str, dict[str, Any]] | None:
    """The template name and values `document` was rendered from in this process, if it was."""
    return _sources.get(document)

