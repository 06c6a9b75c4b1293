"""What the plan prints: --quiet is quiet, outputs are readable indented values, secrets stay masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.plan import main, render_outputs


def test_quiet_prints_only_the_summary_line_and_the_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["prod", "--quiet", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("prod: ") and "0 mandatory violation(s)" in lines[0]
    assert "guardrail levels: policies/config/environments/prod.json" in lines[0]
    rest = [line for line in lines[1:] if not line.startswith("        at ")]
    assert rest and all(line.startswith("    [advisory] ") for line in rest)
    assert not any(word in "\n".join(lines) for word in ("Outputs:", "Resources:", "pulumi:pulumi:Stack", "└─"))


def test_outputs_print_as_indented_values_not_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    outputs = printed.split("Outputs:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "    consumers:" in outputs
    assert "      team-alpha:" in outputs
    assert "        tokensPerMinute: 20000" in outputs
    assert not any(line.strip().startswith(("{", "[{")) for line in outputs)


def test_printed_outputs_keep_the_masks() -> None:
    lines = render_outputs({"key": "[secret]", "nested": {"id": "[computed]"}})
    assert lines == ["    key: '[secret]'", "    nested:", "      id: '[computed]'"]


def _esc_project(tmp_path: Path, keep: set[str] | None) -> Path:
    """prod's stack file as `esc`, importing an ESC environment and keeping only `keep` of its keys."""
    import yaml

    from tools.stack_config import PROJECT_DIR

    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        (project / name).symlink_to(PROJECT_DIR / name)
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    if keep is not None:
        config = {k: v for k, v in config.items() if k.split(":", 1)[1] in keep}
    (project / "Pulumi.esc.yaml").write_text(
        yaml.safe_dump({"environment": ["genai-gateway/prod"], "config": config})
    )
    return project


def test_settings_held_in_an_esc_environment_are_named_as_such_not_as_missing_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _esc_project(tmp_path, keep={"environment", "namePrefix", "location", "network", "apim"})
    assert main(["esc", "--project-dir", str(project), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "imports Pulumi ESC environment(s) genai-gateway/prod" in error
    assert "which the offline plan cannot resolve" in error
    assert "expected from ESC: " in error and "genai-gateway:consumers" in error
    assert "(missing): required key" not in error


def test_a_stack_that_imports_esc_but_holds_every_setting_plans_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _esc_project(tmp_path, keep=None)
    assert main(["esc", "--project-dir", str(project), "--quiet", "--out", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].strip().startswith("note: imports Pulumi ESC environment(s) genai-gateway/prod")


def test_a_wrong_value_next_to_an_esc_import_is_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    project = _esc_project(tmp_path, keep={"environment", "namePrefix", "location", "network", "apim"})
    path = project / "Pulumi.esc.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["genai-gateway:apim"]["sku"] = "Basic"
    path.write_text(yaml.safe_dump(document))
    assert main(["esc", "--project-dir", str(project), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "invalid in the stack file itself:" in error and "genai-gateway:apim.sku: 'Basic'" in error
