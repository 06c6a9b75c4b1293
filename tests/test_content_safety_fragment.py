"""ContentSafety, the `llm-content-safety` fragment: it checks only text operations with the configured categories
and thresholds, refuses inputs longer than Content Safety can check with its own 400, marks a block so on-error can
say it was one, and passes the policy lint.
"""

from __future__ import annotations

from components.content_safety import BACKEND_ID, FRAGMENT_ID, MAX_TEXT_CHARACTERS
from tests.content_safety_support import FRAGMENT, backend_deployment, fragment, fragment_xml
from tools.harness import Recording
from tools.policy_lint import lint_recording


def test_fragment_checks_prompts_with_the_prod_settings(prod: Recording) -> None:
    f = fragment(prod)
    assert (f.get("id"), f.get("format")) == (FRAGMENT_ID, "rawxml")
    policy = fragment_xml(prod).find("choose/when/llm-content-safety")
    assert (policy.get("backend-id"), policy.get("shield-prompt")) == (BACKEND_ID, "true")
    # window-size is not set: the newest reference makes it configurable for responses only.
    assert policy.get("window-size") is None
    assert policy.find("categories").get("output-type") == "FourSeverityLevels"
    assert [(c.get("name"), c.get("threshold")) for c in policy.iter("category")] == [
        ("Hate", "4"), ("SelfHarm", "4"), ("Sexual", "4"), ("Violence", "4"),
    ]  # fmt: skip


def test_only_text_operations_are_checked(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    assert when.get("condition") == (
        '@(new string[] { "chat.completions", "completions", "responses" }'
        '.Contains((string)context.Variables.GetValueOrDefault("openai-operation", "")))'
    )
    # Embeddings, audio and images never reach the policy.
    assert "embeddings" not in when.get("condition")


def test_inputs_longer_than_content_safety_can_check_get_their_own_400(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    names = [e.tag for e in when]
    assert names.index("set-variable") < names.index("choose") < names.index("llm-content-safety")
    [too_long] = when.iterfind("choose/when")
    expected = f'@((int)context.Variables["content-safety-characters"] > {MAX_TEXT_CHARACTERS})'
    assert too_long.get("condition") == expected
    assert MAX_TEXT_CHARACTERS == 10_000
    response = too_long.find("return-response")
    assert response.find("set-status").get("code") == "400"
    assert "ContentSafetyInputTooLong" in response.find("set-body").text


def test_a_block_is_marked_so_its_403_says_content_safety(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    marks = [
        (e.get("name"), e.get("value"))
        for e in when.findall("set-variable")
        if e.get("name") == "content-safety-checking"
    ]
    assert marks == [("content-safety-checking", "@(true)"), ("content-safety-checking", "@(false)")]
    errors = next(f for f in prod.of_type(FRAGMENT) if f.get("id") == "openai-errors").get("value")
    assert 'code = "ContentSafetyBlocked"' in errors and "content-safety-checking" in errors


def test_fragment_follows_output_type_shield_and_unchecked_categories(eight_levels: Recording) -> None:
    policy = fragment_xml(eight_levels).find("choose/when/llm-content-safety")
    assert policy.get("shield-prompt") == "false"
    assert policy.find("categories").get("output-type") == "EightSeverityLevels"
    assert [(c.get("name"), c.get("threshold")) for c in policy.iter("category")] == [("Hate", "3"), ("Violence", "5")]


def test_fragment_waits_for_its_backend(prod: Recording) -> None:
    assert prod.depends_on(fragment(prod), backend_deployment(prod))


def test_fragment_passes_the_policy_lint(prod: Recording, eight_levels: Recording) -> None:
    for recording in (prod, eight_levels):
        errors = [e for e in lint_recording(recording) if e.urn == fragment(recording).urn and e.level == "error"]
        assert errors == []
