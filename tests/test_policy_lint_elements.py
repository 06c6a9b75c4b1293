"""Policy lint, elements and attributes: known elements with the children, required attributes, values and ranges the
policy reference documents, and a catalogue that names its source for each.
"""

from __future__ import annotations

import json

from tests.policy_lint_support import api, lint, only_error
from tools.csharp.allow_list import allowed_types
from tools.policy_lint import CATALOGUE_PATH, SECTIONS


def test_an_unknown_element_is_an_error_naming_it() -> None:
    error = only_error(lint(api(inbound='<set-headers name="x" />')))
    assert (error.line, error.element) == (2, "set-headers")
    assert "unknown policy element <set-headers>" in error.message


def test_a_child_element_out_of_its_policy_is_not_taken_for_a_policy() -> None:
    error = only_error(lint(api(inbound="<dimension name='API ID' />")))
    assert "is a child element of" in error.message and "<llm-emit-token-metric>" in error.message


def test_an_unexpected_child_element_is_an_error() -> None:
    error = only_error(lint(api(inbound='<set-header name="x"><values>1</values></set-header>')))
    assert error.element == "set-header/values"
    assert "allowed: <value>" in error.message


def test_a_missing_required_attribute_is_an_error() -> None:
    limit = '<llm-token-limit tokens-per-minute="100" estimate-prompt-tokens="false" />'
    error = only_error(lint(api(inbound=limit)))
    assert (error.line, error.element) == (2, "llm-token-limit")
    assert "missing required attribute `counter-key`" in error.message


def test_one_of_the_required_attribute_groups_must_be_present() -> None:
    limit = '<llm-token-limit counter-key="a" token-quota="1000" estimate-prompt-tokens="false" />'
    error = only_error(lint(api(inbound=limit)))
    assert "needs `tokens-per-minute` or `token-quota` with `token-quota-period`" in error.message


def test_a_missing_required_child_element_is_an_error() -> None:
    error = only_error(lint(api(inbound="<choose><otherwise /></choose>")))
    assert "missing required child element <when>" in error.message


def test_a_bad_enum_value_is_an_error() -> None:
    error = only_error(lint(api(inbound='<set-header name="x" exists-action="replace" />')))
    assert (error.line, error.element) == (2, "set-header")
    assert "`exists-action` is 'replace'; allowed values: override, skip, append, delete" in error.message


def test_a_bad_enum_value_in_a_child_element_is_an_error() -> None:
    safety = (
        '<llm-content-safety backend-id="content-safety"><categories output-type="FourSeverityLevels">'
        '<category name="Hatred" threshold="4" /></categories></llm-content-safety>'
    )
    error = only_error(lint(api(inbound=safety)))
    assert error.element == "llm-content-safety/categories/category"
    assert "`name` is 'Hatred'" in error.message


def test_an_enum_attribute_given_by_an_expression_is_not_checked_against_the_values() -> None:
    assert lint(api(inbound='<set-header name="x" exists-action="@(&quot;skip&quot;)" />')) == []


def test_a_value_outside_the_documented_range_is_an_error() -> None:
    retry = '<retry condition="@(true)" count="60" interval="1"><forward-request /></retry>'
    error = only_error(lint(api(backend=retry)))
    assert "`count` is 60; it must be between 1 and 50" in error.message


def test_an_expression_where_the_reference_allows_none_is_an_error() -> None:
    log = '<log-to-eventhub logger-id="@(&quot;usage-eventhub&quot;)">x</log-to-eventhub>'
    error = only_error(lint(api(outbound=log)))
    assert "policy expressions aren't allowed in attribute `logger-id`" in error.message


def test_an_attribute_unknown_to_the_catalogue_is_advisory() -> None:
    errors = lint(api(inbound='<set-header name="x" exist-action="skip" />'))
    assert [e.level for e in errors] == ["advisory"]
    assert "`exist-action` is not in the catalogue" in errors[0].message


def test_every_catalogue_entry_names_its_source_and_valid_sections() -> None:
    catalogue = json.loads(CATALOGUE_PATH.read_text())
    for name, spec in catalogue["policies"].items():
        assert spec["url"].startswith("https://learn.microsoft.com/azure/api-management/"), name
        assert set(spec["sections"]) <= set(SECTIONS), name
        assert set(spec["scopes"]) <= set(catalogue["scopes"]), name
    assert {"System.IO.File", "System.Net.Http.HttpClient"}.isdisjoint(allowed_types())
