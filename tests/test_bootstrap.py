"""tools.bootstrap: installs Mono's compiler and Json.NET where apt-get can run, and says how elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tools.bootstrap import PACKAGES, ensure_compiler, main


def test_nothing_is_installed_when_the_compiler_is_there() -> None:
    commands: list[Sequence[str]] = []
    ok, _ = ensure_compiler(available=lambda: True, apt_prefix=lambda: [], run=lambda c: commands.append(c) or 0)
    assert ok and commands == []


def test_with_apt_get_it_updates_then_installs_both_packages() -> None:
    commands: list[Sequence[str]] = []
    state = iter([False, True])
    ok, message = ensure_compiler(
        available=lambda: next(state), apt_prefix=lambda: [], run=lambda c: commands.append(c) or 0
    )
    assert ok and "installed mono-mcs libnewtonsoft-json5.0-cil" in message
    assert [c[2:4] for c in commands] == [["apt-get", "update"], ["apt-get", "install"]]
    assert list(commands[1][-2:]) == list(PACKAGES) == ["mono-mcs", "libnewtonsoft-json5.0-cil"]


def test_without_apt_get_it_fails_with_the_install_hint_for_debian_and_macos() -> None:
    ok, message = ensure_compiler(available=lambda: False, apt_prefix=lambda: None, run=lambda c: 0)
    assert not ok
    assert "apt-get install -y mono-mcs libnewtonsoft-json5.0-cil" in message and "brew install mono" in message


def test_a_failed_install_fails() -> None:
    ok, message = ensure_compiler(available=lambda: False, apt_prefix=lambda: ["sudo", "-n"], run=lambda c: 100)
    assert not ok and message.startswith("apt-get update failed")


def test_optional_exits_zero_without_the_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "ensure_compiler", lambda: (False, "missing"))
    assert main(["--optional"]) == 0
    assert main([]) == 1


def readme_commands() -> list[str]:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line for line in quick_start.splitlines() if line.startswith("python3 ")]


def test_both_readme_commands_bootstrap_the_compiler_first() -> None:
    plan, tests = readme_commands()
    assert plan.startswith("python3 -m tools.bootstrap --optional && ") and plan.endswith("-m tools.plan dev")
    assert tests.startswith("python3 -m tools.bootstrap && ") and tests.endswith("-m pytest")


def test_ci_runs_the_readme_test_command_verbatim_in_its_own_venv() -> None:
    script = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    _, tests = readme_commands()
    assert f"step bash -c '{tests}'" in script
    assert "export VENV=.ci/venv" in script and "--clear .venv" not in script
