"""Which line of its `fragments/*.xml.j2` template each line of a rendered policy document comes from.

The template is rendered a second time with the same values, with an invisible marker holding the template
line number before every line break of the template's literal text (never inside a `{{ }}`, `{% %}` or `{# #}`
tag). Every line break of the output that the template wrote is then directly preceded by its marker; a line
break that came from a value belongs to the next marked line. Markers removed, the output must equal the
document, or no mapping is given.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path

import jinja2

from components import policy_templates

_MARK = "\u2063"  # INVISIBLE SEPARATOR: not whitespace, so Jinja's whitespace control and strip() keep it
_MARKER = re.compile(f"{_MARK}(\\d+){_MARK}")
_OPENERS = {"{{": "}}", "{%": "%}", "{#": "#}"}


@cache
def _environment(directory: Path) -> jinja2.Environment:
    # The same options as components/policy_templates.py, which renders the documents.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def marked_source(source: str) -> str:
    """The template with a line marker before each line break of its literal text."""
    out: list[str] = []
    i, line, n = 0, 1, len(source)
    while i < n:
        two = source[i : i + 2]
        if two in _OPENERS:
            end = source.find(_OPENERS[two], i + 2)
            end = n if end < 0 else end + 2
            tag = source[i:end]
            out.append(tag)
            line += tag.count("\n")
            i = end
            continue
        if source[i] == "\n":
            out.append(f"{_MARK}{line}{_MARK}\n")
            line += 1
        else:
            out.append(source[i])
        i += 1
    return "".join(out)


@cache
def _template_source(directory: Path, template: str) -> str:
    return (directory / f"{template}.xml.j2").read_text(encoding="utf-8")


@lru_cache(maxsize=256)
def template_lines(document: str) -> tuple[str, list[int]] | None:
    """(`fragments/<template>.xml.j2`, template line of each document line), or None when unknown."""
    source = policy_templates.source_of(document)
    if source is None:
        return None
    template, values = source
    try:
        directory = policy_templates.FRAGMENTS_DIR
        compiled = _environment(directory).from_string(marked_source(_template_source(directory, template)))
        marked = compiled.render(**values)
    except (jinja2.TemplateError, OSError):
        return None
    lines: list[int | None] = []
    for text in marked.split("\n"):
        found = _MARKER.search(text)
        lines.append(int(found.group(1)) if found else None)
    plain = _MARKER.sub("", marked)
    if plain.strip() + "\n" != document:
        return None
    skipped = plain[: len(plain) - len(plain.lstrip())].count("\n")
    mapped: list[int] = []
    following = None
    for value in reversed(lines):  # a line broken by a value belongs to the next marked line
        following = value if value is not None else following
        mapped.append(following or 0)
    mapped.reverse()
    return f"{policy_templates.TEMPLATE_LABEL}/{template}.xml.j2", mapped[skipped : skipped + document.count("\n")]
