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
