"""Policy lint in the plan and on the command line: a recording's documents are linted with their resource's URN, the
plan reports errors as mandatory violations and unused fragments as advisory, and the real stacks pass.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from tests.policy_lint_support import API_POLICY, FRAGMENTS, api, fragment, only_error, recording
from tools.harness import Recording
from tools.policy_lint import lint_recording, main
from tools.violations import collect


def test_a_document_not_sent_as_rawxml_is_an_error() -> None:
    errors = lint_recording(recording(fmt="xml"))
    assert {e.document for e in errors} == {"api policy 'api-policy'", *(f"fragment '{f}'" for f in FRAGMENTS)}
    assert all("format is 'xml'" in e.message and e.level == "error" for e in errors)


def test_lint_errors_of_a_recording_carry_the_resource_urn() -> None:
    error = only_error(lint_recording(recording(API_POLICY.replace("pool-gpt-4o", "pool-gpt-5"))))
    assert error.urn == "urn:pulumi:test::genai-gateway::azure-native:apimanagement:ApiPolicy::api-policy"


def test_the_plan_reports_a_lint_error_as_a_mandatory_violation() -> None:
    broken = API_POLICY.replace('<set-backend-service backend-id="pool-gpt-4o" />', "<forward-request />")
    violations = [v for v in collect(recording(broken)) if v.policy == "policy-lint"]
    assert [(v.policy, v.level) for v in violations] == [("policy-lint", "mandatory")]
    assert violations[0].urn is not None and violations[0].urn.endswith("ApiPolicy::api-policy")
    assert violations[0].message.startswith("api policy 'api-policy', line 17, <forward-request>:")


def test_the_plan_reports_an_unused_fragment_as_advisory() -> None:
    spare = fragment("<set-variable name='a' value='b' />")
    violations = [v for v in collect(recording(fragments={**FRAGMENTS, "spare": spare})) if v.policy == "policy-lint"]
    assert [(v.policy, v.level) for v in violations] == [("policy-lint", "advisory")]


def test_the_real_stacks_have_no_lint_errors(stack: Recording) -> None:
    assert [str(v) for v in collect(stack) if v.policy == "policy-lint"] == []


def test_a_real_fragment_moved_to_the_wrong_section_fails_the_plan(dev: Recording) -> None:
    api_policy = dev.one("azure-native:apimanagement:ApiPolicy", "policies-api-policy")
    text = api_policy.get("value")
    backend = text[text.index("<backend>") : text.index("</backend>")]
    retry_include = re.search(r"<include-fragment [^>]*/>", backend)
    assert retry_include is not None
    moved = text.replace("<inbound>", "<inbound>" + retry_include.group(0), 1)
    mutated = dataclasses.replace(api_policy, inputs={**api_policy.inputs, "value": moved})
    broken = dataclasses.replace(dev, resources=[mutated if r is api_policy else r for r in dev.resources])
    errors = [v for v in collect(broken) if v.level == "mandatory"]
    assert errors and all("<forward-request> is not allowed in the inbound section" in v.message for v in errors)


def test_the_command_line_lints_files_and_fails_on_errors(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text(FRAGMENTS["spillover-retry"])
    bad.write_text(api(inbound="<forward-request />"))
    assert main([str(good)]) == 0
    assert main([str(good), str(bad), "--backend", "pool-gpt-4o"]) == 1
    assert "bad.xml, line 2, <forward-request>" in capsys.readouterr().out
