"""Policy lint, documents: how a policy document is read (as API Management reads rawxml) and the structure it must
have: well-formed XML, the right root, sections in order, fragments within their limits.
"""

from __future__ import annotations

import pytest

from tests.policy_lint_support import FRAGMENTS, api, fragment, lint, only_error, recording
from tools.policy_lint import Inclusion, lint_recording


def test_a_valid_api_policy_and_its_fragments_pass_with_no_errors() -> None:
    assert lint_recording(recording()) == []


@pytest.mark.parametrize("fragment_id", sorted(FRAGMENTS))
def test_each_valid_fragment_passes_where_it_is_included(fragment_id: str) -> None:
    section = {"spillover-retry": "backend", "usage-record": "outbound"}.get(fragment_id, "inbound")
    included = [Inclusion(section, "api", "api policy 'openai'")]
    assert lint(FRAGMENTS[fragment_id], "fragment", included_in=included) == []


def test_expressions_are_read_as_apim_reads_rawxml_with_quotes_less_than_and_ampersands_unescaped() -> None:
    condition = '@(context.Request.Headers.GetValueOrDefault("a", "") == "b" && context.Response.StatusCode < 400)'
    text = api(inbound=f'<choose><when condition="{condition}"><set-variable name="x" value="1" /></when></choose>')
    assert lint(text) == []


def test_escaped_and_cdata_expressions_are_read_like_raw_ones() -> None:
    escaped = (
        '<set-variable name="x" value="@(context.Request.Headers.GetValueOrDefault(&quot;a&quot;, &quot;&quot;)'
        ' != &quot;&quot; &amp;&amp; 1 &lt; 2)" />'
    )
    cdata = "<set-body><![CDATA[@{ var b = context.Request.Body.As<JObject>(); return b.ToString(); }]]></set-body>"
    assert lint(api(inbound=escaped + cdata)) == []


def test_generics_in_element_text_are_read_as_written() -> None:
    body = (
        "<set-body>@{ var b = context.Request.Body.As<JObject>(preserveContent: true); return b.ToString(); }"
        "</set-body>"
    )
    assert lint(api(inbound=body)) == []


def test_a_liquid_body_may_use_double_braces_without_being_a_named_value() -> None:
    body = '<set-body template="liquid">{"id": "{{body.customer.id}}"}</set-body>'
    assert lint(api(inbound=body)) == []


def test_malformed_xml_is_an_error_naming_the_line() -> None:
    error = only_error(lint("<policies>\n<inbound>\n<base />\n</outbound>\n</policies>\n"))
    assert (error.document, error.line, error.element) == ("doc", 4, "xml")
    assert "not well-formed XML" in error.message
    assert str(error).startswith("doc, line 4, <xml>:")


def test_an_unclosed_expression_is_pointed_at_in_the_xml_error() -> None:
    error = only_error(lint(api(inbound='<set-variable name="x" value="@(context.Request.Method == ")" />')))
    assert error.line == 2
    assert "expression starting at line 2 is not closed" in error.message


def test_a_fragment_must_have_the_fragment_root() -> None:
    error = only_error(lint(api(inbound="<base />"), "fragment"))
    assert (error.line, error.element) == (1, "policies")
    assert "root <fragment>" in error.message


def test_a_fragment_cannot_hold_a_section() -> None:
    error = only_error(lint(fragment('<inbound><set-variable name="a" value="b" /></inbound>'), "fragment"))
    assert (error.line, error.element) == (2, "inbound")
    assert "a fragment holds no section elements" in error.message


def test_a_fragment_cannot_hold_base() -> None:
    error = only_error(lint(fragment("<base />"), "fragment"))
    assert (error.line, error.element) == (2, "base")
    assert "cannot contain <base />" in error.message


def test_a_fragment_cannot_include_another_fragment() -> None:
    error = only_error(lint(fragment('<include-fragment fragment-id="usage-record" />'), "fragment"))
    assert (error.line, error.element) == (2, "include-fragment")
    assert "cannot include another fragment" in error.message


def test_a_fragment_over_32_kb_is_an_error() -> None:
    padding = "<!-- " + "x" * 33_000 + " -->"
    error = only_error(lint(fragment(padding), "fragment"))
    assert (error.line, error.element) == (1, "fragment")
    assert "at most 32768 bytes" in error.message


def test_a_fragment_of_exactly_32_kb_passes() -> None:
    text = fragment("<!--  -->")
    text = text.replace("<!--  -->", "<!-- " + "x" * (32 * 1024 - len(text.encode())) + " -->")
    assert len(text.encode()) == 32 * 1024
    assert lint(text, "fragment") == []


def test_a_policy_document_has_the_policies_root() -> None:
    error = only_error(lint(fragment('<set-variable name="a" value="b" />')))
    assert "root <policies>" in error.message


def test_sections_come_in_order_each_at_most_once() -> None:
    errors = lint(
        "<policies>\n<outbound />\n<inbound />\n<inbound />\n<set-variable name='a' value='b' />\n</policies>\n"
    )
    assert [(e.line, e.element) for e in errors] == [(3, "inbound"), (4, "inbound"), (5, "set-variable")]
    assert "comes after <outbound>" in errors[0].message
    assert "more than once" in errors[1].message
    assert "holds only the sections" in errors[2].message


def test_base_only_goes_directly_in_a_section() -> None:
    error = only_error(lint(api(inbound="<choose><when condition='@(true)'><base /></when></choose>")))
    assert error.element == "base"
    assert "direct child of a section" in error.message
