"""The runtime and development locks: exact, consistent with each other and with their ranges."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def pins(name: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith(("#", " ", "-")):
            match = PIN.match(line)
            assert match, f"{name}: not an exact pin: {line!r}"
            found[canonicalize_name(match[1])] = match[2]
    return found


def ranges(name: str) -> list[Requirement]:
    lines = (ROOT / name).read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.strip() and not line.startswith(("#", "-"))]


def test_every_line_of_each_lock_is_an_exact_pin() -> None:
    assert pins("requirements.txt") and pins("requirements-dev.txt")


def test_the_runtime_lock_satisfies_the_runtime_ranges() -> None:
    locked = pins("requirements.txt")
    for requirement in ranges("requirements.in"):
        version = locked.get(canonicalize_name(requirement.name))
        assert version is not None and requirement.specifier.contains(version, prereleases=True), requirement


def test_the_development_lock_satisfies_the_tool_ranges() -> None:
    locked = pins("requirements-dev.txt")
    for requirement in ranges("requirements-dev.in"):
        version = locked.get(canonicalize_name(requirement.name))
        assert version is not None and requirement.specifier.contains(version, prereleases=True), requirement


def test_the_development_lock_holds_every_runtime_pin_at_the_same_version() -> None:
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_development_tools_stay_out_of_the_runtime_lock() -> None:
    runtime = pins("requirements.txt")
    assert not {"pytest", "ruff", "mypy", "pulumi-policy", "lxml", "tree-sitter"} & set(runtime)


def test_the_development_ranges_include_the_runtime_ranges_and_the_runtime_lock() -> None:
    lines = (ROOT / "requirements-dev.in").read_text().splitlines()
    assert "-r requirements.in" in lines and "-c requirements.txt" in lines


def test_pulumi_installs_the_runtime_lock_with_the_pip_toolchain() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": ".venv"}
    assert (ROOT / "requirements.txt").exists()


def test_the_project_declares_its_scalar_config_keys_with_types_pulumi_knows() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == {"environment", "namePrefix", "location"}
    assert all(entry["type"] in {"string", "boolean", "integer", "array"} for entry in declared.values())
    for stack in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(stack.read_text())["config"]
        assert all(isinstance(config[f"genai-gateway:{key}"], str) for key in declared), stack.name


def test_the_component_package_declares_the_runtime_ranges() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "components" / "pyproject.toml").read_text())["project"]
    declared = {str(Requirement(r)) for r in project["dependencies"]}
    plugin = {str(r) for r in ranges("components/requirements.txt")}
    # protobuf is held only for the development lock's pulumi-policy, which the package does not need.
    runtime = {str(r) for r in ranges("requirements.in") if r.name != "protobuf"}
    assert declared == plugin == runtime
