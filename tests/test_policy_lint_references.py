"""Policy lint, references: every backend, logger, fragment, named value and cache a document names is declared in the
plan.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.policy_lint_support import REFERENCES, api, lint, only_error


@pytest.mark.parametrize(
    ("xml", "element", "expected"),
    [
        ('<set-backend-service backend-id="pool-gpt-5" />', "set-backend-service", "names backend 'pool-gpt-5'"),
        (
            '<llm-content-safety backend-id="safety" />',
            "llm-content-safety",
            "names backend 'safety', which the plan does not declare as an apimanagement.Backend",
        ),
        ('<log-to-eventhub logger-id="audit">x</log-to-eventhub>', "log-to-eventhub", "names logger 'audit'"),
        ('<include-fragment fragment-id="cache" />', "include-fragment", "names fragment 'cache'"),
        (
            '<set-header name="x"><value>{{client-secret}}</value></set-header>',
            "value",
            "named value {{client-secret}} is not declared",
        ),
        (
            '<set-variable name="x" value="@(&quot;{{client-secret}}&quot;)" />',
            "set-variable",
            "named value {{client-secret}} is not declared",
        ),
    ],
)
def test_an_unresolved_reference_is_an_error(xml: str, element: str, expected: str) -> None:
    error = only_error(lint(api(inbound=xml)))
    assert (error.line, error.element) == (2, element)
    assert expected in error.message


def test_references_given_by_expressions_are_not_resolved() -> None:
    routing = '<set-backend-service backend-id="@((string)context.Variables[&quot;backend-id&quot;])" />'
    assert lint(api(inbound=routing)) == []


def test_ids_resolve_case_insensitively_like_azure_resource_names() -> None:
    assert lint(api(inbound='<set-backend-service backend-id="Pool-GPT-4o" />')) == []


def test_a_semantic_cache_needs_an_external_cache_in_the_plan() -> None:
    lookup = (
        '<llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="pool-gpt-4o" '
        'embeddings-backend-auth="system-assigned"><vary-by>@(context.Subscription.Id)</vary-by>'
        "</llm-semantic-cache-lookup>"
    )
    error = only_error(lint(api(inbound=lookup)))
    assert "needs an external cache" in error.message
    assert lint(api(inbound=lookup), references=dataclasses.replace(REFERENCES, caches={"default"})) == []
