"""Chargeback, the command: `python -m tools.chargeback` writes the CSV and the report and prints a summary, fails
with --strict when records could not be read, and refuses bad dates, a missing source and an unknown stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chargeback_support import write_capture
from tools.chargeback.cli import main


def test_cli_writes_csv_and_report_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_capture(tmp_path / "capture")
    assert main([str(root), "--stack", "dev", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "consumer-support" in printed and "NOT READ: 1 body is not JSON" in printed
    assert (tmp_path / "out/chargeback.csv").exists() and (tmp_path / "out/chargeback.html").exists()


def test_cli_strict_fails_when_records_could_not_be_read(tmp_path: Path) -> None:
    root = write_capture(tmp_path / "capture")
    assert main([str(root), "--out", str(tmp_path / "out"), "--no-progress", "--strict"]) == 1


@pytest.mark.parametrize("argv", [["--from", "2026-13-01"], ["--from", "2026-11-04", "--to", "2026-11-03"]])
def test_cli_rejects_bad_dates(tmp_path: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), *argv])
    assert exit_.value.code == 2


def test_cli_names_a_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nowhere"), "--no-progress"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_cli_names_an_unknown_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--stack", "nosuch", "--no-progress"]) == 2
    assert "no stack file Pulumi.nosuch.yaml" in capsys.readouterr().err
