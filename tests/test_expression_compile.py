"""The policy lint's compile step: every expression of a plan compiles against APIM's context model.

Each error class fails the plan with its message, at the document line of the expression (and the line of its
`fragments/*.xml.j2` template when the document was rendered from one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from components import policy_templates
from tools.csharp import compiler
from tools.harness import RecordedResource, Recording, Secret
from tools.plan import main as plan_main
from tools.policy_expressions import FoundExpression, compile_found, placeholder
from tools.policy_lint import (
    FRAGMENT_TYPE,
    POLICY_TYPES,
    LintError,
    compilation,
    lint_document,
    lint_recording,
    references_of,
)
from tools.violations import collect

APIM = "azure-native:apimanagement:"


def resource(type_: str, name: str, **inputs: Any) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:test::genai-gateway::{APIM}{type_}::{name}",
        type=APIM + type_,
        name=name,
        parent=None,
        custom=True,
        inputs=inputs,
        dependencies=[],
        property_dependencies={},
        protect=False,
    )


def plan_with(inbound: str, *named_values: RecordedResource) -> Recording:
    """A plan whose API policy holds `inbound` (from document line 3)."""
    document = f"<policies>\n<inbound>\n{inbound}\n</inbound>\n<backend><forward-request /></backend>\n</policies>\n"
    policy = resource("ApiPolicy", "api-policy", apiId="openai", policyId="policy", value=document, format="rawxml")
    return Recording(project="genai-gateway", stack="test", resources=[*named_values, policy], outputs={})


def errors_of(recording: Recording) -> list[LintError]:
    return [e for e in lint_recording(recording) if e.level == "error"]


def only_error(inbound: str, *named_values: RecordedResource) -> LintError:
    errors = errors_of(plan_with(inbound, *named_values))
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_an_unknown_member_on_context_request_fails_with_the_compilers_message() -> None:
    error = only_error('<set-variable name="x" value="@(context.Request.UserAgent)" />')
    assert error.document == "api policy 'api-policy'" and error.line == 3
    assert error.urn is not None and error.urn.endswith("::api-policy")
    assert "CS1061: Type `Apim.Policies.IRequest' does not contain a definition for `UserAgent'" in error.message
    assert "attribute `value`" in error.message and "document line 3" in error.message


def test_a_cast_that_cannot_compile_fails() -> None:
    error = only_error('<set-variable name="x" value="@((int)context.Request.Headers)" />')
    assert "CS0030: Cannot convert type" in error.message and "to `int'" in error.message


def test_a_condition_that_is_not_boolean_fails() -> None:
    error = only_error(
        '<choose><when condition="@(context.Request.Headers.GetValueOrDefault("x", ""))">'
        '<set-variable name="x" value="1" /></when></choose>'
    )
    assert "returning bool" in error.message
    assert "CS0029: Cannot implicitly convert type `string' to `bool'" in error.message


def test_a_type_outside_the_allow_list_fails() -> None:
    error = only_error('<set-variable name="x" value="@(System.IO.File.ReadAllText("/etc/passwd"))" />')
    assert "`System.IO.File.ReadAllText` uses a .NET type outside the APIM policy-expression allow-list" in (
        error.message
    )


def test_a_syntax_error_fails_with_the_compilers_message_and_column() -> None:
    error = only_error('<set-variable name="x" value="@(context.Request.Method ==)" />')
    assert "CS1525: Unexpected symbol `)'" in error.message and "expression line 1, column 28" in error.message


def test_a_multi_statement_body_without_return_on_every_path_fails() -> None:
    error = only_error('<set-variable name="x" value="@{ if (context.Tracing) { return 1; } }" />')
    assert "CS0161: the expression: not all code paths return a value" in error.message


def test_an_unknown_named_value_fails() -> None:
    error = only_error('<set-variable name="x" value="@("{{no-such-value}}".Length)" />')
    assert "named value {{no-such-value}} is not declared" in error.message


def test_named_values_are_substituted_with_their_declared_value_before_compiling() -> None:
    limit = resource("NamedValue", "limit", displayName="calls-limit", value="10", secret=False)
    recording = plan_with(
        '<rate-limit-by-key calls="@({{calls-limit}} * 2)" renewal-period="60"'
        ' counter-key="@(context.RequestId.ToString())" />',
        limit,
    )
    assert errors_of(recording) == []


def test_a_secret_named_value_is_compiled_as_a_mask_of_the_same_form_never_the_secret() -> None:
    secret = resource("NamedValue", "limit", displayName="calls-limit", value="42", secret=True)
    as_code = plan_with(
        '<rate-limit-by-key calls="@({{calls-limit}} * 2)" renewal-period="60" counter-key="k" />', secret
    )
    as_word = resource("NamedValue", "key", displayName="key", value=Secret("s3cret"), secret=True)
    misused = plan_with('<set-variable name="x" value="@({{key}}.Length)" />', as_word)
    assert errors_of(as_code) == []
    (error,) = errors_of(misused)
    assert "CS0103: The name `x0xxxx' does not exist" in error.message and "s3cret" not in error.message
    assert not any("s3cret" in p.read_text() for p in compiler.CACHE_DIR.glob("*.cs"))


def test_a_named_value_known_only_after_deployment_is_a_placeholder_that_fits_a_string_literal() -> None:
    vault = resource("NamedValue", "kv", displayName="from-vault", secret=True, keyVault={"secretIdentifier": "x"})
    inside_string = plan_with('<set-variable name="x" value="@("{{from-vault}}".Length)" />', vault)
    as_code = plan_with('<set-variable name="x" value="@({{from-vault}} * 2)" />', vault)
    assert errors_of(inside_string) == []
    (error,) = errors_of(as_code)
    assert f"CS0103: The name `{placeholder('from-vault')}' does not exist" in error.message


def test_an_error_in_a_rendered_template_names_the_template_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.xml.j2").write_text(
        "<policies>\n<inbound>\n{% for code in codes %}\n"
        '<set-variable name="x" value="@(context.Response.StatusCode == {{ code }}\n'
        '    && context.Request.Nope)" />\n{% endfor %}\n</inbound>\n</policies>\n'
    )
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), undefined=jinja2.StrictUndefined)
    monkeypatch.setattr(policy_templates, "_environment", environment)
    monkeypatch.setattr(policy_templates, "FRAGMENTS_DIR", tmp_path)
    document = policy_templates.render("broken", codes=[429, 503])
    policy = resource("ApiPolicy", "api-policy", apiId="openai", policyId="p", value=document, format="rawxml")
    errors = errors_of(Recording(project="genai-gateway", stack="test", resources=[policy], outputs={}))
    assert [e.line for e in errors] == [5, 8]  # the second line of each rendered expression
    assert all("fragments/broken.xml.j2 line 5" in e.message for e in errors)
    assert all("`Nope'" in e.message for e in errors)


def test_a_compile_error_fails_the_plan_as_a_mandatory_violation() -> None:
    recording = plan_with('<set-variable name="x" value="@(context.Request.UserAgent)" />')
    violations = [v for v in collect(recording) if v.policy == "policy-lint"]
    assert [v.level for v in violations] == ["mandatory"]


def found_expressions(recording: Recording) -> list[FoundExpression]:
    references = references_of(recording)
    found: list[FoundExpression] = []
    for token in (FRAGMENT_TYPE, *POLICY_TYPES):
        for r in recording.of_type(token):
            kind = "fragment" if token == FRAGMENT_TYPE else POLICY_TYPES[token]
            lint_document(r.name, r.get("value"), kind, references, found=found)  # type: ignore[arg-type]
    return found


def test_every_expression_of_the_stack_compiles(stack: Recording) -> None:
    found = found_expressions(stack)
    assert len(found) >= 20
    assert {f.returns for f in found} >= {"bool", "int", "string", "object"}
    problems, unplaced = compile_found(found, references_of(stack).named_value_values)
    assert [p.message for p in problems] == [] and unplaced == []


def test_without_mono_the_plan_says_expressions_were_only_parsed(
    dev: Recording, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(compilation, "mcs_available", lambda: False)
    assert plan_main(["dev", "--quiet", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "policy expressions were only parsed (tree-sitter), not compiled" in out
    assert "apt-get install -y mono-mcs libnewtonsoft-json5.0-cil" in out and "brew install mono" in out


def test_without_mono_syntax_errors_are_still_found_by_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compilation, "mcs_available", lambda: False)
    error = only_error('<set-variable name="x" value="@(context.Request.Method ==)" />')
    assert "C# syntax error" in error.message


def test_a_body_read_as_a_type_the_reference_does_not_list_fails() -> None:
    error = only_error('<set-variable name="x" value="@(context.Request.Body.As<Dictionary<string, string>>())" />')
    assert "`Body.As<Dictionary<string,string>>`: APIM reads a body only as" in error.message


@pytest.mark.parametrize(
    "type_",
    ["string", "byte[]", "JObject", "JArray", "XDocument", "Newtonsoft.Json.Linq.JToken", "System.Xml.Linq.XNode"],
)
def test_a_body_read_as_a_listed_type_passes(type_: str) -> None:
    assert errors_of(plan_with(f'<set-variable name="x" value="@(context.Request.Body.As<{type_}>(true))" />')) == []


def test_a_fragment_that_does_not_compile_fails_the_offline_plan_naming_resource_document_and_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fragments = tmp_path / "fragments"
    fragments.mkdir()
    for template in policy_templates.FRAGMENTS_DIR.glob("*.xml.j2"):
        (fragments / template.name).write_text(template.read_text())
    broken = fragments / "openai-errors.xml.j2"
    source = broken.read_text()
    line = next(i for i, text in enumerate(source.split("\n"), 1) if "context.LastError.Source" in text)
    broken.write_text(source.replace("context.LastError.Source", "context.LastError.Kind", 1))
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(fragments), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    monkeypatch.setattr(policy_templates, "_environment", environment)
    monkeypatch.setattr(policy_templates, "FRAGMENTS_DIR", fragments)
    assert plan_main(["dev", "--quiet", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "dev: " in out and ", 1 mandatory violation(s), " in out  # the --quiet summary line
    assert "[mandatory] policy-lint: fragment 'openai-errors', line " in out
    assert "does not contain a definition for `Kind'" in out
    assert f"fragments/openai-errors.xml.j2 line {line})" in out
    assert "at urn:pulumi:dev::genai-gateway::" in out and "PolicyFragment::policies-openai-errors" in out


def test_the_whole_plan_is_one_compiler_run_and_a_repeated_plan_none(
    dev: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []
    real_run = compiler._run

    def counting(*args: Any) -> Any:
        runs.append(args[3])  # the content hash
        return real_run(*args)

    monkeypatch.setattr(compiler, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(compiler, "_run", counting)
    assert [e for e in lint_recording(dev) if e.level == "error"] == []
    assert len(runs) == 1 and len(list(tmp_path.glob("*.dll"))) == 1
    lint_recording(dev)
    assert len(runs) == 1
