"""tools.template_lines: each line of a rendered policy document points at the template line it comes from."""

from __future__ import annotations

import re

import pytest

from components import policy_templates
from tools.harness import Recording
from tools.policy_lint import FRAGMENT_TYPE, POLICY_TYPES
from tools.template_lines import marked_source, template_lines

_JINJA = re.compile(r"\{[{%#]")


def documents(recording: Recording) -> list[str]:
    return [r.get("value") for token in (FRAGMENT_TYPE, *POLICY_TYPES) for r in recording.of_type(token)]


def test_every_rendered_document_of_the_stack_has_a_template_line_for_each_line(stack: Recording) -> None:
    for document in documents(stack):
        mapped = template_lines(document)
        assert mapped is not None, document[:80]
        template, lines = mapped
        assert template.startswith("components/fragments/") and template.endswith(".xml.j2")
        assert len(lines) == document.count("\n") and all(lines)


def test_a_line_without_template_tags_is_the_template_line_itself(stack: Recording) -> None:
    checked = 0
    for document in documents(stack):
        mapped = template_lines(document)
        assert mapped is not None
        template, lines = mapped
        source = (policy_templates.FRAGMENTS_DIR / template.rsplit("/", 1)[1]).read_text().split("\n")
        for text, line in zip(document.split("\n"), lines, strict=False):
            if not _JINJA.search(source[line - 1]):
                # `{%-` on the next template line may join that line's text to this one.
                assert text.strip().startswith(source[line - 1].strip()), (template, line)
                checked += 1
    assert checked > 100


def test_markers_never_go_inside_jinja_tags() -> None:
    source = '{% if x\n  and y %}\n<a b="{{ c\n}}" />\n{# note\n#}\n'
    assert marked_source(source).count("\u2063") == 2 * 3  # after lines 2, 4 and 6 only


def test_a_document_not_rendered_in_this_process_has_no_template_lines() -> None:
    assert template_lines("<fragment />\n") is None


@pytest.fixture(autouse=True)
def _fresh_mapping() -> None:
    template_lines.cache_clear()
