"""Policy lint, placement: each policy only in the sections and scopes Azure allows it, a fragment checked against the
sections that include it, and a policy allowed once per section only once.
"""

from __future__ import annotations

from tests.policy_lint_support import API_POLICY, FRAGMENTS, api, fragment, lint, only_error, recording
from tools.policy_lint import lint_recording


def test_llm_token_limit_is_not_allowed_in_outbound() -> None:
    limit = (
        '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="100" '
        'estimate-prompt-tokens="false" />'
    )
    error = only_error(lint(api(outbound=limit)))
    assert (error.line, error.element) == (4, "llm-token-limit")
    assert "not allowed in the outbound section" in error.message
    assert "Azure allows it in: inbound" in error.message


def test_forward_request_is_not_allowed_in_inbound() -> None:
    error = only_error(lint(api(inbound="<forward-request />")))
    assert (error.line, error.element) == (2, "forward-request")
    assert "Azure allows it in: backend" in error.message


def test_a_policy_nested_in_retry_is_placed_in_the_enclosing_section() -> None:
    text = api(inbound='<retry condition="@(true)" count="2" interval="1"><forward-request /></retry>')
    assert only_error(lint(text)).element == "forward-request"


def test_a_policy_not_allowed_at_the_document_scope_is_an_error() -> None:
    error = only_error(lint(api(inbound='<rate-limit calls="10" renewal-period="60" />'), "global"))
    assert "not allowed at global scope" in error.message


def test_a_fragment_is_checked_against_the_section_that_includes_it() -> None:
    api_policy = API_POLICY.replace(
        '<include-fragment fragment-id="usage-record" />', '<include-fragment fragment-id="consumer-auth" />'
    )
    errors = [e for e in lint_recording(recording(api_policy)) if e.level == "error"]
    assert {(e.document, e.element) for e in errors} == {
        ("fragment 'consumer-auth'", "authentication-managed-identity"),
        ("fragment 'consumer-auth'", "llm-token-limit"),
    }
    token_limit = next(e for e in errors if e.element == "llm-token-limit")
    assert token_limit.line == 5
    assert "not allowed in the outbound section (this fragment is included there by api policy 'api-policy')" in (
        token_limit.message
    )


def test_a_fragment_included_nowhere_is_advisory_and_only_structure_checked() -> None:
    errors = lint_recording(recording(fragments={**FRAGMENTS, "spare": fragment("<forward-request />")}))
    assert [(e.document, e.level) for e in errors] == [("fragment 'spare'", "advisory")]
    assert "unused" in errors[0].message


def test_a_policy_allowed_once_per_section_is_an_error_the_second_time() -> None:
    cors = (
        "<cors><allowed-origins><origin>*</origin></allowed-origins>"
        "<allowed-headers><header>*</header></allowed-headers></cors>"
    )
    error = only_error(lint(api(inbound=cors + cors)))
    assert "only be used once in a policy section" in error.message
